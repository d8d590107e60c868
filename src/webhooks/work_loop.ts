/**
 * The loop that works off a durable queue in the store (the webhook outbox,
 * the post-call analysis jobs): one run at a time; a kick during a run runs
 * it again right after; between runs it waits `waitMs()` and looks again
 * (for what other instances sharing the store left, or a retry now due).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { WorkLoop } from "./work_loop.ts";
 * let runs = 0;
 * const loop = new WorkLoop(async () => void runs++, () => 60_000);
 * loop.kick(); // not started: nothing
 * loop.start();
 * loop.kick(); // during the first run: once more after it
 * await loop.idle();
 * assert.equal(runs, 2);
 * await loop.close();
 * ```
 *
 * @module
 */

/** A run-again-when-kicked loop over an async `run`. */
export class WorkLoop {
  #run: () => Promise<void>;
  #waitMs: () => number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #started = false;
  #closed = false;
  #writes = new Set<Promise<void>>();

  /** `run` works off what is due; `waitMs` is the pause before the next look. */
  constructor(run: () => Promise<void>, waitMs: () => number) {
    this.#run = run;
    this.#waitMs = waitMs;
  }

  /** Whether {@link WorkLoop.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Starts: runs now. */
  start(): void {
    this.#started = true;
    this.kick();
  }

  /** Runs now, or right after the run under way. */
  kick(): void {
    if (this.#closed || !this.#started) return;
    if (this.#running !== undefined) {
      this.#again = true;
      return;
    }
    clearTimeout(this.#timer);
    this.#running = this.#run().finally(() => {
      this.#running = undefined;
      if (this.#closed) return;
      if (this.#again) {
        this.#again = false;
        this.kick();
        return;
      }
      this.#timer = setTimeout(() => this.kick(), Math.max(0, this.#waitMs()));
    });
  }

  /** Keeps `write` (of work into the queue) until it settles: idle and close wait for it. */
  track(write: Promise<void>): Promise<void> {
    this.#writes.add(write);
    write.finally(() => this.#writes.delete(write));
    return write;
  }

  /** Waits until the writes tracked and the runs so far are done, and no run is asked for. */
  async idle(): Promise<void> {
    while (this.#writes.size > 0) await Promise.all(this.#writes);
    while (this.#running !== undefined) await this.#running;
  }

  /**
   * Stops looking; resolves once the writes tracked and the run under way are
   * over. `stopping` is called when the writes are done, before the wait for
   * the run (to abort what the run waits on).
   */
  async close(stopping?: () => void): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    const running = this.#running;
    await Promise.all(this.#writes);
    stopping?.();
    await running;
  }
}
