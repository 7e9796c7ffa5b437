import { createLogger, underJournald } from "../../../core/log/logger.ts";
import { assertEquals } from "../../_tools/assert.ts";

const T = Date.parse("2026-12-01T12:00:00.000Z");

Deno.test("createLogger() prefixes journald priorities when writing to the journal", () => {
  const lines: string[] = [];
  const log = createLogger({
    format: "logfmt",
    level: "debug",
    journal: true,
    now: () => T,
    sink: (l) => lines.push(l),
  });
  log.debug("d");
  log.info("i");
  log.warn("peer down", { label: "edge-2" });
  log.error("e");
  assertEquals(lines.map((l) => l.slice(0, 3)), ["<7>", "<6>", "<4>", "<3>"]);
  assertEquals(
    lines[2],
    '<4>time=2026-12-01T12:00:00.000Z level=warn msg="peer down" label=edge-2',
  );
});

Deno.test("underJournald() follows $JOURNAL_STREAM, and the logger writes plain lines without it", () => {
  assertEquals(
    underJournald((n) => (n === "JOURNAL_STREAM" ? "8:12345" : undefined)),
    true,
  );
  assertEquals(underJournald(() => undefined), false);
  const lines: string[] = [];
  createLogger({
    journal: false,
    sink: (l) => void lines.push(l),
    now: () => T,
  }).warn("w");
  assertEquals(lines, [
    '{"time":"2026-12-01T12:00:00.000Z","level":"warn","msg":"w"}',
  ]);
});
