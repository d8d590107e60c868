/**
 * Keys the caller presses (Twilio `dtmf` events) reach the model as user
 * text items ("The caller pressed 4."), one per key or, with the `keypad`
 * option, one per entry gathered until a terminator key or a pause; the
 * model then answers (not while an outbound call is still listening for the
 * AMD result, nor during a farewell).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createCallParts } from "./call_parts.ts";
 * import { KeypadInput } from "./keypad_input.ts";
 * const parts = createCallParts({ sessionUpdate: { type: "session.update", session: {} } });
 * const keypad = new KeypadInput(parts, { requestResponse: () => {} });
 * keypad.pressed("4"); // no session yet: dropped with a log line
 * const log = parts.out.take().find((c) => c.type === "log");
 * assert.match(log?.type === "log" ? log.message : "", /Ignored keypad input/);
 * ```
 *
 * @module
 */
import type { ResponseOptions } from "../openai/client_events.ts";
import type { CallParts } from "./call_parts.ts";
import { DigitCollector } from "./digit_collector.ts";

/** What the keypad needs from the rest of the core. */
export interface KeypadHooks {
  /** Asks for a response (sent when nothing is in flight). */
  requestResponse(options: ResponseOptions): void;
}

/** Keypad input of one call. */
export class KeypadInput {
  #p: CallParts;
  #hooks: KeypadHooks;
  #collector: DigitCollector;

  /** Creates the keypad over `parts` (gathering per `parts.options.keypad`). */
  constructor(parts: CallParts, hooks: KeypadHooks) {
    this.#p = parts;
    this.#hooks = hooks;
    const keypad = parts.options.keypad;
    this.#collector = new DigitCollector(
      keypad === undefined
        ? {}
        : { collectUntil: keypad.collectUntil, timeoutMs: keypad.timeoutMs },
    );
  }

  /** Gathers digits as `keypad` says from now on (an outbound call's agent). */
  configure(keypad: { collectUntil: "#" | "*"; timeoutMs: number }): void {
    this.#collector = new DigitCollector(keypad);
  }

  /** One key press. */
  pressed(digit: string): void {
    const p = this.#p;
    const entry = this.#collector.press(digit, p.now);
    if (entry !== undefined) {
      p.out.cancelTimer("keypad");
      this.#enter(entry);
      return;
    }
    const deadline = this.#collector.deadline;
    if (deadline !== undefined) p.out.setTimer("keypad", Math.max(0, deadline - p.now));
  }

  /** The `keypad` timer fired: the pause ends the entry. */
  timer(): void {
    const entry = this.#collector.expire(this.#p.now);
    if (entry !== undefined) this.#enter(entry);
  }

  #enter(digits: string): void {
    const p = this.#p;
    const session = p.sessions.live();
    if (session === undefined || p.ending.ending) {
      p.out.log("info", "Ignored keypad input: no session to tell, or the call is ending.", {
        digits: digits.length,
      });
      return;
    }
    p.out.log("info", "Caller keypad input.", { digits: digits.length });
    p.out.toOpenAI(session, {
      type: "conversation.item.create",
      item: {
        type: "message",
        role: "user",
        content: [{ type: "input_text", text: p.options.prompts.keypad(digits) }],
      },
    });
    if (!p.opening.listening) this.#hooks.requestResponse({});
  }
}
