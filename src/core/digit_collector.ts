/**
 * Gathers keypad digits into one entry: digits collect until a terminator
 * key (e.g. `#`, not part of the entry) or until no key was pressed for a
 * while. Sans-IO: the caller passes the time in and asks {@link
 * DigitCollector.deadline} when to call {@link DigitCollector.expire}.
 *
 * Configured per agent as `dtmf: { collect_until: "#", timeout_seconds: 3 }`;
 * without it every key press is its own entry.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DigitCollector } from "./digit_collector.ts";
 * const collector = new DigitCollector({ collectUntil: "#", timeoutMs: 3000 });
 * assert.equal(collector.press("1", 0), undefined);
 * assert.equal(collector.press("2", 500), undefined);
 * assert.equal(collector.press("#", 900), "12");
 * assert.equal(collector.press("7", 1000), undefined);
 * assert.equal(collector.deadline, 4000);
 * assert.equal(collector.expire(3999), undefined);
 * assert.equal(collector.expire(4000), "7");
 * ```
 *
 * @module
 */

/** Options of {@link DigitCollector}. */
export interface DigitCollectorOptions {
  /** The key that ends an entry (`#` or `*`); undefined: each key is an entry. */
  collectUntil?: "#" | "*";
  /** Ms without a key press after which the digits so far are an entry. Default 3000. */
  timeoutMs?: number;
  /** Longest entry; a longer one is emitted as it is. Default 32. */
  maxDigits?: number;
}

/** Collects key presses into entries. */
export class DigitCollector {
  #until: "#" | "*" | undefined;
  #timeoutMs: number;
  #max: number;
  #digits = "";
  #lastAt = 0;

  /** Creates a collector. */
  constructor(options: DigitCollectorOptions = {}) {
    this.#until = options.collectUntil;
    this.#timeoutMs = options.timeoutMs ?? 3000;
    this.#max = options.maxDigits ?? 32;
  }

  /** The digits gathered so far (not yet an entry). */
  get pending(): string {
    return this.#digits;
  }

  /** When {@link expire} should be called, or undefined when nothing is pending. */
  get deadline(): number | undefined {
    return this.#digits === "" ? undefined : this.#lastAt + this.#timeoutMs;
  }

  /**
   * One key press at `now`. Returns a finished entry, or undefined while
   * gathering. A terminator with nothing gathered is an entry of itself.
   */
  press(digit: string, now: number): string | undefined {
    if (this.#until === undefined) return digit;
    if (digit === this.#until) {
      const entry = this.#digits === "" ? digit : this.#digits;
      this.#digits = "";
      return entry;
    }
    this.#digits += digit;
    this.#lastAt = now;
    if (this.#digits.length >= this.#max) return this.#take();
    return undefined;
  }

  /** The digits gathered so far when the timeout has passed at `now`, else undefined. */
  expire(now: number): string | undefined {
    const deadline = this.deadline;
    if (deadline === undefined || now < deadline) return undefined;
    return this.#take();
  }

  #take(): string {
    const entry = this.#digits;
    this.#digits = "";
    return entry;
  }
}
