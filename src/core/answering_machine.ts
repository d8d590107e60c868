/**
 * Outbound calls: what Twilio's answering-machine detection found, and what
 * the call does about it. Until the result arrives the agent listens (no
 * greeting over a voicemail greeting, no caller audio to the model); a
 * person (or an unknown result, or no result in time) gets the greeting; a
 * machine gets the voicemail message once, then the call hangs up; a fax,
 * or a machine with no message to leave, is hung up on.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { classifyAnsweredBy } from "./answering_machine.ts";
 * assert.equal(classifyAnsweredBy("human"), "person");
 * assert.equal(classifyAnsweredBy("machine_end_beep"), "machine");
 * assert.equal(classifyAnsweredBy("fax"), "fax");
 * assert.equal(classifyAnsweredBy("unknown"), "person");
 * ```
 *
 * @module
 */

/** Twilio's `AnsweredBy`, reduced to what the call does. */
export type AnswerKind = "person" | "machine" | "fax";

/**
 * Maps Twilio's `AnsweredBy` (`human`, `machine_start`, `machine_end_beep`,
 * `machine_end_silence`, `machine_end_other`, `fax`, `unknown`) to what the
 * call does. Unknown values count as a person: talking to a machine is
 * better than hanging up on a person.
 */
export function classifyAnsweredBy(answeredBy: string): AnswerKind {
  if (answeredBy === "fax") return "fax";
  if (answeredBy.startsWith("machine")) return "machine";
  return "person";
}

/** Options of an outbound call that waits for answering-machine detection. */
export interface AnswerWaitOptions {
  /** The text the agent says to a voicemail (once), then hangs up; undefined: hang up. */
  voicemail?: string | undefined;
  /** Ms to wait for the result before treating the callee as a person. Default 10000. */
  timeoutMs?: number;
}
