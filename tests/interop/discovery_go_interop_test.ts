/**
 * Interop with grpc-go, the gRPC implementation Talos nodes and Sidero's
 * discovery service use: a Go peer (tests/interop/go) with no generated
 * code (a raw codec and hand-built protobuf) and Go's own AES, built from
 * Debian's golang-google-grpc-dev in GOPATH mode, offline.
 */
import { assert, assertEquals } from "../_tools/assert.ts";
import { runOk } from "../../build/run.ts";
import { encodeHex } from "../../core/encoding/base64.ts";
import { encodeAffiliate } from "../../plugins/discovery_service/payload.ts";
import { affiliate } from "../plugins/discovery_service/_affiliates.ts";
import { waitFor } from "../plugins/discovery_service/_harness.ts";
import { clientAgainstPeer, KEY_HEX, serverWithDenoNode } from "./_peer.ts";

const GO = "/usr/bin/go";
const GOPATH = "/usr/share/gocode";
const ROOT = new URL("../../", import.meta.url).pathname;
const SRC = new URL("./go/", import.meta.url).pathname;

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

function why(): string | undefined {
  try {
    const go = new Deno.Command(GO, {
      args: ["version"],
      stdout: "null",
      stderr: "null",
    }).outputSync();
    if (!go.success) return "go version fails";
  } catch {
    return "/usr/bin/go (golang-go) not installed";
  }
  for (
    const [dir, pkg] of [
      ["google.golang.org/grpc", "golang-google-grpc-dev"],
      [
        "google.golang.org/protobuf/encoding/protowire",
        "golang-google-protobuf-dev",
      ],
    ]
  ) {
    if (!exists(`${GOPATH}/src/${dir}`)) return `${pkg} not installed`;
  }
  return undefined;
}
const reason = why();
if (reason) console.log(`discovery grpc-go interop tests skipped: ${reason}`);

let built: Promise<string> | undefined;

/**
 * Builds the Go peer once per process; the binary is kept under .cache/
 * keyed by a hash of the Go sources and the Go and grpc-go versions, so
 * only the first run after a change pays for the build (15-20 s cold on
 * 2 cores; about 1 s with a warm .cache/go-build).
 */
function peer(): Promise<string> {
  return built ??= (async () => {
    const parts: string[] = [];
    for (
      const e of [...Deno.readDirSync(SRC)].sort((a, b) =>
        a.name < b.name ? -1 : 1
      )
    ) {
      if (e.isFile && e.name.endsWith(".go")) {
        parts.push(e.name, await Deno.readTextFile(SRC + e.name));
      }
    }
    parts.push(await runOk(GO, ["version"]));
    parts.push(
      await Deno.readTextFile(
        `${GOPATH}/src/google.golang.org/grpc/version.go`,
      ),
    );
    const digest = await crypto.subtle.digest(
      "SHA-256",
      new TextEncoder().encode(parts.join("\0")),
    );
    const dir = `${ROOT}.cache/go-interop`;
    const bin = `${dir}/discovery_peer-${
      encodeHex(new Uint8Array(digest)).slice(0, 16)
    }`;
    if (exists(bin)) return bin;
    await Deno.mkdir(dir, { recursive: true });
    const tmp = `${bin}.${Deno.pid}.tmp`;
    await runOk(GO, ["build", "-o", tmp, "."], {
      cwd: SRC,
      env: {
        GO111MODULE: "off",
        GOPATH,
        GOCACHE: `${ROOT}.cache/go-build`,
        GOFLAGS: "",
        GOPROXY: "off",
        CGO_ENABLED: "0",
      },
    });
    await Deno.rename(tmp, bin);
    return bin;
  })();
}

type Opened = {
  id: string;
  node_id: string;
  hostname: string;
  public_key: string;
  addresses: string[];
  endpoints: [string, number][];
  error?: string;
};

const keyOf = (n: number) =>
  btoa(String.fromCharCode(...new Uint8Array(32).fill(n)));

Deno.test({
  name: "interop: grpc-go client against our server",
  ignore: reason !== undefined,
  async fn() {
    const bin = await peer();
    const srv = await serverWithDenoNode(encodeAffiliate(affiliate(1)));
    try {
      const r = JSON.parse(
        await runOk(bin, ["client", String(srv.port), KEY_HEX]),
      );
      assert(/^1\.\d+/.test(r.grpc_version), r.grpc_version);
      assertEquals([r.client_ip, r.redirect], ["7f000001", false]);

      const opened = (
        id: string,
        n: number,
        endpoints: [string, number][],
      ) => ({
        id,
        node_id: id,
        hostname: `${id}-host`,
        public_key: keyOf(n),
        addresses: [`0a1400${n.toString(16).padStart(2, "0")}`],
        endpoints,
      });
      const list = r.list as Opened[];
      assertEquals(list.map((a) => a.id), [
        "deno-node",
        "go-a",
        "go-b",
        "go-short",
      ]);
      // Go opens what we sealed.
      assertEquals(list[0], {
        id: "deno-node",
        node_id: "node-1",
        hostname: "h1",
        public_key: affiliate(1).kubespan!.publicKey,
        addresses: ["c0a80001"],
        endpoints: [["0a000002", 51820]],
      });
      // Endpoints of two updates merged, in arrival order.
      assertEquals(
        list[1],
        opened("go-a", 10, [
          ["0a14000a", 51820],
          ["20010db800000000000000000000000a", 51821],
        ]),
      );
      assertEquals(list[2], opened("go-b", 11, [["0a14000b", 51820]]));
      assertEquals(list[3], opened("go-short", 12, []));

      assertEquals(r.snapshot, {
        deleted: false,
        ids: ["deno-node", "go-a", "go-b", "go-short"],
      });
      assertEquals(r.watch_update, {
        deleted: false,
        affiliates: [opened("go-c", 13, [["0a14000d", 51820]])],
      });
      assertEquals(r.watch_delete, { deleted: true, ids: ["go-b"] });
      assertEquals(r.watch_cancelled[0], "Canceled");

      assertEquals(r.invalid, {
        hello_long_cluster: ["InvalidArgument", "cluster ID is too long"],
        update_long_cluster: ["InvalidArgument", "cluster ID is too long"],
        update_ttl_too_large: ["InvalidArgument", "ttl is too large"],
        list_long_cluster: ["InvalidArgument", "cluster ID is too long"],
        watch_long_cluster: ["InvalidArgument", "cluster ID is too long"],
      });

      assertEquals(
        {
          streams: r.mux.streams,
          snapshots: r.mux.snapshots,
          updates: r.mux.updates,
          list: r.mux.list,
          errors: r.mux.errors,
        },
        { streams: 50, snapshots: 50, updates: 50, list: 41, errors: [] },
      );
      // 50 snapshots of 40 x 2000-byte affiliates: past every window.
      assert(
        r.mux.snapshot_bytes > 50 * 40 * 2000,
        String(r.mux.snapshot_bytes),
      );

      // The TTLs grpc-go sent took effect: go-short (0.9 s, in nanos) expires,
      // the others (5 min) stay.
      const ids = () => srv.state.list("interop").map((a) => a.id).sort();
      await waitFor(
        () => {
          srv.gc();
          return !ids().includes("go-short");
        },
        5_000,
        "go-short to expire",
      );
      assertEquals(ids(), ["deno-node", "go-a", "go-c"]);
    } finally {
      await srv.close();
    }
  },
});

Deno.test({
  name: "interop: our client against a grpc-go server",
  ignore: reason !== undefined,
  async fn() {
    const bin = await peer();
    const seen = await clientAgainstPeer(
      "go",
      bin,
      ["server", KEY_HEX],
      (client) => {
        const peer = client.affiliates()[0]!;
        assertEquals([
          peer.nodeId,
          peer.hostname,
          peer.addresses,
          peer.kubespan?.publicKey,
          peer.kubespan?.address,
          peer.kubespan?.endpoints,
        ], [
          "go-node",
          "go-node-host",
          ["10.9.0.1"],
          keyOf(9),
          "fd00::9",
          ["10.9.0.1:51820"],
        ]);
        // The address the Go server reported, not the one it saw.
        assertEquals(client.publicAddresses(), ["198.51.100.7"]);
      },
    ) as {
      hellos: unknown[];
      updates: Record<string, unknown>[];
    };
    assertEquals(seen.hellos[0], {
      cluster_id: "interop",
      client_version: "test",
    });
    const mine = seen.updates.filter((u) => u.affiliate_id === "node-1");
    assert(mine.length >= 1, JSON.stringify(seen.updates));
    assertEquals(mine[0], {
      cluster_id: "interop",
      affiliate_id: "node-1",
      has_data: true,
      ttl: [1800, 0],
      // Go opens what our client sealed.
      opened: {
        id: "node-1",
        node_id: "node-1",
        hostname: "h1",
        public_key: affiliate(1).kubespan!.publicKey,
        addresses: ["c0a80001"],
        endpoints: [["c0a80001", 51820]],
      },
    });
  },
});
