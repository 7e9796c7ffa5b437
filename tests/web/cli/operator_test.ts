/**
 * The CLI as an operator meets it (#15): the config's plugins when finding
 * the API, one JSON document with RFC 3339 times, names instead of ids,
 * `leave` without an identity, hints for typos, `help <command>`,
 * `status`, the unix socket, `--watch` reconnects, completion and man.
 */
import {
  type CliDeps,
  type ResourceClient,
  runCli,
} from "../../../web/cli/main.ts";
import { BUILTIN_PLUGINS } from "../../../plugins/mod.ts";
import type { Resource, ResourceEvent } from "../../../core/resources/store.ts";
import { apiResourceClient } from "../../../web/client.ts";
import { serveApi } from "../../../web/serve.ts";
import { fakeAgent } from "../_fake_agent.ts";
import {
  assert,
  assertEquals,
  assertMatch,
  assertStringIncludes,
} from "../../_tools/assert.ts";

const NO_DEFAULTS = { env: () => undefined, exists: () => false };

async function cli(args: string[], extra: Partial<CliDeps> = {}) {
  let out = "";
  let err = "";
  const code = await runCli(args, {
    version: "9.9.9",
    plugins: BUILTIN_PLUGINS,
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    target: NO_DEFAULTS,
    ...extra,
  });
  return { code, out, err };
}

const SECRET = btoa(String.fromCharCode(...new Uint8Array(32).fill(7)));

async function withConfig(
  extraYaml: string,
  fn: (file: string, dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "es-cli-" });
  try {
    const file = `${dir}/config.yaml`;
    await Deno.writeTextFile(
      file,
      `cluster: {id: test-cluster, secret: "${SECRET}"}\nnode: {stateDir: ${dir}/state}\n${extraYaml}`,
    );
    await fn(file, dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const PEER: Resource = {
  type: "peerstatuses",
  id: "06D9QQOydzKrOL7oeLiqHy9OWE8KtmJzZII2A5/FLFI=",
  version: 3,
  updated: Date.parse("2026-12-01T10:00:00.000Z"),
  spec: {
    endpoint: "172.20.0.5:51820",
    label: "edge-2",
    state: "up",
    receiveBytes: 10,
    transmitBytes: 20,
    lastHandshakeTime: "2026-12-01T09:59:50.000Z",
    lastUsedEndpoint: "172.20.0.5:51820",
    lastEndpointChange: "",
  },
};

function recordingClient(items: Resource[], bases: string[]): ResourceClient {
  return {
    list: (base, type) => {
      bases.push(base);
      return Promise.resolve(items.filter((r) => r.type === type));
    },
    get: (base, type, id) => {
      bases.push(base);
      return Promise.resolve(
        items.find((r) => r.type === type && r.id === id),
      );
    },
    watch: async function* () {},
  };
}

Deno.test("edgespan get --config FILE reads a config with a plugins entry and uses its api.socket", async () => {
  await withConfig(
    "api: {listen: 127.0.0.1:7999}\nplugins:\n  endpoint-cycling: {enabled: true}\n",
    async (file) => {
      const bases: string[] = [];
      const r = await cli(["get", "peerstatuses", "--config", file], {
        resources: recordingClient([PEER], bases),
      });
      assertEquals([r.code, r.err], [0, ""]);
      assertEquals(bases, ["http://127.0.0.1:7999"]);
    },
  );
  await withConfig(
    "api: {listen: 127.0.0.1:7999, socket: /run/edgespan/api.sock}\n",
    async (file) => {
      const bases: string[] = [];
      // Found through $EDGESPAN_CONFIG, as in a unit's Environment=.
      const r = await cli(["get", "peerstatuses"], {
        resources: recordingClient([PEER], bases),
        target: {
          env: (n) => (n === "EDGESPAN_CONFIG" ? file : undefined),
          exists: () => false,
        },
      });
      assertEquals(r.code, 0);
      assertEquals(bases, ["unix:/run/edgespan/api.sock"]);
    },
  );
});

Deno.test("edgespan get -o json prints one JSON document with RFC 3339 times", async () => {
  const other = {
    ...PEER,
    id: "other",
    spec: { ...PEER.spec as object, label: "edge-3" },
  };
  const client = recordingClient([PEER, other], []);
  const list = await cli([
    "get",
    "peerstatuses",
    "-o",
    "json",
    "--api",
    "http://x",
  ], {
    resources: client,
  });
  const doc = JSON.parse(list.out);
  assertEquals(doc.type, "peerstatuses");
  assertEquals(doc.items.map((i: { id: string }) => i.id), [PEER.id, "other"]);
  assertEquals(doc.items[0].updated, "2026-12-01T10:00:00.000Z");
  const one = await cli([
    "get",
    "peerstatuses",
    PEER.id,
    "-o",
    "json",
    "--api",
    "http://x",
  ], {
    resources: client,
  });
  assertEquals(JSON.parse(one.out).updated, "2026-12-01T10:00:00.000Z");
  const yaml = await cli([
    "get",
    "peerstatuses",
    "-o",
    "yaml",
    "--api",
    "http://x",
  ], {
    resources: client,
  });
  assertStringIncludes(yaml.out, "updated: 2026-12-01T10:00:00.000Z");
});

Deno.test("edgespan get <type> <label> finds a resource by its label, and says when a name is ambiguous", async () => {
  const twin = { ...PEER, id: "twin" };
  const one = await cli([
    "get",
    "peerstatuses",
    "edge-2",
    "-o",
    "json",
    "--api",
    "http://x",
  ], {
    resources: recordingClient([PEER], []),
  });
  assertEquals([one.code, JSON.parse(one.out).id], [0, PEER.id]);
  const two = await cli(
    ["get", "peerstatuses", "edge-2", "--api", "http://x"],
    {
      resources: recordingClient([PEER, twin], []),
    },
  );
  assertEquals(two.code, 2);
  assertStringIncludes(
    two.err,
    `"edge-2" names 2 peerstatuses resources: give the id`,
  );
});

Deno.test("edgespan leave on a box without an identity creates none", async () => {
  await withConfig("", async (file, dir) => {
    const r = await cli(["leave", "--config", file]);
    assertEquals(r.code, 0);
    assertStringIncludes(r.out, "nothing to leave");
    let created = true;
    try {
      await Deno.stat(`${dir}/state`);
    } catch {
      created = false;
    }
    assertEquals(
      created,
      false,
      "leave must not create the state dir or a key",
    );
  });
});

Deno.test("edgespan hints at option typos, has no stray punctuation and answers help <command>", async () => {
  const typo = await cli(["get", "peers", "--outptu", "json"]);
  assertEquals(typo.code, 2);
  assertEquals(
    typo.err,
    'Unknown option "--outptu" for "edgespan get": did you mean "--output"? (see "edgespan help get")\n',
  );
  const cmd = await cli(["stauts"]);
  assertEquals(
    cmd.err,
    'Unknown command "stauts": did you mean "status"? Run "edgespan --help" for the list\n',
  );
  for (
    const name of ["status", "get", "run", "plugins", "leave", "completion"]
  ) {
    const h = await cli(["help", name]);
    assertEquals(h.code, 0, name);
    assert(h.out.startsWith(`Usage: edgespan ${name}`), h.out);
    assertEquals(h.out, (await cli([name, "--help"])).out);
  }
  assertEquals((await cli(["help", "nope"])).code, 2);
});

Deno.test("edgespan status shows readiness, discovery since when, N/M peers up and reasons; exit 1 when not ready", async () => {
  const now = Date.parse("2026-12-01T12:00:00.000Z");
  const fake = fakeAgent({ now: () => now });
  fake.deps.hostname = "edge-1";
  fake.deps.discovery = () => [{
    name: "discovery-service",
    state: "connected",
    since: "2026-12-01T11:55:00.000Z",
    detail: "https://discovery.example:443",
  }];
  const server = await serveApi(fake.deps, { listen: "127.0.0.1:0" });
  try {
    const r = await cli(["status", "--api", server.url], {
      resources: apiResourceClient,
    });
    assertEquals([r.code, r.err], [0, ""]);
    const lines = r.out.split("\n");
    assertEquals(lines[0], "edgespan 0.1.0-test on edge-1: ready");
    assertMatch(
      r.out,
      /discovery-service\s+connected\s+2026-12-01T11:55:00.000Z \(5m\)\s+https:\/\/discovery\.example:443/,
    );
    assertStringIncludes(r.out, "Peers: 2/4 up");
    const down = lines.find((l) => /^\s+\S+\s+down\s/.test(l));
    assert(down, r.out);
    assertMatch(down, /no handshake for 10m; endpoint last changed 1h ago$/);
    const json = await cli(["status", "-o", "json", "--api", server.url], {
      resources: apiResourceClient,
    });
    const doc = JSON.parse(json.out);
    assertEquals([doc.ready, doc.peers], [true, { up: 2, total: 4 }]);
    fake.readiness = {
      ready: false,
      checks: {
        discovery: {
          ok: false,
          detail: "discovery-service: connecting (connection refused)",
        },
      },
    };
    const notReady = await cli(["status", "--api", server.url], {
      resources: apiResourceClient,
    });
    assertEquals(notReady.code, 1);
    assertStringIncludes(
      notReady.out,
      "NOT READY\n  discovery: discovery-service: connecting (connection refused)\n",
    );
  } finally {
    await server.close();
  }
});

Deno.test("edgespan reaches the agent over its unix socket (--api unix:PATH)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "es-sock-" });
  const fake = fakeAgent();
  const socket = `${dir}/api.sock`;
  const server = await serveApi(fake.deps, { listen: "127.0.0.1:0", socket });
  try {
    const r = await cli([
      "get",
      "plugins",
      "-o",
      "json",
      "--api",
      `unix:${socket}`,
    ], {
      resources: apiResourceClient,
    });
    assertEquals([r.code, r.err], [0, ""]);
    assertEquals(JSON.parse(r.out).type, "plugins");
    const s = await cli(["status", "--api", `unix:${socket}`], {
      resources: apiResourceClient,
    });
    assertStringIncludes(s.out, "Peers: 2/4 up");
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("edgespan plugins disable NAME sends the token from the state dir", async () => {
  await withConfig("api: {listen: 127.0.0.1:0}\n", async (file, dir) => {
    await Deno.mkdir(`${dir}/state`);
    await Deno.writeTextFile(`${dir}/state/api-token`, "s3cret-token\n");
    const fake = fakeAgent();
    fake.deps.token = "s3cret-token";
    const server = await serveApi(fake.deps, { listen: "127.0.0.1:0" });
    try {
      const r = await cli(
        [
          "plugins",
          "disable",
          "endpoint-filter",
          "--config",
          file,
          "--api",
          server.url,
        ],
        { resources: apiResourceClient },
      );
      assertEquals([r.code, r.err], [0, ""]);
      assertStringIncludes(r.out, "endpoint-filter disabled");
      assert(!r.out.includes("s3cret"), "the token is never printed");
      assertEquals(fake.calls.plugins, [{
        name: "endpoint-filter",
        enabled: false,
      }]);
      const bad = await cli(["plugins", "stop", "x", "--api", server.url]);
      assertEquals(bad.code, 2);
    } finally {
      await server.close();
    }
  });
});

Deno.test("edgespan get --watch -o json prints NDJSON, reconnects after an agent restart and gives up with exit 1", async () => {
  let connects = 0;
  const event = (kind: ResourceEvent["kind"]): ResourceEvent => ({
    kind,
    resource: PEER,
  });
  const client: ResourceClient = {
    // Back after the first drop; gone for good after the second.
    list: () =>
      connects >= 2
        ? Promise.reject(new Error("connection refused"))
        : Promise.resolve([PEER]),
    get: () => Promise.resolve(undefined),
    watch: async function* () {
      connects++;
      if (connects === 1) {
        yield event("updated");
        throw new Error("connection reset");
      }
      if (connects === 2) {
        yield event("deleted");
        return;
      }
      throw new Error("connection refused");
    },
  };
  const r = await cli([
    "get",
    "peerstatuses",
    "-w",
    "-o",
    "json",
    "--api",
    "http://x",
  ], {
    resources: client,
    watchRetry: { tries: 2, delayMs: 1, maxDelayMs: 1 },
  });
  assertEquals(r.code, 1);
  const lines = r.out.trimEnd().split("\n").map((l) => JSON.parse(l));
  assertEquals(lines.map((l) => l.kind), [
    "created",
    "updated",
    "updated",
    "deleted",
  ]);
  assertEquals(lines[0].resource.updated, "2026-12-01T10:00:00.000Z");
  assertStringIncludes(
    r.err,
    "lost the agent at http://x (connection reset); reconnecting",
  );
  assertStringIncludes(r.err, "reconnected to the agent at http://x");
  assertStringIncludes(r.err, "Gave up watching peerstatuses");
});

Deno.test("edgespan completion scripts parse in their shell and the man page renders", async () => {
  for (const shell of ["bash", "zsh", "fish"]) {
    const r = await cli(["completion", shell]);
    assertEquals(r.code, 0);
    assertStringIncludes(r.out, "status");
    const bin = shell === "fish" ? "fish" : shell;
    let child;
    try {
      child = new Deno.Command(bin, {
        args: ["-n", "/dev/stdin"],
        stdin: "piped",
        stderr: "piped",
        stdout: "null",
      }).spawn();
    } catch {
      if (shell === "bash") throw new Error("bash is needed for this test");
      console.log(
        `skipped: ${shell} is not installed, its script is not parsed`,
      );
      continue;
    }
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(r.out));
    await w.close();
    const done = await child.output();
    assertEquals(
      done.code,
      0,
      `${shell}: ${new TextDecoder().decode(done.stderr)}`,
    );
  }
  assertEquals((await cli(["completion", "tcsh"])).code, 2);
  const man = await cli(["man"]);
  assert(man.out.startsWith(".TH EDGESPAN 1"));
  assertStringIncludes(man.out, '.SS "edgespan status');
  const render = new Deno.Command("sh", {
    args: [
      "-c",
      "command -v groff >/dev/null || exit 77; groff -man -Tutf8 -ww -z 2>&1",
    ],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const w = render.stdin.getWriter();
  await w.write(new TextEncoder().encode(man.out));
  await w.close();
  const out = await render.output();
  if (out.code === 77) {
    console.log(
      "skipped: groff is not installed, the man page is not rendered",
    );
  } else {assertEquals([out.code, new TextDecoder().decode(out.stdout)], [
      0,
      "",
    ]);}
});

Deno.test("edgespan get plugins says whether a switch comes from the config, the default or a run-time override", async () => {
  const plugin = (name: string, enabled: boolean): Resource => ({
    type: "plugins",
    id: name,
    version: 1,
    updated: 0,
    spec: {
      name,
      kind: "peerSelection",
      version: "1",
      description: "",
      enabled,
      state: enabled ? "running" : "disabled",
      errors: 0,
      lastError: "",
      lastErrorTime: "",
    },
  });
  const config: Resource = {
    type: "config",
    id: "kubespan",
    version: 1,
    updated: 0,
    spec: { plugins: { "endpoint-cycling": { enabled: true, options: {} } } },
  };
  const cycling = BUILTIN_PLUGINS.find((p) => p.name === "endpoint-cycling")!;
  const filter = BUILTIN_PLUGINS.find((p) => p.name === "endpoint-filter")!;
  const search = BUILTIN_PLUGINS.find((p) => p.name === "endpoint-search")!;
  const r = await cli(["get", "plugins", "--api", "http://x"], {
    resources: recordingClient([
      config,
      plugin(cycling.name, true),
      plugin(filter.name, filter.defaultEnabled),
      plugin(search.name, !search.defaultEnabled),
    ], []),
  });
  assertEquals(r.code, 0);
  const rows = r.out.trimEnd().split("\n");
  assertMatch(rows[0]!, /\sFROM$/);
  const from = (name: string) =>
    rows.find((l) => l.startsWith(name))!.split(/\s+/).at(-1);
  assertEquals(
    [from(cycling.name), from(filter.name), from(search.name)],
    ["config", "default", "override"],
  );
});
