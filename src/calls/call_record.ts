/**
 * The record kept of every call: who, when, how long, how it ended, what was
 * said and what it cost. Built from the runner's {@link CallSummary}.
 *
 * @module
 */
import type { LegTimeline } from "../transfer/mod.ts";
import type { CallSoFar, CallSummary } from "../bridge/call_summary.ts";
import type { TokenUsage } from "../core/conversation_log.ts";
import { estimateCostUsd, liveCostUsd, type TokenPrices } from "./prices.ts";
import { DEFAULT_LIVE_PRICE_PER_MINUTE } from "../config/mod.ts";
import type { CallAnalysis } from "../analysis/mod.ts";

/** One line of a call's transcript. */
export interface TranscriptLine {
  /** Who: the caller, the assistant, a tool call by the model, or the tool's answer. */
  role: "caller" | "assistant" | "tool_call" | "tool_result";
  /**
   * What was said (the caller's words only when input transcription is on;
   * the assistant's cut to what the caller heard after a barge-in), the tool
   * name and arguments, or the tool output. Null when unknown.
   */
  text: string | null;
  /** Ms since the call started. */
  atMs: number;
  /** For an interrupted assistant turn: the ms the caller heard. */
  heardMs?: number;
  /** For a caller turn: its length (ms), when the transcription reported it. */
  speechMs?: number;
  /**
   * For caller speech that was not an interruption (shown struck through):
   * `false` (too short or no words) or `backchannel`; the assistant went on.
   */
  falseInterruption?: {
    verdict: "false" | "backchannel";
    speechMs: number;
    /** Where in the assistant's item it went on from (ms), when its audio had been stopped. */
    resumedAtMs?: number;
  };
}

/** A call's recording, as Twilio's recording status callback reported it. */
export interface CallRecordingInfo {
  /** `RE…` */
  sid: string;
  /** The audio at Twilio (fetch it with the account's credentials); null when none. */
  url: string | null;
  /** `completed`, `absent` or `failed`. */
  status: string;
  durationSeconds: number | null;
  channels: number | null;
  startTime: string | null;
  errorCode: string | null;
}

/** The stored record of one call (format version 1). */
export interface CallRecord {
  /** Format version of the record. */
  version: 1;
  /** Twilio CallSid (`unknown-…` when the stream never sent `start`). */
  callSid: string;
  streamSid: string | null;
  /**
   * The caller's number, masked (`+1415•••••23`) unless
   * `STORE_CALLER_NUMBERS=true`; null when unknown.
   */
  caller: string | null;
  /** ISO 8601 times. */
  startedAt: string;
  endedAt: string;
  durationMs: number;
  /** `caller_hung_up`, `assistant_ended`, `openai_error`, `bridge_error`, … */
  outcome: string;
  reason: string;
  /** The agent of the agents file that took the call (`default` without a file); absent in older records. */
  agent?: string;
  /** Caller and assistant turns. */
  turns: { caller: number; assistant: number };
  bargeIns: number;
  /** Caller speech over the assistant that was not an interruption (absent in older records). */
  falseInterruptions?: number;
  truncates: number;
  toolCalls: number;
  responses: number;
  openaiErrors: number;
  frames: { fromCaller: number; toCaller: number };
  /** Tokens by kind, summed over the call's `response.done` usage blocks. */
  tokens: TokenUsage;
  /** Estimated cost in USD from `tokens` and `pricesUsdPerMTok`. */
  estimatedCostUsd: number;
  /** The prices the estimate used (USD per 1M tokens). */
  pricesUsdPerMTok: TokenPrices;
  /**
   * GPT-Live calls (`engine: live`): the sessions' billed seconds and the
   * price per minute the estimate added to the backend model's tokens.
   */
  live?: { seconds: number; usdPerMinute: number };
  /** The call's turns in order. */
  transcript: TranscriptLine[];
  /** True when the transcript was cut to fit the store's size limit. */
  transcriptTruncated: boolean;
  /** False when `STORE_TRANSCRIPTS=off` kept no transcript (absent otherwise). */
  transcriptStored?: false;
  /** For a call the bridge placed: who answered (Twilio's `AnsweredBy`; null when not known). */
  outbound?: { answeredBy: string | null };
  /**
   * A warm transfer's timeline: each destination tried (masked), when it was
   * called, how long it rang, who answered, when the person accepted, and the
   * result (`accepted`, `declined`, `no_key`, `busy`, `no-answer`, `machine`, …).
   */
  transfer?: { mode: "warm"; legs: LegTimeline[] };
  /** The post-call analysis, once done (when the call's agent asks for one). */
  analysis?: CallAnalysis;
  /** The call's recording (an agent with `recording:`), once Twilio reported it. */
  recording?: CallRecordingInfo;
}

/** A record without its transcript (for listings). */
export type CallRecordSummary = Omit<CallRecord, "transcript">;

/** Options of {@link buildCallRecord}. */
export interface BuildCallRecordOptions {
  prices: TokenPrices;
  /** USD per minute of a GPT-Live session. Default {@link DEFAULT_LIVE_PRICE_PER_MINUTE}. */
  livePricePerMinute?: number;
  /** The runner's monotonic clock at the call's start (conversation times are on it). */
  startedAtMonotonic: number;
  /** The agent that took the call. */
  agent?: string | undefined;
}

/**
 * Builds the record of a finished call.
 *
 * @example
 * ```ts ignore
 * const record = buildCallRecord(summary, { prices: DEFAULT_PRICES, startedAtMonotonic: 0 });
 * ```
 */
export function buildCallRecord(summary: CallSummary, options: BuildCallRecordOptions): CallRecord {
  return recordOf(summary, summary, options);
}

/** The `outcome` of a record written when its call started, until the call's end replaces it. */
export const IN_PROGRESS_OUTCOME = "in_progress";

/**
 * The record of a call that has just started (`summary` so far): written at
 * its start so a crash of the process mid-call leaves a trace (who, when,
 * which agent); the record built at the end replaces it (same keys).
 */
export function inProgressRecord(
  summary: CallSoFar,
  options: BuildCallRecordOptions,
): CallRecord {
  return recordOf(summary, {
    outcome: IN_PROGRESS_OUTCOME,
    reason:
      "the call had started; no end was recorded (still in progress, or the server stopped during it)",
  }, options);
}

function recordOf(
  summary: CallSoFar,
  ending: { outcome: string; reason: string },
  options: BuildCallRecordOptions,
): CallRecord {
  const livePrice = options.livePricePerMinute ?? DEFAULT_LIVE_PRICE_PER_MINUTE;
  const since = (at: number) => Math.max(0, Math.round(at - options.startedAtMonotonic));
  const transcript: TranscriptLine[] = [];
  let callerTurns = 0;
  let assistantTurns = 0;
  let falseInterruptions = 0;
  for (const entry of summary.conversation) {
    switch (entry.kind) {
      case "user":
        callerTurns++;
        transcript.push({
          role: "caller",
          text: entry.transcript ?? null,
          atMs: since(entry.at),
          ...(entry.speechMs !== undefined ? { speechMs: entry.speechMs } : {}),
        });
        break;
      case "assistant": {
        assistantTurns++;
        const line: TranscriptLine = {
          role: "assistant",
          text: entry.transcript ?? null,
          atMs: since(entry.at),
        };
        if (entry.heardMs !== undefined) line.heardMs = entry.heardMs;
        transcript.push(line);
        break;
      }
      case "function_call":
        transcript.push({
          role: "tool_call",
          text: `${entry.name}(${entry.arguments})`,
          atMs: since(entry.at),
        });
        break;
      case "function_call_output":
        transcript.push({ role: "tool_result", text: entry.output, atMs: since(entry.at) });
        break;
      case "false_interruption":
        falseInterruptions++;
        transcript.push({
          role: "caller",
          text: entry.transcript ?? null,
          atMs: since(entry.at),
          falseInterruption: {
            verdict: entry.verdict,
            speechMs: entry.speechMs,
            ...(entry.resumedAtMs !== undefined ? { resumedAtMs: entry.resumedAtMs } : {}),
          },
        });
        break;
    }
  }
  // A softphone page names its own parameters: its "caller" is nobody's number.
  const caller = summary.softphone ? undefined : summary.customParameters.caller;
  return {
    version: 1,
    callSid: summary.callSid ?? `unknown-${crypto.randomUUID()}`,
    streamSid: summary.streamSid ?? null,
    caller: caller === undefined || caller === "" ? null : caller,
    startedAt: summary.startedAt.toISOString(),
    endedAt: summary.endedAt.toISOString(),
    durationMs: summary.durationMs,
    outcome: ending.outcome,
    reason: ending.reason,
    ...(options.agent !== undefined ? { agent: options.agent } : {}),
    turns: { caller: callerTurns, assistant: assistantTurns },
    bargeIns: summary.stats.bargeIns,
    falseInterruptions,
    truncates: summary.stats.truncates,
    toolCalls: summary.stats.toolCalls,
    responses: summary.stats.responses,
    openaiErrors: summary.stats.openaiErrors,
    frames: { fromCaller: summary.stats.framesIn, toCaller: summary.stats.framesOut },
    tokens: { ...summary.usage },
    estimatedCostUsd: roundUsd(
      estimateCostUsd(summary.usage, options.prices) +
        (summary.liveSeconds === undefined ? 0 : liveCostUsd(summary.liveSeconds, livePrice)),
    ),
    pricesUsdPerMTok: { ...options.prices },
    ...(summary.liveSeconds !== undefined
      ? { live: { seconds: summary.liveSeconds, usdPerMinute: livePrice } }
      : {}),
    transcript,
    transcriptTruncated: false,
    ...(summary.outbound !== undefined
      ? { outbound: { answeredBy: summary.outbound.answeredBy ?? null } }
      : {}),
    ...(summary.transfer !== undefined ? { transfer: summary.transfer } : {}),
  };
}

/** Rounds to a millionth of a dollar. */
function roundUsd(usd: number): number {
  return Math.round(usd * 1_000_000) / 1_000_000;
}

/** The record without its transcript. */
export function summarizeRecord(record: CallRecord): CallRecordSummary {
  const { transcript: _transcript, ...rest } = record;
  return rest;
}
