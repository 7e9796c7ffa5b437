/**
 * `GET /v1/watch`: resource changes as server-sent events.
 *
 * Each change is one event named after its kind (`created`, `updated`,
 * `deleted`) whose data is `{ "kind", "resource" }` with the resource in
 * its API shape. A comment line every `heartbeatMs` keeps proxies and dead
 * clients honest.
 *
 * @module
 */
import type { ResourceStore } from "../core/resources/store.ts";
import { publicResource } from "./public_view.ts";

/** Options for {@linkcode sseResponse}. */
export interface SseOptions {
  /** Only this resource type. @default every type */
  type?: string;
  /** Ends the stream (client gone, server stopping). */
  signals: AbortSignal[];
  /** Interval of the keep-alive comment. @default 15000 */
  heartbeatMs?: number;
}

/** One SSE frame. */
export function sseFrame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** A streaming response that forwards store changes until a signal aborts. */
export function sseResponse(
  store: ResourceStore,
  options: SseOptions,
): Response {
  const stop = new AbortController();
  const signal = AbortSignal.any([stop.signal, ...options.signals]);
  const encoder = new TextEncoder();
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      const send = (text: string) => {
        try {
          controller.enqueue(encoder.encode(text));
        } catch {
          stop.abort();
        }
      };
      send(": edgespan watch\nretry: 2000\n\n");
      heartbeat = setInterval(
        () => send(": keep-alive\n\n"),
        options.heartbeatMs ?? 15_000,
      );
      try {
        for await (const event of store.events(signal, options.type)) {
          send(sseFrame(event.kind, {
            kind: event.kind,
            resource: publicResource(event.resource),
          }));
        }
      } finally {
        clearInterval(heartbeat);
        try {
          controller.close();
        } catch {
          // Already cancelled by the client.
        }
      }
    },
    cancel() {
      clearInterval(heartbeat);
      stop.abort();
    },
  });
  return new Response(body, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      "x-accel-buffering": "no",
    },
  });
}
