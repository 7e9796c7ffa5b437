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
  assert,
  assertEquals,
  assertRejects,
  assertStringIncludes,
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

const GOOD = `cluster:
  id: site-a
  secret: B7kzFvlH7aTcBmSlk5czGsbqXTJQWJo6ViKrkiMzrIk=
`;

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "edgespan-config-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Rejects within 5 s (a FIFO or /dev/zero must not hang or fill memory). */
async function loadRejects(file: string): Promise<ConfigError> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${file}: hung`)), 5000);
  });
  try {
    return await Promise.race([
      assertRejects(() => loadConfig(file), ConfigError),
      hung,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("loadConfig() refuses devices, FIFOs and directories without reading them", async () => {
  await withDir(async (dir) => {
    const fifo = `${dir}/config.yaml`;
    assertEquals(
      (await new Deno.Command("mkfifo", { args: [fifo] }).output()).code,
      0,
    );
    const cases: [string, string][] = [
      ["/dev/zero", "it is a character device, not a regular file"],
      ["/dev/urandom", "it is a character device, not a regular file"],
      [fifo, "it is a FIFO (named pipe), not a regular file"],
      [dir, "it is a directory, not a regular file"],
    ];
    for (const [file, why] of cases) {
      const err = await loadRejects(file);
      assertEquals(err.problems, [{
        path: "(file)",
        message: `${why}; point --config at the YAML file`,
      }]);
      assertEquals(err.file, file);
    }
  });
});

Deno.test("loadConfig() refuses a file over 1 MiB", async () => {
  await withDir(async (dir) => {
    const file = `${dir}/big.yaml`;
    await Deno.writeTextFile(file, GOOD + "#".repeat(1 << 20) + "\n");
    const err = await loadRejects(file);
    assertEquals(err.problems[0]!.path, "(file)");
    assertStringIncludes(
      err.problems[0]!.message,
      "more than the limit of 1 MiB; a config is a few KiB",
    );
  });
});

function bomb(levels: number): string {
  const rows = [
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  ];
  for (let i = 1; i < levels; i++) {
    const name = String.fromCharCode(97 + i);
    const prev = String.fromCharCode(96 + i);
    rows.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(",")}]`);
  }
  return `${GOOD}plugins:\n${rows.map((r) => `  ${r}`).join("\n")}\n`;
}

Deno.test("parseConfigText() refuses an alias bomb with the line of the alias", () => {
  const started = performance.now();
  const err = assertThrows(
    () => parseConfigText(bomb(9), "bomb.yaml"),
    ConfigError,
  );
  assert(performance.now() - started < 2000, "took too long");
  assertEquals(err.file, "bomb.yaml");
  // The aliases of lines 6..8 add 90, 819 and 7380 values; the first alias
  // of line 9 adds 7381 more and crosses 10000.
  assertEquals(err.problems, [{
    path: "line 9",
    message:
      "YAML aliases expand to more than 10000 values from here on (an alias bomb?); write the values out instead",
  }]);
});

Deno.test("parseConfigText() accepts modest aliases and refuses dangling or self-referencing ones", () => {
  const ok = parseConfigText(
    `${GOOD}advertise:\n  networks: &lan [10.0.0.0/24]\n  kubernetesNetworks: *lan\n`,
    "ok.yaml",
  );
  assertEquals(ok.advertise.kubernetesNetworks, ["10.0.0.0/24"]);
  const dangling = assertThrows(
    () => parseConfigText(`${GOOD}advertise:\n  networks: *lan\n`, "d.yaml"),
    ConfigError,
  );
  assertEquals(dangling.problems[0]!.path, "line 5");
  assertStringIncludes(dangling.problems[0]!.message, 'no anchor "&lan"');
  const loop = assertThrows(
    () => parseConfigText(`${GOOD}advertise: &x\n  networks: *x\n`, "l.yaml"),
    ConfigError,
  );
  assertEquals(loop.problems[0]!.path, "line 5");
  assertStringIncludes(loop.problems[0]!.message, "inside the node it names");
});

Deno.test("parseConfigText() refuses nesting bombs before the parser sees them", () => {
  const cases: [string, string][] = [
    [
      `${GOOD}x: ${"[".repeat(1 << 19)}`,
      'more than 10000 "[" and "{" in one config (a nesting bomb?); write lists in block style',
    ],
    [
      `${GOOD}x:\n${"- ".repeat(1 << 18)}y\n`,
      'more than 1000 nested "- " on one line (a nesting bomb?); a config nests a few levels',
    ],
  ];
  for (const [text, why] of cases) {
    const started = performance.now();
    const err = assertThrows(
      () => parseConfigText(text, "deep.yaml"),
      ConfigError,
    );
    assert(performance.now() - started < 500, "the scan must be quick");
    assertEquals(err.problems, [{
      path: text.startsWith(`${GOOD}x: `) ? "line 4" : "line 5",
      message: why,
    }]);
  }
});

Deno.test("parseConfigText() lists each kind of syntax error once", () => {
  // Deep, but under the nesting limit: the parser overflows its stack once
  // per level; the operator sees each message once.
  const err = assertThrows(
    () => parseConfigText("[".repeat(9000), "deep.yaml"),
    ConfigError,
  );
  const messages = err.problems.map((p) => p.message);
  assertEquals(new Set(messages).size, messages.length);
  assert(messages.length <= 11, `${messages.length} problems`);
  assertStringIncludes(err.message, 'Cannot use config "deep.yaml"');
});

Deno.test("loadConfig() refuses a node.stateDir that is not a directory", async () => {
  await withDir(async (dir) => {
    const file = `${dir}/c.yaml`;
    const cases: [string, string][] = [
      [
        "/dev/null",
        '"/dev/null" is not a directory; choose a directory such as /var/lib/edgespan',
      ],
      [
        "/dev/null/state",
        '"/dev/null" is not a directory, so "/dev/null/state" cannot be created; choose a directory such as /var/lib/edgespan',
      ],
      [
        `${file}/x`,
        `"${file}" is not a directory, so "${file}/x" cannot be created; choose a directory such as /var/lib/edgespan`,
      ],
    ];
    for (const [stateDir, why] of cases) {
      await Deno.writeTextFile(
        file,
        `${GOOD}node: {stateDir: "${stateDir}"}\n`,
      );
      const err = await loadRejects(file);
      assertEquals(err.problems, [{ path: "node.stateDir", message: why }]);
    }
    for (const stateDir of [dir, `${dir}/new/deeper`]) {
      await Deno.writeTextFile(
        file,
        `${GOOD}node: {stateDir: "${stateDir}"}\n`,
      );
      assertEquals((await loadConfig(file)).node.stateDir, stateDir);
    }
  });
});

Deno.test("loadConfig() refuses discovery.serve files that are not regular files", async () => {
  await withDir(async (dir) => {
    const file = `${dir}/c.yaml`;
    await Deno.writeTextFile(
      `${dir}/cert.pem`,
      "-----BEGIN CERTIFICATE-----\n",
    );
    const serve = (extra: string) =>
      Deno.writeTextFile(
        file,
        `${GOOD}discovery:\n  serve: {listen: "127.0.0.1:0", ${extra}}\n`,
      );
    await serve(
      `tlsCert: /dev/zero, tlsKey: ${dir}/none.pem, stateFile: ${dir}`,
    );
    assertEquals((await loadRejects(file)).problems, [
      {
        path: "discovery.serve.tlsCert",
        message: '"/dev/zero" is not a regular file; name the PEM file',
      },
      {
        path: "discovery.serve.tlsKey",
        message: `"${dir}/none.pem" does not exist`,
      },
      {
        path: "discovery.serve.stateFile",
        message:
          `"${dir}" is not a regular file; name a file the service may replace`,
      },
    ]);
    await serve(
      `tlsCert: ${dir}/cert.pem, tlsKey: ${dir}/cert.pem, stateFile: ${dir}/new.json`,
    );
    assertEquals(
      (await loadConfig(file)).discovery.serve?.stateFile,
      `${dir}/new.json`,
    );
  });
});
