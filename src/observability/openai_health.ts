/**
 * Whether OpenAI's Realtime endpoint is known to be failing, from the recent
 * connection attempts of all calls. `/readyz` fails while it is, so a load
 * balancer can send calls elsewhere.
 *
 * @module
 */

/** Options of {@link OpenAIHealth}. */
export interface OpenAIHealthOptions {
  /** Consecutive failed attempts that mark OpenAI as failing. Default 3. */
  failures?: number;
  /** The last failure must be this recent (ms); after it, readiness recovers. Default 60000. */
  windowMs?: number;
  /** Clock in ms. Default `Date.now`. */
  now?: () => number;
}

/**
 * Tracks OpenAI connection attempts.
 *
 * @example
 * ```ts
 * import { OpenAIHealth } from "./openai_health.ts";
 * let t = 0;
 * const health = new OpenAIHealth({ failures: 2, windowMs: 1000, now: () => t });
 * health.record(false);
 * health.record(false);
 * if (!health.failing()) throw new Error("two failures in a row");
 * t = 2000;
 * if (health.failing()) throw new Error("recovers after the window");
 * ```
 */
export class OpenAIHealth {
  #failures: number;
  #windowMs: number;
  #now: () => number;
  #consecutiveFailures = 0;
  #lastFailureAt = -Infinity;

  /** Starts healthy. */
  constructor(options: OpenAIHealthOptions = {}) {
    this.#failures = options.failures ?? 3;
    this.#windowMs = options.windowMs ?? 60_000;
    this.#now = options.now ?? Date.now;
  }

  /** Records one connection attempt. */
  record(ok: boolean): void {
    if (ok) {
      this.#consecutiveFailures = 0;
      return;
    }
    this.#consecutiveFailures++;
    this.#lastFailureAt = this.#now();
  }

  /** True when the last attempts all failed and the latest failure is recent. */
  failing(): boolean {
    return this.#consecutiveFailures >= this.#failures &&
      this.#now() - this.#lastFailureAt <= this.#windowMs;
  }
}
