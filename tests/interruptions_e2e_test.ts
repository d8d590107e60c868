/**
 * Interruptions over real sockets (issue 24): the bridge with its default
 * settings (the bridge decides interruptions) between a fake Twilio call and
 * the fake Realtime server, which scripts the caller's speech as server VAD
 * reports it and honours `interrupt_response`/`create_response`.
 */
import assert from "node:assert/strict";
import { parseConfig } from "../src/config/mod.ts";
import { KvCallStore } from "../src/calls/call_store.ts";
import { formatCallDetail } from "../src/cli/calls.ts";
import { Operations } from "../src/observability/operations.ts";
import { BridgeHarness, sleep, TEST_API_KEY } from "./support/bridge_harness.ts";
import { parseMetrics, parseStrict, valueOf } from "./support/prometheus.ts";
import { waitUntil } from "./support/wait.ts";
import { answering, backchannelCall } from "./support/interruption_calls.ts";
import type { FakeRealtimeSession } from "./support/fake_realtime.ts";

async function answeringChecked(session: FakeRealtimeSession, pace: "burst" | number) {
  const { update, answer } = await answering(session, pace);
  const td = update.session.audio.input.turn_detection;
  assert.equal(td.interrupt_response, false, "the bridge decides when to cancel");
  assert.equal(td.create_response, false, "the bridge decides when to respond");
  return answer;
}

const upstream = (session: FakeRealtimeSession) =>
  session.receivedTypes().filter((t) => t !== "input_audio_buffer.append");

for (const [name, pace] of [["burst", "burst"], ["1×", 100], ["3×", 33]] as const) {
  Deno.test(`a "mm-hmm" mid-answer (${name}): cut at once, resumed within 400 ms of speech_stopped, the whole answer heard once`, async () => {
    await using h = await BridgeHarness.start();
    const r = await backchannelCall(h, pace);
    const { call, session, itemId } = r;
    const td = r.update.session.audio.input.turn_detection;
    assert.deepEqual([td.interrupt_response, td.create_response], [false, false]);
    console.log(
      `${name}: clear ${r.clearMs.toFixed(1)} ms after speech_started, resumed ${
        r.resumedMs.toFixed(1)
      } ms after speech_stopped, heard ${r.heardMs.toFixed(1)} ms of 3000`,
    );
    assert.ok(r.clearMs < 100, "cut at once");
    assert.ok(r.resumedMs <= 400, `resumed ${r.resumedMs} ms after the stop`);
    assert.ok(Math.abs(r.heardMs - 3000) <= 20, `heard ${r.heardMs} ms`);
    assert.deepEqual(session.truncates, []);
    const sent = upstream(session);
    assert.equal(sent.includes("response.cancel"), false);
    assert.equal(sent.includes("response.create"), false, "no response to the backchannel");
    const deleted = await session.waitFor("conversation.item.delete");
    assert.equal(deleted.item_id, itemId, "the backchannel left the conversation");
    assert.deepEqual(session.schemaErrors, []);
    assert.deepEqual(session.errorsSent, []);
    assert.deepEqual(call.protocolErrors, []);
    await call.hangUp();
    const [summary] = await h.waitForFinished(1);
    assert.equal(summary.stats.bargeIns, 0);
  });
}

Deno.test("a real 1.5 s interruption: truncate within 20 ms of what was heard, the answer cancelled, the caller answered", async () => {
  await using h = await BridgeHarness.start({}, {
    realtime: { autoRespond: { audioMs: 300, value: 0x52 } },
  });
  const call = await h.call();
  const session = await h.realtime.nextSession();
  const answer = await answeringChecked(session, 100);
  await waitUntil(() => call.playedMs(0x51) >= 1000, 4000, "call.playedMs(0x51) >= 1000");
  const burst = session.speechBurst({ speechMs: 1500 });
  await call.waitFor((m) => m.event === "clear");
  const heard = call.playedMs(0x51);
  const cancel = await session.waitFor("response.cancel", () => true, 3000);
  assert.equal(cancel.response_id, answer.response.id);
  const truncate = await session.waitFor("conversation.item.truncate");
  assert.ok(
    Math.abs(truncate.audio_end_ms - heard) <= 20,
    `truncated at ${truncate.audio_end_ms} ms, heard ${heard.toFixed(1)} ms`,
  );
  const { itemId } = await burst;
  session.transcribe(itemId, "Wait, actually I meant Tuesday.");
  await session.waitFor("response.create", () => true, 3000);
  await waitUntil(() => call.playedMs(0x52) >= 300, 3000, "call.playedMs(0x52) >= 300");
  assert.ok(Math.abs(call.playedMs(0x51) - heard) <= 20, "the rest of the answer was never heard");
  assert.deepEqual(session.rejectedTruncates, []);
  assert.deepEqual(session.schemaErrors, []);
  await call.hangUp();
  const [summary] = await h.waitForFinished(1);
  assert.equal(summary.stats.bargeIns, 1);
});

Deno.test("a backchannel during an uninterruptible greeting: the greeting plays whole and is not answered", async () => {
  await using h = await BridgeHarness.start({
    GREETING: "Welcome to Acme Realty.",
    GREETING_INTERRUPTIBLE: "false",
  });
  const call = await h.call();
  const session = await h.realtime.nextSession();
  await session.waitFor("response.create");
  const greeting = session.respond({
    items: [{ audioMs: 2000, value: 0x61, transcript: "Welcome to Acme Realty." }],
    pace: 100,
  });
  await waitUntil(() => call.playedMs(0x61) >= 500, 4000, "call.playedMs(0x61) >= 500");
  const { itemId } = await session.speechBurst({ speechMs: 200 });
  session.transcribe(itemId, "Uh-huh.");
  await waitUntil(
    () => greeting.finished && call.pendingMs() === 0,
    6000,
    "greeting.finished && call.pendingMs() === 0",
  );
  await sleep(50);
  assert.equal(call.clearCount, 0, "never cut");
  assert.ok(Math.abs(call.playedMs(0x61) - 2000) <= 1, `heard ${call.playedMs(0x61)} ms`);
  assert.equal(session.receivedOfType("response.create").length, 1, "only the greeting");
  await session.waitFor("conversation.item.delete");
  assert.deepEqual(session.schemaErrors, []);
  await call.hangUp();
});

Deno.test("the fake honours create_response: with it on, a committed turn is answered by the server itself", async () => {
  await using h = await BridgeHarness.start({ INTERRUPTION_RESUME: "false" }, {
    realtime: { autoRespond: { audioMs: 100, value: 0x71 } },
  });
  const call = await h.call();
  const session = await h.realtime.nextSession();
  const update = await session.waitFor("session.update");
  assert.equal(update.session.audio.input.turn_detection.create_response, true);
  await session.speechBurst({ speechMs: 300, silenceMs: 100 });
  await waitUntil(() => call.playedMs(0x71) >= 100, 3000, "call.playedMs(0x71) >= 100");
  assert.equal(session.receivedOfType("response.create").length, 0, "the server answered");
  await call.hangUp();
});

Deno.test("a false interruption is counted by kind and kept in the call record, struck through", async () => {
  const store = await KvCallStore.open({ path: ":memory:", retentionDays: 30 });
  const env = { METRICS_TOKEN: "metrics-token-0123456789" };
  const config = parseConfig({ OPENAI_API_KEY: TEST_API_KEY, ...env });
  await using ops = await Operations.create({ config, store });
  await using h = await BridgeHarness.start(env, { app: ops.appOptions() });
  const call = await h.call();
  const session = await h.realtime.nextSession();
  const answer = await answeringChecked(session, 100);
  await waitUntil(() => call.playedMs(0x51) >= 600, 4000, "600 ms heard");
  const mm = await session.speechBurst({ speechMs: 200 });
  session.transcribe(mm.itemId, "Mm-hmm.");
  await session.waitFor("conversation.item.delete");
  const noise = await session.speechBurst({ speechMs: 100 });
  session.transcribe(noise.itemId, "");
  await waitUntil(
    () => session.receivedOfType("conversation.item.delete").length === 2,
    2000,
    "two deletes",
  );
  await waitUntil(() => answer.finished && call.pendingMs() === 0, 8000, "the answer played");
  const res = await fetch(`${h.server.localUrl}/metrics`, {
    headers: { authorization: `Bearer ${env.METRICS_TOKEN}` },
  });
  const metrics = parseStrict(await res.text());
  assert.equal(valueOf(metrics, "bridge_interruptions_total", { kind: "backchannel" }), 1);
  assert.equal(valueOf(metrics, "bridge_interruptions_total", { kind: "false" }), 1);
  assert.equal(valueOf(metrics, "bridge_interruptions_total", { kind: "real" }), 0);
  assert.equal(valueOf(metrics, "bridge_barge_ins_total"), 0);
  await call.hangUp();
  await h.waitForFinished(1);
  await waitUntil(
    () =>
      valueOf(parseMetrics(ops.metrics.render()), "bridge_call_records_total", {
        result: "stored",
      }) === 1,
    3000,
    "stored",
  );
  const record = await store.get(call.callSid);
  assert.ok(record);
  assert.equal(record.falseInterruptions, 2);
  assert.equal(record.turns.caller, 0, "neither was a caller turn");
  const lines = record.transcript.filter((l) => l.falseInterruption !== undefined);
  assert.deepEqual(lines.map((l) => [l.text, l.falseInterruption?.verdict]), [
    ["Mm-hmm.", "backchannel"],
    ["", "false"],
  ]);
  assert.ok(lines.every((l) => (l.falseInterruption?.resumedAtMs ?? 0) >= 500));
  assert.match(
    formatCallDetail(record),
    /~~Mm-hmm\.~~ \[not an interruption \(backchannel\), resumed at \d+ ms\]/,
  );
});
