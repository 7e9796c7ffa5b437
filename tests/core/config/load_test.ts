import {
  ConfigError,
  loadConfig,
  parseConfigText,
} from "../../../core/config/load.ts";
import {
  formatDuration,
  parseDuration,
} from "../../../core/config/duration.ts";
import {
  closestName,
  editDistance,
} from "../../../core/config/did_you_mean.ts";
import {
  assertEquals,
  assertRejects,
  assertThrows,
} from "../../_tools/assert.ts";

Deno.test("parseConfigText() reports YAML syntax errors with a line number", () => {
  const err = assertThrows(
    () => parseConfigText("cluster:\n  id: a: b\nnode: {}\n", "x.yaml"),
    ConfigError,
  );
  assertEquals(err.problems.length >= 1, true);
  assertEquals(err.problems[0]!.path, "line 2");
  assertEquals(err.message.startsWith('Cannot use config "x.yaml"'), true);
});

Deno.test("parseConfigText() rejects duplicate keys", () => {
  const err = assertThrows(
    () => parseConfigText("cluster: {}\ncluster: {}\n", "x.yaml"),
    ConfigError,
    "YAML syntax",
  );
  assertEquals(err.problems[0]!.path, "line 2");
});

Deno.test("loadConfig() explains a missing file", async () => {
  const err = await assertRejects(
    () => loadConfig("/nonexistent/edgespan.yaml"),
    ConfigError,
  );
  assertEquals(err.problems, [{
    path: "(file)",
    message:
      "the file does not exist (create one with `edgespan gen config > FILE`)",
  }]);
});

Deno.test("parseDuration() reads Go-style durations and bare seconds", () => {
  assertEquals(parseDuration("30s"), 30_000);
  assertEquals(parseDuration("500ms"), 500);
  assertEquals(parseDuration("1m30s"), 90_000);
  assertEquals(parseDuration("2h"), 7_200_000);
  assertEquals(parseDuration(1.5), 1500);
  assertThrows(() => parseDuration("30"), SyntaxError);
  assertThrows(() => parseDuration("1m 2s"), SyntaxError);
  assertThrows(() => parseDuration(-1), SyntaxError);
  assertEquals(formatDuration(90_000), "1m30s");
  assertEquals(formatDuration(250), "250ms");
});

Deno.test("closestName() suggests only near misses", () => {
  assertEquals(editDistance("kitten", "sitting"), 3);
  assertEquals(closestName("enabeld", ["enabled", "mtu"]), "enabled");
  assertEquals(closestName("MTU", ["enabled", "mtu"]), "mtu");
  assertEquals(closestName("zzzzzz", ["enabled", "mtu"]), undefined);
});
