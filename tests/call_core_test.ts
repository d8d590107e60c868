import assert from "node:assert/strict";
import fc from "fast-check";
import type { CallCommand } from "../src/core/call_types.ts";
import { audioB64, CoreDriver, PlayoutSimulator, STREAM_SID } from "./support/core_driver.ts";
import { bargeInIsExact, deliver, tick } from "./support/playout_driving.ts";

function truncates(d: CoreDriver, commands = d.commands) {
  return d.sentToOpenAI(commands).filter((e) => e.type === "conversation.item.truncate");
}

Deno.test("session.update goes first when OpenAI opens, then queued caller audio in order", () => {
  const d = new CoreDriver({ greeting: undefined });
  d.begin();
  d.connected();
  d.start();
  const frames = [audioB64(20, 1), audioB64(20, 2), audioB64(20, 3)];
  for (const f of frames) assert.deepEqual(d.media(f).filter((c) => c.type === "to_openai"), []);
  const sent = d.sentToOpenAI(d.openaiOpen());
  assert.equal(sent[0].type, "session.update");
  assert.deepEqual(
    sent.slice(1).map((e) => [e.type, e.audio]),
    frames.map((f) => ["input_audio_buffer.append", f]),
  );
  // Later frames go straight through, unchanged.
  const next = d.sentToOpenAI(d.media(frames[0]));
  assert.deepEqual(next, [{ type: "input_audio_buffer.append", audio: frames[0] }]);
});

Deno.test("the assistant greets first once both Twilio start and OpenAI are ready", () => {
  const d = new CoreDriver({ greeting: "Hi, this is Acme." });
  const sent = d.sentToOpenAI(d.startCall());
  assert.equal(sent.length, 2);
  assert.equal(sent[0].type, "session.update");
  assert.equal(sent[1].type, "response.create");
  const response = sent[1].response as { instructions: string; tool_choice: string };
  assert.match(response.instructions, /"Hi, this is Acme\."/);
  assert.equal(response.tool_choice, "none");
});

Deno.test("no greeting when it is turned off", () => {
  const d = new CoreDriver({ greeting: undefined });
  assert.deepEqual(d.sentToOpenAI(d.startCall()).map((e) => e.type), ["session.update"]);
});

Deno.test("assistant audio is forwarded unchanged to Twilio with marks", () => {
  const d = new CoreDriver({ markIntervalMs: 100 });
  d.startCall();
  d.responseCreated("resp_1");
  const out = d.sentToTwilio(d.delta("resp_1", "item_a", 60, 0x11));
  assert.deepEqual(out, [{
    event: "media",
    streamSid: STREAM_SID,
    media: { payload: audioB64(60, 0x11) },
  }]);
  // 60 + 60 ms crosses the 100 ms mark interval: a mark follows the media.
  const out2 = d.sentToTwilio(d.delta("resp_1", "item_a", 60, 0x11));
  assert.equal(out2.length, 2);
  assert.equal(out2[1].event, "mark");
  // The end of the item is always marked.
  const done = d.sentToTwilio(d.audioDone("resp_1", "item_a"));
  assert.deepEqual(done.map((m) => m.event), ["mark"]);
});

Deno.test("barge-in mid-item after a burst: clear, then truncate at exactly what was heard", () => {
  const d = new CoreDriver({ markIntervalMs: 100 });
  const sim = new PlayoutSimulator();
  d.startCall();
  d.responseCreated("resp_1");
  deliver(d, sim, d.delta("resp_1", "item_a", 1000, 0x11)); // whole item in one burst
  deliver(d, sim, d.audioDone("resp_1", "item_a"));
  tick(d, sim, 437);
  const out = d.speechStarted();
  const twilio = d.sentToTwilio(out);
  const openai = d.sentToOpenAI(out);
  assert.deepEqual(twilio, [{ event: "clear", streamSid: STREAM_SID }]);
  assert.deepEqual(openai, [{
    type: "conversation.item.truncate",
    item_id: "item_a",
    content_index: 0,
    audio_end_ms: 437,
  }]);
  const clearIndex = out.findIndex((c) => c.type === "to_twilio");
  const truncIndex = out.findIndex((c) => c.type === "to_openai");
  assert.ok(clearIndex < truncIndex, "clear is sent before the truncate");
  assert.equal(sim.playedMs(0x11), 437);
});

Deno.test("barge-in when audio streams in real time with gaps (buffer underruns)", () => {
  const d = new CoreDriver({ markIntervalMs: 200 });
  const sim = new PlayoutSimulator();
  d.startCall();
  d.responseCreated("resp_1");
  // 100 ms chunks arriving every 150 ms: Twilio's buffer runs dry between them.
  for (let i = 0; i < 5; i++) {
    deliver(d, sim, d.delta("resp_1", "item_a", 100, 0x22));
    tick(d, sim, 150);
  }
  deliver(d, sim, d.delta("resp_1", "item_a", 100, 0x22));
  tick(d, sim, 40);
  const [truncate] = truncates(d, d.speechStarted());
  assert.equal(truncate.audio_end_ms, 540);
  assert.equal(sim.playedMs(0x22), 540);
});

Deno.test("no clear and no truncate when the assistant's audio has finished playing", () => {
  const d = new CoreDriver();
  const sim = new PlayoutSimulator();
  d.startCall();
  d.responseCreated("resp_1");
  deliver(d, sim, d.delta("resp_1", "item_a", 300));
  deliver(d, sim, d.audioDone("resp_1", "item_a"));
  deliver(d, sim, d.responseDone("resp_1"));
  tick(d, sim, 500);
  const out = d.speechStarted();
  assert.deepEqual(d.sentToTwilio(out), []);
  assert.deepEqual(d.sentToOpenAI(out), []);
});

Deno.test("no truncate before any assistant audio was sent", () => {
  const d = new CoreDriver();
  d.startCall();
  const out = d.speechStarted();
  assert.deepEqual(out.filter((c) => c.type !== "log"), []);
});

Deno.test("barge-in between items: a streaming item whose audio has all played is truncated at its length", () => {
  const d = new CoreDriver();
  const sim = new PlayoutSimulator();
  d.startCall();
  d.responseCreated("resp_1");
  deliver(d, sim, d.delta("resp_1", "item_a", 200));
  tick(d, sim, 300); // all 200 ms played, response still generating
  const out = d.speechStarted();
  assert.deepEqual(truncates(d, out).map((t) => [t.item_id, t.audio_end_ms]), [["item_a", 200]]);
});

Deno.test("overlapping items: the heard one is truncated where heard, the queued one at 0", () => {
  const d = new CoreDriver();
  const sim = new PlayoutSimulator();
  d.startCall();
  d.responseCreated("resp_1");
  deliver(d, sim, d.delta("resp_1", "item_a", 300, 0x11));
  deliver(d, sim, d.audioDone("resp_1", "item_a"));
  deliver(d, sim, d.responseDone("resp_1"));
  d.responseCreated("resp_2");
  deliver(d, sim, d.delta("resp_2", "item_b", 300, 0x22));
  tick(d, sim, 120);
  const out = d.speechStarted();
  assert.deepEqual(
    truncates(d, out).map((t) => [t.item_id, t.audio_end_ms]),
    [["item_a", 120], ["item_b", 0]],
  );
});

Deno.test("barge-in in the second item of a queue truncates that item only", () => {
  const d = new CoreDriver();
  const sim = new PlayoutSimulator();
  d.startCall();
  d.responseCreated("resp_1");
  deliver(d, sim, d.delta("resp_1", "item_a", 200, 0x11));
  deliver(d, sim, d.audioDone("resp_1", "item_a"));
  deliver(d, sim, d.responseDone("resp_1"));
  d.responseCreated("resp_2");
  deliver(d, sim, d.delta("resp_2", "item_b", 400, 0x22));
  tick(d, sim, 350);
  const out = d.speechStarted();
  assert.deepEqual(truncates(d, out).map((t) => [t.item_id, t.audio_end_ms]), [["item_b", 150]]);
  assert.equal(sim.playedMs(0x22), 150);
});

Deno.test("marks echoed by a clear are ignored and do not move the playback estimate", () => {
  const d = new CoreDriver({ markIntervalMs: 100 });
  const sim = new PlayoutSimulator();
  d.startCall();
  d.responseCreated("resp_1");
  for (let i = 0; i < 10; i++) deliver(d, sim, d.delta("resp_1", "item_a", 100, 0x11));
  tick(d, sim, 250);
  const staleMarks = d.marks().slice(2); // sent, not yet echoed
  assert.ok(staleMarks.length >= 5);
  d.speechStarted();
  d.responseDone("resp_1", "cancelled");
  // Twilio returns every pending mark after the clear.
  for (const name of staleMarks) {
    const out = d.mark(name);
    assert.deepEqual(out.filter((c) => c.type !== "log"), []);
  }
  // A new response starts from a clean ledger.
  d.responseCreated("resp_2");
  deliver(d, sim, d.delta("resp_2", "item_b", 500, 0x22));
  tick(d, sim, 90);
  const [t] = truncates(d, d.speechStarted());
  assert.deepEqual([t.item_id, t.audio_end_ms], ["item_b", 90]);
});

Deno.test("late deltas of an interrupted response are dropped; the next response plays", () => {
  const d = new CoreDriver();
  d.startCall();
  d.responseCreated("resp_1");
  d.delta("resp_1", "item_a", 500);
  d.advance(100);
  d.speechStarted();
  assert.deepEqual(d.sentToTwilio(d.delta("resp_1", "item_a", 100)), []);
  d.responseDone("resp_1", "cancelled");
  assert.deepEqual(d.sentToTwilio(d.delta("resp_1", "item_a", 100)), []);
  assert.equal(d.core.stats.droppedLateDeltas, 2);
  d.responseCreated("resp_2");
  assert.equal(d.sentToTwilio(d.delta("resp_2", "item_b", 100))[0].event, "media");
});

Deno.test("speech while a response is generating but before its audio drops that response's audio", () => {
  const d = new CoreDriver();
  d.startCall();
  d.responseCreated("resp_1");
  const out = d.speechStarted();
  assert.deepEqual(out.filter((c) => c.type !== "log"), []);
  assert.deepEqual(d.sentToTwilio(d.delta("resp_1", "item_a", 100)), []);
});

Deno.test("property: the truncate point is within 20 ms of what was heard and never beyond what was sent", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({ ms: fc.integer({ min: 10, max: 400 }), gap: fc.integer({ min: 0, max: 300 }) }),
        { minLength: 1, maxLength: 12 },
      ),
      fc.integer({ min: 1, max: 3000 }),
      fc.integer({ min: 20, max: 500 }),
      (chunks, speakAt, markIntervalMs) => bargeInIsExact(chunks, speakAt, { markIntervalMs }),
    ),
    { numRuns: 150 },
  );
});

Deno.test("end_call: output, farewell after response.done, no interruption, hang-up after the final mark and grace", () => {
  const d = new CoreDriver({ endCallGraceMs: 3000, endCallWatchdogMs: 4000 });
  const sim = new PlayoutSimulator();
  d.startCall();
  d.responseCreated("resp_1");
  const call = d.functionCall("resp_1", "call_1", "end_call", '{"reason":"caller said bye"}');
  const sent = d.sentToOpenAI(call);
  assert.deepEqual(sent[0], {
    type: "conversation.item.create",
    item: { type: "function_call_output", call_id: "call_1", output: '{"ok":true}' },
  });
  assert.deepEqual(sent[1], { type: "input_audio_buffer.clear" });
  assert.equal(sent.length, 2, "no response.create while the tool's response is active");
  assert.equal(d.timers.get("end_call_watchdog"), d.now + 4000);
  // Caller audio is no longer forwarded.
  assert.deepEqual(d.sentToOpenAI(d.media()), []);
  const done = d.sentToOpenAI(d.responseDone("resp_1"));
  assert.equal(done.length, 1);
  assert.equal(done[0].type, "response.create");
  assert.match((done[0].response as { instructions: string }).instructions, /goodbye/);
  d.responseCreated("resp_2");
  deliver(d, sim, d.delta("resp_2", "item_bye", 800, 0x44));
  assert.equal(
    d.timers.has("end_call_watchdog"),
    false,
    "watchdog stops once farewell audio starts",
  );
  tick(d, sim, 100);
  // The caller cannot interrupt the farewell.
  const speech = d.speechStarted();
  assert.deepEqual(speech.filter((c) => c.type !== "log"), []);
  deliver(d, sim, d.audioDone("resp_2", "item_bye"));
  deliver(d, sim, d.responseDone("resp_2"));
  tick(d, sim, 699);
  assert.equal(d.timers.has("end_call_grace"), false, "still playing");
  tick(d, sim, 1);
  assert.equal(d.timers.get("end_call_grace"), d.now + 3000);
  const before = d.commands.length;
  tick(d, sim, 2999);
  assert.equal(d.commands.slice(before).some((c) => c.type === "finish"), false);
  tick(d, sim, 1);
  const finish = d.commands.find((c) => c.type === "finish");
  assert.deepEqual(
    finish && { ...finish, reason: undefined },
    { type: "finish", outcome: "assistant_ended", action: "hang_up", reason: undefined },
  );
  assert.equal(sim.playedMs(0x44), 800, "the whole farewell played before the hang-up");
});

Deno.test("end_call watchdog hangs up when no farewell audio starts", () => {
  const d = new CoreDriver({ endCallWatchdogMs: 4000 });
  d.startCall();
  d.responseCreated("resp_1");
  d.functionCall("resp_1", "call_1", "end_call");
  d.responseDone("resp_1");
  assert.deepEqual(d.advance(3999).filter((c) => c.type === "finish"), []);
  const out = d.advance(1);
  const finish = out.find((c) => c.type === "finish");
  assert.equal(finish?.type === "finish" && finish.action, "hang_up");
});

Deno.test("a farewell without audio hangs up after the grace period", () => {
  const d = new CoreDriver({ endCallGraceMs: 1000 });
  d.startCall();
  d.responseCreated("resp_1");
  d.functionCall("resp_1", "c", "end_call");
  d.responseDone("resp_1");
  d.responseCreated("resp_2");
  d.responseDone("resp_2");
  assert.equal(d.timers.get("end_call_grace"), d.now + 1000);
});

Deno.test("teardown: Twilio stop, Twilio close and OpenAI failure each finish the call once", () => {
  const a = new CoreDriver();
  a.startCall();
  const stop = a.stop();
  assert.deepEqual(
    stop.filter((c) => c.type === "finish").map((c) =>
      c.type === "finish" && [c.outcome, c.action]
    ),
    [["caller_hung_up", "none"]],
  );
  assert.deepEqual(a.twilioClosed(1000), []);

  // With reconnects off, an OpenAI failure apologizes at once.
  const b = new CoreDriver({ reconnectWindowMs: 0 });
  b.startCall();
  const closed = b.openaiClosed({ code: 1011, reason: "server error", opened: true });
  const finish = closed.find((c) => c.type === "finish");
  assert.equal(finish?.type === "finish" && finish.action, "close_stream");
  assert.equal(finish?.type === "finish" && finish.outcome, "openai_error");

  // By default it reconnects first; if every attempt fails, the apology comes at the deadline.
  const c = new CoreDriver({ reconnectWindowMs: 3000 });
  c.startCall();
  const reopen = c.openaiClosed({ code: 1011, reason: "x", opened: true });
  assert.equal(reopen.some((cmd) => cmd.type === "finish"), false);
  assert.deepEqual(reopen.filter((cmd) => cmd.type === "open_openai"), [
    { type: "open_openai", generation: 2 },
  ]);
  // Every attempt fails at once; the core retries with backoff until the deadline.
  let generation = 2;
  let finishes: CallCommand[] = [];
  let attempts = 1;
  c.openaiClosed({ code: 1006, opened: false, generation });
  while (finishes.length === 0 && c.now < 10_000) {
    const out = c.advance(10);
    finishes = out.filter((cmd) => cmd.type === "finish");
    const open = out.find((cmd) => cmd.type === "open_openai");
    if (open?.type === "open_openai" && finishes.length === 0) {
      attempts++;
      generation = open.generation;
      c.openaiClosed({ code: 1006, opened: false, generation });
    }
  }
  const apology = finishes[0];
  assert.equal(apology?.type === "finish" && apology.action, "close_stream");
  assert.equal(apology?.type === "finish" && apology.outcome, "openai_error");
  assert.ok(c.now >= 3000 && c.now <= 3100, `apologized at ${c.now} ms`);
  assert.ok(attempts >= 4, `retried ${attempts} times`);
});

Deno.test("OpenAI that never opens ends the call with an apology after the connect timeout", () => {
  const d = new CoreDriver({ openaiConnectTimeoutMs: 5000 });
  d.begin();
  const out = d.advance(5000);
  const finish = out.find((c) => c.type === "finish");
  assert.equal(finish?.type === "finish" && finish.action, "close_stream");
});

Deno.test("OpenAI error events are logged with their code and the call goes on", () => {
  const d = new CoreDriver();
  d.startCall();
  const out = d.openaiError({
    type: "invalid_request_error",
    code: "invalid_value",
    message: "bad",
    param: "x",
  });
  const log = out.find((c) => c.type === "log");
  assert.equal(log?.type === "log" && log.properties?.code, "invalid_value");
  assert.equal(d.core.finished, false);
  assert.equal(d.sentToOpenAI(d.media(audioB64(20))).length, 1);
});

Deno.test("a response.create that lost a race is retried after the active response", () => {
  const d = new CoreDriver({ greeting: "Hello" });
  d.startCall(); // greeting response.create sent
  d.responseCreated("resp_vad"); // a VAD response won
  d.openaiError({
    type: "invalid_request_error",
    code: "conversation_already_has_active_response",
    message: "x",
  });
  const out = d.sentToOpenAI(d.responseDone("resp_vad"));
  assert.equal(out[0]?.type, "response.create");
});

Deno.test("custom tools run through the runner; their output is followed by one response.create", () => {
  const d = new CoreDriver({ customTools: ["lookup"] });
  d.startCall();
  d.responseCreated("resp_1");
  const out = d.functionCall("resp_1", "call_9", "lookup", '{"q":1}');
  assert.deepEqual(out.filter((c) => c.type === "run_tool"), [
    { type: "run_tool", callId: "call_9", name: "lookup", arguments: '{"q":1}' },
  ]);
  d.responseDone("resp_1");
  const result = d.sentToOpenAI(d.toolResult("call_9", { n: 2 }));
  assert.deepEqual(result, [
    {
      type: "conversation.item.create",
      item: { type: "function_call_output", call_id: "call_9", output: '{"n":2}' },
    },
    { type: "response.create" },
  ]);
});

Deno.test("unknown tools get an error output, not a crash", () => {
  const d = new CoreDriver();
  d.startCall();
  d.responseCreated("resp_1");
  const sent = d.sentToOpenAI(d.functionCall("resp_1", "call_x", "launch_rockets"));
  assert.equal(sent[0].type, "conversation.item.create");
  assert.match(String((sent[0].item as { output: string }).output), /Unknown tool/);
});

Deno.test("media before start and for another stream is ignored", () => {
  const d = new CoreDriver();
  d.begin();
  d.openaiOpen();
  assert.deepEqual(d.sentToOpenAI(d.media()), []);
  d.start();
  const other = d.media(audioB64(20), { streamSid: "MZother" });
  assert.deepEqual(d.sentToOpenAI(other), []);
});

Deno.test("transfer_call: the assistant says it is transferring, then the stream closes for <Dial>", () => {
  const d = new CoreDriver({ endCallGraceMs: 500, transferEnabled: true });
  const sim = new PlayoutSimulator();
  d.startCall();
  d.responseCreated("resp_1");
  const call = d.functionCall("resp_1", "call_t", "transfer_call", '{"reason":"wants a person"}');
  assert.deepEqual(d.sentToOpenAI(call), [
    {
      type: "conversation.item.create",
      item: { type: "function_call_output", call_id: "call_t", output: '{"ok":true}' },
    },
    { type: "input_audio_buffer.clear" },
  ]);
  const [farewell] = d.sentToOpenAI(d.responseDone("resp_1"));
  assert.equal(farewell.type, "response.create");
  assert.match((farewell.response as { instructions: string }).instructions, /transferring/);
  d.responseCreated("resp_2");
  deliver(d, sim, d.delta("resp_2", "item_t", 300, 0x45));
  deliver(d, sim, d.audioDone("resp_2", "item_t"));
  deliver(d, sim, d.responseDone("resp_2"));
  tick(d, sim, 300 + 500);
  const finish = d.commands.find((c) => c.type === "finish");
  assert.deepEqual(finish, {
    type: "finish",
    outcome: "transferred",
    reason: "The assistant transferred the call.",
    action: "close_stream",
    close: { code: 1000, reason: "transferring the call" },
  });
  assert.equal(sim.playedMs(0x45), 300, "the caller heard the whole sentence first");
});

Deno.test("transfer_call is an unknown tool when no transfer number is configured", () => {
  const d = new CoreDriver();
  d.startCall();
  d.responseCreated("resp_1");
  const sent = d.sentToOpenAI(d.functionCall("resp_1", "call_t", "transfer_call"));
  assert.match(String((sent[0].item as { output: string }).output), /Unknown tool/);
  assert.equal(d.core.finished, false);
});
