import assert from "node:assert/strict";
import { parseConfig } from "../src/config/mod.ts";
import { KvCallStore } from "../src/calls/call_store.ts";
import { DEFAULT_PRICES, estimateCostUsd } from "../src/calls/prices.ts";
import { parseUsage, type TokenUsage } from "../src/core/conversation_log.ts";
import { Operations } from "../src/observability/operations.ts";
import { BridgeHarness, sleep, TEST_API_KEY } from "./support/bridge_harness.ts";
import { audioBytes, type FakeRealtimeSession } from "./support/fake_realtime.ts";
import { countOf, type ParsedFamily, parseStrict, valueOf } from "./support/prometheus.ts";

const METRICS_TOKEN = "metrics-token-0123456789";

async function startWithOperations(env: Record<string, string> = {}, realtimeMode?: "refuse_http") {
  const store = await KvCallStore.open({ path: ":memory:", retentionDays: 30 });
  const config = parseConfig({ OPENAI_API_KEY: TEST_API_KEY, ...env });
  const ops = await Operations.create({ config, store, health: { failures: 3, windowMs: 60_000 } });
  const h = await BridgeHarness.start(env, {
    app: ops.appOptions(),
    ...(realtimeMode ? { realtime: { mode: realtimeMode } } : {}),
  });
  return { ops, h, store };
}

async function scrape(h: BridgeHarness, token?: string): Promise<Map<string, ParsedFamily>> {
  const res = await fetch(`${h.server.localUrl}/metrics`, {
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  return parseStrict(await res.text());
}

/** Sums the usage blocks of every `response.done` the fake sent. */
function usageSent(session: FakeRealtimeSession): TokenUsage {
  const total = parseUsage(undefined);
  for (const event of session.sent) {
    if (event.type !== "response.done") continue;
    const u = parseUsage(event.response.usage ?? undefined);
    for (const key of Object.keys(total) as (keyof TokenUsage)[]) total[key] += u[key];
  }
  return total;
}

async function waitUntil(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const start = performance.now();
  while (!check()) {
    if (performance.now() - start > timeoutMs) throw new Error("condition not met in time");
    await sleep(10);
  }
}

Deno.test("metrics move with a scripted call, and its record has outcome, turns, tokens and transcript", async () => {
  const { ops, h, store } = await startWithOperations({
    METRICS_TOKEN,
    TRANSCRIPTION_MODEL: "gpt-4o-mini-transcribe",
  });
  await using _ops = ops;
  await using _h = h;

  const before = await scrape(h, METRICS_TOKEN);
  assert.equal(valueOf(before, "bridge_active_calls"), 0);
  assert.equal(countOf(before, "bridge_call_first_audio_seconds"), 0);

  const call = await h.call({ customParameters: { caller: "+14•••••••23" } });
  const session = await h.realtime.nextSession();
  await session.waitFor("session.update");
  assert.equal(valueOf(await scrape(h, METRICS_TOKEN), "bridge_active_calls"), 1);

  // The greeting: audio and its transcript, played to the end.
  const greeting = session.beginResponse();
  greeting.transcript("Hello, thanks for calling Acme.");
  greeting.audio(audioBytes(0x21, 200));
  greeting.finish();
  await waitUntil(() => call.playedMs(0x21) >= 200);

  // The caller speaks (10 frames), VAD commits the turn, transcription arrives.
  call.sendFrames(10, 0x7e);
  const userItem = session.speechStarted();
  await sleep(30);
  session.speechStopped();
  session.send({ type: "input_audio_buffer.committed", previous_item_id: null, item_id: userItem });
  session.send({
    type: "conversation.item.input_audio_transcription.completed",
    item_id: userItem,
    content_index: 0,
    transcript: "What are your opening hours?",
    usage: { type: "duration", seconds: 1 },
  });

  // The answer streams in one burst; the caller interrupts it after about 300 ms.
  const answer = session.beginResponse();
  answer.transcript(
    "We are open from nine to five, Monday to Friday, and on Saturdays until noon.",
  );
  answer.audio(audioBytes(0x22, 2000));
  await waitUntil(() => call.playedMs(0x22) >= 300);
  session.speechStarted();
  await session.waitFor("conversation.item.truncate");
  answer.cancel();
  // OpenAI refusing a truncate is counted (error answering the truncate).
  session.sendError(
    "invalid_value",
    "Audio content of 250ms is already shorter than 300ms",
    "audio_end_ms",
  );
  await waitUntil(() => session.inputAudio.chunks.length >= 10);
  // The error went out after the cancelled response.done on the same socket: once the bridge
  // has counted it, it has seen everything.
  for (let i = 0; i < 300; i++) {
    const seen = await scrape(h, METRICS_TOKEN);
    if (valueOf(seen, "bridge_openai_errors_total", { code: "invalid_value" }) === 1) break;
    await sleep(10);
  }
  await call.hangUp();
  const [summary] = await h.waitForFinished(1);
  await ops.recorder.idle();

  const after = await scrape(h, METRICS_TOKEN);
  assert.equal(valueOf(after, "bridge_active_calls"), 0);
  assert.equal(valueOf(after, "bridge_calls_total", { outcome: "caller_hung_up" }), 1);
  assert.equal(countOf(after, "bridge_call_duration_seconds", { outcome: "caller_hung_up" }), 1);
  assert.equal(countOf(after, "bridge_call_first_audio_seconds"), 1);
  assert.equal(countOf(after, "bridge_assistant_turn_latency_seconds"), 1);
  assert.equal(valueOf(after, "bridge_assistant_turns_total", { status: "completed" }), 1);
  assert.equal(valueOf(after, "bridge_assistant_turns_total", { status: "cancelled" }), 1);
  assert.equal(valueOf(after, "bridge_barge_ins_total"), 1);
  assert.equal(valueOf(after, "bridge_truncates_total"), 1);
  assert.equal(valueOf(after, "bridge_truncates_rejected_total"), 1);
  assert.equal(valueOf(after, "bridge_openai_errors_total", { code: "invalid_value" }), 1);
  assert.equal(valueOf(after, "bridge_openai_connects_total", { result: "ok" }), 1);
  assert.equal(valueOf(after, "bridge_frames_total", { direction: "caller_to_openai" }), 10);
  assert.equal(
    valueOf(after, "bridge_frames_total", { direction: "openai_to_caller" }),
    summary.stats.framesOut,
  );
  assert.ok(summary.stats.framesOut >= 2);
  assert.equal(
    countOf(after, "bridge_relay_latency_seconds", { direction: "caller_to_openai" }),
    10,
  );
  assert.ok(countOf(after, "bridge_relay_latency_seconds", { direction: "openai_to_caller" }) >= 2);
  const usage = usageSent(session);
  assert.ok(usage.outputAudioTokens > 0 && usage.inputTextTokens > 0);
  assert.equal(
    valueOf(after, "bridge_tokens_total", { kind: "input_text" }),
    usage.inputTextTokens,
  );
  assert.equal(
    valueOf(after, "bridge_tokens_total", { kind: "input_audio" }),
    usage.inputAudioTokens,
  );
  assert.equal(
    valueOf(after, "bridge_tokens_total", { kind: "input_cached" }),
    usage.inputCachedTokens,
  );
  assert.equal(
    valueOf(after, "bridge_tokens_total", { kind: "output_text" }),
    usage.outputTextTokens,
  );
  assert.equal(
    valueOf(after, "bridge_tokens_total", { kind: "output_audio" }),
    usage.outputAudioTokens,
  );
  const cost = estimateCostUsd(usage, DEFAULT_PRICES);
  assert.ok(cost > 0);
  assert.ok(Math.abs(valueOf(after, "bridge_estimated_cost_usd_total") - cost) < 1e-9);
  assert.equal(valueOf(after, "bridge_call_records_total", { result: "stored" }), 1);

  const record = await store.get(call.callSid);
  assert.ok(record, "the call was recorded");
  assert.equal(record.callSid, call.callSid);
  assert.equal(record.streamSid, call.streamSid);
  assert.equal(record.caller, "+14•••••••23");
  assert.equal(record.outcome, "caller_hung_up");
  assert.deepEqual(record.turns, { caller: 1, assistant: 2 });
  assert.equal(record.bargeIns, 1);
  assert.deepEqual(record.tokens, usage);
  assert.equal(record.estimatedCostUsd, Math.round(cost * 1e6) / 1e6);
  assert.ok(record.durationMs > 300 && record.durationMs < 10_000, `${record.durationMs} ms`);
  assert.ok(Date.parse(record.endedAt) >= Date.parse(record.startedAt));
  const lines = record.transcript.map((l) => [l.role, l.text]);
  assert.deepEqual(lines.slice(0, 2), [
    ["assistant", "Hello, thanks for calling Acme."],
    ["caller", "What are your opening hours?"],
  ]);
  const interrupted = record.transcript[2];
  assert.equal(interrupted.role, "assistant");
  assert.ok(interrupted.heardMs !== undefined && Math.abs(interrupted.heardMs - 300) < 150);
  assert.ok(interrupted.text?.startsWith("We are open"), interrupted.text ?? "");
  assert.ok(interrupted.text!.endsWith("…"), "cut to what the caller heard");
  assert.ok(record.transcript[0].atMs <= record.transcript[1].atMs);
  const listed = await store.list();
  assert.deepEqual(listed.map((r) => r.callSid), [call.callSid]);
  assert.deepEqual(session.schemaErrors, []);
});

Deno.test("/metrics needs the bearer token when METRICS_TOKEN is set", async () => {
  const { ops, h } = await startWithOperations({ METRICS_TOKEN });
  await using _ops = ops;
  await using _h = h;
  for (
    const authorization of [undefined, "Bearer wrong-token-0123456789", `Basic ${METRICS_TOKEN}`]
  ) {
    const res = await fetch(`${h.server.localUrl}/metrics`, {
      headers: authorization === undefined ? {} : { authorization },
    });
    assert.equal(res.status, 401);
    const body = await res.text();
    assert.ok(!body.includes(METRICS_TOKEN), "the token never appears in a response");
    assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer/);
  }
  const ok = await scrape(h, METRICS_TOKEN);
  assert.ok(ok.has("bridge_calls_total"));
});

Deno.test("/readyz fails after repeated OpenAI connection failures and recovers on success", async () => {
  // No reconnects: each call makes exactly one connection attempt.
  const { ops, h } = await startWithOperations({ REALTIME_RECONNECT_SECONDS: "0" }, "refuse_http");
  await using _ops = ops;
  await using _h = h;
  // An outage (503): it takes 3 failures. A rejected key (401) fails readiness at once.
  h.realtime.refuseStatus = 503;
  const health = await fetch(`${h.server.localUrl}/healthz`);
  assert.equal(health.status, 200);
  await health.body?.cancel();
  const ready = await fetch(`${h.server.localUrl}/readyz`);
  assert.equal(ready.status, 200);
  await ready.body?.cancel();
  for (let i = 1; i <= 3; i++) {
    const call = await h.call();
    await call.closed;
    await h.waitForFinished(i);
  }
  const notReady = await fetch(`${h.server.localUrl}/readyz`);
  assert.equal(notReady.status, 503);
  await notReady.body?.cancel();
  // Records are written off the call path, after the call: give the last write a moment.
  let failing = await scrape(h);
  for (
    let tries = 0;
    valueOf(failing, "bridge_call_records_total", { result: "stored" }) < 3 && tries < 100;
    tries++
  ) {
    await new Promise((r) => setTimeout(r, 20));
    failing = await scrape(h);
  }
  assert.equal(valueOf(failing, "bridge_openai_failing"), 1);
  assert.equal(valueOf(failing, "bridge_openai_connects_total", { result: "failed" }), 3);
  assert.equal(valueOf(failing, "bridge_calls_total", { outcome: "openai_error" }), 3);
  // Failed calls are recorded too.
  assert.equal(valueOf(failing, "bridge_call_records_total", { result: "stored" }), 3);

  h.realtime.mode = "accept";
  const call = await h.call();
  const session = await h.realtime.nextSession();
  await session.waitFor("session.update");
  const readyAgain = await fetch(`${h.server.localUrl}/readyz`);
  assert.equal(readyAgain.status, 200);
  await readyAgain.body?.cancel();
  await call.hangUp();
  await h.waitForFinished(4);
  assert.equal(valueOf(await scrape(h), "bridge_openai_failing"), 0);
});

Deno.test("calls turned away (server full, then a refused stream) are counted as rejected", async () => {
  const { ops, h } = await startWithOperations({ MAX_CONCURRENT_CALLS: "1" });
  await using _ops = ops;
  await using _h = h;
  const call = await h.call();
  const session = await h.realtime.nextSession();
  await session.waitFor("session.update");
  const busy = await h.server.app.handler(
    new Request("http://127.0.0.1/incoming-call", {
      method: "POST",
      body: "CallSid=CA2",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    }),
  );
  assert.match(await busy.text(), /<Reject reason="busy"\/>/);
  const refused = await fetch(h.mediaStreamUrl.replace("ws", "http"), {
    headers: {
      upgrade: "websocket",
      connection: "upgrade",
      "sec-websocket-version": "13",
      "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
    },
  });
  assert.equal(refused.status, 503);
  await refused.body?.cancel();
  const metrics = await scrape(h);
  assert.equal(valueOf(metrics, "bridge_calls_total", { outcome: "rejected" }), 2);
  assert.equal(h.realtime.sessions.length, 1, "a rejected call opens no OpenAI session");
  await call.hangUp();
  await h.waitForFinished(1);
});

Deno.test("a dropped OpenAI session that the bridge gets back counts as a reconnect", async () => {
  const { ops, h } = await startWithOperations({ REALTIME_RECONNECT_SECONDS: "3" });
  await using _ops = ops;
  await using _h = h;
  const call = await h.call();
  const first = await h.realtime.nextSession();
  await first.waitFor("session.update");
  await first.close(1011, "server error");
  const second = await h.realtime.nextSession();
  await second.waitFor("session.update");
  let metrics = await scrape(h);
  for (let i = 0; i < 100 && valueOf(metrics, "bridge_openai_reconnects_total") < 1; i++) {
    await sleep(20);
    metrics = await scrape(h);
  }
  assert.equal(valueOf(metrics, "bridge_openai_reconnects_total"), 1);
  assert.equal(valueOf(metrics, "bridge_openai_session_renewals_total"), 0);
  assert.equal(call.isOpen, true, "the call goes on");
  await call.hangUp();
  await h.waitForFinished(1);
});
