import assert from "node:assert/strict";
import { parseConfig } from "../src/config.ts";
import type { CallRecord } from "../src/calls/call_record.ts";
import { RecordWebhook, SIGNATURE_HEADER, signBody } from "../src/calls/record_webhook.ts";
import { Operations } from "../src/observability/operations.ts";
import { BridgeHarness, sleep, TEST_API_KEY } from "./support/bridge_harness.ts";
import { audioBytes } from "./support/fake_realtime.ts";

const SECRET = "webhook-secret-0123456789";

interface Received {
  body: string;
  signature: string | null;
  callSid: string | null;
  at: number;
}

/** A local receiver on port 0 that answers with the given statuses in turn (then 200). */
function receiver(statuses: number[], delayMs: number[] = []) {
  const received: Received[] = [];
  const answeredAt: number[] = [];
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
    const n = received.length;
    received.push({
      body: await req.text(),
      signature: req.headers.get(SIGNATURE_HEADER),
      callSid: req.headers.get("x-call-sid"),
      at: performance.now(),
    });
    if (delayMs[n]) await sleep(delayMs[n]);
    answeredAt.push(performance.now());
    return new Response(null, { status: statuses[n] ?? 200 });
  });
  const url = `http://127.0.0.1:${(server.addr as Deno.NetAddr).port}/call-records`;
  return { server, url, received, answeredAt };
}

function fakeRecord(callSid: string): CallRecord {
  return {
    version: 1,
    callSid,
    streamSid: null,
    caller: null,
    startedAt: "2026-01-01T00:00:00.000Z",
    endedAt: "2026-01-01T00:01:00.000Z",
    durationMs: 60_000,
    outcome: "caller_hung_up",
    reason: "Twilio sent stop.",
    turns: { caller: 0, assistant: 0 },
    bargeIns: 0,
    truncates: 0,
    toolCalls: 0,
    responses: 0,
    openaiErrors: 0,
    frames: { fromCaller: 0, toCaller: 0 },
    tokens: {
      inputTextTokens: 0,
      inputAudioTokens: 0,
      inputCachedTokens: 0,
      outputTextTokens: 0,
      outputAudioTokens: 0,
    },
    estimatedCostUsd: 0,
    pricesUsdPerMTok: {
      inputText: 4,
      inputAudio: 32,
      inputCached: 0.4,
      outputText: 16,
      outputAudio: 64,
    },
    transcript: [],
    transcriptTruncated: false,
  };
}

Deno.test("signBody is the hex HMAC-SHA256 of the body (RFC 4231 test case 2)", async () => {
  assert.equal(
    await signBody("Jefe", "what do ya want for nothing?"),
    "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
  );
});

Deno.test("the webhook retries a failing receiver, then delivers the signed record", async () => {
  const r = receiver([500, 503]);
  const webhook = new RecordWebhook({ url: r.url, secret: SECRET, retryDelaysMs: [20, 20, 20] });
  try {
    assert.equal(await webhook.deliver(fakeRecord("CA1")), true);
  } finally {
    await webhook.close();
    await r.server.shutdown();
  }
  assert.equal(r.received.length, 3, "two failures, then success");
  for (const got of r.received) {
    assert.equal(got.body, r.received[0].body, "the same body each time");
    assert.equal(got.signature, await signBody(SECRET, got.body));
    assert.equal(got.callSid, "CA1");
  }
  assert.equal(JSON.parse(r.received[0].body).callSid, "CA1");
});

Deno.test("the webhook gives up after its retries, and does not retry a 4xx refusal", async () => {
  const failing = receiver([500, 500, 500, 500]);
  const w1 = new RecordWebhook({ url: failing.url, secret: SECRET, retryDelaysMs: [10, 10] });
  try {
    assert.equal(await w1.deliver(fakeRecord("CA2")), false);
  } finally {
    await w1.close();
    await failing.server.shutdown();
  }
  assert.equal(failing.received.length, 3, "one attempt and two retries");

  const refusing = receiver([400]);
  const w2 = new RecordWebhook({ url: refusing.url, secret: SECRET, retryDelaysMs: [10, 10] });
  try {
    assert.equal(await w2.deliver(fakeRecord("CA3")), false);
  } finally {
    await w2.close();
    await refusing.server.shutdown();
  }
  assert.equal(refusing.received.length, 1);
});

Deno.test("a webhook attempt that takes too long times out and is retried", async () => {
  const slow = receiver([200, 200], [400, 0]);
  const webhook = new RecordWebhook({
    url: slow.url,
    secret: SECRET,
    timeoutMs: 100,
    retryDelaysMs: [10],
  });
  const t0 = performance.now();
  try {
    assert.equal(await webhook.deliver(fakeRecord("CA4")), true);
    assert.ok(performance.now() - t0 < 390, "the slow first attempt was abandoned");
  } finally {
    await webhook.close();
    await slow.server.shutdown();
  }
  assert.equal(slow.received.length, 2);
});

Deno.test("call records are posted off the audio path: the call ends before the webhook answers", async () => {
  // The receiver holds the first attempt 400 ms, fails it, then accepts the retry.
  const r = receiver([500, 200], [400, 0]);
  const env = { CALL_RECORD_WEBHOOK_URL: r.url, CALL_RECORD_WEBHOOK_SECRET: SECRET };
  const config = parseConfig({ OPENAI_API_KEY: TEST_API_KEY, ...env });
  const ops = await Operations.create({ config, store: null, webhookRetryDelaysMs: [20] });
  try {
    await using h = await BridgeHarness.start(env, { app: ops.appOptions() });
    const call = await h.call();
    const session = await h.realtime.nextSession();
    await session.waitFor("session.update");
    const response = session.beginResponse();
    response.audio(audioBytes(0x21, 60));
    response.finish();
    await call.waitFor(() => call.receivedAudioBytes(0x21) === 480);
    await call.hangUp();
    await h.waitForFinished(1);
    const finishedAt = performance.now();
    await ops.recorder.idle();
    assert.equal(r.received.length, 2);
    assert.ok(
      finishedAt < r.answeredAt[0],
      "the call finished while the webhook was still waiting",
    );
    const record = JSON.parse(r.received[1].body) as CallRecord;
    assert.equal(record.callSid, call.callSid);
    assert.equal(record.outcome, "caller_hung_up");
    assert.equal(r.received[1].signature, await signBody(SECRET, r.received[1].body));
    const metrics = ops.metrics.render();
    assert.match(metrics, /bridge_call_record_webhook_total\{result="delivered"\} 1/);
  } finally {
    await ops.close();
    await r.server.shutdown();
  }
});
