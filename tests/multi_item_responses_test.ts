/**
 * Responses with several output items (issue 11): a reasoning model speaks a
 * preamble item, then the answer, in one response; or it returns several
 * function calls at once. Driven message by message through the core, with a
 * simulated Twilio play-out.
 */
import assert from "node:assert/strict";
import { CoreDriver, PlayoutSimulator } from "./support/core_driver.ts";
import { deliver, tick } from "./support/playout_driving.ts";

const PREAMBLE = 0x11;
const ANSWER = 0x22;

/** Bytes of each value the core sent to Twilio as media, in order of first appearance. */
function mediaValues(d: CoreDriver): number[] {
  const values: number[] = [];
  for (const m of d.sentToTwilio()) {
    if (m.event !== "media") continue;
    const value = atob((m.media as { payload: string }).payload).charCodeAt(0);
    if (values.at(-1) !== value) values.push(value);
  }
  return values;
}

Deno.test("preamble and answer of one response are both forwarded to the caller, in order", () => {
  const d = new CoreDriver({ greeting: undefined });
  const sim = new PlayoutSimulator();
  d.startCall();
  d.responseCreated("resp_1");
  for (let i = 0; i < 5; i++) deliver(d, sim, d.delta("resp_1", "item_pre", 60, PREAMBLE));
  deliver(d, sim, d.audioDone("resp_1", "item_pre"));
  for (let i = 0; i < 8; i++) deliver(d, sim, d.delta("resp_1", "item_ans", 60, ANSWER));
  deliver(d, sim, d.audioDone("resp_1", "item_ans"));
  deliver(d, sim, d.responseDone("resp_1"));
  tick(d, sim, 1000);
  assert.deepEqual(mediaValues(d), [PREAMBLE, ANSWER]);
  assert.equal(sim.playedMs(PREAMBLE), 300);
  assert.equal(sim.playedMs(ANSWER), 480);
  // Both items are turns of the conversation (replayed after a session switch).
  const items = d.core.conversation.entries.filter((e) => e.kind === "assistant");
  assert.deepEqual(items.map((e) => e.kind === "assistant" && e.itemId), ["item_pre", "item_ans"]);
});

Deno.test("barge-in inside the answer truncates the answer at its own heard ms, not the preamble", () => {
  const d = new CoreDriver({ greeting: undefined });
  const sim = new PlayoutSimulator();
  d.startCall();
  d.responseCreated("resp_1");
  // The whole response arrives in a burst: 300 ms of preamble, then 1 s of answer.
  for (let i = 0; i < 5; i++) deliver(d, sim, d.delta("resp_1", "item_pre", 60, PREAMBLE));
  deliver(d, sim, d.audioDone("resp_1", "item_pre"));
  for (let i = 0; i < 10; i++) deliver(d, sim, d.delta("resp_1", "item_ans", 100, ANSWER));
  // The caller speaks 450 ms in: the whole preamble and 150 ms of the answer were heard.
  tick(d, sim, 450);
  const out = d.speechStarted();
  deliver(d, sim, out);
  assert.equal(sim.playedMs(PREAMBLE), 300);
  const heard = sim.playedMs(ANSWER);
  const sent = d.sentToOpenAI(out);
  assert.deepEqual(sent.map((e) => e.type), ["conversation.item.truncate"]);
  assert.equal(sent[0].item_id, "item_ans");
  assert.ok(Math.abs((sent[0].audio_end_ms as number) - heard) <= 20, `${heard} ms heard`);
  assert.deepEqual(d.sentToTwilio(out).map((m) => m.event), ["clear"]);
  // The rest of the answer and any further item of the response are dropped.
  assert.deepEqual(d.sentToTwilio(d.delta("resp_1", "item_ans", 100, ANSWER)), []);
  assert.deepEqual(d.sentToTwilio(d.delta("resp_1", "item_more", 100, 0x33)), []);
  assert.equal(d.core.stats.droppedLateDeltas, 2);
});

Deno.test("barge-in inside the preamble truncates the preamble and the queued answer at 0", () => {
  const d = new CoreDriver({ greeting: undefined });
  const sim = new PlayoutSimulator();
  d.startCall();
  d.responseCreated("resp_1");
  for (let i = 0; i < 5; i++) deliver(d, sim, d.delta("resp_1", "item_pre", 100, PREAMBLE));
  deliver(d, sim, d.audioDone("resp_1", "item_pre"));
  for (let i = 0; i < 5; i++) deliver(d, sim, d.delta("resp_1", "item_ans", 100, ANSWER));
  tick(d, sim, 200);
  const sent = d.sentToOpenAI(d.speechStarted());
  assert.deepEqual(sent.map((e) => [e.item_id, e.audio_end_ms]), [["item_pre", 200], [
    "item_ans",
    0,
  ]]);
});

Deno.test("two function calls of one response run in parallel; one response.create follows both outputs", () => {
  const d = new CoreDriver({ greeting: undefined, customTools: ["lookup", "weather"] });
  d.startCall();
  d.responseCreated("resp_1");
  const first = d.functionCall("resp_1", "call_a", "lookup", '{"id":"7"}');
  const second = d.functionCall("resp_1", "call_b", "weather", '{"city":"Oslo"}');
  // Both run at once, before either finishes.
  assert.deepEqual(
    [...first, ...second].filter((c) => c.type === "run_tool").map((c) =>
      c.type === "run_tool" && c.name
    ),
    ["lookup", "weather"],
  );
  assert.deepEqual(d.sentToOpenAI(d.responseDone("resp_1")), []);
  // The second tool answers first: its output goes, but no response yet.
  const b = d.sentToOpenAI(d.toolResult("call_b", { c: 4 }));
  assert.deepEqual(b.map((e) => e.type), ["conversation.item.create"]);
  const a = d.sentToOpenAI(d.toolResult("call_a", { ok: 1 }));
  assert.deepEqual(a.map((e) => e.type), ["conversation.item.create", "response.create"]);
  assert.equal((a[0].item as { call_id: string }).call_id, "call_a");
  // A late duplicate result changes nothing.
  assert.deepEqual(d.toolResult("call_a", {}), []);
  const creates = d.sentToOpenAI().filter((e) => e.type === "response.create");
  assert.equal(creates.length, 1);
});

Deno.test("end_call beside a running tool: the farewell waits for the tool's output, then goes", () => {
  const d = new CoreDriver({ greeting: undefined, customTools: ["lookup"] });
  d.startCall();
  d.responseCreated("resp_1");
  d.functionCall("resp_1", "call_a", "lookup");
  d.functionCall("resp_1", "call_end", "end_call", '{"reason":"done"}');
  assert.deepEqual(
    d.sentToOpenAI(d.responseDone("resp_1")).filter((e) => e.type === "response.create"),
    [],
  );
  const out = d.sentToOpenAI(d.toolResult("call_a", {}));
  const farewell = out.filter((e) => e.type === "response.create");
  assert.equal(farewell.length, 1);
  assert.equal((farewell[0].response as { tool_choice: string }).tool_choice, "none");
});
