/**
 * What Twilio reports about an outbound call, and what it means: the
 * answering-machine result (`AnsweredBy` of the async AMD callback), the
 * call status (`CallStatus` of the status callback), and the call's final
 * outcome for campaigns and metrics. (What the live call does with the AMD
 * result is the call core's: `core/answering_machine.ts`.)
 *
 * With `MachineDetection=DetectMessageEnd`, `AnsweredBy` is one of `human`,
 * `machine_end_beep`, `machine_end_silence`, `machine_end_other`, `fax` or
 * `unknown` (`machine_start` only comes with `MachineDetection=Enable`; it is
 * accepted and treated as a machine whose message end is not known).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isMachine, parseAnsweredBy, parseCallAnsweredBy, parseCallStatus } from "./call_progress.ts";
 * assert.equal(isMachine(parseAnsweredBy("machine_end_beep")!), true);
 * assert.equal(parseAnsweredBy("robot"), undefined);
 * assert.equal(parseCallAnsweredBy("machine"), "machine_start"); // a fetched call's answered_by
 * assert.equal(parseCallStatus("no-answer"), "no-answer");
 * ```
 *
 * @module
 */

/** Values of `AnsweredBy`. */
const ANSWERED_BY = [
  "human",
  "machine_start",
  "machine_end_beep",
  "machine_end_silence",
  "machine_end_other",
  "fax",
  "unknown",
] as const;

/** One value of `AnsweredBy`. */
export type AnsweredBy = typeof ANSWERED_BY[number];

/** Values of `CallStatus`. */
const CALL_STATUSES = [
  "queued",
  "ringing",
  "in-progress",
  "completed",
  "busy",
  "no-answer",
  "failed",
  "canceled",
] as const;

/** One value of `CallStatus`. */
export type CallStatus = typeof CALL_STATUSES[number];

/** Statuses after which the call is over. */
export const FINAL_STATUSES: ReadonlySet<CallStatus> = new Set([
  "completed",
  "busy",
  "no-answer",
  "failed",
  "canceled",
]);

/** The outcome of one outbound attempt (label of `bridge_outbound_calls_total`). */
export type OutboundOutcome =
  | "human"
  | "machine"
  | "fax"
  | "busy"
  | "no-answer"
  | "failed"
  | "canceled";

/** `AnsweredBy` from a callback, or undefined when missing or not one of Twilio's values. */
export function parseAnsweredBy(value: string | null | undefined): AnsweredBy | undefined {
  return ANSWERED_BY.find((v) => v === value);
}

/** `CallStatus` from a callback, or undefined when missing or not one of Twilio's values. */
export function parseCallStatus(value: string | null | undefined): CallStatus | undefined {
  return CALL_STATUSES.find((v) => v === value);
}

/**
 * `answered_by` of a call fetched from the REST API: one of the callback's values, or Twilio's
 * documented `human`/`machine` (a machine whose message end is not known: `machine_start`).
 */
export function parseCallAnsweredBy(value: string | null | undefined): AnsweredBy | undefined {
  return value === "machine" ? "machine_start" : parseAnsweredBy(value);
}

/** Whether `answeredBy` is an answering machine. */
export function isMachine(answeredBy: AnsweredBy): boolean {
  return answeredBy.startsWith("machine_");
}

/**
 * The outcome of a finished attempt from its final status and the AMD result
 * seen (if any): `completed` → human, machine or fax by `AnsweredBy`
 * (`unknown` or none count as human: the call was answered and not
 * recognized as a machine); otherwise the status itself.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { outcomeOf } from "./call_progress.ts";
 * assert.equal(outcomeOf("completed", "machine_end_silence"), "machine");
 * assert.equal(outcomeOf("no-answer", undefined), "no-answer");
 * ```
 */
export function outcomeOf(
  status: CallStatus,
  answeredBy: AnsweredBy | undefined,
): OutboundOutcome | undefined {
  switch (status) {
    case "completed":
      if (answeredBy === "fax") return "fax";
      if (answeredBy !== undefined && isMachine(answeredBy)) return "machine";
      return "human";
    case "busy":
    case "no-answer":
    case "failed":
    case "canceled":
      return status;
    default:
      return undefined;
  }
}

/** Whether an attempt with this outcome is worth retrying (busy, no answer, failed). */
export function isRetryable(outcome: OutboundOutcome): boolean {
  return outcome === "busy" || outcome === "no-answer" || outcome === "failed";
}
