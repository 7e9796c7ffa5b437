/**
 * A counting semaphore that bounds how many Watch snapshots are being sent at
 * once: a snapshot of a full cluster is about 1.5 MB, and a thousand of them
 * encoded at the same time would take gigabytes.
 *
 * @module
 */

/** Hands out at most `limit` permits; waiters are served in order. */
export class Gate {
  #free: number;
  readonly #queue: (() => void)[] = [];

  constructor(limit: number) {
    this.#free = limit;
  }

  /**
   * Waits for a permit. The returned function gives it back (calling it
   * twice is harmless). Rejects when `signal` aborts first.
   */
  acquire(signal: AbortSignal): Promise<() => void> {
    return new Promise((resolve, reject) => {
      const grant = () => {
        signal.removeEventListener("abort", onAbort);
        let released = false;
        resolve(() => {
          if (released) return;
          released = true;
          const next = this.#queue.shift();
          if (next) next();
          else this.#free++;
        });
      };
      const onAbort = () => {
        const i = this.#queue.indexOf(grant);
        if (i >= 0) this.#queue.splice(i, 1);
        reject(signal.reason);
      };
      if (signal.aborted) return reject(signal.reason);
      if (this.#free > 0) {
        this.#free--;
        grant();
        return;
      }
      signal.addEventListener("abort", onAbort, { once: true });
      this.#queue.push(grant);
    });
  }
}
