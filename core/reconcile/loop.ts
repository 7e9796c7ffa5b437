/**
 * The reconcile loop: runs one pass at a time, on a tick and whenever an
 * input changes. Requests that arrive during a pass are coalesced into one
 * more pass right after it.
 *
 * @module
 */

/** Counters for status and metrics. */
export interface ReconcileStats {
  runs: number;
  errors: number;
  /** Duration of the latest pass in ms. */
  lastDurationMs: number;
  /** Message of the latest failed pass, empty once a pass succeeds. */
  lastError: string;
  /** Reason given for the latest pass. */
  lastReason: string;
}

/** Options for {@linkcode ReconcileLoop}. */
export interface ReconcileLoopOptions {
  /** Tick in ms. */
  intervalMs: number;
  /** One pass. Throwing counts an error; the loop goes on. */
  pass: (reason: string) => Promise<void>;
  /** Called with the error of a failed pass. @default nothing */
  onError?: (error: unknown) => void;
  /** Clock for durations. @default performance.now */
  clock?: () => number;
}

/** The loop. Call {@linkcode ReconcileLoop.start} once and {@linkcode ReconcileLoop.stop} to end it. */
export class ReconcileLoop {
  readonly stats: ReconcileStats = {
    runs: 0,
    errors: 0,
    lastDurationMs: 0,
    lastError: "",
    lastReason: "",
  };
  #options: ReconcileLoopOptions;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #soon: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<void> | undefined;
  #pending: string | undefined;
  #stopped = true;
  #idleWaiters: (() => void)[] = [];

  constructor(options: ReconcileLoopOptions) {
    this.#options = options;
  }

  /** Starts ticking and runs a first pass at once. */
  start(): void {
    this.#stopped = false;
    this.request("start");
  }

  /** Changes the tick; takes effect from the next pass. */
  setInterval(intervalMs: number): void {
    this.#options = { ...this.#options, intervalMs };
  }

  /** Asks for a pass soon; several requests while one runs make one more pass. */
  request(reason: string): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#pending ??= reason;
      return;
    }
    this.#run(reason);
  }

  /**
   * Asks for a pass in `delayMs` (earlier than the tick), unless a pass
   * starts before; a later call replaces an earlier one.
   */
  after(delayMs: number, reason: string): void {
    clearTimeout(this.#soon);
    if (this.#stopped) return;
    this.#soon = setTimeout(() => this.request(reason), delayMs);
  }

  /**
   * In `delayMs` (a later call replaces an earlier one; a pass that starts
   * first cancels it): runs `look`, never during a pass, and a pass with
   * `reason` when it answers true. A look is for what is cheap to check
   * and rarely changes (has a handshake landed?); it leaves the tick alone.
   */
  lookAfter(delayMs: number, reason: string, look: () => Promise<boolean>) {
    clearTimeout(this.#soon);
    if (this.#stopped) return;
    this.#soon = setTimeout(() => this.#look(reason, look), delayMs);
  }

  #look(reason: string, look: () => Promise<boolean>): void {
    // A pass that runs now schedules what comes next itself.
    if (this.#stopped || this.#running) return;
    let needed = false;
    this.#running = look().then(
      (yes) => void (needed = yes),
      () => void (needed = true), // could not look: a pass finds out
    );
    this.#running.then(() => {
      this.#running = undefined;
      const next = this.#pending ?? (needed ? reason : undefined);
      this.#pending = undefined;
      if (next !== undefined && !this.#stopped) this.#run(next);
      else for (const w of this.#idleWaiters.splice(0)) w();
    });
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    if (this.#stopped) return;
    this.#timer = setTimeout(
      () => this.request("tick"),
      this.#options.intervalMs,
    );
  }

  #run(reason: string): void {
    clearTimeout(this.#timer);
    clearTimeout(this.#soon);
    const clock = this.#options.clock ?? (() => performance.now());
    const started = clock();
    this.#running = (async () => {
      try {
        await this.#options.pass(reason);
        this.stats.lastError = "";
      } catch (e) {
        this.stats.errors++;
        this.stats.lastError = e instanceof Error ? e.message : String(e);
        this.#options.onError?.(e);
      } finally {
        this.stats.runs++;
        this.stats.lastReason = reason;
        this.stats.lastDurationMs = clock() - started;
      }
    })();
    this.#running.then(() => {
      this.#running = undefined;
      const next = this.#pending;
      this.#pending = undefined;
      if (next !== undefined && !this.#stopped) this.#run(next);
      else {
        this.#schedule();
        for (const w of this.#idleWaiters.splice(0)) w();
      }
    });
  }

  /** Resolves when no pass is running or pending. */
  idle(): Promise<void> {
    if (!this.#running && this.#pending === undefined) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Stops ticking and waits for a running pass to finish. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#pending = undefined;
    clearTimeout(this.#timer);
    clearTimeout(this.#soon);
    await this.#running;
    for (const w of this.#idleWaiters.splice(0)) w();
  }
}
