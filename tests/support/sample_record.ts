/** A call record for tests of what is done with records (store, CLI, analysis). */
import type { CallRecord } from "../../src/calls/call_record.ts";

/** A finished one-minute call `callSid` with no tokens; `fields` replace the defaults. */
export function sampleRecord(callSid: string, fields: Partial<CallRecord> = {}): CallRecord {
  return {
    version: 1,
    callSid,
    streamSid: null,
    caller: null,
    startedAt: "2026-12-07T09:00:00.000Z",
    endedAt: "2026-12-07T09:01:00.000Z",
    durationMs: 60_000,
    outcome: "caller_hung_up",
    reason: "Twilio sent stop.",
    turns: { caller: 0, assistant: 0 },
    bargeIns: 0,
    truncates: 0,
    toolCalls: 0,
    responses: 0,
    openaiErrors: 0,
    frames: { fromCaller: 0, toCaller: 0 },
    tokens: {
      inputTextTokens: 0,
      inputAudioTokens: 0,
      inputCachedTokens: 0,
      outputTextTokens: 0,
      outputAudioTokens: 0,
    },
    estimatedCostUsd: 0,
    pricesUsdPerMTok: {
      inputText: 4,
      inputAudio: 32,
      inputCached: 0.4,
      outputText: 24,
      outputAudio: 64,
    },
    transcript: [],
    transcriptTruncated: false,
    ...fields,
  };
}
