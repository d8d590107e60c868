/**
 * The audio deltas of both engines are checked as base64 when parsed (the
 * encoder of Twilio's `media` writes them as they are): a delta that is not
 * is a malformed event, which the bridge ignores like the others.
 */
import assert from "node:assert/strict";
import { parseServerEvent } from "../src/openai/server_events.ts";
import { parseLiveEvent } from "../src/openai/live_events.ts";

const REALTIME_DELTA = (delta: string) =>
  JSON.stringify({
    type: "response.output_audio.delta",
    event_id: "event_1",
    response_id: "resp_1",
    item_id: "item_1",
    output_index: 0,
    content_index: 0,
    delta,
  });
const LIVE_DELTA = (delta: string) => JSON.stringify({ type: "session.output_audio.delta", delta });

Deno.test("a Realtime audio delta that is not base64 is a malformed event", () => {
  assert.equal(parseServerEvent(REALTIME_DELTA("f39/fw==")).ok, true);
  for (const delta of ['f39/"}', "f39/fw=\\", "f39 fw==", "f39/f"]) {
    assert.deepEqual(parseServerEvent(REALTIME_DELTA(delta)), {
      ok: false,
      error: "OpenAI event response.output_audio.delta has a delta that is not base64.",
    });
  }
});

Deno.test("a GPT-Live audio delta that is not base64 is a malformed event", () => {
  assert.equal(parseLiveEvent(LIVE_DELTA("f39/fw==")).ok, true);
  assert.deepEqual(parseLiveEvent(LIVE_DELTA('f39/"}')), {
    ok: false,
    error: "GPT-Live event session.output_audio.delta has a delta that is not base64.",
  });
});
