import assert from "node:assert/strict";
import { BridgeHarness, sleep } from "./support/bridge_harness.ts";
import { type AnyEvent, audioBytes, type FakeRealtimeSession } from "./support/fake_realtime.ts";
import type { FakeTwilioCall } from "./support/fake_twilio.ts";
import { encodeBase64 } from "../src/audio/base64.ts";

/** Caller audio in real time, each 20 ms frame distinct, until stopped. */
function talk(call: FakeTwilioCall): { frames: string[]; stop: () => Promise<void> } {
  const frames: string[] = [];
  let running = true;
  const loop = (async () => {
    let i = 0;
    while (running && call.isOpen) {
      const bytes = new Uint8Array(160).fill((i % 200) + 1);
      bytes[0] = i & 0xff;
      bytes[1] = (i >> 8) & 0xff;
      if (call.sendMedia(bytes)) frames.push(encodeBase64(bytes));
      i++;
      await sleep(20);
    }
  })();
  return {
    frames,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

async function waitUntil(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const start = performance.now();
  while (!check()) {
    if (performance.now() - start > timeoutMs) throw new Error(`Timed out waiting for ${what}.`);
    await sleep(10);
  }
}

/** The caller audio all sessions received, in connection order. */
function allInput(sessions: readonly FakeRealtimeSession[]): string[] {
  return sessions.flatMap((s) => s.inputAudio.chunks);
}

function replayed(session: FakeRealtimeSession): AnyEvent[] {
  return session.receivedOfType("conversation.item.create").map((e) => e.item);
}

/** One caller turn and one assistant answer on `session`, heard by the caller. */
async function exchange(
  call: FakeTwilioCall,
  session: FakeRealtimeSession,
  said: string,
  answer: string,
  value: number,
): Promise<void> {
  session.userTurn(said);
  const response = session.beginResponse();
  response.audio(audioBytes(value, 200));
  response.transcript(answer);
  response.finish();
  await call.waitFor(() => call.receivedAudioBytes(value) === 1600);
}

Deno.test("renewal: a second session gets the same configuration and the conversation, then takes over without losing caller audio", async () => {
  await using h = await BridgeHarness.start({ REALTIME_SESSION_RENEW_SECONDS: "1" });
  const call = await h.call();
  const s1 = await h.realtime.nextSession();
  const update1 = await s1.waitFor("session.update");
  assert.deepEqual(update1.session.audio.input.transcription, { model: "gpt-4o-mini-transcribe" });
  const caller = talk(call);
  await exchange(call, s1, "What are your opening hours?", "We are open nine to five.", 0x31);

  const s2 = await h.realtime.nextSession(4000);
  const update2 = await s2.waitFor("session.update");
  assert.deepEqual(update2.session, update1.session, "configured identically");
  await s2.waitFor("conversation.item.create", (e) => e.item.role === "assistant");
  assert.deepEqual(replayed(s2), [
    {
      type: "message",
      role: "user",
      content: [{ type: "input_text", text: "What are your opening hours?" }],
    },
    {
      type: "message",
      role: "assistant",
      content: [{ type: "output_text", text: "We are open nine to five." }],
    },
  ]);
  const closed = await s1.closed;
  assert.equal(closed.code, 1000, "the old session is closed by the bridge after the switch");

  // The new session is live: its audio reaches the caller, and it hears the caller.
  const r2 = s2.beginResponse();
  r2.audio(audioBytes(0x32, 100));
  r2.finish();
  await call.waitFor(() => call.receivedAudioBytes(0x32) === 800);
  await waitUntil(() => s2.inputAudio.chunks.length >= 5, 2000, "caller audio on the new session");
  await caller.stop();
  await waitUntil(
    () => allInput(h.realtime.sessions).length >= caller.frames.length,
    2000,
    "every caller frame",
  );
  assert.deepEqual(
    allInput(h.realtime.sessions),
    caller.frames,
    "no caller frame lost or reordered",
  );
  for (const s of h.realtime.sessions) {
    assert.deepEqual(s.schemaErrors, []);
    assert.deepEqual(s.selfErrors, []);
  }
  assert.equal(call.isOpen, true);
  await call.hangUp();
  const [summary] = await h.waitForFinished(1);
  assert.equal(summary.outcome, "caller_hung_up");
  assert.ok(summary.stats.sessionRenewals >= 1);
});

Deno.test("renewal waits for the turn boundary: an answer in progress finishes on the old session", async () => {
  // The test scripts the server's own answers and barge-in (server VAD interrupts and answers):
  // the behaviour with INTERRUPTION_RESUME=false.
  await using h = await BridgeHarness.start({
    REALTIME_SESSION_RENEW_SECONDS: "0.3",
    INTERRUPTION_RESUME: "false",
  });
  const call = await h.call();
  const s1 = await h.realtime.nextSession();
  await s1.waitFor("session.update");
  s1.userTurn("Tell me a long story.");
  const response = s1.beginResponse();
  // Stream 1.5 s of audio slowly (in real time), across the renewal time.
  for (let i = 0; i < 15; i++) {
    response.audio(audioBytes(0x41, 100));
    await sleep(100);
  }
  response.transcript("Once upon a time.");
  response.finish();
  await call.waitFor(() => call.receivedAudioBytes(0x41) === 12_000, 4000);
  assert.equal(s1.isOpen, true, "not switched while the answer was streaming");
  const s2 = await h.realtime.nextSession(4000);
  await s2.waitFor("conversation.item.create", (e) => e.item.role === "assistant", 4000);
  await s1.closed;
  // Everything the caller heard came from the first session, in full.
  assert.equal(call.receivedAudioBytes(0x41), 12_000);
  assert.equal(s1.truncates.length, 0);
  await call.hangUp();
});

Deno.test("a session closed by OpenAI mid-call (1001) is replaced: context replayed, audio continues", async () => {
  await using h = await BridgeHarness.start({}, {
    realtime: { sessionLifetimeMs: 1500, sessionCloseCode: 1001 },
  });
  const call = await h.call();
  const s1 = await h.realtime.nextSession();
  h.realtime.sessionLifetimeMs = undefined; // only the first session expires
  await s1.waitFor("session.update");
  const caller = talk(call);
  await exchange(call, s1, "I need a plumber.", "Sure, when would suit you?", 0x51);
  // Closed by its expiry, not by the bridge (see CloseInfo for why this is what the fake sent).
  assert.deepEqual(await s1.closed, {
    code: 1001,
    reason: "Your session hit the maximum duration.",
    by: "fake",
  });
  const s2 = await h.realtime.nextSession(3000);
  await s2.waitFor("conversation.item.create", (e) => e.item.role === "assistant");
  assert.deepEqual(replayed(s2).map((i) => i.content[0].text), [
    "I need a plumber.",
    "Sure, when would suit you?",
  ]);
  const r2 = s2.beginResponse();
  r2.audio(audioBytes(0x52, 100));
  r2.finish();
  await call.waitFor(() => call.receivedAudioBytes(0x52) === 800);
  await caller.stop();
  await waitUntil(
    () => h.realtime.sessions.at(-1)?.inputAudio.chunks.at(-1) === caller.frames.at(-1),
    2000,
    "the last caller frame",
  );
  // The first session got a prefix of the caller's audio. The new one got the turn in progress
  // again (it went down with the old session, frames in flight included), then everything sent
  // while no session was open, then the rest: every frame arrived, in order.
  const first = s1.inputAudio.chunks;
  const second = allInput(h.realtime.sessions.slice(1));
  assert.deepEqual(first, caller.frames.slice(0, first.length));
  const resumeAt = caller.frames.indexOf(second[0]);
  assert.ok(resumeAt >= 0 && resumeAt <= first.length, `resumed at frame ${resumeAt}`);
  assert.deepEqual(second, caller.frames.slice(resumeAt));
  assert.deepEqual(s2.schemaErrors, []);
  await call.hangUp();
  const [summary] = await h.waitForFinished(1);
  assert.equal(summary.stats.reconnects, 1);
  assert.equal(summary.outcome, "caller_hung_up");
});

Deno.test("a dropped session (1011) while the caller waits for an answer: the new session is asked to answer", async () => {
  await using h = await BridgeHarness.start();
  const call = await h.call();
  const s1 = await h.realtime.nextSession();
  await s1.waitFor("session.update");
  s1.userTurn("Are you open on Sunday?");
  const r1 = s1.beginResponse();
  r1.audio(audioBytes(0x61, 60));
  await call.waitFor(() => call.receivedAudioBytes(0x61) === 480);
  await s1.close(1011, "Internal server error");
  const s2 = await h.realtime.nextSession(3000);
  const create = await s2.waitFor("response.create");
  const creates = s2.received.filter((e) =>
    e.type === "conversation.item.create" || e.type === "response.create"
  );
  assert.deepEqual(creates.map((e) => e.type), ["conversation.item.create", "response.create"]);
  assert.equal(create.type, "response.create");
  assert.equal(replayed(s2)[0].content[0].text, "Are you open on Sunday?");
  const r2 = s2.beginResponse();
  r2.audio(audioBytes(0x62, 100));
  r2.finish();
  await call.waitFor(() => call.receivedAudioBytes(0x62) === 800);
  assert.deepEqual(s2.schemaErrors, []);
  await call.hangUp();
});

Deno.test("reconnect against a slow OpenAI still succeeds within the window", async () => {
  await using h = await BridgeHarness.start({ REALTIME_RECONNECT_SECONDS: "3" });
  const call = await h.call();
  const s1 = await h.realtime.nextSession();
  await s1.waitFor("session.update");
  h.realtime.answerDelayMs = 400;
  await s1.close(1011, "Internal server error");
  const s2 = await h.realtime.nextSession(3000);
  await s2.waitFor("session.update");
  const r2 = s2.beginResponse();
  r2.audio(audioBytes(0x71, 100));
  r2.finish();
  await call.waitFor(() => call.receivedAudioBytes(0x71) === 800);
  assert.equal(call.isOpen, true);
  await call.hangUp();
});

Deno.test("when OpenAI cannot be reached again within the window, the caller gets the apology", async () => {
  await using h = await BridgeHarness.start({ REALTIME_RECONNECT_SECONDS: "1" });
  const call = await h.call();
  const s1 = await h.realtime.nextSession();
  await s1.waitFor("session.update");
  h.realtime.mode = "refuse_http";
  h.realtime.refuseStatus = 503; // an outage, retried (a rejected key is not)
  const t0 = performance.now();
  await s1.close(1011, "Internal server error");
  const closed = await call.closed;
  const elapsed = performance.now() - t0;
  assert.equal(closed.code, 1011, "the stream ends so Twilio plays the apology TwiML");
  assert.ok(elapsed >= 900 && elapsed < 3000, `ended after ${Math.round(elapsed)} ms`);
  assert.ok(h.realtime.refused.length >= 3, "retried with backoff before giving up");
  const [summary] = await h.waitForFinished(1);
  assert.equal(summary.outcome, "openai_error");
});

Deno.test("a slow OpenAI that does not answer within the window ends the call with the apology", async () => {
  await using h = await BridgeHarness.start({ REALTIME_RECONNECT_SECONDS: "0.5" });
  const call = await h.call();
  const s1 = await h.realtime.nextSession();
  await s1.waitFor("session.update");
  h.realtime.answerDelayMs = 3000;
  await s1.close(1011, "Internal server error");
  const closed = await call.closed;
  assert.equal(closed.code, 1011);
  const [summary] = await h.waitForFinished(1, 3000);
  assert.equal(summary.outcome, "openai_error");
});
