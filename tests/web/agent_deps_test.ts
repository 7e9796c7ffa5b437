import { Agent } from "../../core/agent.ts";
import { silentLogger } from "../../core/log/logger.ts";
import { BUILTIN_PLUGINS } from "../../plugins/mod.ts";
import { attachApi } from "../../web/agent_deps.ts";
import { unixSockaddr } from "../../ffi/sd_notify.ts";
import { libc } from "../../ffi/libc.ts";
import { assert, assertEquals } from "../_tools/assert.ts";
import { parsePrometheusText } from "./_prom_parser.ts";

const SECRET = "B7kzFvlH7aTcBmSlk5czGsbqXTJQWJo6ViKrkiMzrIk=";

Deno.test("attachApi serves a real agent, notifies systemd and keeps secrets in", async () => {
  const dir = await Deno.makeTempDir({ prefix: "edgespan-api-" });
  await Deno.mkdir(`${dir}/sys/eth0/device`, { recursive: true });
  await Deno.writeTextFile(`${dir}/sys/eth0/type`, "1\n");
  await Deno.writeTextFile(`${dir}/sys/eth0/address`, "2e:1a:b6:53:81:69\n");
  const configPath = `${dir}/config.yaml`;
  await Deno.writeTextFile(
    configPath,
    `cluster: {id: site-7, secret: "${SECRET}"}\nnode: {stateDir: ${dir}/state, hostname: edge-a}\n` +
      `api: {listen: "127.0.0.1:0", socket: ${dir}/api.sock}\nreconcile: {interval: 1h}\n`,
  );
  const c = libc();
  const notifyFd = c.socket(1, 2, 0);
  const addr = unixSockaddr(`${dir}/notify`);
  assertEquals(c.bind(notifyFd, addr, addr.length), 0);
  const take = () => {
    const buf = new Uint8Array(512);
    const n = Number(c.recvfrom(notifyFd, buf, 512n, 0x40, null, null));
    return n < 0 ? undefined : new TextDecoder().decode(buf.subarray(0, n));
  };
  Deno.env.set("NOTIFY_SOCKET", `${dir}/notify`);
  const agent = await Agent.start({
    configPath,
    plugins: BUILTIN_PLUGINS,
    log: silentLogger(),
    sysfsRoot: `${dir}/sys`,
    hostAddresses: {
      addresses: () =>
        Promise.resolve([{
          address: "192.0.2.10/24",
          link: "eth0",
          scope: "global",
          linkState: { operational: true, physical: true, carrier: true },
        }]),
    },
  });
  try {
    const api = await attachApi(agent, "9.9.9");
    try {
      assertEquals(take(), "READY=1\nSTATUS=0/0 peers up");
      const token = (await Deno.readTextFile(`${dir}/state/api-token`)).trim();
      assertEquals(
        (await Deno.stat(`${dir}/state/api-token`)).mode! & 0o777,
        0o600,
      );
      const identity = await (await fetch(`${api.url}/v1/identity/local`))
        .json();
      assertEquals(identity.spec.publicKey, agent.identity.spec.publicKey);
      const all = [];
      for (
        const path of [
          "/v1/identity",
          "/v1/config",
          "/v1/plugins",
          "/metrics",
          "/readyz",
        ]
      ) {
        all.push(await (await fetch(api.url + path)).text());
      }
      const text = all.join("\n");
      assert(
        !text.includes(agent.identity.spec.privateKey),
        "private key served",
      );
      assert(!text.includes(SECRET), "cluster secret served");
      assert(!text.includes(token), "token served");
      const metrics = parsePrometheusText(all[3]!);
      assertEquals(
        metrics.get("edgespan_info")!.samples[0]!.labels.version,
        "9.9.9",
      );
      const reload = await fetch(`${api.url}/v1/reload`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}` },
      });
      assertEquals(reload.status, 200);
      await reload.body?.cancel();
      // systemd waits for a reload between RELOADING=1 and READY=1.
      assertEquals(
        [take(), take()],
        ["RELOADING=1", "READY=1\nSTATUS=0/0 peers up"],
      );
      // STATUS= follows the peer count.
      agent.store.set("peerstatuses", "K", {
        label: "edge-b",
        state: "up",
        endpoint: "192.0.2.11:51820",
        receiveBytes: 0,
        transmitBytes: 0,
        lastHandshakeTime: "",
        lastUsedEndpoint: "",
        lastEndpointChange: "",
      });
      assertEquals(take(), "STATUS=1/1 peers up");
      agent.store.delete("peerstatuses", "K");
      assertEquals(take(), "STATUS=0/0 peers up");
      const name = BUILTIN_PLUGINS[0]!.name;
      const off = await fetch(`${api.url}/v1/plugins/${name}/disable`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}` },
      });
      assertEquals(off.status, 200);
      assertEquals((await off.json()).spec.enabled, false);
    } finally {
      await api.close();
    }
    assertEquals(take(), "STOPPING=1");
  } finally {
    Deno.env.delete("NOTIFY_SOCKET");
    c.close(notifyFd);
    await agent.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
