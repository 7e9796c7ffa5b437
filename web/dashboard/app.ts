/// <reference lib="dom" />
/**
 * The dashboard's browser code: the node's identity, a live peer table fed
 * by the `/v1/watch` event stream, and an SVG picture of the mesh. Bundled
 * by `build.ts` into `asset.ts`; it must not load anything remote.
 *
 * @module
 */
import { formatAge, formatBytes } from "../format.ts";

interface ApiResource<S> {
  type?: string;
  id: string;
  version: number;
  updated: string;
  spec: S;
}

interface PeerStatus {
  endpoint: string;
  label: string;
  state: "unknown" | "up" | "down";
  receiveBytes: number;
  transmitBytes: number;
  lastHandshakeTime: string;
}

interface Identity {
  address: string;
  subnet: string;
  publicKey: string;
}

const COLORS: Record<string, string> = {
  up: "#1f9d55",
  down: "#d64545",
  unknown: "#8a8f98",
};

const peers = new Map<string, PeerStatus>();
let identity: Identity | undefined;

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  text?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function svg(tag: string, attrs: Record<string, string | number>): SVGElement {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

function sortedPeers(): [string, PeerStatus][] {
  return [...peers.entries()].sort((a, b) =>
    a[1].label.localeCompare(b[1].label) || a[0].localeCompare(b[0])
  );
}

function renderIdentity(): void {
  const box = document.getElementById("identity")!;
  box.replaceChildren();
  if (!identity) return;
  for (
    const [name, value] of [
      ["address", identity.address],
      ["subnet", identity.subnet],
      ["public key", identity.publicKey],
    ] as const
  ) {
    box.append(el("dt", {}, name), el("dd", { "data-field": name }, value));
  }
}

function renderTable(now: number): void {
  const body = document.querySelector("#peers tbody")!;
  body.replaceChildren();
  for (const [key, p] of sortedPeers()) {
    const row = el("tr", { "data-peer": key, "data-state": p.state });
    const state = el("td", { class: "state" });
    state.append(el("span", { class: `badge ${p.state}` }, p.state));
    row.append(
      el("td", { title: key }, p.label || key.slice(0, 8)),
      el("td", {}, p.endpoint),
      state,
      el("td", { class: "num" }, formatAge(p.lastHandshakeTime, now)),
      el("td", { class: "num" }, formatBytes(p.receiveBytes)),
      el("td", { class: "num" }, formatBytes(p.transmitBytes)),
    );
    body.append(row);
  }
  const counts = { up: 0, down: 0, unknown: 0 };
  for (const p of peers.values()) counts[p.state]++;
  document.getElementById("summary")!.textContent =
    `${peers.size} peers: ${counts.up} up, ${counts.down} down, ${counts.unknown} unknown`;
}

function renderMesh(): void {
  const pic = document.getElementById("mesh")!;
  pic.replaceChildren();
  const list = sortedPeers();
  const size = 320;
  const c = size / 2;
  const radius = size / 2 - 40;
  const nodes = svg("g", {});
  const links = svg("g", {});
  list.forEach(([key, p], i) => {
    const a = (2 * Math.PI * i) / Math.max(1, list.length) - Math.PI / 2;
    const x = c + radius * Math.cos(a);
    const y = c + radius * Math.sin(a);
    const color = COLORS[p.state] ?? COLORS.unknown!;
    links.append(svg("line", {
      x1: c,
      y1: c,
      x2: x,
      y2: y,
      stroke: color,
      "stroke-width": 3,
      "stroke-dasharray": p.state === "up" ? "" : "6 4",
      class: `link ${p.state}`,
      "data-peer": key,
    }));
    nodes.append(
      svg("circle", { cx: x, cy: y, r: 14, fill: color, class: "node" }),
    );
    const label = svg("text", {
      x,
      y: y + 28,
      "text-anchor": "middle",
      class: "label",
    });
    label.textContent = p.label || key.slice(0, 8);
    nodes.append(label);
  });
  nodes.append(
    svg("circle", { cx: c, cy: c, r: 18, fill: "#2b6cb0", class: "node self" }),
  );
  const self = svg("text", {
    x: c,
    y: c + 34,
    "text-anchor": "middle",
    class: "label",
  });
  self.textContent = "this node";
  nodes.append(self);
  const root = svg("svg", {
    viewBox: `0 0 ${size} ${size}`,
    width: size,
    height: size,
    role: "img",
    "aria-label": "mesh",
  });
  root.append(links, nodes);
  pic.append(root);
}

function render(): void {
  renderIdentity();
  renderTable(Date.now());
  renderMesh();
}

function setLive(live: boolean, text: string): void {
  const dot = document.getElementById("live")!;
  dot.className = live ? "live on" : "live off";
  dot.textContent = text;
}

async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(path);
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return await res.json() as T;
}

async function load(): Promise<void> {
  const [id, list] = await Promise.all([
    getJson<ApiResource<Identity>>("/v1/identity/local"),
    getJson<{ items: ApiResource<PeerStatus>[] }>("/v1/peerstatuses"),
  ]);
  identity = id.spec;
  peers.clear();
  for (const item of list.items) peers.set(item.id, item.spec);
  render();
}

function watch(): void {
  const source = new EventSource("/v1/watch");
  source.onopen = () => {
    setLive(true, "live");
    // Catch up on anything missed while disconnected.
    load().catch((e) => setLive(false, String(e)));
  };
  source.onerror = () => setLive(false, "reconnecting…");
  const onChange = (ev: MessageEvent<string>) => {
    const { kind, resource } = JSON.parse(ev.data) as {
      kind: string;
      resource: ApiResource<unknown>;
    };
    if (resource.type === "peerstatuses") {
      if (kind === "deleted") peers.delete(resource.id);
      else peers.set(resource.id, resource.spec as PeerStatus);
    } else if (resource.type === "identity") {
      identity = resource.spec as Identity;
    } else return;
    render();
  };
  for (const kind of ["created", "updated", "deleted"]) {
    source.addEventListener(kind, onChange as EventListener);
  }
}

load().catch((e) => setLive(false, `cannot load: ${e}`));
watch();
setInterval(() => renderTable(Date.now()), 1000);
