/**
 * The keypad buffer of one call: digits typed in a burst go together, sent
 * after a pause (`timeoutMs` without a key) or when the `collectUntil` key is
 * pressed. Pure; `caller_keys.ts` is the call's rule over it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Keypad } from "./keypad.ts";
 * const keypad = new Keypad({ collectUntil: "#", timeoutMs: 3000 });
 * assert.equal(keypad.press("4"), "wait");
 * assert.equal(keypad.press("2"), "wait");
 * assert.equal(keypad.press("#"), "send");
 * assert.equal(keypad.take(), "42");
 * assert.equal(keypad.take(), ""); // nothing left
 * ```
 *
 * @module
 */

/** How keys are gathered (an agent's `dtmf` settings). */
export interface KeypadOptions {
  /** A key that ends the digits at once (e.g. `#`); it is not part of them. */
  collectUntil?: string;
  /** Ms without a new key after which the digits go to the model. Default 1500. */
  timeoutMs?: number;
  /** The keys may be a card number or a PIN: the call's recording pauses while they are typed. */
  sensitive?: boolean;
}

/** The keys of one call not yet sent to the model. */
export class Keypad {
  #collectUntil: string | undefined;
  #timeoutMs: number;
  #digits = "";

  /** Creates an empty keypad buffer. */
  constructor(options: KeypadOptions = {}) {
    this.#collectUntil = options.collectUntil;
    this.#timeoutMs = options.timeoutMs ?? 1500;
  }

  /** Ms to wait for the next key. */
  get timeoutMs(): number {
    return this.#timeoutMs;
  }

  /** A key was pressed: send the digits now, or wait for more. */
  press(digit: string): "send" | "wait" {
    if (digit === this.#collectUntil) return "send";
    this.#digits += digit;
    return "wait";
  }

  /** Takes the digits gathered so far ("" when none). */
  take(): string {
    const digits = this.#digits;
    this.#digits = "";
    return digits;
  }
}
