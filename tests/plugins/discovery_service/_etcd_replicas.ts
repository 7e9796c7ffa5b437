/**
 * What the etcd store tests share: discovery replicas as their own
 * processes (`discovery serve --store etcd://...`, killed by pid), a
 * loopback TCP balancer in front of them (the "DNS or load balancer" of a
 * real fleet: each connection goes to the first replica that accepts it),
 * and Watch streams that count what they receive.
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import { DurationSchema } from "@bufbuild/protobuf/wkt";
import { rawClient } from "./_harness.ts";

const CLI = new URL(
  "../../../plugins/discovery_service/server/cli.ts",
  import.meta.url,
).pathname;

/** A replica process. */
export interface Replica {
  port: number;
  pid: number;
  /** SIGKILL by pid. */
  kill(): Promise<void>;
  /** The log lines so far (JSON). */
  log(): string;
}

/** Starts `discovery serve` on 127.0.0.1 with the etcd store. */
export async function startReplica(
  etcdEndpoints: string[],
  extra: string[] = [],
  port = 0,
  where: { netns?: string; listen?: string } = {},
): Promise<Replica> {
  const wrap = where.netns
    ? ["netns", "exec", where.netns, Deno.execPath()]
    : [];
  const child = new Deno.Command(where.netns ? "ip" : Deno.execPath(), {
    args: [
      ...wrap,
      "run",
      "-A",
      CLI,
      "--listen",
      where.listen ?? `127.0.0.1:${port}`,
      "--store",
      `etcd://${
        etcdEndpoints.map((e) => e.replace(/^https?:\/\//, "")).join(",")
      }`,
      "--rate",
      "100000",
      "--burst",
      "100000",
      "--gc-interval",
      "200ms",
      ...extra,
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let log = "";
  let bound = 0;
  const timer = setTimeout(() => {
    try {
      Deno.kill(child.pid, "SIGKILL");
    } catch { /* gone */ }
  }, 20_000);
  while (bound === 0) {
    const r = await reader.read();
    if (r.done) {
      clearTimeout(timer);
      await child.status;
      throw new Error(`replica exited before listening: ${log}`);
    }
    log += r.value;
    bound = Number(/"port":(\d+)/.exec(log)?.[1] ?? 0);
  }
  clearTimeout(timer);
  void (async () => {
    while (true) {
      const r = await reader.read().catch(() => ({ done: true, value: "" }));
      if (r.done) break;
      log += r.value;
    }
  })();
  let dead = false;
  return {
    port: bound,
    pid: child.pid,
    async kill() {
      if (dead) return;
      dead = true;
      try {
        Deno.kill(child.pid, "SIGKILL");
      } catch { /* gone */ }
      await child.status;
    },
    log: () => log,
  };
}

/** GET on a replica's plain HTTP port. */
export async function httpGet(
  port: number,
  path: string,
): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    signal: AbortSignal.timeout(3_000),
  });
  return { status: res.status, text: await res.text() };
}

/**
 * A TCP balancer on 127.0.0.1: each connection goes to the first backend
 * (in `order`) that accepts it.
 */
export function startBalancer(backends: () => number[]): {
  port: number;
  close(): void;
} {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = new Set<Deno.Conn>();
  void (async () => {
    for await (const conn of listener) {
      open.add(conn);
      void (async () => {
        let up: Deno.TcpConn | undefined;
        for (const port of backends()) {
          try {
            up = await Deno.connect({ hostname: "127.0.0.1", port });
            break;
          } catch { /* next */ }
        }
        if (!up) {
          conn.close();
          open.delete(conn);
          return;
        }
        open.add(up);
        const pipe = (a: Deno.Conn, b: Deno.Conn) =>
          a.readable.pipeTo(b.writable).catch(() => {});
        await Promise.race([pipe(conn, up), pipe(up, conn)]);
        for (const c of [conn, up]) {
          try {
            c.close();
          } catch { /* closed */ }
          open.delete(c);
        }
      })();
    }
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    close() {
      listener.close();
      for (const c of open) {
        try {
          c.close();
        } catch { /* closed */ }
      }
    },
  };
}

/** 30 min, as Talos sends it. */
export const LONG_TTL = create(DurationSchema, { seconds: 1800n });

/** A TTL of `s` seconds. */
export const ttlOf = (s: number) =>
  create(DurationSchema, { seconds: BigInt(s) });

/**
 * A Watch stream through `port` that keeps the state it was shown and
 * counts events: a duplicate is an update equal to what the stream already
 * showed for that affiliate. `reconnect` re-opens it after an error (a
 * client of a dead replica does that), starting again from a snapshot.
 */
export class CountingWatcher {
  state = new Map<string, string>();
  updates = 0;
  deletes = 0;
  duplicates = 0;
  snapshots = 0;
  streams = 0;
  deleteTimes = new Map<string, number>();
  #abort = new AbortController();
  #done: Promise<void>;

  constructor(
    port: number,
    clusterId: string,
    reconnect: boolean,
  ) {
    this.#done = this.#run(port, clusterId, reconnect);
  }

  async #run(port: number, clusterId: string, reconnect: boolean) {
    while (!this.#abort.signal.aborted) {
      const client = rawClient(port);
      let first = true;
      this.streams++;
      try {
        for await (
          const msg of client.watch({ clusterId }, {
            signal: this.#abort.signal,
          })
        ) {
          if (first) {
            first = false;
            this.snapshots++;
            this.state = new Map(
              msg.affiliates.map((
                a,
              ) => [a.id, new TextDecoder().decode(a.data)]),
            );
            continue;
          }
          for (const a of msg.affiliates) {
            if (msg.deleted) {
              this.deletes++;
              this.deleteTimes.set(a.id, Date.now());
              if (!this.state.delete(a.id)) this.duplicates++;
              continue;
            }
            this.updates++;
            const data = new TextDecoder().decode(a.data);
            if (this.state.get(a.id) === data) this.duplicates++;
            this.state.set(a.id, data);
          }
        }
      } catch { /* stream ended: reconnect or stop */ }
      if (!reconnect) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#done;
  }
}
