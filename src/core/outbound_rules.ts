/**
 * The rules that carry out an outbound call's opening ({@link
 * OutboundOpening}) over the other parts: while the call listens nobody is
 * greeted; when AMD reports a person the session talks again and the agent
 * opens; an answering machine gets the voicemail message through the usual
 * ending (said once, played out, then the hang-up); a fax or a machine
 * without a message is hung up on at once.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createCallParts } from "./call_parts.ts";
 * import { OutboundRules } from "./outbound_rules.ts";
 * const parts = createCallParts({ sessionUpdate: { type: "session.update", session: {} } });
 * const ended: string[] = [];
 * const rules = new OutboundRules(parts, {
 *   requestResponse: () => {},
 *   wrapUp: () => {},
 *   finish: (_outcome, reason) => ended.push(reason),
 * });
 * rules.outboundCall({});
 * rules.answeredBy("fax");
 * assert.deepEqual(ended, ["A fax machine answered."]);
 * ```
 *
 * @module
 */
import type { ResponseOptions } from "../openai/client_events.ts";
import type { Ending } from "./call_ending.ts";
import type { CallParts } from "./call_parts.ts";
import type { CallInput, CallOutcome } from "./call_types.ts";
import type { ConversationEntry } from "./conversation_log.ts";

/** What the rules need from the rest of the core. */
export interface OutboundHooks {
  /** Asks for a response (sent when nothing is in flight). */
  requestResponse(options: ResponseOptions): void;
  /** Ends the call politely with `ending`'s last sentence. */
  wrapUp(ending: Ending): void;
  /** Ends the call now. */
  finish(outcome: CallOutcome, reason: string, action: "hang_up"): void;
}

/** The outbound opening rules of one call. */
export class OutboundRules {
  #p: CallParts;
  #hooks: OutboundHooks;

  /** Creates the rules over `parts`. */
  constructor(parts: CallParts, hooks: OutboundHooks) {
    this.#p = parts;
    this.#hooks = hooks;
  }

  /** Routes the core's outbound inputs. */
  handle(input: Extract<CallInput, { type: "outbound_call" | "answered_by" }>): void {
    if (input.type === "outbound_call") this.outboundCall(input);
    else this.answeredBy(input.result);
  }

  /** The stream is an outbound call: listen (also on a session already open). */
  outboundCall(
    settings: { greeting?: string; voicemail?: string; resume?: readonly ConversationEntry[] },
  ): void {
    const p = this.#p;
    if (p.opening.stage !== "inbound") return;
    if (settings.resume !== undefined) {
      p.conversation.restore(settings.resume);
      p.opening.resumed();
      p.out.log("info", "Outbound call resumed in a new media stream after keypad tones.", {
        entries: settings.resume.length,
      });
      const live = p.sessions.live();
      if (live !== undefined) {
        for (const event of p.opening.firstSessionEvents(p.conversation.entries)) {
          p.out.toOpenAI(live, event);
        }
      }
      return;
    }
    p.opening.outboundCall(settings);
    p.out.log("info", "Outbound call: listening until answering-machine detection reports.");
    const session = p.sessions.live();
    const override = p.opening.sessionOverride;
    if (session !== undefined && override !== undefined) p.out.toOpenAI(session, override);
  }

  /** Twilio's AMD result. */
  answeredBy(result: string): void {
    const p = this.#p;
    if (p.ending.ending) return;
    const decision = p.opening.answeredBy(result);
    p.out.log("info", "Answering-machine detection: {answeredBy}.", {
      answeredBy: result.slice(0, 32),
      decision: decision.kind,
    });
    switch (decision.kind) {
      case "ignored":
        return;
      case "hang_up":
        this.#hooks.finish("assistant_ended", decision.reason, "hang_up");
        return;
      case "voicemail":
        this.#hooks.wrapUp({
          instructions: p.options.prompts.voicemail(decision.message),
          reason: "Left the voicemail message.",
          outcome: "assistant_ended",
        });
        return;
      case "greet": {
        const session = p.sessions.live();
        const talking = p.opening.talkingUpdate();
        if (session !== undefined && talking !== undefined) p.out.toOpenAI(session, talking);
        this.#hooks.requestResponse(
          decision.greeting !== undefined
            ? { instructions: p.options.prompts.greeting(decision.greeting), toolChoice: "none" }
            : {},
        );
        return;
      }
    }
  }
}
