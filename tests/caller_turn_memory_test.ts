/**
 * How much caller audio a call keeps for a reconnect: while the caller is
 * silent only the last second (what the VAD's detection delay and prefix
 * padding need), during a turn up to 5 s. What the new session receives after
 * a drop shows it: the frames sent again, in order.
 */
import assert from "node:assert/strict";
import { audioB64, CoreDriver, sentToOpenAI } from "./support/core_driver.ts";

/** Frame `i`: 20 ms of one byte value, so frames can be told apart and their order checked. */
function frame(i: number): string {
  return audioB64(20, i % 251);
}

/** Sends frames `from` … `to - 1`. */
function sendFrames(d: CoreDriver, from: number, to: number): void {
  for (let i = from; i < to; i++) d.media(frame(i));
}

/** Drops the session and opens the next one; returns the audio it was sent. */
function resentAfterDrop(d: CoreDriver): string[] {
  d.input({ type: "openai_closed", code: 1006, reason: "", opened: true });
  const sent = sentToOpenAI(d.input({ type: "openai_open", generation: 2 }), 2);
  return sent.filter((e) => e.type === "input_audio_buffer.append").map((e) => String(e.audio));
}

function frames(from: number, to: number): string[] {
  return Array.from({ length: to - from }, (_, k) => frame(from + k));
}

Deno.test("caller silent when the session drops: only its last second is sent again", () => {
  const d = new CoreDriver({ reconnectWindowMs: 5000 });
  d.startCall();
  sendFrames(d, 0, 300); // 6 s of silence, no speech_started
  assert.deepEqual(resentAfterDrop(d), frames(250, 300));
});

Deno.test("caller speaking when the session drops: the second before the speech and all of it go again", () => {
  const d = new CoreDriver({ reconnectWindowMs: 5000 });
  d.startCall();
  sendFrames(d, 0, 100);
  d.speechStarted();
  sendFrames(d, 100, 280); // 3.6 s of speech
  assert.deepEqual(resentAfterDrop(d), frames(50, 280));
});

Deno.test("speech stopped but not committed yet: the turn is kept whole, up to 5 s", () => {
  const d = new CoreDriver({ reconnectWindowMs: 5000 });
  d.startCall();
  sendFrames(d, 0, 60);
  d.speechStarted();
  sendFrames(d, 60, 160);
  d.openai({ type: "input_audio_buffer.speech_stopped" });
  sendFrames(d, 160, 240); // silence before the commit arrives
  assert.deepEqual(resentAfterDrop(d), frames(10, 240));
  // A turn longer than 5 s keeps its last 5 s.
  const long = new CoreDriver({ reconnectWindowMs: 5000 });
  long.startCall();
  long.speechStarted();
  sendFrames(long, 0, 400);
  assert.deepEqual(resentAfterDrop(long), frames(150, 400));
});
