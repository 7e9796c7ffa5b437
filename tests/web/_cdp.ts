/**
 * A minimal Chrome DevTools Protocol driver for the dashboard test:
 * launches headless Chromium, opens a page, evaluates expressions and takes
 * screenshots. Only loopback addresses are used.
 *
 * @module
 */

/** Where Chromium lives (Debian package `chromium`). */
export const CHROMIUM = "/usr/bin/chromium";

/** A running headless browser with one page. */
export interface Browser {
  /** Evaluates `expression` in the page and returns its JSON value. */
  evaluate<T>(expression: string): Promise<T>;
  /** Polls `expression` until it is truthy or `timeoutMs` passes. */
  waitFor(expression: string, timeoutMs?: number): Promise<void>;
  /** PNG bytes of the viewport. */
  screenshot(): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** Whether Chromium is installed. */
export function haveChromium(): boolean {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
}

async function devtoolsUrl(
  stderr: ReadableStream<Uint8Array>,
): Promise<string> {
  const reader = stderr.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value);
    const m = /DevTools listening on (ws:\/\/\S+)/.exec(text);
    if (m) {
      // Keep draining so Chromium never blocks on a full pipe.
      (async () => {
        while (!(await reader.read()).done) { /* discard */ }
      })().catch(() => {});
      return m[1]!;
    }
  }
  throw new Error(`Chromium did not start its DevTools endpoint:\n${text}`);
}

/** Launches Chromium headless on `url` with a fresh profile. */
export async function launch(
  url: string,
  size = { width: 1200, height: 800 },
): Promise<Browser> {
  const profile = await Deno.makeTempDir({ prefix: "edgespan-chromium-" });
  const child = new Deno.Command(CHROMIUM, {
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
      `--user-data-dir=${profile}`,
      "--remote-debugging-address=127.0.0.1",
      "--remote-debugging-port=0",
      `--window-size=${size.width},${size.height}`,
      "about:blank",
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const cleanup = async () => {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await child.status;
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  };
  try {
    const browserWs = await devtoolsUrl(child.stderr);
    const http = browserWs.replace(/^ws:/, "http:").replace(
      /\/devtools.*$/,
      "",
    );
    const targets = await (await fetch(`${http}/json/list`)).json() as {
      type: string;
      webSocketDebuggerUrl: string;
    }[];
    const page = targets.find((t) => t.type === "page");
    if (!page) throw new Error("Chromium has no page target");
    const ws = new WebSocket(page.webSocketDebuggerUrl);
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve();
      ws.onerror = () => reject(new Error("cannot open the DevTools socket"));
    });
    let nextId = 1;
    const pending = new Map<
      number,
      { resolve: (v: unknown) => void; reject: (e: Error) => void }
    >();
    ws.onmessage = (ev) => {
      const msg = JSON.parse(ev.data as string) as {
        id?: number;
        result?: unknown;
        error?: { message: string };
      };
      if (msg.id === undefined) return;
      const p = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.error) p?.reject(new Error(msg.error.message));
      else p?.resolve(msg.result);
    };
    const send = (method: string, params: unknown = {}) =>
      new Promise<unknown>((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve, reject });
        ws.send(JSON.stringify({ id, method, params }));
      });
    await send("Page.enable");
    // The viewport itself at the asked size (--window-size counts the frame).
    await send("Emulation.setDeviceMetricsOverride", {
      width: size.width,
      height: size.height,
      deviceScaleFactor: 1,
      mobile: false,
    });
    await send("Page.navigate", { url });
    const evaluate = async <T>(expression: string): Promise<T> => {
      const r = await send("Runtime.evaluate", {
        expression,
        returnByValue: true,
        awaitPromise: true,
      }) as { result: { value: T }; exceptionDetails?: { text: string } };
      if (r.exceptionDetails) {
        throw new Error(`page error: ${r.exceptionDetails.text}`);
      }
      return r.result.value;
    };
    return {
      evaluate,
      async waitFor(expression, timeoutMs = 15_000) {
        const deadline = Date.now() + timeoutMs;
        while (Date.now() < deadline) {
          if (await evaluate<boolean>(`!!(${expression})`)) return;
          await new Promise((r) => setTimeout(r, 100));
        }
        throw new Error(`timed out waiting for ${expression}`);
      },
      async screenshot() {
        const r = await send("Page.captureScreenshot", { format: "png" }) as {
          data: string;
        };
        return Uint8Array.from(atob(r.data), (c) => c.charCodeAt(0));
      },
      async close() {
        ws.close();
        await cleanup();
      },
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}
