/**
 * What a finished call reports (to the observer, the call records and
 * `/call-ended`): who, how it ended, how long, the counters, the conversation
 * and the tokens used.
 *
 * @example
 * ```ts
 * import type { CallSummary } from "./call_summary.ts";
 * const outcome: CallSummary["outcome"] = "assistant_ended";
 * if (outcome !== "assistant_ended") throw new Error();
 * ```
 *
 * @module
 */
import type { CallStats } from "../core/call_core_options.ts";
import type { CallOutcome } from "../core/call_types.ts";
import type { ConversationEntry, TokenUsage } from "../core/conversation_log.ts";
import type { LegTimeline } from "../transfer/mod.ts";

/** What a finished call reports. */
export interface CallSummary {
  callSid: string | undefined;
  streamSid: string | undefined;
  outcome: CallOutcome;
  reason: string;
  /** Wall-clock start (the media socket opened) and end (both sockets closed). */
  startedAt: Date;
  endedAt: Date;
  durationMs: number;
  stats: CallStats;
  /** The turns of the call, with transcripts where known. */
  conversation: readonly ConversationEntry[];
  /** Tokens used, summed from `response.done` (GPT-Live: its backend model's). */
  usage: TokenUsage;
  /** GPT-Live calls: the sessions' billed seconds (`session.usage.updated`), summed. */
  liveSeconds?: number;
  /** True for a browser softphone call (not a phone call through Twilio). */
  softphone?: boolean;
  /** The `<Parameter>` values of the stream (Twilio `start.customParameters`). */
  customParameters: Record<string, string>;
  /** For an outbound call: who answered (Twilio's `AnsweredBy`), when known. */
  outbound?: { answeredBy: string | undefined };
  /** A warm transfer's legs (destinations masked), when the model asked for one. */
  transfer?: { mode: "warm"; legs: LegTimeline[] };
}

/** A call's summary before it has ended (no outcome yet). */
export type CallSoFar = Omit<CallSummary, "outcome" | "reason">;
