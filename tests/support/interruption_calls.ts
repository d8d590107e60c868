/**
 * Interruption scenarios over real sockets: a bridge between a fake Twilio
 * call and the fake Realtime server, which scripts the caller's speech as
 * server VAD reports it ({@link FakeRealtimeSession.speechBurst}). Shared by
 * `tests/interruptions_e2e_test.ts` (assertions) and
 * `bench/interruptions.ts` (figures for docs/performance.md).
 *
 * @module
 */
import { type BridgeHarness, sleep } from "./bridge_harness.ts";
import type { AnyEvent, FakeRealtimeSession, FakeScriptedResponse } from "./fake_realtime.ts";
import type { FakeTwilioCall, TwilioMessage } from "./fake_twilio.ts";
import { waitUntil } from "./wait.ts";

/** The answer's μ-law byte value. */
export const ANSWER_VALUE = 0x51;

/** When (`performance.now()`) a message matching `predicate` is at the call after index `from`. */
export async function arrival(
  call: FakeTwilioCall,
  from: number,
  predicate: (m: TwilioMessage) => boolean,
  timeoutMs = 2000,
): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < timeoutMs) {
    if (call.received.slice(from).some(predicate)) return performance.now();
    await sleep(1);
  }
  throw new Error("no such message in time");
}

/** Waits for the session's `session.update`, then streams a 3 s answer at `pace` (ms per 100 ms chunk). */
export async function answering(
  session: FakeRealtimeSession,
  pace: "burst" | number,
): Promise<{ update: AnyEvent; answer: FakeScriptedResponse }> {
  const update = await session.waitFor("session.update");
  const answer = session.respond({
    items: [{ audioMs: 3000, value: ANSWER_VALUE, transcript: "Our office opens at nine." }],
    pace,
    chunkMs: 100,
  });
  return { update, answer };
}

/** What a "mm-hmm" mid-answer did. */
export interface BackchannelCall {
  call: FakeTwilioCall;
  session: FakeRealtimeSession;
  update: AnyEvent;
  itemId: string;
  /** Ms from `speech_started` to Twilio's `clear`. */
  clearMs: number;
  /** Ms from `speech_stopped` to the first resumed media at Twilio. */
  resumedMs: number;
  /** Ms of the 3 s answer the caller heard in all. */
  heardMs: number;
}

/**
 * A call whose caller says a 200 ms "mm-hmm" (words 100 ms after the VAD's
 * stop) 800 ms into a 3 s answer streamed at `pace`; plays the answer out.
 */
export async function backchannelCall(
  h: BridgeHarness,
  pace: "burst" | number,
): Promise<BackchannelCall> {
  const call = await h.call();
  const session = await h.realtime.nextSession();
  const { update, answer } = await answering(session, pace);
  await waitUntil(() => call.playedMs(ANSWER_VALUE) >= 800, 4000, "800 ms of the answer heard");
  const before = call.received.length;
  const startedAt = performance.now();
  const burst = session.speechBurst({ speechMs: 200 });
  const clearAt = await arrival(call, before, (m) => m.event === "clear");
  const { itemId, stoppedAt } = await burst;
  const afterStop = call.received.length;
  await sleep(100);
  session.transcribe(itemId, "Mm-hmm.");
  const resumedAt = await arrival(call, afterStop, (m) => m.event === "media");
  await waitUntil(() => answer.finished && call.pendingMs() === 0, 8000, "the answer played out");
  await sleep(50);
  return {
    call,
    session,
    update,
    itemId,
    clearMs: clearAt - startedAt,
    resumedMs: resumedAt - stoppedAt,
    heardMs: call.playedMs(ANSWER_VALUE),
  };
}
