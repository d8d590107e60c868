import assert from "node:assert/strict";
import type { CallCommand } from "../src/core/call_types.ts";
import { buildReplayEvents, reconnectDelayMs } from "../src/core/session_replay.ts";
import { encodeClientEvent } from "../src/openai/client_events.ts";
import {
  audioB64,
  CoreDriver,
  PlayoutSimulator,
  sentToOpenAI,
  SESSION_UPDATE,
} from "./support/core_driver.ts";

/** Events sent to the OpenAI socket of `generation`. */
function sentTo(commands: CallCommand[], generation: number): Record<string, unknown>[] {
  return sentToOpenAI(commands, generation);
}

function userTurn(d: CoreDriver, itemId: string, transcript: string, generation = 1): void {
  d.committed(itemId, { generation });
  d.transcriptionCompleted(itemId, transcript, { generation });
}

function assistantTurn(d: CoreDriver, responseId: string, itemId: string, transcript: string) {
  d.responseCreated(responseId);
  d.delta(responseId, itemId, 100, 0x21);
  d.audioDone(responseId, itemId);
  d.outputTranscriptDone(responseId, itemId, transcript);
  d.responseDone(responseId);
}

Deno.test("the core opens the first session itself when the call begins", () => {
  const d = new CoreDriver();
  const out = d.begin();
  assert.deepEqual(out.filter((c) => c.type === "open_openai"), [
    { type: "open_openai", generation: 1 },
  ]);
});

Deno.test("renewal: new session configured at once, switched at the turn boundary with the conversation replayed", () => {
  const d = new CoreDriver({ renewAfterMs: 1000 });
  const sim = new PlayoutSimulator();
  d.startCall();
  userTurn(d, "item_u1", "Do you sell bikes?");
  assistantTurn(d, "resp_1", "item_a1", "Yes, we do.");
  for (const name of sim.accept(d.sentToTwilio(), d.now)) d.mark(name);

  const renew = d.advance(1000);
  assert.deepEqual(renew.filter((c) => c.type === "open_openai"), [
    { type: "open_openai", generation: 2 },
  ]);
  // The caller is talking and a response is on its way: no switch yet.
  d.speechStarted();
  const opened = d.openaiOpen(2);
  assert.deepEqual(sentTo(opened, 2), [SESSION_UPDATE]);
  assert.equal(opened.some((c) => c.type === "close_openai"), false);
  const during = d.media(audioB64(20, 7));
  assert.deepEqual(sentTo(during, 1).map((e) => e.type), ["input_audio_buffer.append"]);

  // Turn ends: the next input after the boundary switches.
  d.speechStopped({ audioEndMs: 500, itemId: "item_u2" });
  const switched = d.commands.slice(-8);
  const replay = sentTo(switched, 2);
  assert.deepEqual(replay, [
    {
      type: "conversation.item.create",
      item: {
        type: "message",
        role: "user",
        content: [{ type: "input_text", text: "Do you sell bikes?" }],
      },
    },
    {
      type: "conversation.item.create",
      item: {
        type: "message",
        role: "assistant",
        content: [{ type: "output_text", text: "Yes, we do." }],
      },
    },
  ]);
  assert.deepEqual(switched.filter((c) => c.type === "close_openai"), [
    { type: "close_openai", generation: 1, code: 1000, reason: "session renewed" },
  ]);
  assert.equal(d.timers.get("session_renew"), d.now + 1000, "the next renewal is scheduled");
  // Caller audio now goes to the new session; late events of the old one are ignored.
  const after = d.media(audioB64(20, 8));
  assert.deepEqual(sentTo(after, 2), [{
    type: "input_audio_buffer.append",
    audio: audioB64(20, 8),
  }]);
  const late = d.delta("r", "i", 20, 0x55, { generation: 1 });
  assert.deepEqual(d.sentToTwilio(late), []);
  assert.deepEqual(
    d.openaiClosed({ code: 1000, opened: true, generation: 1 }),
    [],
  );
  assert.equal(d.core.stats.sessionRenewals, 1);
});

Deno.test("renewal switches anyway after the bounded wait", () => {
  const d = new CoreDriver({ renewAfterMs: 1000, switchWaitMs: 5000 });
  d.startCall();
  d.advance(1000);
  d.speechStarted(); // the caller never stops talking
  d.openaiOpen(2);
  const speech = audioB64(20, 5);
  d.media(speech);
  assert.equal(d.commands.some((c) => c.type === "close_openai"), false);
  const forced = d.advance(5000);
  assert.deepEqual(forced.filter((c) => c.type === "close_openai").map((c) => c.type), [
    "close_openai",
  ]);
  // The turn in progress is sent again to the new session, so it hears all of it.
  assert.deepEqual(sentTo(forced, 2).map((e) => e.audio), [speech]);
  assert.deepEqual(sentTo(d.media(), 2).map((e) => e.type), ["input_audio_buffer.append"]);
});

Deno.test("reconnect: caller audio is queued while no session is open and sent after the replay", () => {
  const d = new CoreDriver({ reconnectWindowMs: 5000 });
  d.startCall();
  userTurn(d, "item_u1", "Hello?");
  // The caller has started a new turn when the session drops: it goes down with it.
  const unfinished = audioB64(20, 9);
  assert.equal(sentTo(d.media(unfinished), 1).length, 1);
  d.openaiClosed({ code: 1011, reason: "error", opened: true });
  const frames = [audioB64(20, 1), audioB64(20, 2), audioB64(20, 3)];
  for (const f of frames) assert.deepEqual(d.media(f).filter((c) => c.type === "to_openai"), []);
  // The first attempt fails; the retry opens after the backoff.
  const failed = d.openaiClosed({ code: 1006, opened: false, generation: 2 });
  assert.equal(failed.some((c) => c.type === "finish"), false);
  const retry = d.advance(reconnectDelayMs(2));
  assert.deepEqual(retry.filter((c) => c.type === "open_openai"), [
    { type: "open_openai", generation: 3 },
  ]);
  const sent = sentTo(d.openaiOpen(3), 3);
  assert.deepEqual(sent.map((e) => e.type), [
    "session.update",
    "conversation.item.create",
    "input_audio_buffer.append",
    "input_audio_buffer.append",
    "input_audio_buffer.append",
    "input_audio_buffer.append",
    "response.create", // "Hello?" had not been answered yet
  ]);
  assert.deepEqual(sent.slice(2, -1).map((e) => e.audio), [unfinished, ...frames]);
  assert.equal(d.timers.has("reconnect_deadline"), false);
  assert.equal(d.core.stats.reconnects, 1);
});

Deno.test("a tool result that arrives while reconnecting is replayed and answered on the new session", () => {
  const d = new CoreDriver({ customTools: ["lookup"] });
  d.startCall();
  d.responseCreated("resp_1");
  d.functionCall("resp_1", "call_1", "lookup");
  d.responseDone("resp_1");
  d.openaiClosed({ code: 1001, reason: "expired", opened: true });
  d.toolResult("call_1", { open: true });
  const sent = sentTo(d.openaiOpen(2), 2);
  assert.deepEqual(sent.map((e) => [e.type, (e.item as { type?: string } | undefined)?.type]), [
    ["session.update", undefined],
    ["conversation.item.create", "function_call"],
    ["conversation.item.create", "function_call_output"],
    ["response.create", undefined],
  ]);
});

Deno.test("drain: the assistant says a short goodbye, then the call hangs up", () => {
  const d = new CoreDriver({ endCallGraceMs: 500 });
  const sim = new PlayoutSimulator();
  d.startCall();
  const out = d.drain();
  const sent = d.sentToOpenAI(out);
  assert.deepEqual(sent.map((e) => e.type), ["input_audio_buffer.clear", "response.create"]);
  const response = sent[1].response as { instructions: string; tool_choice: string };
  assert.match(response.instructions, /goodbye/);
  assert.equal(response.tool_choice, "none");
  d.responseCreated("resp_bye");
  const audio = [
    ...d.delta("resp_bye", "item_bye", 200, 0x44),
    ...d.audioDone("resp_bye", "item_bye"),
  ];
  let echoes = sim.accept(d.sentToTwilio(audio), d.now);
  echoes.push(...sim.accept(d.sentToTwilio(d.responseDone("resp_bye")), d.now));
  assert.equal(d.core.finished, false);
  d.advance(200);
  echoes = [...echoes, ...sim.advanceTo(d.now)];
  for (const name of echoes) d.mark(name);
  assert.equal(sim.playedMs(0x44), 200, "the caller heard the whole goodbye");
  const end = d.advance(500);
  const finish = end.find((c) => c.type === "finish");
  assert.equal(finish?.type === "finish" && finish.action, "hang_up");
});

Deno.test("drain before the stream started, or immediate, ends the call at once", () => {
  const a = new CoreDriver();
  a.begin();
  assert.ok(a.drain().some((c) => c.type === "finish"));
  const b = new CoreDriver();
  b.startCall();
  const out = b.drain({ immediate: true });
  const finish = out.find((c) => c.type === "finish");
  assert.equal(finish?.type === "finish" && finish.action, "hang_up");
});

Deno.test("replay: untranscribed turns are skipped, limits keep the newest, outputs never lead", () => {
  const events = buildReplayEvents([
    { kind: "function_call", callId: "c0", name: "lookup", arguments: "{}", at: 0 },
    { kind: "function_call_output", callId: "c0", output: '{"a":1}', at: 1 },
    { kind: "user", itemId: "u1", transcript: undefined, at: 2 },
    { kind: "user", itemId: "u2", transcript: "  Hi  ", at: 3 },
    {
      kind: "assistant",
      itemId: "a1",
      responseId: "r",
      transcript: "",
      heardMs: 0,
      at: 4,
    },
  ]).map((e) => JSON.parse(encodeClientEvent(e)).item);
  assert.deepEqual(events.map((i) => i.type), ["function_call", "function_call_output", "message"]);
  assert.equal(events[2].content[0].text, "Hi");
  const cut = buildReplayEvents([
    { kind: "function_call", callId: "c0", name: "lookup", arguments: "{}", at: 0 },
    { kind: "function_call_output", callId: "c0", output: '{"a":1}', at: 1 },
    { kind: "user", itemId: "u2", transcript: "Hi", at: 3 },
  ], { maxItems: 2 }).map((e) => JSON.parse(encodeClientEvent(e)).item);
  assert.deepEqual(cut.map((i) => i.type), ["message"], "an output without its call is dropped");
  assert.deepEqual([1, 2, 3, 4, 5, 9].map(reconnectDelayMs), [0, 250, 500, 1000, 2000, 2000]);
});

Deno.test("a barge-in after a reconnect clears Twilio but never truncates an item of the old session", () => {
  const d = new CoreDriver();
  d.startCall();
  d.responseCreated("resp_1");
  d.delta("resp_1", "item_old", 500, 0x21); // still playing when the socket drops
  d.openaiClosed({ code: 1011, reason: "error", opened: true });
  d.openaiOpen(2);
  d.now += 100;
  const out = d.speechStarted({ audioStartMs: 0, itemId: "item_u", generation: 2 });
  assert.deepEqual(d.sentToTwilio(out).map((m) => m.event), ["clear"]);
  assert.deepEqual(
    d.sentToOpenAI(out).filter((e) => e.type === "conversation.item.truncate"),
    [],
    "the new session does not know item_old",
  );
});

Deno.test("a goodbye (drain or end_call) abandons a renewal in progress", () => {
  const d = new CoreDriver({ renewAfterMs: 1000, switchWaitMs: 2000 });
  d.startCall();
  d.advance(1000);
  d.responseCreated("resp_long"); // not at a boundary: the switch waits
  d.openaiOpen(2);
  const out = d.drain();
  assert.deepEqual(out.filter((c) => c.type === "close_openai"), [
    { type: "close_openai", generation: 2, code: 1000, reason: "call ending" },
  ]);
  assert.deepEqual(sentTo(out, 1).map((e) => e.type), ["input_audio_buffer.clear"]);
  // The farewell is requested on the current session once the active response is done.
  assert.deepEqual(sentTo(d.responseDone("resp_long"), 1).map((e) => e.type), ["response.create"]);
  assert.equal(d.advance(5000).some((c) => c.type === "close_openai"), false, "no late switch");
});

Deno.test("renewal does not switch between the caller's turn and the answer to it", () => {
  const d = new CoreDriver({ renewAfterMs: 1000 });
  d.startCall();
  d.advance(1000);
  // The caller finished a turn: the old session is about to answer it, so no switch yet.
  d.committed("item_q");
  d.openaiOpen(2);
  d.advance(100);
  d.media();
  assert.equal(d.commands.filter((c) => c.type === "close_openai").length, 0);
  d.transcriptionCompleted("item_q", "Can I book a table?");
  assistantTurn(d, "resp_1", "item_a", "Of course, for when?");
  d.advance(200); // the answer has played
  const out = d.media();
  assert.deepEqual(out.filter((c) => c.type === "close_openai").map((c) => c.type), [
    "close_openai",
  ]);
  assert.deepEqual(
    sentTo(out, 2).filter((e) => e.type === "conversation.item.create").map((e) =>
      (e.item as { content: { text: string }[] }).content[0].text
    ),
    ["Can I book a table?", "Of course, for when?"],
  );
});

Deno.test("a drop right after the caller's turn: its audio is sent again, or its words replayed and answered", () => {
  // Not transcribed yet: the new session hears the turn again (its VAD answers it).
  const a = new CoreDriver();
  a.startCall();
  const turn = [audioB64(20, 1), audioB64(20, 2)];
  for (const f of turn) a.media(f);
  a.committed("item_q");
  const after = audioB64(20, 3);
  a.media(after);
  a.openaiClosed({ code: 1006, opened: true });
  const sentA = sentTo(a.openaiOpen(2), 2);
  assert.deepEqual(sentA.map((e) => e.type), [
    "session.update",
    "input_audio_buffer.append",
    "input_audio_buffer.append",
    "input_audio_buffer.append",
  ]);
  assert.deepEqual(sentA.slice(1).map((e) => e.audio), [...turn, after]);

  // Transcribed: the replay carries the words and the new session is asked to answer.
  const b = new CoreDriver();
  b.startCall();
  b.media(audioB64(20, 1));
  userTurn(b, "item_q", "Is the shop open today?");
  b.openaiClosed({ code: 1006, opened: true });
  const sentB = sentTo(b.openaiOpen(2), 2);
  assert.deepEqual(sentB.map((e) => e.type), [
    "session.update",
    "conversation.item.create",
    "response.create",
  ]);
});
