/**
 * A local etcd cluster on loopback from Debian's `etcd-server`, for tests
 * and development: members on free (or given) ports, data in a temp dir (or
 * a given one), each member killed by its pid.
 *
 *   deno task etcd-dev     3 members on 127.0.0.1:23790-23792, data in
 *                          .cache/etcd-dev/, stopped by Ctrl-C
 *
 * @module
 */

/** Why etcd cannot run here, or undefined. */
export async function etcdSkipReason(): Promise<string | undefined> {
  try {
    const out = await new Deno.Command("etcd", {
      args: ["--version"],
      stdout: "piped",
      stderr: "null",
    }).output();
    return out.success ? undefined : "`etcd --version` failed";
  } catch {
    return "etcd is not installed (Debian etcd-server; tests/run.sh installs it as root)";
  }
}

/** A free TCP port on 127.0.0.1 (released before use, as usual for tests). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** One member. */
export interface EtcdMember {
  name: string;
  clientUrl: string;
  running(): boolean;
  /** SIGKILL by pid. */
  kill(): Promise<void>;
  /** Starts it again on the same data and ports. */
  start(): void;
}

/** A running cluster. */
export interface EtcdCluster {
  endpoints: string[];
  members: EtcdMember[];
  dir: string;
  /** Kills every member and removes the data (unless it was given). */
  stop(): Promise<void>;
}

/** Options of {@linkcode startEtcdCluster}. */
export interface EtcdClusterOptions {
  /** @default 3 */
  members?: number;
  /** Data directory; a temp dir (in /dev/shm when present) if not given. */
  dir?: string;
  /** Client and peer ports (2 per member); free ones if not given. */
  ports?: { client: number; peer: number }[];
  /** Print the members' logs. @default false */
  verbose?: boolean;
  /**
   * Run the members inside this network namespace (on its loopback), via
   * `ip netns exec` (which execs: the pid is etcd's).
   */
  netns?: string;
  /** Serve clients over TLS with this certificate (files) signed by `caPem`. */
  tls?: {
    certFile: string;
    keyFile: string;
    caPem: string;
    /**
     * Require client certificates signed by the CA in `trustedCaFile`
     * (`--client-cert-auth`); the health checks present `certPem`/`keyPem`.
     * etcd 3.4's JSON gateway dials etcd with the server certificate, so
     * that one needs the clientAuth extended key usage too.
     */
    clientAuth?: { trustedCaFile: string; certPem: string; keyPem: string };
  };
}

async function healthy(
  url: string,
  netns?: string,
  client?: Deno.HttpClient,
): Promise<boolean> {
  if (netns) {
    // etcdctl (Debian etcd-client) inside the namespace.
    const out = await new Deno.Command("ip", {
      args: [
        "netns",
        "exec",
        netns,
        "etcdctl",
        "--endpoints",
        url,
        "--command-timeout",
        "1s",
        "endpoint",
        "health",
      ],
      env: { ETCDCTL_API: "3" },
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  }
  try {
    const res = await fetch(`${url}/health`, {
      signal: AbortSignal.timeout(1_000),
      ...(client ? { client } : {}),
    });
    const body = await res.json() as { health?: string };
    return body.health === "true";
  } catch {
    return false;
  }
}

/** Starts the members and waits until every one is healthy (max 20 s). */
export async function startEtcdCluster(
  options: EtcdClusterOptions = {},
): Promise<EtcdCluster> {
  const n = options.members ?? 3;
  const ownDir = options.dir === undefined;
  let shm = false;
  try {
    shm = Deno.statSync("/dev/shm").isDirectory;
  } catch { /* no /dev/shm */ }
  const dir = options.dir ??
    await Deno.makeTempDir({
      prefix: "edgespan-etcd-",
      ...(shm ? { dir: "/dev/shm" } : {}),
    });
  const ports = options.ports ??
    Array.from({ length: n }, () => ({ client: freePort(), peer: freePort() }));
  const names = ports.map((_, i) => `m${i + 1}`);
  const initial = names.map((name, i) =>
    `${name}=http://127.0.0.1:${ports[i]!.peer}`
  ).join(",");
  const members: EtcdMember[] = names.map((name, i) => {
    const clientUrl = `${options.tls ? "https" : "http"}://127.0.0.1:${
      ports[i]!.client
    }`;
    const peerUrl = `http://127.0.0.1:${ports[i]!.peer}`;
    let child: Deno.ChildProcess | undefined;
    const member: EtcdMember = {
      name,
      clientUrl,
      running: () => child !== undefined,
      async kill() {
        if (!child) return;
        try {
          Deno.kill(child.pid, "SIGKILL");
        } catch { /* already gone */ }
        await child.status;
        child = undefined;
      },
      start() {
        if (child) return;
        const wrap = options.netns
          ? ["netns", "exec", options.netns, "etcd"]
          : [];
        child = new Deno.Command(options.netns ? "ip" : "etcd", {
          args: [
            ...wrap,
            "--name",
            name,
            "--data-dir",
            `${dir}/${name}`,
            "--listen-client-urls",
            clientUrl,
            "--advertise-client-urls",
            clientUrl,
            "--listen-peer-urls",
            peerUrl,
            "--initial-advertise-peer-urls",
            peerUrl,
            "--initial-cluster",
            initial,
            "--initial-cluster-state",
            "new",
            "--initial-cluster-token",
            `edgespan-${dir.split("/").pop()}`,
            "--heartbeat-interval",
            "50",
            "--election-timeout",
            "500",
            ...(options.tls
              ? [
                "--cert-file",
                options.tls.certFile,
                "--key-file",
                options.tls.keyFile,
                ...(options.tls.clientAuth
                  ? [
                    "--client-cert-auth",
                    "--trusted-ca-file",
                    options.tls.clientAuth.trustedCaFile,
                  ]
                  : []),
              ]
              : []),
            "--log-level",
            "warn",
            "--logger",
            "zap",
          ],
          stdout: options.verbose ? "inherit" : "null",
          stderr: options.verbose ? "inherit" : "null",
        }).spawn();
        const c = child;
        void c.status.then(() => {
          if (child === c) child = undefined;
        });
      },
    };
    return member;
  });
  const stop = async () => {
    for (const m of members) await m.kill();
    if (ownDir) await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  const http = options.tls
    ? Deno.createHttpClient({
      caCerts: [options.tls.caPem],
      ...(options.tls.clientAuth
        ? {
          cert: options.tls.clientAuth.certPem,
          key: options.tls.clientAuth.keyPem,
        }
        : {}),
    })
    : undefined;
  try {
    for (const m of members) m.start();
    const end = Date.now() + 20_000;
    for (const m of members) {
      while (!(await healthy(m.clientUrl, options.netns, http))) {
        if (Date.now() > end || !m.running()) {
          throw new Error(`etcd member ${m.name} did not become healthy`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } catch (err) {
    await stop();
    throw err;
  } finally {
    http?.close();
  }
  return { endpoints: members.map((m) => m.clientUrl), members, dir, stop };
}

if (import.meta.main) {
  const skip = await etcdSkipReason();
  if (skip) {
    console.error(`Cannot start etcd: ${skip}`);
    Deno.exit(2);
  }
  const dir = new URL("../../.cache/etcd-dev", import.meta.url).pathname;
  await Deno.mkdir(dir, { recursive: true });
  const cluster = await startEtcdCluster({
    dir,
    ports: [0, 1, 2].map((i) => ({ client: 23790 + i, peer: 23800 + i })),
  });
  console.log(
    `etcd: 3 members up, data in ${dir}\n` +
      `  edgespan discovery serve --listen 127.0.0.1:3000 --store etcd://${
        cluster.endpoints.map((e) => e.slice("http://".length)).join(",")
      }\nCtrl-C stops them.`,
  );
  await new Promise<void>((resolve) => {
    Deno.addSignalListener("SIGINT", resolve);
    Deno.addSignalListener("SIGTERM", resolve);
  });
  await cluster.stop();
  console.log("etcd: stopped");
  Deno.exit(0);
}
