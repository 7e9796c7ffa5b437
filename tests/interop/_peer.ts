/**
 * What the grpc-go and Python interop tests share: the cluster key, and our
 * discovery client run against a peer's discovery server process.
 *
 * @module
 */
import { encodeHex } from "../../core/encoding/base64.ts";
import { createClusterCipher } from "../../plugins/discovery_service/crypto.ts";
import { DiscoveryClient } from "../../plugins/discovery_service/client.ts";
import { affiliate } from "../plugins/discovery_service/_affiliates.ts";
import { encodeEndpoint } from "../../plugins/discovery_service/payload.ts";
import { startServer, waitFor } from "../plugins/discovery_service/_harness.ts";

/** The cluster key both sides use. */
export const KEY: Uint8Array = new Uint8Array(32).map((_, i) => 255 - i);
/** {@linkcode KEY} in hex, as the peers take it on their command line. */
export const KEY_HEX: string = encodeHex(KEY);

/**
 * Our discovery server on loopback, holding one affiliate `deno-node` of
 * cluster `interop`: `data` and the endpoint 10.0.0.2:51820, sealed with
 * {@linkcode KEY}, for a peer's client to read.
 */
export async function serverWithDenoNode(
  data: Uint8Array,
): ReturnType<typeof startServer> {
  const srv = await startServer();
  try {
    const c = createClusterCipher(KEY);
    srv.state.update(
      "interop",
      "deno-node",
      c.sealData(data),
      [c.sealEndpoint(encodeEndpoint("10.0.0.2:51820"))],
      60_000,
    );
    return srv;
  } catch (e) {
    await srv.close();
    throw e;
  }
}

/** Reads stdout lines of a child process one at a time. */
class LineReader {
  readonly #reader: ReadableStreamDefaultReader<string>;
  #buf = "";
  constructor(stdout: ReadableStream<Uint8Array>) {
    this.#reader = stdout.pipeThrough(new TextDecoderStream()).getReader();
  }
  /** The next line; `undefined` when the stream ends first. */
  async next(): Promise<string | undefined> {
    while (!this.#buf.includes("\n")) {
      const r = await this.#reader.read();
      if (r.done) return undefined;
      this.#buf += r.value;
    }
    const nl = this.#buf.indexOf("\n");
    const line = this.#buf.slice(0, nl);
    this.#buf = this.#buf.slice(nl + 1);
    return line;
  }
  /** Everything up to the next line end or the end of the stream. */
  async rest(): Promise<string> {
    return await this.next() ?? this.#buf;
  }
  release(): void {
    this.#reader.releaseLock();
  }
}

/**
 * Starts a peer's discovery server (`cmd args`), which prints its port on
 * its first line; runs our client against it, publishing `affiliate(1)`
 * until it sees the peer's one affiliate; hands the client to `check`; then
 * stops the client, closes the peer's stdin and returns the JSON the peer
 * prints of what it received. `what` names the peer in failures.
 */
export async function clientAgainstPeer(
  what: string,
  cmd: string,
  args: string[],
  check: (client: DiscoveryClient) => void | Promise<void>,
): Promise<unknown> {
  const child = new Deno.Command(cmd, {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const ac = new AbortController();
  let run: Promise<void> | undefined;
  const lines = new LineReader(child.stdout);
  try {
    const first = await lines.next();
    if (first === undefined) throw new Error(`${what} server exited`);
    const client = new DiscoveryClient({
      url: `http://127.0.0.1:${Number(first.trim())}`,
      clusterId: "interop",
      nodeId: "node-1",
      cipher: createClusterCipher(KEY),
      clientVersion: "test",
      source: "discovery-service",
      backoff: { initialMs: 50, multiplier: 1.5, jitter: 0.2, maxMs: 300 },
    });
    run = client.run(ac.signal);
    client.publish(affiliate(1), []);
    await waitFor(
      () => client.affiliates().length === 1,
      10_000,
      `${what} peer seen`,
    );
    await check(client);
    await new Promise((r) => setTimeout(r, 100));
    ac.abort();
    await run;
    const w = child.stdin.getWriter();
    await w.close();
    const seen = JSON.parse((await lines.rest()).trim());
    lines.release();
    return seen;
  } finally {
    ac.abort();
    await run;
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
    await child.stdout.cancel().catch(() => {});
    await child.stderr.cancel().catch(() => {});
    await child.status;
  }
}
