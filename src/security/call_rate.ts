/**
 * A cap on calls placed per minute (`MAX_CALLS_PER_MINUTE`): a sliding window
 * of the last minute's calls, so a leaked control-API token cannot dial
 * without bound. Per instance; time is injected.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CallRate } from "./call_rate.ts";
 * const rate = new CallRate(2);
 * assert.deepEqual(rate.take(0), { ok: true });
 * assert.deepEqual(rate.take(1000), { ok: true });
 * assert.deepEqual(rate.take(2000), { ok: false, retryAfterMs: 58_000 });
 * assert.deepEqual(rate.take(60_000), { ok: true }); // the first one left the window
 * ```
 *
 * @module
 */

const WINDOW_MS = 60_000;

/** Calls per minute, at most `perMinute` (0: no cap). */
export class CallRate {
  #perMinute: number;
  /** Times (ms) of the calls in the window, oldest first. */
  #times: number[] = [];

  /** Creates the cap. */
  constructor(perMinute: number) {
    this.#perMinute = perMinute;
  }

  /** Takes one call at `now` (ms), or says when the oldest one leaves the window. */
  take(now: number): { ok: true } | { ok: false; retryAfterMs: number } {
    if (this.#perMinute <= 0) return { ok: true };
    while (this.#times.length > 0 && this.#times[0] <= now - WINDOW_MS) this.#times.shift();
    if (this.#times.length >= this.#perMinute) {
      return { ok: false, retryAfterMs: this.#times[0] + WINDOW_MS - now };
    }
    this.#times.push(now);
    return { ok: true };
  }
}
