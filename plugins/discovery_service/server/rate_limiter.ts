/**
 * Per-client token buckets with injected time. Callers key them with
 * `clientKey()` (an IPv4 address or an IPv6 /64).
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

/** Token buckets keyed by client. */
export class RateLimiter {
  readonly #buckets = new Map<string, Bucket>();
  readonly #opts: RateLimitOptions;
  readonly #now: () => number;

  constructor(opts: RateLimitOptions, now: () => number) {
    this.#opts = opts;
    this.#now = now;
  }

  /** The settings the buckets were made with. */
  get options(): Readonly<RateLimitOptions> {
    return this.#opts;
  }

  #bucket(key: string): Bucket {
    const now = this.#now();
    const { rate, burst } = this.#opts;
    const b = this.#buckets.get(key) ?? { tokens: burst, at: now };
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * rate);
    b.at = now;
    this.#buckets.set(key, b);
    return b;
  }

  /**
   * Takes one token for `key`. Returns 0 when granted now, the ms to wait
   * when a token will be free by then (it is reserved: later callers queue
   * behind it), or `Infinity` when the wait would exceed `maxWaitMs`
   * (nothing is reserved).
   */
  take(key: string, maxWaitMs: number): number {
    const b = this.#bucket(key);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    const waitMs = ((1 - b.tokens) / this.#opts.rate) * 1000;
    if (waitMs > maxWaitMs) return Infinity;
    b.tokens -= 1;
    return waitMs;
  }

  /** Gives back a token reserved by `take()` whose caller stopped waiting. */
  refund(key: string): void {
    const b = this.#bucket(key);
    b.tokens = Math.min(this.#opts.burst, b.tokens + 1);
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
