/// <reference lib="dom" />
/**
 * The dashboard's browser code: host name and version, readiness and
 * discovery cards (`/v1/status`), plugins and their state, a live peer
 * table fed by the `/v1/watch` event stream (state since when, traffic rates
 * with a sparkline of the last minute, why a peer is down), and a picture
 * of the mesh with what this node knows of the site (each peer and the
 * networks it advertises). Bundled by `build.ts` into `asset.ts`; it must
 * not load anything remote.
 *
 * @module
 */
import { formatAge, formatBytes, peerReason } from "../format.ts";
import {
  formatRate,
  layoutMesh,
  meshLines,
  pathCell,
  RateHistory,
  relayOf,
  sparklinePoints,
} from "./view.ts";

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
  lastEndpointChange: string;
  reason?: string;
  stateSince?: string;
  path?: string;
}

interface Identity {
  address: string;
  subnet: string;
  publicKey: string;
}

interface Status {
  version: string;
  hostname: string;
  time: string;
  ready: boolean;
  checks: Record<string, { ok: boolean; detail: string }>;
  discovery: { name: string; state: string; since?: string; detail: string }[];
  peers: { up: number; total: number };
}

interface Plugin {
  name: string;
  kind: string;
  enabled: boolean;
  state: string;
  errors: number;
  lastError: string;
  source?: string;
}

interface Affiliate {
  nodeId: string;
  hostname: string;
  kubespan?: { publicKey: string; additionalAddresses: string[] };
}

const COLORS: Record<string, string> = {
  up: "#1f9d55",
  down: "#d64545",
  unknown: "#8a8f98",
};
/** Link colour of an up peer whose packets go through a relay. */
const RELAYED = "#805ad5";

const peers = new Map<string, PeerStatus>();
const history = new RateHistory(60);
let identity: Identity | undefined;
let status: Status | undefined;
let plugins: Plugin[] = [];
let affiliates: Affiliate[] = [];
/** Agent clock minus ours, so ages use the agent's time. */
let skew = 0;
const now = () => Date.now() + skew;

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

function renderHeader(): void {
  if (!status) return;
  document.getElementById("host")!.textContent = status.hostname;
  document.getElementById("version")!.textContent =
    `edgespan ${status.version}`;
  document.title = `edgespan · ${status.hostname}`;
}

function renderCards(): void {
  const ready = document.getElementById("ready")!;
  const discovery = document.getElementById("discovery")!;
  const count = document.getElementById("count")!;
  if (!status) return;
  ready.dataset.ok = String(status.ready);
  ready.replaceChildren(
    el("div", { class: "big" }, status.ready ? "ready" : "not ready"),
    ...Object.entries(status.checks).filter(([, c]) => !c.ok).map(([n, c]) =>
      el("div", { class: "why" }, `${n}: ${c.detail}`)
    ),
  );
  discovery.replaceChildren(
    ...(status.discovery.length
      ? status.discovery.map((d) => {
        const row = el("div", { class: "conn", "data-state": d.state });
        row.append(
          el("span", {
            class: `badge ${
              d.state === "connected"
                ? "up"
                : d.state === "connecting"
                ? "down"
                : "unknown"
            }`,
          }, d.state),
          el("span", { class: "name" }, ` ${d.name}`),
          el(
            "div",
            { class: "why" },
            `${d.since ? `since ${formatAge(d.since, now())} ago` : ""}${
              d.detail ? ` · ${d.detail}` : ""
            }`,
          ),
        );
        return row;
      })
      : [el("div", { class: "why" }, "no discovery plugin is running")]),
  );
  count.replaceChildren(
    el("div", { class: "big" }, `${status.peers.up}/${status.peers.total}`),
    el("div", { class: "why" }, "peers up"),
  );
  count.dataset.ok = String(status.peers.up === status.peers.total);
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

function renderPlugins(): void {
  const body = document.querySelector("#plugins tbody")!;
  body.replaceChildren(
    ...plugins.map((p) => {
      const row = el("tr", { "data-plugin": p.name, "data-state": p.state });
      const state = el("td");
      state.append(
        el("span", {
          class: `badge ${
            p.state === "running"
              ? "up"
              : p.state === "failed"
              ? "down"
              : "unknown"
          }`,
        }, p.state),
      );
      row.append(
        el("td", {}, p.name),
        state,
        el("td", {}, p.kind),
        el("td", { class: "num" }, String(p.errors)),
        el(
          "td",
          { class: "why", title: p.lastError },
          p.lastError || p.source || "",
        ),
      );
      return row;
    }),
  );
}

function sparkline(key: string): SVGElement {
  const rates = history.rates(key);
  const root = svg("svg", {
    width: 80,
    height: 20,
    class: "spark",
    viewBox: "0 0 80 20",
  });
  root.append(
    svg("polyline", {
      points: sparklinePoints(rates.map((r) => r.rx), 80, 20),
      class: "rx",
    }),
    svg("polyline", {
      points: sparklinePoints(rates.map((r) => r.tx), 80, 20),
      class: "tx",
    }),
  );
  return root;
}

function renderTable(): void {
  const t = now();
  const body = document.querySelector("#peers tbody")!;
  body.replaceChildren();
  for (const [key, p] of sortedPeers()) {
    const row = el("tr", { "data-peer": key, "data-state": p.state });
    const state = el("td", { "data-col": "state" });
    state.append(el("span", { class: `badge ${p.state}` }, p.state));
    const rate = history.latest(key);
    const endpoint = el("td", { "data-col": "endpoint" }, p.endpoint);
    const route = pathCell(p.path);
    const path = el("td", { "data-col": "path" });
    if (route.badge) {
      path.append(el("span", { class: `badge ${route.badge}` }, route.text));
    }
    const traffic = el("td", { "data-col": "rate", class: "num" });
    traffic.append(
      el(
        "div",
        {},
        rate ? `↓${formatRate(rate.rx)} ↑${formatRate(rate.tx)}` : "…",
      ),
      sparkline(key),
    );
    row.append(
      el("td", { "data-col": "label", title: key }, p.label || key.slice(0, 8)),
      state,
      el(
        "td",
        { "data-col": "since", class: "num" },
        p.stateSince ? formatAge(p.stateSince, t) : "",
      ),
      endpoint,
      path,
      el(
        "td",
        { "data-col": "handshake", class: "num" },
        formatAge(p.lastHandshakeTime, t),
      ),
      traffic,
      el("td", { "data-col": "rx", class: "num" }, formatBytes(p.receiveBytes)),
      el(
        "td",
        { "data-col": "tx", class: "num" },
        formatBytes(p.transmitBytes),
      ),
      el("td", { "data-col": "reason", class: "why" }, peerReason(p, t)),
    );
    body.append(row);
  }
  const counts = { up: 0, down: 0, unknown: 0 };
  for (const p of peers.values()) counts[p.state]++;
  document.getElementById("summary")!.textContent =
    `${peers.size} peers: ${counts.up} up, ${counts.down} down, ${counts.unknown} unknown`;
}

function networksOf(publicKey: string): string[] {
  const a = affiliates.find((x) => x.kubespan?.publicKey === publicKey);
  return a?.kubespan?.additionalAddresses ?? [];
}

function renderMesh(): void {
  const pic = document.getElementById("mesh")!;
  pic.replaceChildren();
  const list = sortedPeers();
  const layout = layoutMesh(
    list.map(([key, p]) => ({
      key,
      lines: meshLines(p.label || key.slice(0, 8), networksOf(key), p.path),
    })),
  );
  const links = svg("g", {});
  const nodes = svg("g", {});
  for (const placed of layout.peers) {
    const p = peers.get(placed.key)!;
    const relayed = relayOf(p.path) !== undefined;
    const color = relayed && p.state === "up"
      ? RELAYED
      : COLORS[p.state] ?? COLORS.unknown!;
    links.append(svg("line", {
      x1: layout.cx,
      y1: layout.cy,
      x2: placed.x,
      y2: placed.y,
      stroke: color,
      "stroke-width": 3,
      "stroke-dasharray": p.state !== "up" ? "6 4" : relayed ? "2 3" : "",
      class: `link ${p.state}${relayed ? " relayed" : ""}`,
      "data-peer": placed.key,
    }));
    nodes.append(
      svg("circle", {
        cx: placed.x,
        cy: placed.y,
        r: 12,
        fill: color,
        class: "node",
      }),
    );
    const label = svg("text", {
      x: placed.lx,
      y: placed.ly,
      "text-anchor": placed.anchor,
      class: "label",
      "data-peer": placed.key,
    });
    const lines = meshLines(
      p.label || placed.key.slice(0, 8),
      networksOf(placed.key),
      p.path,
    );
    lines.forEach((line, i) => {
      const span = svg("tspan", {
        x: placed.lx,
        dy: i === 0 ? 0 : 13,
        class: i === 0 ? "name" : relayed && i === 1 ? "via" : "net",
      });
      span.textContent = line;
      label.append(span);
    });
    nodes.append(label);
  }
  nodes.append(
    svg("circle", {
      cx: layout.cx,
      cy: layout.cy,
      r: 16,
      fill: "#2b6cb0",
      class: "node self",
    }),
  );
  const self = svg("text", {
    x: layout.cx,
    y: layout.cy + 4,
    "text-anchor": "middle",
    class: "self-label",
  });
  self.textContent = "me";
  nodes.append(self);
  const root = svg("svg", {
    viewBox: `0 0 ${layout.width} ${layout.height}`,
    role: "img",
    "aria-label": "mesh",
  });
  root.append(links, nodes);
  pic.append(root);
}

function render(): void {
  renderHeader();
  renderCards();
  renderIdentity();
  renderPlugins();
  renderTable();
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

function sample(key: string, p: PeerStatus, t: number): void {
  history.add(key, { t, rx: p.receiveBytes, tx: p.transmitBytes });
}

async function refresh(): Promise<void> {
  const [s, id, pl, af] = await Promise.all([
    getJson<Status & { items: ApiResource<PeerStatus>[] }>("/v1/status"),
    getJson<ApiResource<Identity>>("/v1/identity/local"),
    getJson<{ items: ApiResource<Plugin>[] }>("/v1/plugins"),
    getJson<{ items: ApiResource<Affiliate>[] }>("/v1/affiliates"),
  ]);
  status = s;
  skew = Date.parse(s.time) - Date.now();
  identity = id.spec;
  plugins = pl.items.map((i) => i.spec);
  affiliates = af.items.map((i) => i.spec);
  peers.clear();
  const t = Date.parse(s.time);
  for (const item of s.items) {
    peers.set(item.id, item.spec);
    sample(item.id, item.spec, t);
  }
  history.retain(new Set(peers.keys()));
  render();
}

function watch(): void {
  const source = new EventSource("/v1/watch");
  source.onopen = () => {
    setLive(true, "live");
    // Catch up on anything missed while disconnected.
    refresh().catch((e) => setLive(false, String(e)));
  };
  source.onerror = () => setLive(false, "reconnecting…");
  const onChange = (ev: MessageEvent<string>) => {
    const { kind, resource } = JSON.parse(ev.data) as {
      kind: string;
      resource: ApiResource<unknown>;
    };
    if (resource.type === "peerstatuses") {
      if (kind === "deleted") peers.delete(resource.id);
      else {
        peers.set(resource.id, resource.spec as PeerStatus);
        sample(resource.id, resource.spec as PeerStatus, now());
      }
    } else if (resource.type === "identity") {
      identity = resource.spec as Identity;
    } else if (resource.type === "plugins") {
      const p = resource.spec as Plugin;
      plugins = kind === "deleted"
        ? plugins.filter((x) => x.name !== resource.id)
        : [...plugins.filter((x) => x.name !== resource.id), p].sort((a, b) =>
          a.name.localeCompare(b.name)
        );
    } else return;
    render();
  };
  for (const kind of ["created", "updated", "deleted"]) {
    source.addEventListener(kind, onChange as EventListener);
  }
}

refresh().catch((e) => setLive(false, `cannot load: ${e}`));
watch();
// Readiness, discovery, affiliates and a rate sample every 2 s; ages every second.
setInterval(() => refresh().catch((e) => setLive(false, String(e))), 2000);
setInterval(() => {
  renderCards();
  renderTable();
}, 1000);
