/**
 * A scripted HTTP/2 server for client tests: it reads the preface, answers
 * SETTINGS, and hands every other frame (header blocks decoded) to the
 * test's script, which writes raw frames back.
 */
import {
  CLIENT_PREFACE,
  type Frame,
  FrameReader,
  FrameType,
  settingsFrame,
} from "../../../web/h2/frame.ts";
import { type HeaderField, HpackDecoder } from "../../../web/h2/hpack.ts";
import { writeAll } from "../../../web/h2/byte_stream.ts";

/** One accepted connection, as the script sees it. */
export interface FakeConnection {
  /** 0-based order of acceptance. */
  index: number;
  send(...frames: Uint8Array[]): Promise<void>;
  close(): void;
}

/** What the script is told about each frame the client sent. */
export type Script = (
  c: FakeConnection,
  f: Frame,
  headers: HeaderField[] | undefined,
) => void | Promise<void>;

export interface FakeServer {
  port: number;
  /** Frames received, per connection, as `TYPE:stream`. */
  log: string[][];
  close(): Promise<void>;
}

export function startFakeServer(script: Script): FakeServer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const log: string[][] = [];
  const conns: Deno.Conn[] = [];
  const tasks: Promise<void>[] = [];
  const loop = (async () => {
    for await (const conn of listener) {
      conns.push(conn);
      const index = log.length;
      log.push([]);
      tasks.push(serve(conn, index));
    }
  })().catch(() => {});

  async function serve(conn: Deno.Conn, index: number): Promise<void> {
    const c: FakeConnection = {
      index,
      async send(...frames) {
        for (const f of frames) await writeAll(conn, f);
      },
      close: () => {
        try {
          conn.close();
        } catch {
          // closed
        }
      },
    };
    const reader = new FrameReader(1 << 20);
    const decoder = new HpackDecoder();
    const buf = new Uint8Array(65536);
    let preface = 0;
    try {
      await c.send(settingsFrame([]));
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) break;
        let chunk = buf.subarray(0, n);
        if (preface < CLIENT_PREFACE.length) {
          const take = Math.min(CLIENT_PREFACE.length - preface, chunk.length);
          preface += take;
          chunk = chunk.subarray(take);
        }
        reader.push(chunk);
        for (let f; (f = reader.next()) !== undefined;) {
          log[index]!.push(`${f.type}:${f.streamId}`);
          const headers = f.type === FrameType.HEADERS
            ? decoder.decode(f.payload).fields
            : undefined;
          await script(c, f, headers);
        }
      }
    } catch {
      // the client went away
    } finally {
      c.close();
    }
  }

  return {
    port: (listener.addr as Deno.NetAddr).port,
    log,
    async close() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch {
          // closed
        }
      }
      await loop;
      await Promise.all(tasks);
    },
  };
}
