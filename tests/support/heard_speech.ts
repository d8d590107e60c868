/**
 * The assistant speaks on a fake Realtime session and the fake Twilio call
 * plays it out: what tests of resumed or transferred calls need before they
 * check what the conversation says the caller heard.
 *
 * @module
 */
import { audioBytes, type FakeRealtimeSession } from "./fake_realtime.ts";
import type { FakeTwilioCall } from "./fake_twilio.ts";
import { delay, waitUntil } from "./wait.ts";

/**
 * The assistant speaks `words` (100 ms of audio of byte `value`, unique on the
 * call) on `session`; resolves once `call` played all of it and its last mark
 * reached the bridge, which then counts the words as heard.
 */
export async function sayHeard(
  session: FakeRealtimeSession,
  call: FakeTwilioCall,
  value: number,
  words: string,
): Promise<void> {
  const r = session.beginResponse();
  r.audio(audioBytes(value, 100));
  r.transcript(words);
  r.finish();
  await waitUntil(() => call.playedBytes(value) === 800, 5000, "the caller heard it", 20);
  // The play-out's last mark reaches the bridge: it counts the words as heard.
  await delay(100);
}
