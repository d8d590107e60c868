/**
 * A dead media stream (STREAM_SILENCE_SECONDS): Twilio sends the caller's
 * audio every 20 ms, silence included, so a stream that sends nothing at all
 * is gone. Over real sockets: the bridge ends such a call as `stream_lost`
 * (which another instance may resume) instead of waiting for WebSocket pings,
 * and a peer too dead to answer the close does not hold the call open.
 */
import assert from "node:assert/strict";
import { RawWebSocket } from "../src/fake_peers/raw_ws_client.ts";
import { BridgeHarness, sleep } from "./support/bridge_harness.ts";

const STREAM_SID = "MZ00000000000000000000000000000077";
const CALL_SID = "CA00000000000000000000000000000077";

Deno.test("a stream that keeps sending stays up; one that falls silent is lost and closed with 1001", async () => {
  await using h = await BridgeHarness.start({ STREAM_SILENCE_SECONDS: "1" });
  const call = await h.call();
  // 1.6 s of audio, longer than the bound: every frame resets the clock.
  await call.speak(1600);
  assert.equal(h.finished.length, 0, "a stream that sends audio is not lost");
  assert.equal(call.isOpen, true);
  // Then nothing at all: about 1 s after the last frame the bridge gives the stream up.
  const silentFrom = performance.now();
  const [summary] = await h.waitForFinished(1, 5000);
  const after = performance.now() - silentFrom;
  assert.equal(summary.outcome, "stream_lost");
  assert.equal(summary.reason, "No message from Twilio for 1 s.");
  assert.ok(after >= 900 && after < 3000, `lost after ${Math.round(after)} ms of silence`);
  const closed = await call.closed;
  assert.deepEqual(closed, { code: 1001, reason: "media stream silent" });
});

Deno.test("a dead peer that never answers the close still lets the call end (bounded close)", async () => {
  await using h = await BridgeHarness.start({ STREAM_SILENCE_SECONDS: "1" });
  // A connection that sends `start` and then neither sends nor reads: what a dead TCP
  // connection looks like from the server (no FIN, no close frame, no answer to ours).
  const twilio = await RawWebSocket.connect(h.mediaStreamUrl, { read: false });
  try {
    twilio.send('{"event":"connected","protocol":"Call","version":"1.0.0"}');
    twilio.send(JSON.stringify({
      event: "start",
      streamSid: STREAM_SID,
      start: {
        streamSid: STREAM_SID,
        callSid: CALL_SID,
        accountSid: "AC00000000000000000000000000000001",
        mediaFormat: { encoding: "audio/x-mulaw", sampleRate: 8000, channels: 1 },
      },
    }));
    // 1 s of silence, then at most 5 s for a close that never comes.
    const [summary] = await h.waitForFinished(1, 9000);
    assert.equal(summary.outcome, "stream_lost");
    assert.equal(summary.callSid, CALL_SID);
  } finally {
    twilio.abort();
    await sleep(50);
  }
});
