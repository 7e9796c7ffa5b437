import { Agent } from "../../core/agent.ts";
import { silentLogger } from "../../core/log/logger.ts";
import { definePlugin } from "../../core/plugins/types.ts";
import type { MeshPassInput, MeshStep } from "../../core/mesh/types.ts";
import type { PeerStatusSpec } from "../../core/resources/specs.ts";
import { Timeline } from "../../core/timeline.ts";
import { discoveryHooks, REMOTE } from "../_tools/fake_discovery.ts";
import { assert, assertEquals } from "../_tools/assert.ts";

const SECRET = "B7kzFvlH7aTcBmSlk5czGsbqXTJQWJo6ViKrkiMzrIk=";
const KEY = "THtfKtfNnzJs1nMQKs5IXqK0DFXmM//0WMY+NnaZrhU=";

const discovery = definePlugin({
  name: "fake-discovery",
  hooks: ["discovery"],
  version: "1.0.0",
  description: "test",
  defaultEnabled: true,
  create: () => ({
    discovery: discoveryHooks({ affiliates: () => [REMOTE] }),
  }),
});

function status(handshakeAt: number, now: number): PeerStatusSpec {
  const up = handshakeAt > 0 && handshakeAt <= now;
  return {
    endpoint: "192.0.2.20:51820",
    label: "edge-b",
    state: up ? "up" : "unknown",
    receiveBytes: up ? 92 : 0,
    transmitBytes: 148,
    lastHandshakeTime: up ? new Date(handshakeAt).toISOString() : "",
    lastUsedEndpoint: "192.0.2.20:51820",
    lastEndpointChange: "",
  };
}

/**
 * A mesh whose one peer shakes hands `handshakeAfterMs` after the first
 * pass, as WireGuard would: nothing tells the agent, it has to look.
 */
function fakeMesh(handshakeAfterMs: number) {
  const passes: { reason?: string; at: number }[] = [];
  let handshakeAt = 0;
  const mesh: MeshStep = {
    pass(input: MeshPassInput) {
      const now = Date.now();
      handshakeAt ||= now + handshakeAfterMs;
      passes.push({ at: now });
      const peers = new Map(
        input.remote.map((
          a,
        ) => [a.kubespan!.publicKey, status(handshakeAt, now)]),
      );
      return Promise.resolve({
        peerspecs: new Map(),
        peerstatuses: peers,
        endpoints: new Map(),
      });
    },
  };
  return { mesh, passes, handshakeAt: () => handshakeAt };
}

async function withAgent(
  mesh: MeshStep,
  timeline: Timeline,
  body: (agent: Agent) => Promise<void>,
  reconcileExtra = "",
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "edgespan-timeline-" });
  await Deno.mkdir(`${dir}/sys/eth0/device`, { recursive: true });
  await Deno.writeTextFile(`${dir}/sys/eth0/type`, "1\n");
  await Deno.writeTextFile(`${dir}/sys/eth0/address`, "2e:1a:b6:53:81:69\n");
  await Deno.writeTextFile(
    `${dir}/config.yaml`,
    `cluster: {id: demo, secret: "${SECRET}"}\nnode: {stateDir: ${dir}/state, hostname: edge-a}\n` +
      // the tick is far away: only the agent's own look can see the handshake
      `reconcile: {interval: 1h${reconcileExtra}}\n`,
  );
  const agent = await Agent.start({
    configPath: `${dir}/config.yaml`,
    plugins: [discovery],
    log: silentLogger(),
    sysfsRoot: `${dir}/sys`,
    hostAddresses: { addresses: () => Promise.resolve([]) },
    mesh,
    timeline,
  });
  try {
    await body(agent);
  } finally {
    await agent.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("Agent sees a peer up within milliseconds of its handshake, not at the next tick", async () => {
  const fake = fakeMesh(100);
  await withAgent(fake.mesh, new Timeline(), async (agent) => {
    const until = Date.now() + 2000;
    const upAt = () =>
      agent.store.get<PeerStatusSpec>("peerstatuses", KEY)?.spec.state ===
          "up"
        ? Date.now()
        : 0;
    let seen = 0;
    while (!(seen = upAt()) && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 5));
    }
    assert(seen > 0, "the peer was never seen up (the tick is 1 h)");
    const late = seen - fake.handshakeAt();
    assert(late < 300, `seen up ${late} ms after the handshake`);
    const passes = fake.passes.length;
    await new Promise((r) => setTimeout(r, 300));
    assertEquals(fake.passes.length, passes, "no more looks once it is up");
  });
});

Deno.test("Agent with reconcile.handshakePoll off passes on its tick only (KubeSpan's cadence)", async () => {
  const fake = fakeMesh(50);
  await withAgent(fake.mesh, new Timeline(), async (agent) => {
    await agent.settle();
    await new Promise((r) => setTimeout(r, 600));
    assertEquals(
      agent.store.get<PeerStatusSpec>("peerstatuses", KEY)?.spec.state,
      "unknown",
      "without the extra looks the handshake is seen at the next tick",
    );
    assertEquals(fake.passes.length, 1, "one pass, no polling");
  }, ", handshakePoll: false");
});

Deno.test("Agent records its start-up and the peer's steps on the timeline, in order", async () => {
  const fake = fakeMesh(30);
  let t = 0;
  const timeline = new Timeline({ clock: () => ++t, timeOrigin: 5000 });
  await withAgent(fake.mesh, timeline, async (agent) => {
    const until = Date.now() + 2000;
    while (
      agent.timeline.snapshot().peers[KEY]?.up === undefined &&
      Date.now() < until
    ) {
      await new Promise((r) => setTimeout(r, 5));
    }
    const snap = agent.timeline.snapshot();
    assertEquals(snap.timeOrigin, 5000);
    const e = snap.events;
    const order = [
      e.configReady,
      e.identityReady,
      e.pluginsStarted,
      e.firstPass,
    ];
    assert(
      order.every((x, i) => x !== undefined && (i === 0 || x > order[i - 1]!)),
      `start-up steps in order: ${JSON.stringify(e)}`,
    );
    assert(e.discoveryConnected === undefined || e.discoveryConnected > 0);
    const p = snap.peers[KEY]!;
    assertEquals(p.label, "edge-b");
    assert(
      p.known! < p.configured! && p.configured! < p.up!,
      JSON.stringify(p),
    );
    assert(p.handshake !== undefined && p.handshake <= p.up!);
  });
});

Deno.test("Agent waits for a handshake by looking at the device, with one pass when it lands (no pass per look)", async () => {
  const fake = fakeMesh(200);
  let looks = 0;
  const mesh: MeshStep = {
    ...fake.mesh,
    peers: () => {
      looks++;
      const at = fake.handshakeAt();
      return Promise.resolve([{
        publicKey: KEY,
        lastHandshakeTime: at > 0 && at <= Date.now() ? at : 0,
      }]);
    },
  };
  await withAgent(mesh, new Timeline(), async (agent) => {
    const until = Date.now() + 2000;
    while (
      agent.store.get<PeerStatusSpec>("peerstatuses", KEY)?.spec.state !==
        "up" && Date.now() < until
    ) await new Promise((r) => setTimeout(r, 5));
    const late = Date.now() - fake.handshakeAt();
    assert(late < 300, `seen up ${late} ms after the handshake`);
    assert(looks >= 3, `looked ${looks} times while waiting`);
    assertEquals(
      fake.passes.length,
      2,
      "the first pass and one when it landed",
    );
    assertEquals(agent.reconcileStats.lastReason, "handshake landed");
  });
});
