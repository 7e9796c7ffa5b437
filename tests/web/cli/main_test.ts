import {
  type CliDeps,
  type ResourceClient,
  runCli,
} from "../../../web/cli/main.ts";
import { BUILTIN_PLUGINS } from "../../../plugins/mod.ts";
import type { Resource } from "../../../core/resources/store.ts";
import {
  assert,
  assertEquals,
  assertMatch,
  assertStringIncludes,
} from "../../_tools/assert.ts";

async function cli(args: string[], extra: Partial<CliDeps> = {}) {
  let out = "";
  let err = "";
  const code = await runCli(args, {
    version: "9.9.9",
    plugins: BUILTIN_PLUGINS,
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    ...extra,
  });
  return { code, out, err };
}

Deno.test("edgespan version and help", async () => {
  assertEquals(
    (await cli(["version"], {
      build: { commit: "abc1234", date: "2026-12-01" },
    }))
      .out,
    "edgespan 9.9.9 (commit abc1234, built 2026-12-01)\n",
  );
  const help = await cli(["--help"]);
  assertEquals(help.code, 0);
  assertMatch(help.out, /^ {2}run +run the agent/m);
  assertMatch(help.out, /^ {2}status +readiness/m);
  assertEquals((await cli([])).code, 2);
  for (const cmd of ["run", "get", "gen", "validate"]) {
    const r = await cli([cmd, "--help"]);
    assertEquals(r.code, 0, cmd);
    assertStringIncludes(r.out, `edgespan ${cmd}`);
  }
});

Deno.test("edgespan rejects unknown commands and flags with a hint and exit 2", async () => {
  const r = await cli(["rnu"]);
  assertEquals(r.code, 2);
  assertEquals(
    r.err,
    'Unknown command "rnu": did you mean "run"? Run "edgespan --help" for the list\n',
  );
  const f = await cli(["run", "--confg", "x"]);
  assertEquals(f.code, 2);
  assertStringIncludes(f.err, "--confg");
  assertEquals((await cli(["gen"])).code, 2);
  assertEquals(
    (await cli(["get", "peerstatus", "-o", "xml"], {
      resources: fakeClient([]),
    })).err,
    'Unknown output format "xml": use table, yaml or json\n',
  );
  assertEquals(
    (await cli(["get", "peerstatusez"], { resources: fakeClient([]) })).err
      .split(";")[0],
    'Unknown resource type "peerstatusez"',
  );
});

Deno.test("edgespan gen config writes a file that validates", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const gen = await cli(["gen", "config", "--state-dir", `${dir}/state`]);
    assertEquals(gen.code, 0);
    await Deno.writeTextFile(`${dir}/c.yaml`, gen.out);
    const v = await cli(["validate", "--config", `${dir}/c.yaml`]);
    assertEquals([v.code, v.out], [0, `${dir}/c.yaml: ok\n`]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("edgespan run with a bad config exits 2, lists every problem and changes nothing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/c.yaml`,
      `cluster: {id: x, secret: "c2hvcnQ="}\nnode: {stateDir: ${dir}/state}\nkubespan: {mtu: 1000, enabeld: true}\n`,
    );
    const r = await cli(["run", "--config", `${dir}/c.yaml`]);
    assertEquals(r.code, 2);
    assertStringIncludes(r.err, "3 problems");
    assertStringIncludes(r.err, "kubespan.mtu: 1000 is below the minimum 1280");
    assertStringIncludes(
      r.err,
      'kubespan.enabeld: unknown key; did you mean "enabled"?',
    );
    assertStringIncludes(r.err, "Nothing was changed.");
    let created = true;
    try {
      await Deno.stat(`${dir}/state`);
    } catch {
      created = false;
    }
    assertEquals(created, false, "the state dir must not be created");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

function fakeClient(items: Resource[]): ResourceClient {
  return {
    list: (_base, type) =>
      Promise.resolve(items.filter((r) => r.type === type)),
    get: (_base, type, id) =>
      Promise.resolve(items.find((r) => r.type === type && r.id === id)),
    watch: async function* () {},
  };
}

Deno.test("edgespan get prints KubeSpan's columns, humanised in tables and raw in yaml/json", async () => {
  const now = Date.now();
  const status: Resource = {
    type: "peerstatuses",
    id: "06D9QQOydzKrOL7oeLiqHy9OWE8KtmJzZII2A5/FLFI=",
    version: 63,
    updated: now,
    spec: {
      endpoint: "172.20.0.5:51820",
      label: "edge-2",
      state: "up",
      receiveBytes: 15043220,
      transmitBytes: 46556,
      lastHandshakeTime: new Date(now - 42_000).toISOString(),
      lastUsedEndpoint: "172.20.0.5:51820",
      lastEndpointChange: "",
    },
  };
  const client = fakeClient([status]);
  const table = await cli(
    ["get", "kubespanpeerstatuses", "--api", "http://x"],
    { resources: client },
  );
  assertEquals(table.code, 0);
  const lines = table.out.trimEnd().split("\n");
  assertMatch(
    lines[0]!,
    /^ID\s+VERSION\s+LABEL\s+ENDPOINT\s+STATE\s+RX\s+TX\s+HANDSHAKE$/,
  );
  assertMatch(
    lines[1]!,
    /^06D9QQOydzKrOL7oeLiqHy9OWE8KtmJzZII2A5\/FLFI=\s+63\s+edge-2\s+172\.20\.0\.5:51820\s+up\s+14 MiB\s+45 KiB\s+4[12]s$/,
  );
  const json = await cli([
    "get",
    "peerstatuses",
    "-o",
    "json",
    "--api",
    "http://x",
  ], { resources: client });
  assertEquals(JSON.parse(json.out).items[0].spec.receiveBytes, 15043220);
  const yaml = await cli([
    "get",
    "ksps",
    status.id,
    "-o",
    "yaml",
    "--api",
    "http://x",
  ], { resources: client });
  assertStringIncludes(yaml.out, "receiveBytes: 15043220");
  const missing = await cli([
    "get",
    "peerstatuses",
    "nope",
    "--api",
    "http://x",
  ], { resources: client });
  assertEquals(missing.code, 1);
  assert(
    missing.err.startsWith('No peerstatuses resource with id or name "nope"'),
  );
});

Deno.test("edgespan validate refuses hostile inputs with exit 2 and the file's name", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const good =
      `cluster: {id: x, secret: "B7kzFvlH7aTcBmSlk5czGsbqXTJQWJo6ViKrkiMzrIk="}\n`;
    const rows = [
      'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
    ];
    for (const [name, prev] of ["ba", "cb", "dc", "ed", "fe", "gf", "hg"]) {
      rows.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(",")}]`);
    }
    await Deno.writeTextFile(`${dir}/bomb.yaml`, `${good}${rows.join("\n")}\n`);
    await Deno.writeTextFile(
      `${dir}/dev-null.yaml`,
      `${good}node: {stateDir: /dev/null}\n`,
    );
    await Deno.writeTextFile(
      `${dir}/relative.yaml`,
      `${good}node: {stateDir: state}\n`,
    );
    const cases: [string, string][] = [
      ["/dev/zero", "(file): it is a character device, not a regular file"],
      [`${dir}/bomb.yaml`, "line 6: YAML aliases expand to more than 10000"],
      [`${dir}/dev-null.yaml`, 'node.stateDir: "/dev/null" is not a directory'],
      [
        `${dir}/relative.yaml`,
        'node.stateDir: "state" is not an absolute path',
      ],
    ];
    for (const [file, why] of cases) {
      const r = await cli(["validate", "--config", file]);
      assertEquals(r.code, 2, `${file}: ${r.err}`);
      assertStringIncludes(r.err, `Cannot use config "${file}"`);
      assertStringIncludes(r.err, why);
      assertStringIncludes(r.err, "Nothing was changed.");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("edgespan gen config wants an absolute --state-dir", async () => {
  const r = await cli(["gen", "config", "--state-dir", "state"]);
  assertEquals(r.code, 2);
  assertEquals(
    r.err,
    'The --state-dir "state" is not an absolute path: give the full path, e.g. /var/lib/edgespan\n',
  );
});
