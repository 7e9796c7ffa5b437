import { createApi } from "../../web/api.ts";
import type { PeerStatusSpec } from "../../core/resources/specs.ts";
import {
  assert,
  assertEquals,
  assertMatch,
  assertStringIncludes,
} from "../_tools/assert.ts";
import { fakeAgent } from "./_fake_agent.ts";

const TYPES = [
  "identity",
  "affiliates",
  "peerspecs",
  "peerstatuses",
  "endpoints",
  "plugins",
  "config",
];

function setup() {
  const fake = fakeAgent();
  const stop = new AbortController();
  const app = createApi(fake.deps, { signal: stop.signal });
  const get = (path: string, init?: RequestInit) =>
    app.request(path, init) as Promise<Response>;
  return { fake, app, get, stop };
}

function assertNoSecrets(
  text: string,
  secrets: { privateKey: string; clusterSecret: string; token: string },
  where: string,
) {
  for (const [name, value] of Object.entries(secrets)) {
    assert(!text.includes(value), `${where} leaks the ${name}`);
  }
}

Deno.test("GET /v1/<type> lists every type as pretty JSON", async () => {
  const { fake, get, stop } = setup();
  for (const type of TYPES) {
    const res = await get(`/v1/${type}`);
    assertEquals(res.status, 200);
    assertMatch(res.headers.get("content-type") ?? "", /application\/json/);
    const text = await res.text();
    assert(text.includes('\n  "items"'), `${type}: not pretty-printed`);
    const body = JSON.parse(text);
    assertEquals(body.type, type);
    assertEquals(
      body.items.map((i: { id: string }) => i.id),
      fake.store.list(type).map((r) => r.id),
    );
    for (const item of body.items) {
      assertEquals(Object.keys(item).sort(), [
        "id",
        "spec",
        "updated",
        "version",
      ]);
      assertMatch(item.updated, /^\d{4}-\d\d-\d\dT/);
    }
  }
  stop.abort();
});

Deno.test("GET /v1/<type>/<id> returns one resource, ids with '/' included", async () => {
  const { fake, get, stop } = setup();
  const key = fake.peers[0]!;
  assert(key.includes("/"), "fixture key should contain a slash");
  for (const path of [encodeURIComponent(key), key]) {
    const res = await get(`/v1/peerstatuses/${path}`);
    assertEquals(res.status, 200, path);
    const body = await res.json();
    assertEquals(body.type, "peerstatuses");
    assertEquals(body.id, key);
    assertEquals(
      body.spec.state,
      fake.store.get<PeerStatusSpec>("peerstatuses", key)!.spec.state,
    );
  }
  const id = await (await get("/v1/identity/local")).json();
  assertEquals(
    id.spec.publicKey,
    (fake.store.get("identity", "local")!.spec as { publicKey: string })
      .publicKey,
  );
  assertEquals(Object.keys(id.spec).sort(), ["address", "publicKey", "subnet"]);
  stop.abort();
});

Deno.test("aliases resolve (ksps, kubespanidentities)", async () => {
  const { get, stop } = setup();
  assertEquals((await (await get("/v1/ksps")).json()).type, "peerstatuses");
  assertEquals(
    (await (await get("/v1/kubespanidentities")).json()).type,
    "identity",
  );
  stop.abort();
});

Deno.test("unknown types, ids and routes are 404 JSON errors", async () => {
  const { get, stop } = setup();
  for (
    const [path, code] of [
      ["/v1/nope", "unknown_type"],
      ["/v1/nope/x", "unknown_type"],
      ["/v1/peerstatuses/not-a-key", "not_found"],
      ["/v1/watch?type=nope", "unknown_type"],
      ["/nothing/here", "not_found"],
    ]
  ) {
    const res = await get(path!);
    assertEquals(res.status, 404, path);
    const body = await res.json();
    assertEquals(body.error.code, code, path);
    assert(body.error.message.length > 10, "message says what to do");
    assert(!/\bat .*\.ts:\d+/.test(body.error.message), "no stack trace");
  }
  stop.abort();
});

Deno.test("no response ever contains the private key, the cluster secret or the token", async () => {
  const { fake, get, stop } = setup();
  const paths = [
    "/",
    "/v1",
    "/healthz",
    "/readyz",
    "/metrics",
    ...TYPES.map((t) => `/v1/${t}`),
    "/v1/identity/local",
    "/v1/config/kubespan",
  ];
  for (const path of paths) {
    const text = await (await get(path)).text();
    assertNoSecrets(text, fake.secrets, path);
  }
  const config = await (await get("/v1/config/kubespan")).json();
  assertEquals(config.spec.cluster.secret, "(redacted)");
  assertEquals(config.spec.cluster.id, "site-7");
  // The watch stream too: change the identity and the config.
  const res = await get("/v1/watch");
  const reader = res.body!.getReader();
  const spec = fake.store.get("identity", "local", { includeSensitive: true })!
    .spec as Record<string, unknown>;
  fake.store.set("identity", "local", { ...spec, subnet: "fd00::/64" });
  const cfg = fake.store.get("config", "kubespan", { includeSensitive: true })!
    .spec as Record<string, unknown>;
  fake.store.set("config", "kubespan", { ...cfg, reconcileIntervalMs: 1000 });
  let text = "";
  const decoder = new TextDecoder();
  while (
    !(text.includes("fd00::/64") && text.includes('"reconcileIntervalMs":1000'))
  ) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value);
  }
  assertStringIncludes(text, "event: updated");
  assertNoSecrets(text, fake.secrets, "/v1/watch");
  await reader.cancel();
  stop.abort();
});

Deno.test("GET /v1/watch delivers a change as an SSE event, filtered by type", async () => {
  const { fake, get, stop } = setup();
  const res = await get("/v1/watch?type=peerstatuses");
  assertEquals(res.status, 200);
  assertMatch(res.headers.get("content-type")!, /text\/event-stream/);
  const reader = res.body!.getReader();
  const key = fake.peers[1]!;
  const current = fake.store.get<PeerStatusSpec>("peerstatuses", key)!.spec;
  fake.store.set("plugins", "static-peers", { changed: true }); // other type: filtered out
  fake.store.set("peerstatuses", key, { ...current, state: "down" });
  const decoder = new TextDecoder();
  let text = "";
  while (
    !text.includes("\n\nevent: updated") && !/^event: updated/m.test(text)
  ) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value);
  }
  while (!text.endsWith("\n\n")) {
    const { value } = await reader.read();
    text += decoder.decode(value);
  }
  const frame = text.split("\n\n").find((f) => f.startsWith("event: updated"))!;
  const data = JSON.parse(
    frame.split("\n").find((l) => l.startsWith("data: "))!.slice(6),
  );
  assertEquals(data.kind, "updated");
  assertEquals(data.resource.type, "peerstatuses");
  assertEquals(data.resource.id, key);
  assertEquals(data.resource.spec.state, "down");
  assert(!text.includes("static-peers"), "type filter leaks other types");
  await reader.cancel();
  stop.abort();
});

Deno.test("healthz is 200; readyz follows the readiness checks", async () => {
  const { fake, get, stop } = setup();
  const health = await get("/healthz");
  assertEquals(health.status, 200);
  assertEquals((await health.json()).version, "0.1.0-test");
  assertEquals((await get("/readyz")).status, 200);
  fake.readiness = {
    ready: false,
    checks: { discovery: { ok: false, detail: "connecting: refused" } },
  };
  const notReady = await get("/readyz");
  assertEquals(notReady.status, 503);
  assertEquals((await notReady.json()).checks.discovery.ok, false);
  stop.abort();
});

Deno.test("mutating routes need the bearer token: 401 without, 403 wrong", async () => {
  const { fake, get, stop } = setup();
  for (
    const path of [
      "/v1/reload",
      "/v1/plugins/static-peers/disable",
      "/v1/plugins/static-peers/enable",
    ]
  ) {
    const none = await get(path, { method: "POST" });
    assertEquals(none.status, 401, path);
    assertEquals((await none.json()).error.code, "unauthorized");
    assertMatch(none.headers.get("www-authenticate") ?? "", /^Bearer/);
    const wrong = await get(path, {
      method: "POST",
      headers: { authorization: `Bearer ${"cd".repeat(32)}` },
    });
    assertEquals(wrong.status, 403, path);
    assertEquals((await wrong.json()).error.code, "forbidden");
    const basic = await get(path, {
      method: "POST",
      headers: { authorization: `Basic ${btoa("a:b")}` },
    });
    assertEquals(basic.status, 401, path);
  }
  assertEquals(fake.calls, { reload: 0, plugins: [] });
  stop.abort();
});

Deno.test("POST enable/disable switches a plugin; unknown plugin is 404", async () => {
  const { fake, get, stop } = setup();
  const auth = { authorization: `Bearer ${fake.secrets.token}` };
  const res = await get("/v1/plugins/static-peers/disable", {
    method: "POST",
    headers: auth,
  });
  assertEquals(res.status, 200);
  assertEquals((await res.json()).spec.enabled, false);
  assertEquals(fake.calls.plugins, [{ name: "static-peers", enabled: false }]);
  const listed = await (await get("/v1/plugins/static-peers")).json();
  assertEquals(listed.spec.state, "disabled");
  const unknown = await get("/v1/plugins/statik-peers/enable", {
    method: "POST",
    headers: auth,
  });
  assertEquals(unknown.status, 404);
  const body = await unknown.json();
  assertEquals(body.error.code, "unknown_plugin");
  assertStringIncludes(body.error.message, "static-peers");
  stop.abort();
});

Deno.test("POST /v1/reload: 200, and 400 with the problems for a bad config", async () => {
  const { fake, get, stop } = setup();
  const init = {
    method: "POST",
    headers: { authorization: `Bearer ${fake.secrets.token}` },
  };
  const ok = await get("/v1/reload", init);
  assertEquals(ok.status, 200);
  assertEquals(await ok.json(), { reloaded: true });
  fake.failNextReload = true;
  const bad = await get("/v1/reload", init);
  assertEquals(bad.status, 400);
  const body = await bad.json();
  assertEquals(body.error.code, "invalid_config");
  assertStringIncludes(body.error.message, "kubespan.mtu");
  assertEquals(fake.calls.reload, 2);
  stop.abort();
});

Deno.test("an error inside a handler is a 500 JSON body without a stack", async () => {
  const { fake, get, stop } = setup();
  fake.deps.metrics = () => {
    throw new Error("boom");
  };
  const res = await get("/metrics");
  assertEquals(res.status, 500);
  const body = await res.json();
  assertEquals(body.error.code, "internal");
  assert(!JSON.stringify(body).includes("api.ts"), "stack trace leaked");
  stop.abort();
});

Deno.test("GET / serves the dashboard page without external resources", async () => {
  const { get, stop } = setup();
  const res = await get("/");
  assertEquals(res.status, 200);
  assertMatch(res.headers.get("content-type")!, /text\/html/);
  const html = await res.text();
  assertStringIncludes(html, "<title>edgespan");
  assert(
    !/(src|href)="(https?:)?\/\//.test(html),
    "page loads something remote",
  );
  stop.abort();
});

Deno.test("requests for a host other than loopback are refused (DNS rebinding)", async () => {
  const { get, stop } = setup();
  for (
    const host of [
      "127.0.0.1:7443",
      "127.0.0.1",
      "localhost:7443",
      "LOCALHOST",
      "[::1]:7443",
      "[::1]",
    ]
  ) {
    const res = await get("/v1/identity", { headers: { host } });
    assertEquals(res.status, 200, host);
    await res.body?.cancel();
  }
  for (
    const host of [
      "rebind.example:7443",
      "rebind.example",
      "127.0.0.1.nip.io:7443",
      "192.168.1.5:7443",
      "localhost.example",
      "",
    ]
  ) {
    for (const path of ["/v1/identity", "/", "/metrics", "/v1/watch"]) {
      const res = await get(path, { headers: { host } });
      assertEquals(res.status, 421, `${host} ${path}`);
      const body = await res.json();
      assertEquals(body.error.code, "host_not_allowed");
      assertStringIncludes(body.error.message, "answers only for loopback");
    }
  }
  stop.abort();
});

Deno.test("cross-origin requests are refused; same-origin ones (the dashboard) are not", async () => {
  const { fake, get, stop } = setup();
  const host = "127.0.0.1:7443";
  const ok = [
    {},
    { origin: "http://127.0.0.1:7443" },
    { "sec-fetch-site": "same-origin" },
    { "sec-fetch-site": "none" },
  ];
  for (const headers of ok) {
    const res = await get("/v1/identity", { headers: { host, ...headers } });
    assertEquals(res.status, 200, JSON.stringify(headers));
    await res.body?.cancel();
  }
  const refused = [
    { origin: "http://evil.example" },
    { origin: "null" },
    { origin: "http://127.0.0.1:3000" },
    { origin: "https://127.0.0.1:7443" },
    { "sec-fetch-site": "cross-site" },
    { "sec-fetch-site": "same-site" },
  ];
  for (const headers of refused) {
    const res = await get("/v1/identity", { headers: { host, ...headers } });
    assertEquals(res.status, 403, JSON.stringify(headers));
    assertEquals((await res.json()).error.code, "cross_origin");
  }
  // A cross-origin POST never reaches the token check, let alone the action.
  let reloads = 0;
  fake.deps.reload = () => {
    reloads++;
    return Promise.resolve();
  };
  const post = await get("/v1/reload", {
    method: "POST",
    headers: {
      host,
      origin: "http://evil.example",
      authorization: `Bearer ${fake.secrets.token}`,
    },
  });
  assertEquals([post.status, reloads], [403, 0]);
  await post.body?.cancel();
  stop.abort();
});

Deno.test("a non-loopback listen is answered under its own address too", async () => {
  const fake = fakeAgent();
  const stop = new AbortController();
  const named = createApi(fake.deps, {
    signal: stop.signal,
    hostPolicy: { hosts: ["192.168.1.5"] },
  });
  const wildcard = createApi(fake.deps, {
    signal: stop.signal,
    hostPolicy: { anyAddress: true },
  });
  const status = async (app: typeof named, host: string) => {
    const res = await app.request("/healthz", { headers: { host } });
    await res.body?.cancel();
    return res.status;
  };
  assertEquals(await status(named, "192.168.1.5:7443"), 200);
  assertEquals(await status(named, "127.0.0.1:7443"), 200);
  assertEquals(await status(named, "192.168.1.6:7443"), 421);
  assertEquals(await status(wildcard, "192.168.1.6:7443"), 200);
  assertEquals(await status(wildcard, "[fd00::5]:7443"), 200);
  assertEquals(await status(wildcard, "box.example:7443"), 421);
  stop.abort();
});
