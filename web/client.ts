/**
 * The HTTP client the CLI uses to read a running agent's API.
 *
 * @module
 */
import type { Resource, ResourceEvent } from "../core/resources/store.ts";
import type { ApiResource } from "./public_view.ts";
import type { ApiStatus } from "./types.ts";

/** The API could not be used; the message says what to do. */
export class ApiClientError extends Error {
  /** HTTP status, when the API answered. */
  readonly status: number | undefined;
  /** The API's error code, when it sent one. */
  readonly code: string | undefined;
  constructor(
    message: string,
    details: { status?: number; code?: string; cause?: unknown } = {},
  ) {
    super(message, details.cause ? { cause: details.cause } : undefined);
    this.name = "ApiClientError";
    this.status = details.status;
    this.code = details.code;
  }
}

function toResource(r: ApiResource, type: string): Resource {
  const updated = Date.parse(r.updated);
  return {
    type: r.type ?? type,
    id: r.id,
    version: r.version,
    updated: Number.isNaN(updated) ? 0 : updated,
    spec: r.spec,
  };
}

function base(apiBase: string): string {
  return apiBase.replace(/\/+$/, "");
}

const unixClients = new Map<string, Deno.HttpClient>();

/** `unix:/run/edgespan/api.sock` → a fetch through that socket; anything else → plain fetch. */
function fetchVia(
  apiBase: string,
  path: string,
  init: RequestInit,
): Promise<Response> {
  if (!apiBase.startsWith("unix:")) {
    return fetch(`${base(apiBase)}${path}`, init);
  }
  const socket = apiBase.slice("unix:".length);
  let client = unixClients.get(socket);
  if (!client) {
    client = Deno.createHttpClient({
      proxy: { transport: "unix", path: socket },
    });
    unixClients.set(socket, client);
  }
  return fetch(`http://localhost${path}`, { ...init, client });
}

async function request(
  apiBase: string,
  path: string,
  init: RequestInit = {},
): Promise<Response> {
  try {
    return await fetchVia(apiBase, path, init);
  } catch (e) {
    if (init.signal?.aborted) throw e;
    throw new ApiClientError(
      `Cannot reach the edgespan API at ${
        base(apiBase)
      }: is the agent running? (start it with \`edgespan run --config FILE\`, or point --api / $EDGESPAN_API at it)`,
      { cause: e },
    );
  }
}

async function failure(res: Response, what: string): Promise<ApiClientError> {
  const text = await res.text().catch(() => "");
  let code: string | undefined;
  let message = text.trim() || res.statusText;
  try {
    const body = JSON.parse(text) as {
      error?: { code?: string; message?: string };
    };
    if (body.error?.message) message = body.error.message;
    code = body.error?.code;
  } catch {
    // Not JSON: keep the text.
  }
  return new ApiClientError(`Cannot ${what}: ${message} (HTTP ${res.status})`, {
    status: res.status,
    ...(code ? { code } : {}),
  });
}

/**
 * Lists the resources of one type.
 *
 * @example Reading an agent's peer statuses
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { fetchList } from "./client.ts";
 * import { createApi } from "./api.ts";
 * import { ResourceStore } from "../core/resources/store.ts";
 * import { RESOURCE_DEFINITIONS } from "../core/resources/definitions.ts";
 *
 * const app = createApi({
 *   store: new ResourceStore(RESOURCE_DEFINITIONS),
 *   readiness: () => ({ ready: true, checks: {} }),
 *   reload: () => Promise.resolve(),
 *   setPluginEnabled: () => Promise.resolve(),
 *   metrics: () => ({
 *     reconcile: { runs: 0, errors: 0, lastDurationMs: 0 },
 *     discovery: [],
 *   }),
 *   token: "t0ken",
 *   version: "0.0.0",
 * });
 * const server = Deno.serve(
 *   { hostname: "127.0.0.1", port: 0, onListen() {} },
 *   app.fetch,
 * );
 * const peers = await fetchList(
 *   `http://127.0.0.1:${server.addr.port}`,
 *   "peerstatuses",
 * );
 * strictEqual(peers.length, 0);
 * await server.shutdown();
 * ```
 */
export async function fetchList(
  apiBase: string,
  type: string,
): Promise<Resource[]> {
  const res = await request(apiBase, `/v1/${encodeURIComponent(type)}`);
  if (!res.ok) throw await failure(res, `list ${type}`);
  const body = await res.json() as { type: string; items: ApiResource[] };
  return body.items.map((r) => toResource(r, body.type));
}

/** One resource, or `undefined` when the id does not exist. */
export async function fetchOne(
  apiBase: string,
  type: string,
  id: string,
): Promise<Resource | undefined> {
  const res = await request(
    apiBase,
    `/v1/${encodeURIComponent(type)}/${encodeURIComponent(id)}`,
  );
  if (res.status === 404) {
    const err = await failure(res, `get ${type} "${id}"`);
    if (err.code === "not_found") return undefined;
    throw err;
  }
  if (!res.ok) throw await failure(res, `get ${type} "${id}"`);
  return toResource(await res.json() as ApiResource, type);
}

/**
 * Parses a server-sent-events byte stream into `{ event, data }` frames.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { parseSse } from "./client.ts";
 *
 * const body = ReadableStream.from([
 *   new TextEncoder().encode("event: put\ndata: {}\n\n"),
 * ]);
 * const frames = await Array.fromAsync(parseSse(body));
 * deepStrictEqual(frames, [{ event: "put", data: "{}" }]);
 * ```
 */
export async function* parseSse(
  body: ReadableStream<Uint8Array>,
): AsyncGenerator<{ event: string; data: string }> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let event = "message";
  let data: string[] = [];
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let nl: number;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl).replace(/\r$/, "");
        buffer = buffer.slice(nl + 1);
        if (line === "") {
          if (data.length) yield { event, data: data.join("\n") };
          event = "message";
          data = [];
        } else if (line.startsWith(":")) {
          continue;
        } else {
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          const val = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
          if (field === "event") event = val;
          else if (field === "data") data.push(val);
        }
      }
    }
  } finally {
    reader.releaseLock();
    await body.cancel().catch(() => {});
  }
}

/** Resource changes (of one type, if given) until `signal` aborts. */
export async function* watchEvents(
  apiBase: string,
  type: string | undefined,
  signal: AbortSignal,
): AsyncGenerator<ResourceEvent> {
  const query = type ? `?type=${encodeURIComponent(type)}` : "";
  let res: Response;
  try {
    res = await request(apiBase, `/v1/watch${query}`, { signal });
  } catch (e) {
    if (signal.aborted) return;
    throw e;
  }
  if (!res.ok || !res.body) throw await failure(res, "watch resources");
  try {
    for await (const frame of parseSse(res.body)) {
      const msg = JSON.parse(frame.data) as {
        kind: ResourceEvent["kind"];
        resource: ApiResource;
      };
      yield {
        kind: msg.kind,
        resource: toResource(msg.resource, msg.resource.type),
      };
    }
  } catch (e) {
    if (signal.aborted) return;
    throw new ApiClientError(
      `Lost the watch stream of the edgespan API at ${base(apiBase)}: ${
        (e as Error).message
      }`,
      { cause: e },
    );
  }
}

/**
 * Calls a mutating route (`/v1/reload`, `/v1/plugins/NAME/enable`) with the
 * bearer token and returns the JSON answer.
 */
export async function postAction(
  apiBase: string,
  path: string,
  token: string,
): Promise<unknown> {
  const res = await request(apiBase, path, {
    method: "POST",
    headers: { authorization: `Bearer ${token}` },
  });
  if (!res.ok) throw await failure(res, `POST ${path}`);
  return await res.json();
}

/** `GET /v1/status`: readiness, discovery connections and peers in one answer. */
export async function fetchStatus(apiBase: string): Promise<ApiStatus> {
  const res = await request(apiBase, "/v1/status");
  if (!res.ok) throw await failure(res, "read the agent status");
  return await res.json() as ApiStatus;
}

/** Closes the unix socket clients (tests; a CLI process just exits). */
export function closeApiClients(): void {
  for (const c of unixClients.values()) c.close();
  unixClients.clear();
}

/** The reads and actions in the shape `web/cli`'s `ResourceClient` expects. */
export const apiResourceClient = {
  list: fetchList,
  get: fetchOne,
  watch: (apiBase: string, type: string, signal: AbortSignal) =>
    watchEvents(apiBase, type, signal),
  status: fetchStatus,
  action: postAction,
  close: closeApiClients,
};
