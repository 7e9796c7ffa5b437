/**
 * Just enough HTTP/1.1 for `curl` and Prometheus to read `/healthz` and
 * `/metrics` on the gRPC port: one request per connection, no body.
 *
 * @module
 */
import { concatBytes } from "../../core/encoding/bytes.ts";
import { type ByteStream, writeAll } from "./byte_stream.ts";

/** A plain response. */
export interface PlainResponse {
  status: number;
  contentType: string;
  body: string;
}

const MAX_HEAD = 8 * 1024;
const REASONS: Record<number, string> = {
  200: "OK",
  400: "Bad Request",
  404: "Not Found",
  405: "Method Not Allowed",
  505: "HTTP Version Not Supported",
};

/** Parses a request head; undefined while incomplete, null when malformed. */
export function parseRequestHead(
  head: Uint8Array,
): { method: string; path: string } | undefined | null {
  const text = new TextDecoder("latin1").decode(head);
  const end = text.indexOf("\r\n\r\n");
  if (end < 0) return head.length > MAX_HEAD ? null : undefined;
  const match = /^([A-Z]+) (\S+) HTTP\/1\.[01]\r\n/.exec(text);
  if (!match) return null;
  return { method: match[1]!, path: match[2]!.split("?")[0]! };
}

/** Answers one HTTP/1.1 request, then closes. Never throws. */
export async function serveHttp1(
  io: ByteStream,
  initial: Uint8Array,
  answer: (method: string, path: string) => PlainResponse,
  timeoutMs = 10_000,
): Promise<void> {
  const timer = setTimeout(() => io.close(), timeoutMs);
  try {
    let head = initial;
    let parsed = parseRequestHead(head);
    const buf = new Uint8Array(4096);
    while (parsed === undefined) {
      const n = await io.read(buf);
      if (n === null) return;
      head = concatBytes([head, buf.subarray(0, n)]);
      parsed = parseRequestHead(head);
    }
    const res: PlainResponse = parsed === null
      ? { status: 400, contentType: "text/plain", body: "bad request\n" }
      : answer(parsed.method, parsed.path);
    const body = new TextEncoder().encode(res.body);
    const text = `HTTP/1.1 ${res.status} ${REASONS[res.status] ?? ""}\r\n` +
      `content-type: ${res.contentType}\r\ncontent-length: ${body.length}\r\n` +
      "connection: close\r\n\r\n";
    const out = new Uint8Array([
      ...new TextEncoder().encode(text),
      ...(parsed?.method === "HEAD" ? [] : body),
    ]);
    await writeAll(io, out);
  } catch {
    // The client went away.
  } finally {
    clearTimeout(timer);
    try {
      io.close();
    } catch {
      // already closed
    }
  }
}
