/**
 * Durations in config text (`500ms`, `30s`, `5m`, `1h`) to milliseconds and
 * back.
 *
 * @module
 */
const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * Parses a duration such as `30s`, `500ms`, `1m30s` or `2h` into milliseconds.
 * A bare number is taken as seconds.
 *
 * @throws {SyntaxError} when the text is not a duration
 */
export function parseDuration(text: string | number): number {
  if (typeof text === "number") {
    if (!Number.isFinite(text) || text < 0) {
      throw new SyntaxError(
        `Cannot use ${text} as a duration: expected seconds >= 0`,
      );
    }
    return Math.round(text * 1000);
  }
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let consumed = 0;
  for (const match of text.matchAll(re)) {
    total += Number(match[1]) * UNIT_MS[match[2]!]!;
    consumed += match[0].length;
  }
  if (consumed === 0 || consumed !== text.length) {
    throw new SyntaxError(
      `Cannot parse "${text}" as a duration: write e.g. 30s, 500ms, 1m30s or 2h`,
    );
  }
  return Math.round(total);
}

/** Formats milliseconds compactly (`90000` → `1m30s`). */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const parts: string[] = [];
  let rest = Math.round(ms / 1000);
  for (const [unit, size] of [["h", 3600], ["m", 60], ["s", 1]] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join("");
}
