/**
 * Per-IP token buckets with injected time.
 *
 * @module
 */

/** Rate limit settings. */
export interface RateLimitOptions {
  /** Tokens per second. @default 15 */
  rate: number;
  /** Bucket size. @default 60 */
  burst: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Token buckets keyed by client IP. */
export class RateLimiter {
  readonly #buckets = new Map<string, Bucket>();
  readonly #opts: RateLimitOptions;
  readonly #now: () => number;

  constructor(opts: RateLimitOptions, now: () => number) {
    this.#opts = opts;
    this.#now = now;
  }

  /**
   * Takes one token for `ip`. Returns 0 when granted now, the ms to wait
   * when a token will be free by then (it is reserved), or `Infinity` when
   * the wait would exceed `maxWaitMs` (nothing is reserved).
   */
  take(ip: string, maxWaitMs: number): number {
    const now = this.#now();
    const { rate, burst } = this.#opts;
    const b = this.#buckets.get(ip) ?? { tokens: burst, at: now };
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * rate);
    b.at = now;
    this.#buckets.set(ip, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    const waitMs = ((1 - b.tokens) / rate) * 1000;
    if (waitMs > maxWaitMs) return Infinity;
    b.tokens -= 1;
    return waitMs;
  }

  /** Forgets buckets that are full again (called by GC). */
  prune(): void {
    const now = this.#now();
    for (const [ip, b] of this.#buckets) {
      if (
        b.tokens + ((now - b.at) / 1000) * this.#opts.rate >= this.#opts.burst
      ) {
        this.#buckets.delete(ip);
      }
    }
  }
}
