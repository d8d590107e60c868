/**
 * Keypad tones from the caller (Twilio `dtmf` messages), gathered into one
 * user text item for the model ("The caller pressed 1 2 3 4 on the phone
 * keypad."): digits typed in a burst go together, sent after a pause
 * (`timeoutMs` without a key) or when the `collectUntil` key is pressed.
 * `keypad.ts` is the pure buffer; {@link CallerKeys} the call's rule.
 *
 * Keys may be a PIN or a card number: they are counted in the log, never
 * written there, and the record and live view show each as `•` unless the
 * agent keeps them (`recordKeypadDigits`). The model always gets them.
 *
 * @module
 */
import { userText } from "../openai/client_events.ts";
import type { CallParts } from "./call_parts.ts";
import { requestResponse } from "./response_requests.ts";
import { Keypad } from "./keypad.ts";

/**
 * Keys as the record shows them: each one `•` (how many were pressed stays visible).
 *
 * @example
 * ```ts
 * import { maskKeys } from "./caller_keys.ts";
 * if (maskKeys("1234") !== "••••") throw new Error();
 * ```
 */
export function maskKeys(digits: string): string {
  return "•".repeat(digits.length);
}

/** The caller's keys in one call: gathered, then one user item and a response request. */
export class CallerKeys {
  #p: CallParts;
  #keypad: Keypad;
  #items = 0;
  /** Keys of a sensitive collection are being typed (the recording is paused). */
  #typing = false;

  /** Creates the rule over `parts`. */
  constructor(parts: CallParts) {
    this.#p = parts;
    this.#keypad = new Keypad(parts.options.keypad);
  }

  /** A key was pressed. `listening`: the call does not take input yet (outbound, before the answer). */
  press(digit: string, listening: boolean): void {
    const p = this.#p;
    if (p.ending.ending || listening) return;
    if (this.#keypad.press(digit) === "send") {
      this.send();
      return;
    }
    if (p.options.keypad.sensitive === true && !this.#typing) {
      this.#typing = true;
      p.out.push({ type: "sensitive_keys", typing: true });
    }
    p.out.setTimer("keypad", this.#keypad.timeoutMs);
  }

  /** The keys gathered so far go to the model (the `keypad` timer, or the end key). */
  send(): void {
    const p = this.#p;
    p.out.cancelTimer("keypad");
    const digits = this.#keypad.take();
    if (this.#typing) {
      this.#typing = false;
      p.out.push({ type: "sensitive_keys", typing: false });
    }
    const session = p.sessions.live();
    if (digits === "" || session === undefined || p.ending.ending) return;
    const text = p.options.prompts.keypad(digits);
    const shown = p.options.recordKeypadDigits ? text : p.options.prompts.keypad(maskKeys(digits));
    const itemId = `keypad_${++this.#items}`;
    p.conversation.userText(itemId, p.now, shown, text);
    p.out.observe({ kind: "caller_transcript", itemId, text: shown });
    p.out.log("info", "Caller keys went to the model.", { keys: digits.length });
    p.out.toOpenAI(session, userText(text));
    requestResponse(this.#p, {});
  }
}
