/**
 * What the Realtime session of a call's next stream must have received after
 * the callee's keypad prompt was answered with a key (Twilio played the
 * digits between two streams, maybe on two instances): the `send_dtmf` call
 * and the callee's words replayed from the conversation, and no greeting (it
 * is the same call, not a new one).
 *
 * @module
 */
import assert from "node:assert/strict";
import type { FakeRealtimeSession } from "./fake_realtime.ts";

/** Asserts that `session` took the call over after the callee said `prompt` and `digits` were sent. */
export async function assertTakenOverAfterKeys(
  session: FakeRealtimeSession,
  prompt: string,
  digits: string,
): Promise<void> {
  const replayed = await session.waitFor(
    "conversation.item.create",
    (e) => e.item.type === "function_call" && e.item.name === "send_dtmf",
  );
  assert.equal(replayed.item.arguments, JSON.stringify({ digits }));
  const texts = session.receivedOfType("conversation.item.create")
    .map((e) => e.item.content?.[0]?.text).filter(Boolean);
  assert.ok(texts.includes(prompt));
  assert.equal(session.receivedOfType("response.create").length, 0, "no greeting: the same call");
}
