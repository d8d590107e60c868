/**
 * A short-lived memory of how each call's media stream ended, so that the
 * `<Connect action>` request Twilio makes afterwards can answer with an
 * apology for failed calls and a plain hang-up otherwise.
 *
 * @module
 */
import type { CallOutcome } from "../core/call_types.ts";

/** Options of {@link CallOutcomes}. */
export interface CallOutcomesOptions {
  /** How long an outcome is kept, in ms. Default 10 minutes. */
  ttlMs?: number;
  /** At most this many outcomes are kept. Default 10000. */
  maxEntries?: number;
  /** Clock in ms. Default `Date.now`. */
  now?: () => number;
}

/**
 * Outcomes by CallSid, bounded in size and age.
 *
 * @example
 * ```ts
 * import { CallOutcomes } from "./call_outcomes.ts";
 * const outcomes = new CallOutcomes();
 * outcomes.record("CA1", "openai_error");
 * if (outcomes.get("CA1") !== "openai_error") throw new Error();
 * ```
 */
export class CallOutcomes {
  #entries = new Map<string, { outcome: CallOutcome; at: number }>();
  #ttlMs: number;
  #max: number;
  #now: () => number;

  /** Creates an empty registry. */
  constructor(options: CallOutcomesOptions = {}) {
    this.#ttlMs = options.ttlMs ?? 600_000;
    this.#max = options.maxEntries ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  /** Records how the stream of `callSid` ended. */
  record(callSid: string, outcome: CallOutcome): void {
    this.#entries.delete(callSid);
    this.#entries.set(callSid, { outcome, at: this.#now() });
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }

  /** The recorded outcome of `callSid`, if known and fresh. */
  get(callSid: string): CallOutcome | undefined {
    const entry = this.#entries.get(callSid);
    if (entry === undefined) return undefined;
    if (this.#now() - entry.at > this.#ttlMs) {
      this.#entries.delete(callSid);
      return undefined;
    }
    return entry.outcome;
  }
}
