import assert from "node:assert/strict";
import { ConversationLog } from "../src/core/conversation_log.ts";
import { CoreDriver, PlayoutSimulator } from "./support/core_driver.ts";

Deno.test("the core records turns, transcripts, tool calls and usage as the call goes", () => {
  const d = new CoreDriver();
  d.startCall();
  d.committed("item_u1");
  d.transcriptionCompleted("item_u1", " When are you open? ");
  d.responseCreated("resp_1");
  d.delta("resp_1", "item_a1", 100);
  d.outputTranscriptDone("resp_1", "item_a1", "Nine to five.");
  d.functionCall("resp_1", "call_1", "end_call");
  d.responseDone("resp_1", "completed", {
    usage: {
      input_token_details: { text_tokens: 200, audio_tokens: 50, cached_tokens: 128 },
      output_token_details: { text_tokens: 10, audio_tokens: 40 },
    },
  });
  const log = d.core.conversation;
  assert.deepEqual(log.entries.map((e) => e.kind), [
    "user",
    "assistant",
    "function_call",
    "function_call_output",
  ]);
  assert.equal(log.entries[0].kind === "user" && log.entries[0].transcript, "When are you open?");
  assert.equal(log.entries[1].kind === "assistant" && log.entries[1].transcript, "Nine to five.");
  assert.deepEqual(log.usage, {
    inputTextTokens: 200,
    inputAudioTokens: 50,
    inputCachedTokens: 128,
    outputTextTokens: 10,
    outputAudioTokens: 40,
  });
  assert.equal(log.userTurns, 1);
  assert.equal(log.assistantTurns, 1);
});

Deno.test("a barged-in assistant turn keeps only the part of its transcript that was heard", () => {
  const d = new CoreDriver();
  const sim = new PlayoutSimulator();
  d.startCall();
  d.responseCreated("resp_1");
  sim.accept(d.sentToTwilio(d.delta("resp_1", "item_a1", 1000)), d.now);
  d.advance(500);
  d.speechStarted();
  d.outputTranscriptDone("resp_1", "item_a1", "one two three four five six seven eight nine ten");
  const entry = d.core.conversation.entries[0];
  assert.equal(entry.kind, "assistant");
  if (entry.kind !== "assistant") return;
  assert.equal(entry.heardMs, 500);
  assert.equal(entry.transcript, "one two three four five…");
});

Deno.test("conversation log: transcript cut when the truncate comes after the transcript", () => {
  const log = new ConversationLog();
  log.assistantItem("a", "r", 0);
  log.assistantTranscript("a", "alpha beta gamma delta");
  log.assistantTruncated("a", 0, 1000);
  assert.equal(log.entries[0].kind === "assistant" && log.entries[0].transcript, "");
  log.userItem("u", 1);
  log.userItem("u", 2); // duplicates are ignored
  assert.equal(log.entries.length, 2);
});
