/**
 * Whether OpenAI's Realtime endpoint is known to be failing, from the recent
 * connection attempts of all calls. `/readyz` fails while it is, so a load
 * balancer can send calls elsewhere. One upgrade refused with HTTP 401/403
 * is enough: the key was rejected, and every call would fail the same way.
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
 * health.recordAuthFailure(401);
 * if (health.problem() !== "OpenAI rejected the API key (HTTP 401); check OPENAI_API_KEY") {
 *   throw new Error("one rejected key is enough, and says so");
 * }
 * ```
 */
export class OpenAIHealth {
  #failures: number;
  #windowMs: number;
  #now: () => number;
  #consecutiveFailures = 0;
  #lastFailureAt = -Infinity;
  #authFailure: { status: number; at: number } | undefined;

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
      this.#authFailure = undefined;
      return;
    }
    this.#consecutiveFailures++;
    this.#lastFailureAt = this.#now();
  }

  /** OpenAI refused an upgrade with HTTP `status` (401/403): the API key was rejected. */
  recordAuthFailure(status: number): void {
    this.#authFailure = { status, at: this.#now() };
  }

  /**
   * True when the API key was rejected recently (and no attempt succeeded
   * since), or when the last attempts all failed and the latest is recent.
   */
  failing(): boolean {
    return this.problem() !== undefined;
  }

  /** Why OpenAI counts as failing, for `/readyz`; undefined when it does not. */
  problem(): string | undefined {
    const now = this.#now();
    if (this.#authFailure !== undefined && now - this.#authFailure.at <= this.#windowMs) {
      return `OpenAI rejected the API key (HTTP ${this.#authFailure.status}); check OPENAI_API_KEY`;
    }
    if (
      this.#consecutiveFailures >= this.#failures && now - this.#lastFailureAt <= this.#windowMs
    ) {
      return `the last ${this.#consecutiveFailures} OpenAI connection attempts failed`;
    }
    return undefined;
  }
}
