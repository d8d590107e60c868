import assert from "node:assert/strict";
import type { CallCommand, CallObservation } from "../src/core/call_types.ts";
import { CoreDriver } from "./support/core_driver.ts";

function observed(commands: CallCommand[]): CallObservation[] {
  return commands.flatMap((c) => c.type === "observe" ? [c.event] : []);
}

Deno.test("without observations: true the core emits no observe commands", () => {
  const d = new CoreDriver();
  d.startCall();
  d.responseCreated("resp_1");
  d.delta("resp_1", "item_1", 100);
  d.responseDone("resp_1");
  assert.deepEqual(observed(d.commands), []);
});

Deno.test("the core reports connects, turns, first audio, end of speech, barge-ins, errors and tools", () => {
  const d = new CoreDriver({ observations: true });
  d.startCall();
  assert.deepEqual(observed(d.commands), [{ kind: "openai_connect", ok: true }]);

  d.now = 100;
  assert.deepEqual(observed(d.responseCreated("resp_1")), [
    { kind: "response_started", responseId: "resp_1" },
  ]);
  assert.deepEqual(observed(d.delta("resp_1", "item_1", 500)), [
    { kind: "assistant_audio_started", responseId: "resp_1", itemId: "item_1" },
  ]);
  assert.deepEqual(observed(d.delta("resp_1", "item_1", 500)), [], "once per item");

  d.now = 400;
  assert.deepEqual(observed(d.speechStarted()), [
    { kind: "assistant_truncated", itemId: "item_1", heardMs: 300, sentMs: 1000 },
    { kind: "barge_in", truncates: 1 },
  ]);
  assert.deepEqual(
    observed(d.speechStopped({ audioEndMs: 900, itemId: "item_user" })),
    [{ kind: "caller_speech_stopped" }],
  );
  const usage = {
    input_token_details: { text_tokens: 10, audio_tokens: 5, cached_tokens: 0 },
    output_token_details: { text_tokens: 2, audio_tokens: 7 },
  };
  assert.deepEqual(
    observed(d.responseDone("resp_1", "cancelled", { usage })),
    [{
      kind: "response_done",
      responseId: "resp_1",
      status: "cancelled",
      usage: {
        inputTextTokens: 10,
        inputAudioTokens: 5,
        inputCachedTokens: 0,
        outputTextTokens: 2,
        outputAudioTokens: 7,
      },
    }],
  );
  const error = (code: string, message: string, param: string | null) =>
    observed(d.openaiError({ type: "invalid_request_error", code, message, param, eventId: null }));
  assert.deepEqual(
    error("invalid_value", "Audio content of 250ms is already shorter than 300ms", "audio_end_ms"),
    [{ kind: "openai_error", code: "invalid_value", truncateRejected: true }],
  );
  assert.deepEqual(error("rate_limit_exceeded", "Slow down.", null), [
    { kind: "openai_error", code: "rate_limit_exceeded", truncateRejected: false },
  ]);
  d.responseCreated("resp_2");
  const tool = observed(d.functionCall("resp_2", "call_1", "end_call"));
  assert.deepEqual(tool, [
    { kind: "tool_call", name: "end_call", callId: "call_1", arguments: "{}" },
    // Answered by the core itself, so the live view can close end_call's card.
    {
      kind: "tool_answered",
      name: "end_call",
      callId: "call_1",
      output: '{"ok":true}',
      failed: false,
    },
  ]);
});

Deno.test("an unknown tool is answered by the core with an error, reported as a failed answer", () => {
  const d = new CoreDriver({ observations: true });
  d.startCall();
  d.responseCreated("resp_1");
  assert.deepEqual(observed(d.functionCall("resp_1", "call_9", "launch_rockets")), [
    { kind: "tool_call", name: "launch_rockets", callId: "call_9", arguments: "{}" },
    {
      kind: "tool_answered",
      name: "launch_rockets",
      callId: "call_9",
      output: '{"error":"Unknown tool \\"launch_rockets\\". Do not call it again."}',
      failed: true,
    },
  ]);
});

Deno.test("a failed or timed-out OpenAI connection is reported as a failed connect", () => {
  const refused = new CoreDriver({ observations: true });
  refused.begin();
  const closed = refused.openaiClosed({ code: 1006, opened: false });
  assert.deepEqual(observed(closed), [{ kind: "openai_connect", ok: false }]);

  const slow = new CoreDriver({ observations: true, openaiConnectTimeoutMs: 1000 });
  slow.begin();
  assert.deepEqual(observed(slow.advance(1000)), [{ kind: "openai_connect", ok: false }]);

  const dropped = new CoreDriver({ observations: true });
  dropped.startCall();
  const later = dropped.openaiClosed({ code: 1011, opened: true });
  assert.deepEqual(observed(later), [], "a drop after opening is not a failed connect");
});

Deno.test("the core reports the caller's and the assistant's transcripts", () => {
  const d = new CoreDriver({ observations: true });
  d.startCall();
  d.speechStopped({ audioEndMs: 900, itemId: "item_user" });
  d.committed("item_user");
  assert.deepEqual(observed(d.transcriptionCompleted("item_user", " What are your hours? ")), [
    // The event's usage says 1 s of audio (the builder's default): the turn's length comes along.
    {
      kind: "caller_transcript",
      itemId: "item_user",
      text: "What are your hours?",
      speechMs: 1000,
    },
  ]);
  d.responseCreated("resp_1");
  d.delta("resp_1", "item_a", 200);
  assert.deepEqual(observed(d.outputTranscriptDone("resp_1", "item_a", "Nine to five.")), [
    { kind: "assistant_transcript", itemId: "item_a", responseId: "resp_1", text: "Nine to five." },
  ]);
});

Deno.test("a barge-in reports how much of each cut assistant item the caller heard", () => {
  const d = new CoreDriver({ observations: true });
  d.startCall();
  d.now = 0;
  d.responseCreated("resp_1");
  d.delta("resp_1", "item_a", 2000);
  d.now = 100;
  const cut = observed(d.speechStarted()).filter((o) => o.kind === "assistant_truncated");
  assert.equal(cut.length, 1);
  const [only] = cut;
  assert.ok(only.kind === "assistant_truncated");
  assert.equal(only.itemId, "item_a");
  assert.equal(only.sentMs, 2000);
  assert.ok(only.heardMs < only.sentMs, `heard ${only.heardMs} of ${only.sentMs} ms`);
});
