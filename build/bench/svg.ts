/**
 * Two small SVG plots for BENCHMARKS.md, written without a plotting
 * library: a line chart (several series over a shared x axis) and a
 * waterfall (one row per node, one bar per step). Pure: data in, text out.
 *
 * @module
 */

/** One line of a {@linkcode lineChart}. */
export interface Series {
  name: string;
  points: readonly (readonly [number, number])[];
}

/** Options of {@linkcode lineChart}. */
export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly Series[];
  /** @default 640 */
  width?: number;
  /** @default 360 */
  height?: number;
}

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd"];
const PHASE_COLORS = [
  "#c7d2fe",
  "#a5b4fc",
  "#818cf8",
  "#6366f1",
  "#fcd34d",
  "#fb923c",
  "#34d399",
  "#10b981",
  "#0ea5e9",
  "#f472b6",
  "#ef4444",
];

/** Escapes text for SVG. */
export function esc(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(
    />/g,
    "&gt;",
  ).replace(/"/g, "&quot;");
}

/** A round step for about `count` ticks up to `max`. */
export function niceStep(max: number, count = 5): number {
  if (!(max > 0)) return 1;
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const n = raw / mag;
  return (n <= 1 ? 1 : n <= 2 ? 2 : n <= 5 ? 5 : 10) * mag;
}

function num(v: number): string {
  return String(Math.round(v * 10) / 10);
}

function fmtTick(v: number): string {
  return String(Number(v.toPrecision(6)));
}

function frame(width: number, height: number, title: string): string[] {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${
      width / 2
    }" y="20" text-anchor="middle" font-size="14" font-weight="bold">${
      esc(title)
    }</text>`,
  ];
}

/**
 * A line chart with dots at the points, axes with round ticks from 0 and a
 * legend.
 *
 * @example
 * ```ts
 * import { ok } from "node:assert";
 * import { lineChart } from "./svg.ts";
 *
 * const svg = lineChart({
 *   title: "t", xLabel: "x", yLabel: "y",
 *   series: [{ name: "a", points: [[1, 2], [2, 4]] }],
 * });
 * ok(svg.startsWith("<svg") && svg.includes("<polyline"));
 * ```
 */
export function lineChart(options: LineChartOptions): string {
  const width = options.width ?? 640;
  const height = options.height ?? 360;
  const m = { left: 60, right: 150, top: 36, bottom: 48 };
  const all = options.series.flatMap((s) => s.points);
  const xMax = Math.max(1, ...all.map((p) => p[0]));
  const yMax = Math.max(0, ...all.map((p) => p[1]));
  const xStep = niceStep(xMax);
  const yStep = niceStep(yMax);
  const xTop = Math.ceil(xMax / xStep) * xStep;
  const yTop = Math.max(yStep, Math.ceil(yMax / yStep) * yStep);
  const pw = width - m.left - m.right;
  const ph = height - m.top - m.bottom;
  const x = (v: number) => m.left + (v / xTop) * pw;
  const y = (v: number) => m.top + ph - (v / yTop) * ph;
  const out = frame(width, height, options.title);
  for (let v = 0; v <= yTop + 1e-9; v += yStep) {
    out.push(
      `<line x1="${m.left}" x2="${m.left + pw}" y1="${num(y(v))}" y2="${
        num(y(v))
      }" stroke="#e5e7eb"/>`,
      `<text x="${m.left - 6}" y="${num(y(v) + 4)}" text-anchor="end">${
        fmtTick(v)
      }</text>`,
    );
  }
  for (let v = 0; v <= xTop + 1e-9; v += xStep) {
    out.push(
      `<text x="${num(x(v))}" y="${m.top + ph + 16}" text-anchor="middle">${
        fmtTick(v)
      }</text>`,
    );
  }
  out.push(
    `<line x1="${m.left}" x2="${m.left}" y1="${m.top}" y2="${
      m.top + ph
    }" stroke="black"/>`,
    `<line x1="${m.left}" x2="${m.left + pw}" y1="${m.top + ph}" y2="${
      m.top + ph
    }" stroke="black"/>`,
    `<text x="${m.left + pw / 2}" y="${height - 10}" text-anchor="middle">${
      esc(options.xLabel)
    }</text>`,
    `<text x="16" y="${
      m.top + ph / 2
    }" text-anchor="middle" transform="rotate(-90 16 ${m.top + ph / 2})">${
      esc(options.yLabel)
    }</text>`,
  );
  options.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    const pts = s.points.map((p) => `${num(x(p[0]))},${num(y(p[1]))}`);
    out.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2" points="${
        pts.join(" ")
      }"/>`,
    );
    for (const p of s.points) {
      out.push(
        `<circle cx="${num(x(p[0]))}" cy="${
          num(y(p[1]))
        }" r="3" fill="${color}"><title>${esc(s.name)}: ${p[0]}, ${
          fmtTick(p[1])
        }</title></circle>`,
      );
    }
    const ly = m.top + 10 + i * 18;
    out.push(
      `<rect x="${width - m.right + 12}" y="${
        ly - 8
      }" width="12" height="12" fill="${color}"/>`,
      `<text x="${width - m.right + 30}" y="${ly + 2}">${esc(s.name)}</text>`,
    );
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}

/** One row of a {@linkcode waterfall}: step key → ms after the common zero. */
export interface WaterfallRow {
  name: string;
  steps: Readonly<Record<string, number>>;
}

/** Options of {@linkcode waterfall}. */
export interface WaterfallOptions {
  title: string;
  rows: readonly WaterfallRow[];
  /** The steps in order, with legend text; each bar spans from the previous step reached. */
  phases: readonly { key: string; text: string }[];
  /** @default 760 */
  width?: number;
}

/**
 * One row per node; each step is a bar from the latest earlier step the
 * node reached to this one, so the row shows where its time went.
 *
 * @example
 * ```ts
 * import { ok } from "node:assert";
 * import { waterfall } from "./svg.ts";
 *
 * const svg = waterfall({
 *   title: "t",
 *   rows: [{ name: "n1", steps: { a: 10, b: 30 } }],
 *   phases: [{ key: "a", text: "A" }, { key: "b", text: "B" }],
 * });
 * ok(svg.includes("<rect") && svg.includes("n1"));
 * ```
 */
export function waterfall(options: WaterfallOptions): string {
  const width = options.width ?? 760;
  const rowH = 16;
  const m = { left: 70, right: 190, top: 36, bottom: 40 };
  const ph = options.rows.length * rowH;
  const height = Math.max(
    m.top + ph + m.bottom,
    m.top + options.phases.length * 18 + 20,
  );
  const tMax = Math.max(
    1,
    ...options.rows.flatMap((r) => Object.values(r.steps)),
  );
  const step = niceStep(tMax / 1000) * 1000;
  const top = Math.ceil(tMax / step) * step;
  const pw = width - m.left - m.right;
  const x = (ms: number) => m.left + (Math.max(0, ms) / top) * pw;
  const out = frame(width, height, options.title);
  for (let v = 0; v <= top + 1e-9; v += step) {
    out.push(
      `<line x1="${num(x(v))}" x2="${num(x(v))}" y1="${m.top}" y2="${
        m.top + ph
      }" stroke="#e5e7eb"/>`,
      `<text x="${num(x(v))}" y="${m.top + ph + 16}" text-anchor="middle">${
        fmtTick(v / 1000)
      } s</text>`,
    );
  }
  options.rows.forEach((row, i) => {
    const yy = m.top + i * rowH;
    out.push(
      `<text x="${m.left - 6}" y="${yy + 12}" text-anchor="end">${
        esc(row.name)
      }</text>`,
    );
    let from = 0;
    options.phases.forEach((p, j) => {
      const at = row.steps[p.key];
      if (at === undefined) return;
      const start = Math.min(from, at);
      out.push(
        `<rect x="${num(x(start))}" y="${yy + 2}" width="${
          num(Math.max(0.5, x(at) - x(start)))
        }" height="${rowH - 4}" fill="${
          PHASE_COLORS[j % PHASE_COLORS.length]
        }"><title>${esc(row.name)}: ${esc(p.text)} at ${
          (at / 1000).toFixed(3)
        } s</title></rect>`,
      );
      from = Math.max(from, at);
    });
  });
  options.phases.forEach((p, j) => {
    const ly = m.top + 10 + j * 18;
    out.push(
      `<rect x="${width - m.right + 12}" y="${
        ly - 8
      }" width="12" height="12" fill="${
        PHASE_COLORS[j % PHASE_COLORS.length]
      }"/>`,
      `<text x="${width - m.right + 30}" y="${ly + 2}">${esc(p.text)}</text>`,
    );
  });
  out.push(
    `<text x="${m.left + pw / 2}" y="${
      height - 8
    }" text-anchor="middle">time after the first agent was spawned</text>`,
  );
  out.push("</svg>");
  return out.join("\n") + "\n";
}
