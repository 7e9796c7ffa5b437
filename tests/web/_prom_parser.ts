/**
 * A small strict parser of the Prometheus text format 0.0.4, for tests:
 * every sample must belong to a family announced by `# TYPE` (with the
 * `_total` / `_sum` / `_count` / `_bucket` suffixes where the type allows),
 * names and labels must be valid, label values correctly escaped, values
 * parseable, no family declared twice, no duplicate series.
 *
 * @module
 */

/** One parsed sample. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A parsed metric family. */
export interface MetricFamily {
  name: string;
  type: string;
  help: string;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = ["counter", "gauge", "histogram", "summary", "untyped"];

function fail(line: number, why: string): never {
  throw new SyntaxError(`Prometheus text line ${line}: ${why}`);
}

function parseValue(text: string, line: number): number {
  if (text === "NaN") return NaN;
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) {
    fail(line, `bad value "${text}"`);
  }
  return Number(text);
}

function parseLabels(
  text: string,
  line: number,
): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let i = 1; // after "{"
  while (true) {
    while (text[i] === " ") i++;
    if (text[i] === "}") return { labels, rest: text.slice(i + 1) };
    const eq = text.indexOf("=", i);
    if (eq < 0) fail(line, "label without =");
    const name = text.slice(i, eq).trim();
    if (!LABEL.test(name)) fail(line, `bad label name "${name}"`);
    if (name in labels) fail(line, `duplicate label "${name}"`);
    if (text[eq + 1] !== '"') fail(line, "label value is not quoted");
    let j = eq + 2;
    let value = "";
    while (text[j] !== '"') {
      if (j >= text.length) fail(line, "unterminated label value");
      if (text[j] === "\\") {
        const next = text[j + 1];
        if (next === "n") value += "\n";
        else if (next === "\\" || next === '"') value += next;
        else fail(line, `bad escape \\${next}`);
        j += 2;
      } else if (text[j] === "\n") {
        fail(line, "raw newline in label value");
      } else {
        value += text[j++];
      }
    }
    labels[name] = value;
    i = j + 1;
    if (text[i] === ",") i++;
    else if (text[i] !== "}") fail(line, "expected , or } after a label");
  }
}

function familyOf(
  name: string,
  families: Map<string, MetricFamily>,
): MetricFamily | undefined {
  const exact = families.get(name);
  if (exact) return exact;
  for (const suffix of ["_total", "_sum", "_count", "_bucket", "_created"]) {
    if (!name.endsWith(suffix)) continue;
    const f = families.get(name.slice(0, -suffix.length));
    if (!f) continue;
    if (suffix === "_total" && f.type === "counter") return f;
    if (
      ["_sum", "_count"].includes(suffix) &&
      ["histogram", "summary"].includes(f.type)
    ) return f;
    if (suffix === "_bucket" && f.type === "histogram") return f;
  }
  return undefined;
}

/** Parses the exposition text; throws `SyntaxError` on the first problem. */
export function parsePrometheusText(text: string): Map<string, MetricFamily> {
  const families = new Map<string, MetricFamily>();
  const seen = new Set<string>();
  if (text.length && !text.endsWith("\n")) fail(0, "no final newline");
  const lines = text.split("\n");
  lines.pop();
  lines.forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === "") return;
    if (raw.startsWith("#")) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(raw);
      if (!m) return; // a plain comment
      const [, kind, name, rest] = m;
      if (!NAME.test(name!)) fail(line, `bad metric name "${name}"`);
      const f = families.get(name!) ??
        { name: name!, type: "untyped", help: "", samples: [] };
      if (kind === "TYPE") {
        if (!TYPES.includes(rest!)) fail(line, `bad type "${rest}"`);
        if (families.has(name!) && f.type !== "untyped") {
          fail(line, `second TYPE for "${name}"`);
        }
        if (f.samples.length) fail(line, `TYPE after samples of "${name}"`);
        f.type = rest!;
      } else {
        f.help = rest!;
      }
      families.set(name!, f);
      return;
    }
    const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(raw);
    if (!nameMatch) fail(line, "no metric name");
    const name = nameMatch[0];
    let rest = raw.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith("{")) ({ labels, rest } = parseLabels(rest, line));
    const parts = rest.trim().split(/\s+/);
    if (!rest.startsWith(" ") || parts.length < 1 || parts.length > 2) {
      fail(line, "expected ' value [timestamp]'");
    }
    const value = parseValue(parts[0]!, line);
    if (parts[1] !== undefined && !/^-?\d+$/.test(parts[1])) {
      fail(line, "bad timestamp");
    }
    const f = familyOf(name, families);
    if (!f) fail(line, `sample "${name}" has no # TYPE`);
    if (f.type === "counter" && !name.endsWith("_total") && name === f.name) {
      // Allowed by 0.0.4, but we want the _total convention.
      fail(line, `counter "${name}" should end in _total`);
    }
    const key = name + JSON.stringify(Object.entries(labels).sort());
    if (seen.has(key)) fail(line, `duplicate series ${key}`);
    seen.add(key);
    f.samples.push({ name, labels, value });
  });
  return families;
}
