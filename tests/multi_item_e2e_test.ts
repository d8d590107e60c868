/**
 * Responses with several output items over real sockets (issue 11): the fake
 * Realtime server streams a preamble and an answer in one response, or two
 * function calls; the fake Twilio plays what the bridge forwards in real time.
 */
import assert from "node:assert/strict";
import type { ToolDefinition } from "../src/tools/tool_registry.ts";
import { BridgeHarness, sleep } from "./support/bridge_harness.ts";
import { waitUntil } from "./support/wait.ts";

const PREAMBLE = 0x31;
const ANSWER = 0x32;

Deno.test("e2e: preamble and answer of one response both reach the caller, in order", async () => {
  await using h = await BridgeHarness.start();
  const call = await h.call();
  const session = await h.realtime.nextSession();
  await session.waitFor("session.update");
  const scripted = session.respond({
    items: [
      { audioMs: 300, value: PREAMBLE, transcript: "Let me check." },
      { audioMs: 400, value: ANSWER, transcript: "It shipped today." },
    ],
  });
  assert.equal(await scripted.ended, "completed");
  await waitUntil(() => call.playedMs(ANSWER) >= 399, 3000, "the answer played");
  assert.ok(Math.abs(call.playedMs(PREAMBLE) - 300) < 1);
  // The preamble was heard before the answer.
  const order = call.received.filter((m) => m.event === "media").map((m) =>
    atob(m.media.payload).charCodeAt(0)
  );
  assert.equal(order.indexOf(ANSWER), order.lastIndexOf(PREAMBLE) + 1);
  assert.deepEqual(session.schemaErrors, []);
});

Deno.test("e2e: barge-in inside the answer truncates the answer at what was heard; the preamble is kept", async () => {
  await using h = await BridgeHarness.start();
  const call = await h.call();
  const session = await h.realtime.nextSession();
  await session.waitFor("session.update");
  // The whole response arrives in a burst, far ahead of play-out.
  const scripted = session.respond({
    items: [
      { audioMs: 300, value: PREAMBLE, transcript: "Let me check." },
      {
        audioMs: 3000,
        value: ANSWER,
        transcript: "Your order shipped on Monday and arrives soon.",
      },
    ],
  });
  const [, answer] = scripted.itemIds;
  await waitUntil(() => call.playedMs(ANSWER) >= 250, 3000, "the answer is playing");
  session.speechStarted();
  await call.waitFor((m) => m.event === "clear");
  const heard = call.playedMs(ANSWER);
  const truncate = await session.waitFor("conversation.item.truncate");
  assert.equal(truncate.item_id, answer);
  // Exactness is the core's property test (within 20 ms at every pace, simulated clock); here the
  // fake caller keeps playing while the clear crosses the event loop shared by bridge and fakes.
  assert.ok(
    Math.abs(truncate.audio_end_ms - heard) <= 25,
    `truncated at ${truncate.audio_end_ms} ms, the caller heard ${heard} ms`,
  );
  await sleep(200);
  assert.equal(session.receivedOfType("conversation.item.truncate").length, 1, "preamble kept");
  assert.equal(call.playedMs(ANSWER), heard, "playback stopped at the barge-in");
  assert.equal(call.playedMs(PREAMBLE), 300);
  assert.deepEqual(session.schemaErrors, []);
});

Deno.test("e2e: a barge-in while the answer still streams stops the rest of the response", async () => {
  await using h = await BridgeHarness.start();
  const call = await h.call();
  const session = await h.realtime.nextSession();
  await session.waitFor("session.update");
  // Streamed in real time: the answer and a third item are still to come when the caller speaks.
  const scripted = session.respond({
    pace: 100,
    items: [
      { audioMs: 300, value: PREAMBLE },
      { audioMs: 2000, value: ANSWER },
      { audioMs: 500, value: 0x33 },
    ],
  });
  const [, answer] = scripted.itemIds;
  await waitUntil(() => call.playedMs(ANSWER) >= 100, 3000, "the answer is playing");
  session.speechStarted();
  const truncate = await session.waitFor("conversation.item.truncate");
  assert.equal(truncate.item_id, answer);
  assert.equal(await scripted.ended, "cancelled", "the rest of the response is not produced");
  await sleep(300);
  assert.equal(call.receivedAudioBytes(0x33), 0, "the third item never reaches the caller");
  assert.deepEqual(session.schemaErrors, []);
});

Deno.test("e2e: two function calls of one response run in parallel; one response.create follows both outputs", async () => {
  const started: Record<string, number> = {};
  const finished: Record<string, number> = {};
  const tool = (name: string, ms: number): ToolDefinition => ({
    declaration: { type: "function", name, description: name, parameters: { type: "object" } },
    async handler(args) {
      started[name] = performance.now();
      await sleep(ms);
      finished[name] = performance.now();
      return { name, args };
    },
  });
  await using h = await BridgeHarness.start({}, {
    app: { tools: [tool("lookup", 300), tool("weather", 100)] },
  });
  await h.call();
  const session = await h.realtime.nextSession();
  await session.waitFor("session.update");
  const scripted = session.respond({
    items: [
      { functionCall: { name: "lookup", arguments: '{"id":"7"}' } },
      { functionCall: { name: "weather", arguments: '{"city":"Oslo"}' } },
    ],
  });
  await scripted.ended;
  await session.waitFor("response.create");
  await sleep(100);
  // Both ran at once: the second started before the first finished.
  assert.ok(started.weather < finished.lookup && started.lookup < finished.weather);
  const sent = session.received.filter((e) =>
    e.type === "response.create" ||
    (e.type === "conversation.item.create" && e.item.type === "function_call_output")
  );
  const callIds = scripted.items.map((i) => i.callId);
  assert.deepEqual(sent.map((e) => e.type === "response.create" ? "create" : e.item.call_id), [
    callIds[1], // weather answered first
    callIds[0],
    "create",
  ]);
  assert.deepEqual(JSON.parse(sent[1].item.output), { name: "lookup", args: { id: "7" } });
  assert.deepEqual(session.schemaErrors, []);
});
