import assert from "node:assert/strict";
import { BridgeHarness, sleep, TEST_API_KEY } from "./support/bridge_harness.ts";
import { audioBytes } from "./support/fake_realtime.ts";
import { encodeBase64 } from "../src/audio/base64.ts";

Deno.test("a call opens one GA session with the key in the subprotocol and a valid session.update", async () => {
  await using h = await BridgeHarness.start({ GREETING: "Hello from Acme.", VOICE: "marin" });
  const call = await h.call();
  const session = await h.realtime.nextSession();
  assert.deepEqual(
    session.url.searchParams.getAll("model"),
    ["gpt-realtime-2.1"],
    "the default model, once",
  );
  assert.deepEqual(session.protocols, ["realtime", `openai-insecure-api-key.${TEST_API_KEY}`]);
  assert.equal(session.headers.get("openai-beta"), null, "GA sends no beta marker");
  const update = await session.waitFor("session.update");
  assert.equal(session.received[0].type, "session.update", "session.update is the first event");
  assert.equal(update.session.type, "realtime");
  assert.deepEqual(update.session.audio.input.format, { type: "audio/pcmu" });
  assert.deepEqual(update.session.audio.output.format, { type: "audio/pcmu" });
  assert.equal(update.session.audio.output.voice, "marin");
  assert.equal(update.session.audio.input.turn_detection.type, "server_vad");
  assert.deepEqual(update.session.tools.map((t: { name: string }) => t.name), ["end_call"]);
  const greeting = await session.waitFor("response.create");
  assert.match(greeting.response.instructions, /Hello from Acme\./);
  assert.deepEqual(
    session.schemaErrors,
    [],
    "every event the bridge sent passed the strict GA schema",
  );
  assert.deepEqual(call.protocolErrors, []);
});

Deno.test("caller audio reaches OpenAI unchanged and in order, including frames sent before OpenAI was ready", async () => {
  await using h = await BridgeHarness.start();
  // Hold the OpenAI handshake back by connecting Twilio first and sending at once.
  const call = await h.call();
  const frames: string[] = [];
  for (let i = 0; i < 25; i++) {
    const bytes = new Uint8Array(160).fill(i);
    frames.push(encodeBase64(bytes));
    call.sendMedia(bytes);
  }
  const session = await h.realtime.nextSession();
  const start = performance.now();
  while (session.inputAudio.chunks.length < frames.length && performance.now() - start < 2000) {
    await sleep(10);
  }
  assert.deepEqual(session.inputAudio.chunks, frames);
  assert.deepEqual(session.schemaErrors, []);
});

Deno.test("assistant audio reaches the caller unchanged, followed by marks that Twilio echoes", async () => {
  await using h = await BridgeHarness.start();
  const call = await h.call();
  const session = await h.realtime.nextSession();
  await session.waitFor("session.update");
  const response = session.beginResponse();
  response.audio(audioBytes(0x21, 150));
  response.audio(audioBytes(0x21, 150));
  response.finish();
  const lastMark = await call.waitFor((m) => m.event === "mark");
  assert.ok(lastMark);
  await sleep(400);
  assert.equal(call.receivedAudioBytes(0x21), 300 * 8);
  assert.ok(Math.abs(call.playedMs(0x21) - 300) < 1, `played ${call.playedMs(0x21)} ms`);
  assert.equal(call.pendingMarks().length, 0, "every mark was echoed after its audio played");
  assert.deepEqual(call.protocolErrors, []);
});

async function bargeIn(streaming: boolean) {
  await using h = await BridgeHarness.start();
  const call = await h.call();
  const session = await h.realtime.nextSession();
  await session.waitFor("session.update");
  const response = session.beginResponse();
  if (streaming) {
    // Real-time streaming: 100 ms of audio every 100 ms.
    for (let i = 0; i < 6; i++) {
      response.audio(audioBytes(0x31, 100));
      await sleep(100);
    }
  } else {
    response.audio(audioBytes(0x31, 3000)); // one burst, far ahead of playback
    await sleep(650);
  }
  session.speechStarted();
  const clear = await call.waitFor((m) => m.event === "clear");
  assert.ok(clear);
  const heard = call.playedMs(0x31);
  const truncate = await session.waitFor("conversation.item.truncate");
  assert.equal(truncate.item_id, response.itemId);
  assert.equal(truncate.content_index, 0);
  assert.ok(Number.isInteger(truncate.audio_end_ms));
  assert.ok(
    Math.abs(truncate.audio_end_ms - heard) <= 20,
    `truncated at ${truncate.audio_end_ms} ms, caller heard ${heard.toFixed(1)} ms`,
  );
  assert.ok(truncate.audio_end_ms <= session.audioMsSent(response.itemId ?? ""));
  assert.deepEqual(session.rejectedTruncates, []);
  // The server cancels the response; deltas still in flight must not reach the caller.
  response.audio(audioBytes(0x32, 200));
  response.cancel();
  await sleep(100);
  assert.equal(
    call.receivedAudioBytes(0x32),
    0,
    "late deltas of the cancelled response are dropped",
  );
  // The next response plays normally.
  const next = session.beginResponse();
  next.audio(audioBytes(0x33, 100));
  next.finish();
  await call.waitFor((m) => m.event === "media" && call.receivedAudioBytes(0x33) > 0);
  assert.deepEqual(session.schemaErrors, []);
  assert.deepEqual(call.protocolErrors, []);
}

Deno.test("barge-in after a burst: clear, then truncate within 20 ms of what the caller heard", async () => {
  await bargeIn(false);
});

Deno.test("barge-in while audio streams in real time: truncate within 20 ms of what was heard", async () => {
  await bargeIn(true);
});

Deno.test("end_call: farewell plays to the end, then the bridge hangs up after the grace period", async () => {
  const hungUp: string[] = [];
  await using h = await BridgeHarness.start({ END_CALL_GRACE_SECONDS: "0.2" }, {
    app: {
      hangUp: (callSid) => {
        hungUp.push(callSid);
        return Promise.resolve();
      },
    },
  });
  const call = await h.call();
  const session = await h.realtime.nextSession();
  await session.waitFor("session.update");
  const r1 = session.beginResponse({ message: false });
  const { callId } = r1.functionCall("end_call", { reason: "caller said goodbye" });
  const output = await session.waitFor("conversation.item.create");
  assert.deepEqual(output.item, {
    type: "function_call_output",
    call_id: callId,
    output: '{"ok":true}',
  });
  r1.finish();
  const farewell = await session.waitFor("response.create");
  assert.match(farewell.response.instructions, /goodbye/);
  const r2 = session.beginResponse();
  r2.audio(audioBytes(0x41, 400));
  // The caller talks over the farewell: nothing is cleared.
  session.speechStarted();
  r2.finish();
  const finishedAt = performance.now();
  await sleep(300);
  assert.equal(call.clearCount, 0, "the farewell cannot be interrupted");
  assert.deepEqual(hungUp, [], "no hang-up before the farewell has played");
  const start = performance.now();
  while (hungUp.length === 0 && performance.now() - start < 2000) await sleep(10);
  assert.deepEqual(hungUp, [call.callSid], "hung up through Twilio REST");
  const elapsed = performance.now() - finishedAt;
  assert.ok(elapsed >= 580, `hang-up ${elapsed.toFixed(0)} ms after the farewell was sent`);
  assert.equal(call.playedMs(0x41), 400, "the whole farewell was heard");
  await call.hangUp();
  const [summary] = await h.waitForFinished(1);
  assert.equal(summary.outcome, "assistant_ended");
  assert.deepEqual(session.schemaErrors, []);
});

Deno.test("end_call without Twilio credentials hangs up by closing the media stream", async () => {
  await using h = await BridgeHarness.start({ END_CALL_GRACE_SECONDS: "0" });
  const call = await h.call();
  const session = await h.realtime.nextSession();
  await session.waitFor("session.update");
  const r1 = session.beginResponse({ message: false });
  r1.functionCall("end_call", {});
  r1.finish();
  await session.waitFor("response.create");
  const r2 = session.beginResponse();
  r2.audio(audioBytes(0x42, 200));
  r2.finish();
  const closed = await call.closed;
  assert.equal(closed.code, 1000);
  assert.equal(call.playedMs(0x42), 200);
  const twiml = await h.callEnded(call.callSid);
  assert.equal(
    twiml,
    '<?xml version="1.0" encoding="UTF-8"?><Response><Hangup/></Response>',
  );
});

Deno.test("the caller hanging up closes the OpenAI session within 1 s", async () => {
  await using h = await BridgeHarness.start();
  const call = await h.call();
  const session = await h.realtime.nextSession();
  await session.waitFor("session.update");
  const t0 = performance.now();
  await call.hangUp();
  await session.closed;
  assert.ok(performance.now() - t0 < 1000);
  const [summary] = await h.waitForFinished(1);
  assert.equal(summary.outcome, "caller_hung_up");
});

Deno.test("OpenAI refusing the connection: the bridge retries, then ends the stream so Twilio plays the apology", async () => {
  // 503, an outage: retried (a 401/403, the key, is not; see openai_auth_failure_test.ts).
  await using h = await BridgeHarness.start({ REALTIME_RECONNECT_SECONDS: "1" }, {
    realtime: { mode: "refuse_http", refuseStatus: 503 },
  });
  const t0 = performance.now();
  const call = await h.call();
  const closed = await call.closed;
  const elapsed = performance.now() - t0;
  assert.equal(closed.code, 1011);
  assert.ok(h.realtime.refused.length >= 3, `retried (${h.realtime.refused.length} attempts)`);
  assert.ok(elapsed >= 900 && elapsed < 3000, `gave up after ${Math.round(elapsed)} ms`);
  const [summary] = await h.waitForFinished(1);
  assert.equal(summary.outcome, "openai_error");
  const twiml = await h.callEnded(call.callSid);
  assert.match(twiml, /<Say>Sorry, [^<]+<\/Say><Hangup\/>/);
});

Deno.test("OpenAI dropping the session mid-call with reconnects off ends the stream (apology), not silence", async () => {
  await using h = await BridgeHarness.start({ REALTIME_RECONNECT_SECONDS: "0" });
  const call = await h.call();
  const session = await h.realtime.nextSession();
  await session.waitFor("session.update");
  await session.close(1011, "server error");
  const closed = await call.closed;
  assert.equal(closed.code, 1011);
  const [summary] = await h.waitForFinished(1);
  assert.equal(summary.outcome, "openai_error");
  assert.equal(h.realtime.sessions.length, 1, "no reconnect when REALTIME_RECONNECT_SECONDS=0");
});

Deno.test("OpenAI dropping the session mid-call: the bridge reconnects and the call goes on", async () => {
  await using h = await BridgeHarness.start();
  const call = await h.call();
  const session = await h.realtime.nextSession();
  await session.waitFor("session.update");
  await session.close(1011, "server error");
  const next = await h.realtime.nextSession(3000);
  await next.waitFor("session.update");
  const r = next.beginResponse();
  r.audio(audioBytes(0x53, 40));
  await call.waitFor(() => call.receivedAudioBytes(0x53) === 320);
  assert.equal(call.isOpen, true);
  assert.deepEqual(next.schemaErrors, []);
});

Deno.test("a non-fatal OpenAI error event does not end the call", async () => {
  await using h = await BridgeHarness.start();
  const call = await h.call();
  const session = await h.realtime.nextSession();
  await session.waitFor("session.update");
  session.sendError("invalid_value", "Something was off.", "x");
  await sleep(50);
  assert.equal(call.isOpen, true);
  const r = session.beginResponse();
  r.audio(audioBytes(0x51, 40));
  await call.waitFor(() => call.receivedAudioBytes(0x51) === 320);
});

Deno.test("two calls run side by side without mixing audio", async () => {
  await using h = await BridgeHarness.start();
  const a = await h.call();
  const sa = await h.realtime.nextSession();
  const b = await h.call();
  const sb = await h.realtime.nextSession();
  await sa.waitFor("session.update");
  await sb.waitFor("session.update");
  a.sendFrames(3, 0x0a);
  b.sendFrames(2, 0x0b);
  const ra = sa.beginResponse();
  const rb = sb.beginResponse();
  ra.audio(audioBytes(0x61, 50));
  rb.audio(audioBytes(0x62, 50));
  await a.waitFor(() => a.receivedAudioBytes(0x61) === 400);
  await b.waitFor(() => b.receivedAudioBytes(0x62) === 400);
  assert.equal(a.receivedAudioBytes(0x62), 0);
  assert.equal(b.receivedAudioBytes(0x61), 0);
  const start = performance.now();
  while (
    (sa.inputAudio.chunks.length < 3 || sb.inputAudio.chunks.length < 2) &&
    performance.now() - start < 1000
  ) {
    await sleep(10);
  }
  assert.equal(sa.inputAudio.bytes, 3 * 160);
  assert.equal(sb.inputAudio.bytes, 2 * 160);
});

Deno.test("transfer_call (cold): the caller hears the handover sentence, then /call-ended dials the staff number with a <Dial action>", async () => {
  await using h = await BridgeHarness.start({
    TRANSFER_NUMBER: "+14155550199",
    END_CALL_GRACE_SECONDS: "0",
  });
  const call = await h.call();
  const session = await h.realtime.nextSession();
  const update = await session.waitFor("session.update");
  assert.deepEqual(
    update.session.tools.map((t: { name: string }) => t.name),
    ["end_call", "transfer_call"],
  );
  const r1 = session.beginResponse({ message: false });
  r1.functionCall("transfer_call", { reason: "billing question" });
  r1.finish();
  const handover = await session.waitFor("response.create");
  assert.match(handover.response.instructions, /transferring/);
  const r2 = session.beginResponse();
  r2.audio(audioBytes(0x46, 250));
  r2.finish();
  const closed = await call.closed;
  assert.equal(closed.code, 1000);
  assert.equal(
    call.playedMs(0x46),
    250,
    "the handover sentence played in full before the stream closed",
  );
  const twiml = await h.callEnded(call.callSid);
  // The first destination rings 20 s; the <Dial action> gets the next one or the way back.
  assert.match(
    twiml,
    /^<\?xml version="1\.0" encoding="UTF-8"\?><Response><Dial timeout="20" action="http:\/\/127\.0\.0\.1\/transfer\/dial-ended\?t=c1\.0\.\.[A-Za-z0-9_-]{43}" method="POST"><Number>\+14155550199<\/Number><\/Dial><\/Response>$/,
  );
  const [summary] = await h.waitForFinished(1);
  assert.equal(summary.outcome, "transferred");
  assert.deepEqual(session.schemaErrors, []);
});

Deno.test("harness: an OpenAI slow to answer (1.3 s) puts no waiting sound in the call unless a test turns it on", async () => {
  // The waiting sound starts after 1 s of wall-clock time without a session. On busy cores the
  // in-process connect can take that long, and the sound's bytes then counted as scripted audio.
  for (const [env, expectSound] of [[{}, false], [{ WAITING_SOUND: "on" }, true]] as const) {
    await using h = await BridgeHarness.start(env, { realtime: { answerDelayMs: 1300 } });
    const call = await h.call();
    const session = await h.realtime.nextSession(4000);
    await session.waitFor("session.update");
    assert.equal(call.receivedAudioBytes() > 0, expectSound, JSON.stringify(env));
    await call.hangUp();
  }
});
