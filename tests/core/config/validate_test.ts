import { parse } from "yaml";
import {
  type KnownPlugin,
  validateConfig,
} from "../../../core/config/validate.ts";
import { renderStarterConfig } from "../../../core/config/starter.ts";
import { decodeBase64 } from "../../../core/encoding/base64.ts";
import { assert, assertEquals, assertNotEquals } from "../../_tools/assert.ts";

const SECRET = "B7kzFvlH7aTcBmSlk5czGsbqXTJQWJo6ViKrkiMzrIk=";
const base = () => ({ cluster: { id: "site-a", secret: SECRET } });

function problems(raw: unknown, plugins: KnownPlugin[] = []) {
  const r = validateConfig(raw, { plugins });
  return r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.message}`);
}

Deno.test("validateConfig() fills KubeSpan's defaults", () => {
  const r = validateConfig(base());
  assert(r.ok);
  const c = r.config;
  assertEquals(c.kubespan, {
    enabled: true,
    mtu: 1420,
    allowDownPeerBypass: false,
    advertiseKubernetesNetworks: false,
    harvestExtraEndpoints: false,
    filters: { excludeAdvertisedNetworks: [] },
    extraAnnouncedEndpoints: [],
  });
  assertEquals(c.wireguard, {
    backend: "auto",
    interface: "kubespan",
    listenPort: 51820,
  });
  assertEquals(c.api.listen, "127.0.0.1:7443");
  assertEquals(c.reconcileIntervalMs, 30_000);
  assertEquals(c.node.stateDir, "/var/lib/edgespan");
  assertEquals(c.discovery.endpoints, []);
});

Deno.test("validateConfig() accepts the generated starter config", () => {
  const text = renderStarterConfig();
  const r = validateConfig(parse(text));
  assert(r.ok, JSON.stringify(r));
  assertEquals(decodeBase64(r.config.cluster.secret).length, 32);
  assertNotEquals(parse(renderStarterConfig()).cluster.id, r.config.cluster.id);
});

Deno.test("validateConfig() keeps filters.endpoints absent vs empty apart", () => {
  const absent = validateConfig(base());
  const empty = validateConfig({
    ...base(),
    kubespan: { filters: { endpoints: [] } },
  });
  assert(absent.ok && empty.ok);
  assertEquals(absent.config.kubespan.filters.endpoints, undefined);
  assertEquals(empty.config.kubespan.filters.endpoints, []);
});

Deno.test("validateConfig() treats mtu 0 as the default, as KubeSpan does", () => {
  const r = validateConfig({ ...base(), kubespan: { mtu: 0 } });
  assert(r.ok);
  assertEquals(r.config.kubespan.mtu, 1420);
});

Deno.test("validateConfig() reports every problem at once with its path", () => {
  const got = problems({
    cluster: { id: "", secret: "c2hvcnQ=" },
    discovery: {
      endpoints: ["ftp://x/", "https://d.example/api", "not a url"],
      serve: { listen: "nope", tlsCert: "/c" },
    },
    kubespan: {
      mtu: 1200,
      enabeld: true,
      allowDownPeerBypass: "yes",
      filters: {
        endpoints: ["10.0.0.0/33", "!bogus", "!10.0.0.0/8"],
        excludeAdvertisedNetworks: ["x"],
      },
      extraAnnouncedEndpoints: ["1.2.3.4"],
    },
    wireguard: {
      backend: "magic",
      interface: "this-name-is-too-long",
      listenPort: 70000,
    },
    advertise: { networks: "10.0.0.0/8" },
    api: { listen: "0.0.0.0:80" },
    reconcile: { interval: "soon" },
    log: { level: "loud" },
    extra: 1,
  });
  assertEquals(got, [
    "extra: unknown key; known keys here are cluster, discovery, kubespan, node, wireguard, advertise, api, reconcile, log, plugins",
    "cluster.id: is required (any opaque string; `edgespan gen config` makes one)",
    "cluster.secret: decodes to 5 bytes; it must be exactly 32 (generate one with `edgespan gen config`)",
    'discovery.endpoints[0]: scheme "ftp" is not http, https or grpc',
    'discovery.endpoints[1]: "https://d.example/api" has a path; a discovery endpoint is a host and port only',
    'discovery.endpoints[2]: "not a url" is not a URL (write e.g. https://discovery.example.com/)',
    'discovery.serve.listen: "nope" is not host:port (write e.g. 127.0.0.1:7443 or [::1]:7443)',
    "discovery.serve.tlsKey: tlsCert and tlsKey must be given together",
    'kubespan.enabeld: unknown key; did you mean "enabled"?',
    "kubespan.mtu: 1200 is below the minimum 1280",
    'kubespan.filters.endpoints[0]: "10.0.0.0/33" is not a CIDR prefix or IP address (optionally prefixed with "!")',
    'kubespan.filters.endpoints[1]: "!bogus" is not a CIDR prefix or IP address (optionally prefixed with "!")',
    'kubespan.filters.excludeAdvertisedNetworks[0]: "x" is not a CIDR prefix or IP address',
    'kubespan.allowDownPeerBypass: expected true or false, got "yes"',
    'kubespan.extraAnnouncedEndpoints[0]: Cannot parse "1.2.3.4" as ip:port: the port is missing',
    'wireguard.backend: "magic" is not one of "auto", "kernel", "userspace"',
    'wireguard.interface: "this-name-is-too-long" is not a valid link name (1-15 letters, digits, "_", "-", ".")',
    "wireguard.listenPort: 70000 is above the maximum 65535",
    'advertise.networks: expected a list, got "10.0.0.0/8"',
    'api.listen: "0.0.0.0:80" is not a loopback address; set api.allowNonLoopback: true to expose the API on purpose',
    'reconcile.interval: Cannot parse "soon" as a duration: write e.g. 30s, 500ms, 1m30s or 2h',
    'log.level: "loud" is not one of "debug", "info", "warn", "error"',
  ]);
});

Deno.test("validateConfig() rejects a secret that is not base64 and a missing cluster", () => {
  assertEquals(problems({ cluster: { id: "x", secret: "not base64!" } }), [
    "cluster.secret: is not standard base64 (generate one with `edgespan gen config`)",
  ]);
  assertEquals(problems({}), [
    "cluster.id: is required (any opaque string; `edgespan gen config` makes one)",
    "cluster.secret: is required (base64 of 32 random bytes)",
  ]);
  assertEquals(
    problems(null)[0],
    "(top level): the file is empty; start from `edgespan gen config`",
  );
  assertEquals(
    problems(["a"])[0],
    "(top level): expected a mapping, got a list",
  );
});

Deno.test("validateConfig() allows a non-loopback API only when asked", () => {
  assertEquals(
    problems({
      ...base(),
      api: { listen: "0.0.0.0:7443", allowNonLoopback: true },
    }),
    [],
  );
  assertEquals(problems({ ...base(), api: { listen: "[::1]:7443" } }), []);
  assertEquals(problems({ ...base(), api: { listen: "localhost:7443" } }), []);
});

Deno.test("validateConfig() checks plugin switches and their options", () => {
  const plugins: KnownPlugin[] = [
    { name: "endpoint-filter" },
    {
      name: "discovery-static",
      validateOptions: (o) =>
        Array.isArray(o.peers)
          ? []
          : [{ path: "peers", message: "expected a list of peers" }],
    },
  ];
  const ok = validateConfig({
    ...base(),
    plugins: { "endpoint-filter": false, "discovery-static": { peers: [] } },
  }, { plugins });
  assert(ok.ok);
  assertEquals(ok.config.plugins["endpoint-filter"], {
    enabled: false,
    options: {},
  });
  assertEquals(ok.config.plugins["discovery-static"], {
    enabled: true,
    options: { peers: [] },
  });
  assertEquals(
    problems({
      ...base(),
      plugins: {
        "endpoint-filtr": true,
        "endpoint-filter": { enabled: "no", extra: 1 },
        "discovery-static": { peers: 3 },
      },
    }, plugins),
    [
      'plugins.endpoint-filtr: unknown key; did you mean "endpoint-filter"?',
      'plugins.endpoint-filter.enabled: expected true or false, got "no"',
      'plugins.endpoint-filter.extra: unknown key; plugin "endpoint-filter" takes only "enabled"',
      "plugins.discovery-static.peers: expected a list of peers",
    ],
  );
});

Deno.test("validateConfig() never echoes a value that may be a secret", () => {
  const token = "tok-0123456789abcdef";
  const plugins: KnownPlugin[] = [{
    name: "discovery-static",
    // A plugin that (wrongly) repeats a value it was given.
    validateOptions: (o) => [{
      path: "apiToken",
      message: `"${String(o.apiToken)}" is not a valid token`,
    }],
  }];
  const cases: [unknown, string][] = [
    [
      { cluster: SECRET },
      "cluster: expected a mapping, got a string (value not shown)",
    ],
    [SECRET, "(top level): expected a mapping, got a string (value not shown)"],
    [
      { cluster: { id: "x", secret: { value: SECRET } } },
      "cluster.secret: expected a string, got a mapping",
    ],
    [
      {
        ...base(),
        plugins: { "discovery-static": { apiToken: token } },
      },
      'plugins.discovery-static.apiToken: "(value not shown)" is not a valid token',
    ],
    [
      {
        ...base(),
        log: { level: SECRET, format: "json" },
        kubespan: { psk: SECRET },
      },
      'log.level: "(value not shown)" is not one of "debug", "info", "warn", "error"',
    ],
  ];
  for (const [raw, expected] of cases) {
    const got = problems(raw, plugins);
    assert(got.includes(expected), `${JSON.stringify(got)} lacks ${expected}`);
    for (const line of got) {
      assert(!line.includes(SECRET), `leaks the secret: ${line}`);
      assert(!line.includes(token), `leaks the token: ${line}`);
    }
  }
  // A secret pasted as a key is not repeated in the path.
  assertEquals(problems({ ...base(), [SECRET]: null }), [
    "(key not shown): unknown key; known keys here are cluster, discovery, kubespan, node, wireguard, advertise, api, reconcile, log, plugins",
  ]);
  // Values at other paths are still quoted, to help find the mistake.
  assertEquals(problems({ ...base(), log: { level: "loud" } }), [
    'log.level: "loud" is not one of "debug", "info", "warn", "error"',
  ]);
});

Deno.test("validateConfig() wants node.stateDir to be an absolute path", () => {
  for (const stateDir of ["state", "./state", "~/edgespan"]) {
    assertEquals(problems({ ...base(), node: { stateDir } }), [
      `node.stateDir: "${stateDir}" is not an absolute path; write the full path of a directory, e.g. /var/lib/edgespan`,
    ]);
  }
  assertEquals(problems({ ...base(), node: { stateDir: "" } }), [
    "node.stateDir: must not be empty",
  ]);
  assertEquals(
    problems({ ...base(), node: { stateDir: "/srv/edgespan" } }),
    [],
  );
});
