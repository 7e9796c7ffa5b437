/**
 * The dashboard's pure parts: traffic rates with a short history, the
 * sparkline of a history, and the layout of the mesh picture (peers on a
 * circle around this node, labels outside it, never overlapping). Bundled
 * for the browser, so this file imports nothing.
 *
 * @module
 */

/** One counter reading of a peer. */
export interface TrafficSample {
  /** ms since the epoch. */
  t: number;
  rx: number;
  tx: number;
}

/** Receive and transmit rates in bytes per second between readings. */
export interface Rate {
  rx: number;
  tx: number;
}

/**
 * Keeps the last `size` readings of each peer's byte counters and turns
 * them into rates. A counter that went down (the peer was re-added) starts
 * the history again.
 */
export class RateHistory {
  readonly #size: number;
  readonly #samples = new Map<string, TrafficSample[]>();

  constructor(size = 60) {
    this.#size = size;
  }

  /** Adds a reading; a reading at the same time as the last one replaces it. */
  add(key: string, sample: TrafficSample): void {
    let list = this.#samples.get(key);
    if (!list) this.#samples.set(key, list = []);
    const last = list.at(-1);
    if (last && (sample.rx < last.rx || sample.tx < last.tx)) list.length = 0;
    if (last && last.t === sample.t) list.pop();
    list.push(sample);
    if (list.length > this.#size + 1) {
      list.splice(0, list.length - this.#size - 1);
    }
  }

  /** Forgets peers not in `keys`. */
  retain(keys: ReadonlySet<string>): void {
    for (const k of this.#samples.keys()) {
      if (!keys.has(k)) this.#samples.delete(k);
    }
  }

  /** Rates between consecutive readings, oldest first. */
  rates(key: string): Rate[] {
    const list = this.#samples.get(key) ?? [];
    const out: Rate[] = [];
    for (let i = 1; i < list.length; i++) {
      const a = list[i - 1]!;
      const b = list[i]!;
      const dt = (b.t - a.t) / 1000;
      if (dt <= 0) continue;
      out.push({ rx: (b.rx - a.rx) / dt, tx: (b.tx - a.tx) / dt });
    }
    return out;
  }

  /** The latest rate, or `undefined` before two readings. */
  latest(key: string): Rate | undefined {
    return this.rates(key).at(-1);
  }
}

/** `1536` → `1.5 KiB/s`. */
export function formatRate(bytesPerSecond: number): string {
  const n = Math.max(0, bytesPerSecond);
  if (n < 1024) return `${Math.round(n)} B/s`;
  const units = ["KiB/s", "MiB/s", "GiB/s"];
  let v = n;
  let u = -1;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}

/**
 * The `points` of an SVG polyline drawing `values` in a `width`×`height`
 * box (the largest value at the top, zero at the bottom; 1 px margin).
 */
export function sparklinePoints(
  values: readonly number[],
  width: number,
  height: number,
): string {
  if (values.length === 0) return "";
  const max = Math.max(...values, 1);
  const step = values.length > 1 ? (width - 2) / (values.length - 1) : 0;
  return values.map((v, i) => {
    const x = 1 + i * step;
    const y = height - 1 - (Math.max(0, v) / max) * (height - 2);
    return `${round(x)},${round(y)}`;
  }).join(" ");
}

const round = (n: number) => Math.round(n * 10) / 10;

/** A peer to place in the mesh picture. */
export interface MeshPeer {
  key: string;
  /** Lines of its label: name, then its advertised networks. */
  lines: string[];
}

/** A placed peer: its dot and the box of its label. */
export interface PlacedPeer {
  key: string;
  x: number;
  y: number;
  /** Label anchor: left edge (`start`), right edge (`end`) or centre. */
  anchor: "start" | "end" | "middle";
  /** Baseline of the first label line. */
  lx: number;
  ly: number;
  /** Label box, for overlap checks. */
  box: { x: number; y: number; w: number; h: number };
}

/** The laid-out picture. */
export interface MeshLayout {
  width: number;
  height: number;
  cx: number;
  cy: number;
  peers: PlacedPeer[];
}

/** Font metrics the layout assumes (11 px system font). */
export const LABEL_FONT = { charWidth: 6.6, lineHeight: 13 };

function labelBox(
  lines: readonly string[],
  anchor: PlacedPeer["anchor"],
  lx: number,
  ly: number,
): PlacedPeer["box"] {
  const w = Math.max(...lines.map((l) => l.length), 1) * LABEL_FONT.charWidth;
  const h = lines.length * LABEL_FONT.lineHeight;
  const x = anchor === "start" ? lx : anchor === "end" ? lx - w : lx - w / 2;
  return { x, y: ly - LABEL_FONT.lineHeight + 3, w, h };
}

function overlaps(a: PlacedPeer["box"], b: PlacedPeer["box"]): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h &&
    b.y < a.y + a.h;
}

/**
 * Places peers evenly on a circle around this node with their labels
 * outside the circle (left of the dot on the left half, right of it on the
 * right half, above or below at the poles). The radius grows until no two
 * labels overlap and no label covers this node; the picture grows with it.
 */
export function layoutMesh(
  peers: readonly MeshPeer[],
  minRadius = 90,
): MeshLayout {
  for (let radius = minRadius;; radius += 10) {
    const placed = peers.map((p, i) => place(p, i, peers.length, radius));
    const clash = radius < 2000 &&
      placed.some((a, i) =>
        overlaps(a.box, { x: -24, y: -24, w: 48, h: 48 }) ||
        placed.some((b, j) => j > i && overlaps(a.box, b.box))
      );
    if (clash) continue;
    // Bounding box of dots and labels, with a margin; centre at (cx, cy).
    const xs = placed.flatMap((
      p,
    ) => [p.box.x, p.box.x + p.box.w, p.x - 14, p.x + 14]);
    const ys = placed.flatMap((
      p,
    ) => [p.box.y, p.box.y + p.box.h, p.y - 14, p.y + 14]);
    const minX = Math.min(-40, ...xs) - 8;
    const maxX = Math.max(40, ...xs) + 8;
    const minY = Math.min(-40, ...ys) - 8;
    const maxY = Math.max(40, ...ys) + 8;
    const shift = (p: PlacedPeer): PlacedPeer => ({
      ...p,
      x: round(p.x - minX),
      y: round(p.y - minY),
      lx: round(p.lx - minX),
      ly: round(p.ly - minY),
      box: { ...p.box, x: round(p.box.x - minX), y: round(p.box.y - minY) },
    });
    return {
      width: Math.ceil(maxX - minX),
      height: Math.ceil(maxY - minY),
      cx: round(-minX),
      cy: round(-minY),
      peers: placed.map(shift),
    };
  }
}

function place(
  p: MeshPeer,
  i: number,
  n: number,
  radius: number,
): PlacedPeer {
  // From the top, clockwise; two peers sit left and right of this node.
  const a = (2 * Math.PI * i) / Math.max(1, n) - (n === 2 ? 0 : Math.PI / 2);
  const x = radius * Math.cos(a);
  const y = radius * Math.sin(a);
  const cos = Math.cos(a);
  const h = p.lines.length * LABEL_FONT.lineHeight;
  let anchor: PlacedPeer["anchor"];
  let lx: number;
  let ly: number;
  if (Math.abs(cos) < 0.2) {
    // Top or bottom: centred above or below the dot.
    anchor = "middle";
    lx = x;
    ly = y < 0 ? y - 20 - h + LABEL_FONT.lineHeight : y + 28;
  } else {
    anchor = cos > 0 ? "start" : "end";
    lx = x + (cos > 0 ? 20 : -20);
    ly = y - h / 2 + LABEL_FONT.lineHeight - 3;
  }
  return {
    key: p.key,
    x,
    y,
    anchor,
    lx,
    ly,
    box: labelBox(p.lines, anchor, lx, ly),
  };
}

/** Whether any two label boxes of a layout overlap (tests). */
export function labelsOverlap(layout: MeshLayout): boolean {
  return layout.peers.some((a, i) =>
    layout.peers.some((b, j) => j > i && overlaps(a.box, b.box))
  );
}

/** The relay a peer's path goes through (`relay:<label>`), if relayed. */
export function relayOf(path: string | undefined): string | undefined {
  return path?.startsWith("relay:") && path.length > 6
    ? path.slice(6)
    : undefined;
}

/** How the peer table shows a path: badge class and text (`""` = no path plugin). */
export function pathCell(
  path: string | undefined,
): { badge: "relayed" | "direct" | ""; text: string } {
  const relay = relayOf(path);
  if (relay !== undefined) return { badge: "relayed", text: `via ${relay}` };
  return path ? { badge: "direct", text: path } : { badge: "", text: "" };
}

/** Label lines of a peer in the mesh picture: name, `via <relay>`, networks. */
export function meshLines(
  name: string,
  networks: readonly string[],
  path: string | undefined,
): string[] {
  const relay = relayOf(path);
  return [name, ...(relay !== undefined ? [`via ${relay}`] : []), ...networks];
}
