/**
 * A cap on calls placed per minute (`MAX_CALLS_PER_MINUTE`): a sliding window
 * of the last minute's calls, so a leaked control-API token cannot dial
 * without bound. This one counts in memory, for an instance without a call
 * store; `shared_call_rate.ts` counts in the store for every instance that
 * shares it. Time is injected.
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

/** A call may be placed now, or not for `retryAfterMs`. */
export type RateVerdict = { ok: true } | { ok: false; retryAfterMs: number };

/** A cap on calls per minute: in memory ({@link CallRate}) or in the shared store. */
export interface CallCap {
  /** Takes one call at `now` (ms), or says when one may be placed again. */
  take(now: number): RateVerdict | Promise<RateVerdict>;
}

/** Calls per minute, at most `perMinute` (0: no cap). */
export class CallRate implements CallCap {
  #perMinute: number;
  /** Times (ms) of the calls in the window, oldest first. */
  #times: number[] = [];

  /** Creates the cap. */
  constructor(perMinute: number) {
    this.#perMinute = perMinute;
  }

  /** Takes one call at `now` (ms), or says when the oldest one leaves the window. */
  take(now: number): RateVerdict {
    if (this.#perMinute <= 0) return { ok: true };
    while (this.#times.length > 0 && this.#times[0] <= now - WINDOW_MS) this.#times.shift();
    if (this.#times.length >= this.#perMinute) {
      return { ok: false, retryAfterMs: this.#times[0] + WINDOW_MS - now };
    }
    this.#times.push(now);
    return { ok: true };
  }
}
