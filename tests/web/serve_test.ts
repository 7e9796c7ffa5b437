import { ApiBindError, parseListen, serveApi } from "../../web/serve.ts";
import {
  ApiClientError,
  fetchList,
  fetchOne,
  postAction,
  watchEvents,
} from "../../web/client.ts";
import type { PeerStatusSpec } from "../../core/resources/specs.ts";
import {
  assert,
  assertEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "../_tools/assert.ts";
import { fakeAgent } from "./_fake_agent.ts";

Deno.test("parseListen", () => {
  assertEquals(parseListen("[::1]:7443"), { host: "::1", port: 7443 });
  assertEquals(parseListen("127.0.0.1:0"), { host: "127.0.0.1", port: 0 });
  assertThrows(() => parseListen("7443"), ApiBindError);
  assertThrows(() => parseListen("127.0.0.1:70000"), ApiBindError);
});

Deno.test("serveApi refuses a non-loopback bind unless allowed", async () => {
  const fake = fakeAgent();
  for (const listen of ["0.0.0.0:0", "[::]:0"]) {
    const err = await assertRejects(
      () => serveApi(fake.deps, { listen }),
      ApiBindError,
    );
    assertStringIncludes(err.message, "allowNonLoopback");
  }
  const server = await serveApi(fake.deps, {
    listen: "0.0.0.0:0",
    allowNonLoopback: true,
  });
  try {
    const port = new URL(server.url).port;
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    assertEquals(res.status, 200);
    await res.body?.cancel();
  } finally {
    await server.close();
  }
});

Deno.test("serveApi serves TCP and a unix socket; the client reads both ways", async () => {
  const fake = fakeAgent();
  const dir = await Deno.makeTempDir();
  const socket = `${dir}/api.sock`;
  const server = await serveApi(fake.deps, { listen: "127.0.0.1:0", socket });
  try {
    const list = await fetchList(server.url, "peerstatuses");
    assertEquals(
      list.map((r) => r.id),
      fake.store.list("peerstatuses").map((r) => r.id),
    );
    assert(list[0]!.updated > 0, "updated is ms again");
    const one = await fetchOne(server.url, "peerstatuses", fake.peers[0]!);
    assertEquals(one?.id, fake.peers[0]);
    assertEquals(
      await fetchOne(server.url, "peerstatuses", "missing"),
      undefined,
    );
    await assertRejects(() => fetchList(server.url, "bogus"), ApiClientError);
    const wrong = await assertRejects(
      () => postAction(server.url, "/v1/reload", "00"),
      ApiClientError,
    );
    assertEquals(wrong.status, 403);
    assertEquals(
      await postAction(server.url, "/v1/reload", fake.secrets.token),
      { reloaded: true },
    );
    assert((await Deno.lstat(socket)).isSocket, "socket file exists");
    const client = Deno.createHttpClient({
      proxy: { transport: "unix", path: socket },
    });
    const res = await fetch("http://localhost/v1/identity", { client });
    assertEquals(res.status, 200);
    assertEquals((await res.json()).type, "identity");
    client.close();
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("watchEvents yields store changes until aborted; close ends open streams", async () => {
  const fake = fakeAgent();
  const server = await serveApi(fake.deps, {
    listen: "127.0.0.1:0",
    heartbeatMs: 50,
  });
  const abort = new AbortController();
  try {
    const events = watchEvents(server.url, "peerstatuses", abort.signal);
    const first = events.next();
    await new Promise((r) => setTimeout(r, 100));
    const key = fake.peers[2]!;
    const spec = fake.store.get<PeerStatusSpec>("peerstatuses", key)!.spec;
    fake.store.set("peerstatuses", key, { ...spec, state: "up" });
    const got = await first;
    assertEquals(got.value?.kind, "updated");
    assertEquals(got.value?.resource.id, key);
    assertEquals((got.value?.resource.spec as PeerStatusSpec).state, "up");
    // A second stream stays open: close() must still finish.
    const idle = watchEvents(server.url, undefined, abort.signal);
    const pending = idle.next();
    await new Promise((r) => setTimeout(r, 100));
    await server.close();
    const end = await pending;
    assertEquals(end.done, true);
  } finally {
    abort.abort();
    await server.close();
  }
});

Deno.test("the client says how to start the agent when nothing listens", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const err = await assertRejects(
    () => fetchList(`http://127.0.0.1:${port}`, "peerstatuses"),
    ApiClientError,
  );
  assertStringIncludes(
    err.message,
    `Cannot reach the edgespan API at http://127.0.0.1:${port}`,
  );
  assertStringIncludes(err.message, "edgespan run --config FILE");
});

Deno.test("a watch client that goes away releases its store subscription", async () => {
  const fake = fakeAgent();
  let active = 0;
  const watch = fake.store.watch.bind(fake.store);
  fake.store.watch = (fn, type) => {
    active++;
    const stop = watch(fn, type);
    return () => {
      active--;
      return stop();
    };
  };
  const server = await serveApi(fake.deps, {
    listen: "127.0.0.1:0",
    heartbeatMs: 50,
  });
  try {
    const baseline = active;
    const abort = new AbortController();
    const res = await fetch(`${server.url}/v1/watch`, { signal: abort.signal });
    const reader = res.body!.getReader();
    await reader.read();
    await new Promise((r) => setTimeout(r, 50));
    assertEquals(active, baseline + 1);
    abort.abort();
    await reader.cancel().catch(() => {});
    const deadline = Date.now() + 3000;
    while (active > baseline && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assertEquals(active, baseline);
  } finally {
    await server.close();
  }
});

/** One raw HTTP/1.1 request (fetch would set its own Host); returns the status. */
async function rawStatus(
  connect: Deno.ConnectOptions | Deno.UnixConnectOptions,
  headers: Record<string, string>,
  path = "/v1/identity",
): Promise<number> {
  const conn = "path" in connect
    ? await Deno.connect(connect)
    : await Deno.connect(connect);
  try {
    const head = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`)
      .join("");
    await conn.write(
      new TextEncoder().encode(
        `GET ${path} HTTP/1.1\r\n${head}Connection: close\r\n\r\n`,
      ),
    );
    const chunks: Uint8Array[] = [];
    const buf = new Uint8Array(4096);
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      chunks.push(buf.slice(0, n));
    }
    const text = new TextDecoder().decode(
      new Uint8Array(chunks.flatMap((c) => [...c])),
    );
    return Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]);
  } finally {
    try {
      conn.close();
    } catch {
      // already closed by the server
    }
  }
}

Deno.test("serveApi answers loopback hosts, refuses rebound names, and trusts the unix socket", async () => {
  const fake = fakeAgent();
  const dir = await Deno.makeTempDir();
  const socket = `${dir}/api.sock`;
  const server = await serveApi(fake.deps, { listen: "127.0.0.1:0", socket });
  try {
    const port = Number(new URL(server.url).port);
    const tcp = { hostname: "127.0.0.1", port };
    assertEquals(await rawStatus(tcp, { Host: `127.0.0.1:${port}` }), 200);
    assertEquals(await rawStatus(tcp, { Host: `localhost:${port}` }), 200);
    assertEquals(await rawStatus(tcp, { Host: `rebind.example:${port}` }), 421);
    assertEquals(
      await rawStatus(tcp, {
        Host: `127.0.0.1:${port}`,
        Origin: "http://rebind.example",
      }),
      403,
    );
    // fetch (the CLI's client) sends Host 127.0.0.1:<port>: still answered.
    assertEquals((await fetchList(server.url, "identity")).length, 1);
    const unix = { transport: "unix" as const, path: socket };
    assertEquals(await rawStatus(unix, { Host: "localhost" }), 200);
    assertEquals(await rawStatus(unix, { Host: "anything.example" }), 200);
    assertEquals(
      await rawStatus(unix, { Host: "localhost", Origin: "http://x.example" }),
      403,
    );
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serveApi on a wildcard address with allowNonLoopback answers any address, no other name", async () => {
  const fake = fakeAgent();
  const server = await serveApi(fake.deps, {
    listen: "0.0.0.0:0",
    allowNonLoopback: true,
  });
  try {
    const port = Number(new URL(server.url).port);
    const tcp = { hostname: "127.0.0.1", port };
    assertEquals(await rawStatus(tcp, { Host: `192.0.2.10:${port}` }), 200);
    assertEquals(await rawStatus(tcp, { Host: `box.example:${port}` }), 421);
  } finally {
    await server.close();
  }
});
