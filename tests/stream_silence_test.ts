/**
 * A dead media stream (STREAM_SILENCE_SECONDS), over real sockets. Twilio
 * normally sends the caller's audio every 20 ms, but not on every call, so a
 * quiet stream is asked with a mark before it is given up: a peer that echoes
 * it stays on the call; one that answers nothing is `stream_lost` (which
 * another instance may resume) instead of waiting minutes for WebSocket pings,
 * and a peer too dead to answer the close does not hold the call open.
 */
import assert from "node:assert/strict";
import { RawWebSocket } from "../src/fake_peers/raw_ws_client.ts";
import { BridgeHarness, sleep } from "./support/bridge_harness.ts";
import { connected, start } from "./support/twilio_stream_messages.ts";

const STREAM_SID = "MZ00000000000000000000000000000077";
const CALL_SID = "CA00000000000000000000000000000077";
const START = JSON.stringify(start({
  sequenceNumber: 1,
  streamSid: STREAM_SID,
  callSid: CALL_SID,
  accountSid: "AC00000000000000000000000000000001",
  customParameters: {},
}));

Deno.test("a stream that sends audio, or falls quiet but echoes the bridge's mark, stays on the call", async () => {
  await using h = await BridgeHarness.start({ STREAM_SILENCE_SECONDS: "1" });
  const call = await h.call();
  // 1.6 s of audio, longer than the bound: every frame resets the clock.
  await call.speak(1600);
  // Then 3.5 s without a frame (a leg that suppresses silence): the bridge asks with a mark
  // after 1 s, the fake Twilio echoes it like Twilio, and the call goes on.
  const marksBefore = call.received.filter((m) => m.event === "mark").length;
  await sleep(3500);
  assert.equal(h.finished.length, 0, "a quiet stream that answers is not lost");
  assert.equal(call.isOpen, true);
  const asked = call.received.filter((m) => m.event === "mark").length - marksBefore;
  assert.ok(asked >= 2, `${asked} marks asked the quiet stream`);
  await call.hangUp();
});

Deno.test("a stream that answers nothing is lost after the bound and the mark's wait, closed with 1001", async () => {
  await using h = await BridgeHarness.start({ STREAM_SILENCE_SECONDS: "1" });
  // A peer that reads (and so completes the close) but never sends after `start`.
  const twilio = await RawWebSocket.connect(h.mediaStreamUrl);
  try {
    twilio.send(JSON.stringify(connected()));
    const startedAt = performance.now();
    twilio.send(START);
    const [summary] = await h.waitForFinished(1, 6000);
    const after = performance.now() - startedAt;
    assert.equal(summary.outcome, "stream_lost");
    assert.equal(summary.reason, "No message from Twilio for 2 s, nor the echo of a mark.");
    // 1 s of silence, the mark, 1 s for its echo (nothing was queued before it).
    assert.ok(after >= 1900 && after < 4000, `lost ${Math.round(after)} ms after start`);
    await twilio.closed;
    assert.deepEqual(twilio.closeInfo, { code: 1001, reason: "media stream silent" });
  } finally {
    twilio.abort();
    await sleep(50);
  }
});

Deno.test("a dead peer that never answers the close still lets the call end (bounded close)", async () => {
  await using h = await BridgeHarness.start({ STREAM_SILENCE_SECONDS: "1" });
  // A connection that sends `start` and then neither sends nor reads: what a dead TCP
  // connection looks like from the server (no FIN, no close frame, no answer to ours).
  const twilio = await RawWebSocket.connect(h.mediaStreamUrl, { read: false });
  try {
    twilio.send(JSON.stringify(connected()));
    twilio.send(START);
    // 1 s of silence, 1 s for the mark's echo, then at most 5 s for a close that never comes.
    const [summary] = await h.waitForFinished(1, 10_000);
    assert.equal(summary.outcome, "stream_lost");
    assert.equal(summary.callSid, CALL_SID);
  } finally {
    twilio.abort();
    await sleep(50);
  }
});
