import assert from "node:assert/strict";
import { Webhook } from "standardwebhooks";
import { parseConfig } from "../src/config/mod.ts";
import type { CallRecord } from "../src/calls/call_record.ts";
import { KvCallStore } from "../src/calls/call_store.ts";
import { configureLogging, disposeLogging, getBridgeLogger } from "../src/observability/logging.ts";
import { Operations } from "../src/observability/operations.ts";
import { KvAttemptStore } from "../src/outbound/attempt_store.ts";
import { luhnValid, redactPersonalData } from "../src/security/personal_data.ts";
import { WebhookOutbox } from "../src/webhooks/mod.ts";
import { BridgeHarness, TEST_API_KEY } from "./support/bridge_harness.ts";
import { audioBytes } from "./support/fake_realtime.ts";
import { FakeResponsesApi } from "./support/fake_responses_api.ts";

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SAID =
  "My card is 4111 1111 1111 1111, my e-mail is ana.lopez@example.com and call me back on 415-555-0123.";
const REDACTED_SAID = "My card is [card], my e-mail is [email] and call me back on 41•-•••-••23.";

Deno.test("redaction: Luhn-checked card numbers, e-mail addresses and phone numbers; other numbers stay", () => {
  assert.equal(redactPersonalData(SAID), REDACTED_SAID);
  assert.equal(luhnValid("378282246310005"), true, "an Amex test number");
  assert.equal(redactPersonalData("Amex 378282246310005."), "Amex [card].");
  assert.equal(redactPersonalData("Card 5555-5555-5555-4444 ok"), "Card [card] ok");
  assert.equal(
    redactPersonalData("Order 4111 1111 1111 1112, ref 1234567890123"),
    "Order 4111 1111 1111 1112, ref 1234567890123",
    "no Luhn, no card (and a run starting with 1 that is not 11 digits is no phone number)",
  );
  assert.equal(
    redactPersonalData("Ring +44 20 7946 0000 or (415) 555 0123"),
    "Ring +44 •• •••• ••00 or (41•) ••• ••23",
  );
  assert.equal(redactPersonalData("Write to info@acme-realty.co.uk!"), "Write to [email]!");
  assert.equal(
    redactPersonalData(
      "Viewing on 2026-12-08 at 10:30 for $1,250.00, 2 bedrooms, CA0123456789abcdef",
    ),
    "Viewing on 2026-12-08 at 10:30 for $1,250.00, 2 bedrooms, CA0123456789abcdef",
  );
});

Deno.test("logs redact cards and e-mails (REDACT=on), and still mask phone numbers with REDACT=off", async () => {
  const lines: string[] = [];
  const logTwice = async (personalData: boolean) => {
    await configureLogging({
      level: "info",
      format: "json",
      personalData,
      sink: (l) => lines.push(l),
    });
    getBridgeLogger("tool").info("Tool output: {output}", { output: SAID });
    await disposeLogging();
  };
  await logTwice(true);
  await logTwice(false);
  assert.equal(JSON.parse(lines[0]).message, `Tool output: ${REDACTED_SAID}`);
  assert.equal(JSON.parse(lines[0]).output, REDACTED_SAID);
  const off = JSON.parse(lines[1]).message as string;
  assert.match(off, /4111 1111 1111 1111/);
  assert.match(off, /ana\.lopez@example\.com/);
  assert.equal(
    parseConfig({ OPENAI_API_KEY: TEST_API_KEY }).redact,
    true,
    "REDACT is on unless turned off",
  );
});

/** One call in which the caller says {@link SAID}; returns what was stored, posted and analyzed. */
async function callSaying(extraEnv: Record<string, string>) {
  await using api = FakeResponsesApi.start(TEST_API_KEY);
  api.answer({ json: { summary: "Ana wants a call back." } });
  const bodies: string[] = [];
  const verifier = new Webhook(SECRET);
  const receiver = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: () => {} },
    async (req) => {
      const body = await req.text();
      verifier.verify(body, Object.fromEntries(req.headers));
      bodies.push(body);
      return new Response(null, { status: 204 });
    },
  );
  const env = {
    TRANSCRIPTION_MODEL: "gpt-4o-mini-transcribe",
    OPENAI_BASE_URL: api.baseUrl,
    ANALYSIS_SUMMARY: "on",
    WEBHOOK_URL: `http://127.0.0.1:${receiver.addr.port}/hooks`,
    WEBHOOK_SECRET: SECRET,
    ...extraEnv,
  };
  const config = parseConfig({ OPENAI_API_KEY: TEST_API_KEY, ...env });
  const store = await KvCallStore.open({ path: ":memory:", retentionDays: 1 });
  const ops = await Operations.create({ config, store, webhookPollMs: 50 });
  try {
    await using h = await BridgeHarness.start(env, { app: ops.appOptions() });
    const call = await h.call();
    const session = await h.realtime.nextSession();
    await session.waitFor("session.update");
    session.userTurn(SAID);
    const response = session.beginResponse();
    response.audio(audioBytes(0x21, 60));
    response.transcript("Thanks, we will call you back.");
    response.finish();
    await call.waitFor(() => call.receivedAudioBytes(0x21) === 480);
    await call.hangUp();
    await h.waitForFinished(1);
    await ops.recorder.idle();
    const start = performance.now();
    while (bodies.length < 2 && performance.now() - start < 5000) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const record = await store.get(call.callSid) as CallRecord;
    return { record, bodies, analyzedInput: String(api.requests[0]?.body.input) };
  } finally {
    await ops.close();
    await receiver.shutdown();
  }
}

Deno.test("a call's stored transcript and call.ended body are redacted; the analysis read the words", async () => {
  const { record, bodies, analyzedInput } = await callSaying({});
  const caller = record.transcript.find((line) => line.role === "caller");
  assert.equal(caller?.text, REDACTED_SAID);
  const ended = bodies.map((b) => JSON.parse(b)).find((b) => b.type === "call.ended");
  assert.ok(ended, "call.ended was delivered");
  assert.equal(
    (ended.data as CallRecord).transcript.find((l) => l.role === "caller")?.text,
    REDACTED_SAID,
  );
  for (const body of bodies) {
    assert.doesNotMatch(body, /4111 1111|ana\.lopez|555-0123/);
  }
  assert.ok(analyzedInput.includes(SAID), "the analysis saw the words");
  assert.equal(record.analysis?.summary, "Ana wants a call back.");
});

Deno.test("STORE_TRANSCRIPTS=off keeps no transcript in the record or call.ended; REDACT=off keeps the words", async () => {
  const off = await callSaying({ STORE_TRANSCRIPTS: "off" });
  assert.deepEqual(off.record.transcript, []);
  assert.equal(off.record.transcriptStored, false);
  const ended = off.bodies.map((b) => JSON.parse(b)).find((b) => b.type === "call.ended");
  assert.deepEqual(ended.data.transcript, []);
  assert.ok(off.analyzedInput.includes(SAID), "the analysis still read the words");
  assert.equal(off.record.analysis?.status, "ok");

  const kept = await callSaying({ REDACT: "off" });
  assert.equal(kept.record.transcript.find((l) => l.role === "caller")?.text, SAID);
});

/** A KV whose atomic writes report the `expireIn` of every key they set. */
async function recordingKv(): Promise<{ kv: Deno.Kv; expiries: Map<string, number | undefined> }> {
  const kv = await Deno.openKv(":memory:");
  const expiries = new Map<string, number | undefined>();
  const atomic = kv.atomic.bind(kv);
  kv.atomic = () => {
    const op = atomic();
    const set = op.set.bind(op);
    op.set = (key, value, options) => {
      expiries.set(String(key[0]), options?.expireIn);
      return set(key, value, options);
    };
    return op;
  };
  return { kv, expiries };
}

Deno.test("RETENTION_DAYS: records, outbound attempts and webhook deliveries expire after it; CALL_RECORD_RETENTION_DAYS is a deprecated alias", async () => {
  const config = parseConfig({ OPENAI_API_KEY: TEST_API_KEY, RETENTION_DAYS: "7" });
  assert.equal(config.retentionDays, 7);
  const legacy = parseConfig({ OPENAI_API_KEY: TEST_API_KEY, CALL_RECORD_RETENTION_DAYS: "3" });
  assert.equal(legacy.retentionDays, 3);
  assert.match(
    legacy.warnings.join("\n"),
    /CALL_RECORD_RETENTION_DAYS is deprecated: rename it RETENTION_DAYS/,
  );
  const week = 7 * 86_400_000;

  const { kv, expiries } = await recordingKv();
  try {
    await new WebhookOutbox(kv, { retentionDays: config.retentionDays }).add(
      [{ id: "msg_1", type: "call.ended", targetId: "env", url: "https://x.example/", body: "{}" }],
      0,
    );
    await new KvAttemptStore(kv, config.retentionDays).update("CA1", {
      agent: "default",
      status: "queued",
    });
    assert.equal(expiries.get("webhook_outbox"), week);
    assert.equal(expiries.get("outbound_calls"), week);
  } finally {
    kv.close();
  }
});
