/**
 * A small etcd v3 client over etcd's JSON gateway (`/v3/kv/range`,
 * `/v3/kv/txn`, `/v3/lease/grant`, `/v3/watch`, `/v3/auth/authenticate`),
 * served by every member on its client port. Keys and values travel as
 * base64, 64-bit numbers as decimal strings. Several members: a call that
 * cannot reach one goes to the next; TLS (CA, client certificate) and
 * user/password auth as etcd offers them. Counts latency and errors.
 *
 * @module
 */

/** How to reach etcd. */
export interface EtcdClientOptions {
  /** Member client URLs, e.g. `http://10.0.0.1:2379`. */
  endpoints: string[];
  /** PEM CA certificate(s) that sign the members' certificates. */
  caCert?: string;
  /** PEM client certificate and key (etcd `--client-cert-auth`). */
  cert?: string;
  key?: string;
  /** etcd user and password (etcd auth enabled). */
  user?: string;
  password?: string;
  /**
   * Per-call timeout; then the call goes to the next member. Short, because
   * a proposal a dying leader took is never answered (etcd gives up only
   * after 5 s + 2 election timeouts); retrying is safe, every write is a
   * compare. @default 2_000
   */
  timeoutMs?: number;
}

/** A key-value as the gateway returns it (bytes decoded). */
export interface EtcdKv {
  key: Uint8Array;
  value: Uint8Array;
  createRevision: number;
  modRevision: number;
  lease: string;
}

/** One watch event. */
export interface EtcdEvent {
  type: "PUT" | "DELETE";
  kv: EtcdKv;
}

/** A compare of a transaction (gateway JSON, keys already base64). */
export type EtcdCompare = Record<string, unknown>;
/** An operation of a transaction (gateway JSON). */
export type EtcdOp = Record<string, unknown>;

/** etcd answered with an error, or no member could be reached. */
export class EtcdError extends Error {
  /** gRPC code etcd gave (14 = unavailable); undefined when unreachable. */
  readonly code: number | undefined;
  constructor(message: string, code?: number, options?: ErrorOptions) {
    super(message, options);
    this.name = "EtcdError";
    this.code = code;
  }
}

/** The watched range was compacted past the revision asked for. */
export class EtcdCompactedError extends EtcdError {
  readonly compactRevision: number;
  constructor(compactRevision: number) {
    super(`etcd compacted the history up to revision ${compactRevision}`, 11);
    this.name = "EtcdCompactedError";
    this.compactRevision = compactRevision;
  }
}

const utf8 = new TextEncoder();

/** Bytes (or text) → base64. */
export function b64(bytes: Uint8Array | string): string {
  const b = typeof bytes === "string" ? utf8.encode(bytes) : bytes;
  let s = "";
  for (let i = 0; i < b.length; i += 4096) {
    s += String.fromCharCode(...b.subarray(i, i + 4096));
  }
  return btoa(s);
}

/** base64 → bytes (empty for undefined: the gateway omits empty fields). */
export function unb64(s: string | undefined): Uint8Array {
  if (!s) return new Uint8Array();
  return Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
}

/** The end of the range of every key that starts with `prefix`. */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  const end = prefix.slice();
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return end.subarray(0, i + 1);
    }
  }
  return new Uint8Array([0]);
}

interface RawKv {
  key?: string;
  value?: string;
  create_revision?: string;
  mod_revision?: string;
  lease?: string;
}

function kvOf(raw: RawKv): EtcdKv {
  return {
    key: unb64(raw.key),
    value: unb64(raw.value),
    createRevision: Number(raw.create_revision ?? 0),
    modRevision: Number(raw.mod_revision ?? 0),
    lease: raw.lease ?? "0",
  };
}

/** Latency and error counts per etcd call kind. */
export interface EtcdCallStats {
  calls: number;
  errors: number;
  /** Sum of latencies, seconds. */
  seconds: number;
  /** Latency histogram: counts per upper bound in {@linkcode LATENCY_BUCKETS}. */
  buckets: number[];
}

/** Upper bounds (s) of the latency histogram. */
export const LATENCY_BUCKETS = [
  0.001,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  1,
  5,
];

/** A client of one etcd cluster. */
export class EtcdClient {
  readonly #endpoints: string[];
  readonly #options: EtcdClientOptions;
  readonly #http: Deno.HttpClient | undefined;
  #current = 0;
  #token: string | undefined;
  readonly stats = new Map<string, EtcdCallStats>();

  constructor(options: EtcdClientOptions) {
    if (options.endpoints.length === 0) {
      throw new Error("etcd: give at least one member endpoint");
    }
    this.#endpoints = options.endpoints.map((e) => e.replace(/\/+$/, ""));
    this.#options = options;
    this.#http = options.caCert || options.cert
      ? Deno.createHttpClient({
        ...(options.caCert ? { caCerts: [options.caCert] } : {}),
        ...(options.cert && options.key
          ? { cert: options.cert, key: options.key }
          : {}),
      })
      : undefined;
  }

  /** The member calls go to now. */
  get endpoint(): string {
    return this.#endpoints[this.#current]!;
  }

  #record(kind: string, started: number, failed: boolean): void {
    let s = this.stats.get(kind);
    if (!s) {
      s = {
        calls: 0,
        errors: 0,
        seconds: 0,
        buckets: LATENCY_BUCKETS.map(() => 0),
      };
      this.stats.set(kind, s);
    }
    const secs = (performance.now() - started) / 1000;
    s.calls++;
    if (failed) s.errors++;
    s.seconds += secs;
    const i = LATENCY_BUCKETS.findIndex((b) => secs <= b);
    if (i >= 0) s.buckets[i]!++;
  }

  async #authenticate(base: string, signal: AbortSignal): Promise<void> {
    const res = await fetch(`${base}/v3/auth/authenticate`, {
      method: "POST",
      body: JSON.stringify({
        name: this.#options.user,
        password: this.#options.password ?? "",
      }),
      signal,
      ...(this.#http ? { client: this.#http } : {}),
    });
    const body = await res.json() as { token?: string; message?: string };
    if (!res.ok || !body.token) {
      throw new EtcdError(
        `etcd refused user "${this.#options.user}": ${
          body.message ?? res.status
        }`,
        16,
      );
    }
    this.#token = body.token;
  }

  /** POSTs to the current member, moving to the next when unreachable. */
  async #post(
    path: string,
    body: unknown,
    timeoutMs = this.#options.timeoutMs ?? 2_000,
    signal?: AbortSignal,
  ): Promise<Response> {
    let lastErr: unknown;
    for (let tried = 0; tried < this.#endpoints.length; tried++) {
      const base = this.endpoint;
      const timeout = AbortSignal.timeout(timeoutMs);
      const sig = signal ? AbortSignal.any([signal, timeout]) : timeout;
      try {
        if (this.#options.user && !this.#token) {
          await this.#authenticate(base, sig);
        }
        for (let auth = 0; auth < 2; auth++) {
          const res = await fetch(`${base}${path}`, {
            method: "POST",
            headers: this.#token ? { authorization: this.#token } : {},
            body: JSON.stringify(body),
            signal: sig,
            ...(this.#http ? { client: this.#http } : {}),
          });
          if (res.ok) return res;
          const err = await res.json().catch(() => ({})) as {
            message?: string;
            code?: number;
          };
          // An expired simple token: log in again once.
          if (auth === 0 && this.#options.user && err.code === 16) {
            await this.#authenticate(base, sig);
            continue;
          }
          // No leader / member stopping: another member may do.
          if (err.code === 14 || res.status >= 502) {
            throw new EtcdError(
              `etcd ${base}: ${err.message ?? res.status}`,
              err.code ?? 14,
            );
          }
          throw new EtcdError(
            `etcd ${base}${path}: ${err.message ?? `HTTP ${res.status}`}`,
            err.code,
          );
        }
      } catch (err) {
        if (signal?.aborted) throw err;
        if (err instanceof EtcdError && err.code !== 14) throw err;
        lastErr = err;
        this.#current = (this.#current + 1) % this.#endpoints.length;
      }
    }
    throw new EtcdError(
      `no etcd member answered (${this.#endpoints.join(", ")}): ${
        lastErr instanceof EtcdError ? lastErr.message : this.#failure(lastErr)
      }`,
      undefined,
      { cause: lastErr },
    );
  }

  /**
   * Why a request failed: fetch says only "fetch failed", its causes say
   * what happened; when etcd closed a TLS connection, what to check.
   */
  #failure(err: unknown): string {
    const parts: string[] = [];
    for (let e = err; e !== undefined && parts.length < 4;) {
      const m = e instanceof Error ? e.message : String(e);
      if (m && !parts.includes(m)) parts.push(m);
      e = e instanceof Error ? e.cause : undefined;
    }
    if (parts.length > 1 && parts[0] === "fetch failed") parts.shift();
    const detail = parts.join(": ");
    if (!this.#endpoints[0]!.startsWith("https:")) return detail;
    if (/invalid peer certificate/i.test(detail)) {
      return `${detail}; etcd's server certificate is not trusted: give the CA that signed it with --etcd-ca`;
    }
    if (/connection closed|broken pipe|connection reset|alert/i.test(detail)) {
      return this.#options.cert
        ? `${detail}; etcd closed the TLS connection: if it runs with --client-cert-auth, the client certificate (--etcd-cert) must be signed by a CA in etcd's --trusted-ca-file and allow clientAuth`
        : `${detail}; etcd closed the TLS connection: if it runs with --client-cert-auth, give a client certificate signed by its --trusted-ca-file CA with --etcd-cert and --etcd-key`;
    }
    return detail;
  }

  async #call<T>(
    kind: string,
    path: string,
    body: unknown,
    timeoutMs?: number,
  ): Promise<T> {
    const started = performance.now();
    try {
      const res = await this.#post(path, body, timeoutMs);
      const out = await res.json() as T;
      this.#record(kind, started, false);
      return out;
    } catch (err) {
      this.#record(kind, started, true);
      throw err;
    }
  }

  /**
   * Keys in `[key, rangeEnd)` at `revision` (0: now), up to `limit` (0: all).
   */
  async range(
    key: Uint8Array,
    rangeEnd: Uint8Array | undefined,
    opts: {
      revision?: number;
      limit?: number;
      countOnly?: boolean;
      timeoutMs?: number;
    } = {},
  ): Promise<
    { revision: number; kvs: EtcdKv[]; more: boolean; count: number }
  > {
    const r = await this.#call<{
      header: { revision: string };
      kvs?: RawKv[];
      more?: boolean;
      count?: string;
    }>("range", "/v3/kv/range", {
      key: b64(key),
      ...(rangeEnd ? { range_end: b64(rangeEnd) } : {}),
      ...(opts.revision ? { revision: String(opts.revision) } : {}),
      ...(opts.limit ? { limit: String(opts.limit) } : {}),
      ...(opts.countOnly ? { count_only: true } : {}),
    }, opts.timeoutMs);
    return {
      revision: Number(r.header.revision),
      kvs: (r.kvs ?? []).map(kvOf),
      more: r.more ?? false,
      count: Number(r.count ?? 0),
    };
  }

  /**
   * A transaction. Returns whether the compares held, the revision, and the
   * ranges the chosen branch read (one list per `request_range` op).
   */
  async txn(
    compare: EtcdCompare[],
    success: EtcdOp[],
    failure: EtcdOp[],
  ): Promise<{ succeeded: boolean; revision: number; ranges: EtcdKv[][] }> {
    const r = await this.#call<{
      header: { revision: string };
      succeeded?: boolean;
      responses?: { response_range?: { kvs?: RawKv[] } }[];
    }>("txn", "/v3/kv/txn", { compare, success, failure });
    return {
      succeeded: r.succeeded ?? false,
      revision: Number(r.header.revision),
      ranges: (r.responses ?? [])
        .filter((x) => x.response_range)
        .map((x) => (x.response_range!.kvs ?? []).map(kvOf)),
    };
  }

  /** Grants a lease of `ttlS` seconds; returns its id (decimal string). */
  async leaseGrant(ttlS: number): Promise<string> {
    const r = await this.#call<{ ID: string }>(
      "lease_grant",
      "/v3/lease/grant",
      {
        TTL: String(ttlS),
      },
    );
    return r.ID;
  }

  /**
   * Watches `[key, rangeEnd)` from `startRevision` and calls `onEvents`
   * with each response's events (in revision order) until `signal` aborts
   * or the stream fails, which rejects: with {@linkcode EtcdCompactedError}
   * when the history was compacted. `onCreated` runs when etcd accepted
   * the watch.
   */
  async watch(
    key: Uint8Array,
    rangeEnd: Uint8Array,
    startRevision: number,
    onEvents: (events: EtcdEvent[], revision: number) => void,
    onCreated: () => void,
    signal: AbortSignal,
  ): Promise<void> {
    const started = performance.now();
    let res: Response;
    try {
      // The stream outlives any per-call timeout: only the signal ends it.
      res = await this.#postStream(key, rangeEnd, startRevision, signal);
      this.#record("watch", started, false);
    } catch (err) {
      this.#record("watch", started, true);
      throw err;
    }
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    try {
      while (true) {
        const { value, done } = await reader.read();
        if (done) throw new EtcdError("etcd closed the watch stream", 14);
        buf += value;
        let nl;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (line) this.#watchLine(line, onEvents, onCreated);
        }
      }
    } finally {
      reader.cancel().catch(() => {});
    }
  }

  #watchLine(
    line: string,
    onEvents: (events: EtcdEvent[], revision: number) => void,
    onCreated: () => void,
  ): void {
    const msg = JSON.parse(line) as {
      result?: {
        header?: { revision?: string };
        created?: boolean;
        canceled?: boolean;
        compact_revision?: string;
        cancel_reason?: string;
        events?: { type?: "PUT" | "DELETE"; kv: RawKv }[];
      };
      error?: { message?: string; code?: number };
    };
    if (msg.error) {
      throw new EtcdError(
        `etcd watch failed: ${msg.error.message}`,
        msg.error.code,
      );
    }
    const r = msg.result ?? {};
    if (r.compact_revision && Number(r.compact_revision) > 0) {
      throw new EtcdCompactedError(Number(r.compact_revision));
    }
    if (r.canceled) {
      throw new EtcdError(
        `etcd cancelled the watch: ${r.cancel_reason ?? "no reason given"}`,
        14,
      );
    }
    if (r.created) onCreated();
    if (r.events?.length) {
      onEvents(
        r.events.map((e) => ({ type: e.type ?? "PUT", kv: kvOf(e.kv) })),
        Number(r.header?.revision ?? 0),
      );
    }
  }

  async #postStream(
    key: Uint8Array,
    rangeEnd: Uint8Array,
    startRevision: number,
    signal: AbortSignal,
  ): Promise<Response> {
    const base = this.endpoint;
    try {
      if (this.#options.user && !this.#token) {
        await this.#authenticate(
          base,
          AbortSignal.any([signal, AbortSignal.timeout(5_000)]),
        );
      }
      const res = await fetch(`${base}/v3/watch`, {
        method: "POST",
        headers: {
          // gRPC metadata through the gateway: a member that loses its
          // leader ends the watch instead of keeping it silent.
          "grpc-metadata-hasleader": "true",
          ...(this.#token ? { authorization: this.#token } : {}),
        },
        body: JSON.stringify({
          create_request: {
            key: b64(key),
            range_end: b64(rangeEnd),
            start_revision: String(startRevision),
          },
        }),
        signal,
        ...(this.#http ? { client: this.#http } : {}),
      });
      if (!res.ok) {
        const err = await res.json().catch(() => ({})) as {
          message?: string;
          code?: number;
        };
        if (err.code === 16) this.#token = undefined;
        throw new EtcdError(
          `etcd ${base} refused the watch: ${err.message ?? res.status}`,
          err.code,
        );
      }
      return res;
    } catch (err) {
      if (signal.aborted) throw err;
      // The next attempt tries the next member.
      this.#current = (this.#current + 1) % this.#endpoints.length;
      if (err instanceof EtcdError) throw err;
      throw new EtcdError(`etcd ${base}: ${this.#failure(err)}`, undefined, {
        cause: err,
      });
    }
  }

  /** Moves calls to the next member (after a watch failed on this one). */
  rotate(): void {
    this.#current = (this.#current + 1) % this.#endpoints.length;
  }

  close(): void {
    this.#http?.close();
  }
}
