import assert from "node:assert/strict";
import { parseConfig } from "../src/config/mod.ts";
import type { CallRecord } from "../src/calls/call_record.ts";
import { runCallsCommand } from "../src/cli/calls.ts";
import { Operations } from "../src/observability/operations.ts";
import { legacySignature } from "../src/webhooks/signing.ts";
import {
  type WebhookEvent,
  WebhookOutbox,
  WebhookSender,
  type WebhookTarget,
  webhookTargets,
} from "../src/webhooks/mod.ts";
import { BridgeHarness, sleep, TEST_API_KEY } from "./support/bridge_harness.ts";
import { type Received, receiver, WEBHOOK_SECRET as SECRET } from "./support/webhook_receiver.ts";
import { audioBytes } from "./support/fake_realtime.ts";

function target(url: string, extra: Partial<WebhookTarget> = {}): WebhookTarget {
  const [env] = webhookTargets({ url, secret: SECRET, events: undefined, legacy: false }, []);
  return { ...env, ...extra };
}

/** A sender over a fresh in-memory outbox; `schedule` in ms. */
async function sender(
  targets: WebhookTarget[],
  schedule: number[],
  options: { timeoutMs?: number; kv?: Deno.Kv; pollMs?: number } = {},
) {
  const kv = options.kv ?? await Deno.openKv(":memory:");
  const outbox = new WebhookOutbox(kv, { retentionDays: 1 });
  const results: string[] = [];
  const s = new WebhookSender({
    outbox,
    targets: () => targets,
    schedule,
    timeoutMs: options.timeoutMs ?? 2000,
    pollMs: options.pollMs ?? 50,
    random: () => 0,
    onResult: (result) => results.push(result),
  });
  await s.start();
  return {
    sender: s,
    outbox,
    results,
    async [Symbol.asyncDispose]() {
      await s.close();
      if (options.kv === undefined) kv.close();
    },
  };
}

function event(callSid: string, type: WebhookEvent["type"] = "call.ended"): WebhookEvent {
  return { type, at: new Date("2026-01-01T00:01:00.000Z"), data: { callSid } };
}

async function until(check: () => boolean, timeoutMs = 5000, what = "condition"): Promise<void> {
  const start = performance.now();
  while (!check()) {
    if (performance.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

Deno.test("the legacy X-Signature-256 is the hex HMAC-SHA256 of the body (RFC 4231 test case 2)", async () => {
  assert.equal(
    await legacySignature(new TextEncoder().encode("Jefe"), "what do ya want for nothing?"),
    "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
  );
});

Deno.test("a receiver failing twice then accepting gets the same webhook-id three times, each verified by the npm standardwebhooks library", async () => {
  const r = receiver([500, 503]);
  try {
    await using s = await sender([target(r.url)], [30, 30, 30]);
    await s.sender.emit(event("CA1"));
    await until(() => s.results.includes("delivered"), 5000, "the delivery");
    assert.deepEqual(s.results, ["retrying", "retrying", "delivered"]);
    assert.deepEqual((await s.outbox.list()).pending, [], "a delivered one leaves the outbox");
  } finally {
    await r.server.shutdown();
  }
  assert.equal(r.received.length, 3);
  const id = r.received[0].id;
  assert.match(id ?? "", /^msg_[0-9a-f]{32}$/);
  for (const got of r.received) {
    assert.equal(got.id, id, "the same webhook-id on every try");
    assert.equal(got.body, r.received[0].body, "the same body each time");
    assert.ok(!(got.verified instanceof Error), `verified: ${got.verified}`);
    assert.match(got.headers.get("webhook-signature") ?? "", /^v1,[A-Za-z0-9+/]{43}=$/);
    assert.equal(got.headers.get("x-signature-256"), null, "no legacy header for WEBHOOK_*");
  }
  assert.deepEqual(JSON.parse(r.received[0].body), {
    type: "call.ended",
    timestamp: "2026-01-01T00:01:00.000Z",
    data: { callSid: "CA1" },
  });
});

Deno.test("a delivery is in the outbox before its first try", async () => {
  // The receiver holds the first try; meanwhile the outbox already has the delivery.
  const r = receiver([200], { delayMs: [300] });
  try {
    await using s = await sender([target(r.url)], [30]);
    await s.sender.emit(event("CA0"));
    await until(() => r.received.length === 1);
    const { pending } = await s.outbox.list();
    assert.equal(pending.length, 1);
    assert.equal(pending[0].id, r.received[0].id);
    assert.ok(pending[0].leaseUntil !== undefined, "held by this instance while it tries");
    await until(() => s.results.length === 1);
  } finally {
    await r.server.shutdown();
  }
});

Deno.test("a refused signature fails, and the schedule's end makes a dead letter that `deno task calls --webhooks` lists and re-sends with the same id", async () => {
  const wrong = receiver([], { secret: "whsec_" + btoa("another-secret-of-24-bytes!!") });
  const kv = await Deno.openKv(":memory:");
  let deadId: string;
  try {
    {
      await using s = await sender([target(wrong.url)], [20, 20], { kv });
      await s.sender.emit(event("CA2"));
      await until(() => s.results.includes("dead"), 5000, "the dead letter");
      assert.deepEqual(s.results, ["retrying", "retrying", "dead"]);
    }
    assert.equal(wrong.received.length, 3, "one try and two retries");
    assert.ok(wrong.received.every((got) => got.verified instanceof Error));
    const outbox = new WebhookOutbox(kv, { retentionDays: 1 });
    const { dead } = await outbox.list();
    assert.equal(dead.length, 1);
    deadId = dead[0].id;
    assert.equal(dead[0].lastError, "HTTP 401");
    assert.equal(dead[0].attempts, 3);

    const printed: string[] = [];
    const print = (text: string) => printed.push(text);
    const store = {
      put: () => Promise.resolve(),
      get: () => Promise.resolve(undefined),
      list: () => Promise.resolve([]),
      close() {},
    };
    assert.equal(await runCallsCommand(["--webhooks"], { store, outbox, print }), 0);
    assert.match(printed.join("\n"), new RegExp(`${deadId}.*call\\.ended.*HTTP 401`));
    assert.equal(
      await runCallsCommand(["--webhooks", "--resend", "msg_nope"], { store, outbox, print }),
      1,
    );
    assert.equal(
      await runCallsCommand(["--webhooks", "--resend", deadId], { store, outbox, print }),
      0,
    );
    assert.deepEqual((await outbox.list()).dead, []);

    // A receiver with the right secret takes the re-sent delivery, same id.
    const right = receiver([]);
    try {
      await using s = await sender([target(right.url)], [20], { kv });
      await until(() => s.results.includes("delivered"), 5000, "the re-sent delivery");
    } finally {
      await right.server.shutdown();
    }
    assert.equal(right.received.length, 1);
    assert.equal(right.received[0].id, deadId);
  } finally {
    await wrong.server.shutdown();
    kv.close();
  }
});

Deno.test("410 Gone makes a dead letter at once; other 4xx are retried (Standard Webhooks)", async () => {
  const gone = receiver([410]);
  const refusing = receiver([400]);
  try {
    await using s = await sender(
      [target(gone.url, { id: "a" }), target(refusing.url, { id: "b" })],
      [20, 20],
    );
    await s.sender.emit(event("CA3"));
    await until(() => s.results.length === 3, 5000, "three results");
    assert.deepEqual([...s.results].sort(), ["dead", "delivered", "retrying"]);
  } finally {
    await gone.server.shutdown();
    await refusing.server.shutdown();
  }
  assert.equal(gone.received.length, 1);
  assert.equal(refusing.received.length, 2);
});

Deno.test("a try that takes too long times out and is retried", async () => {
  const slow = receiver([200, 200], { delayMs: [400, 0] });
  const t0 = performance.now();
  try {
    await using s = await sender([target(slow.url)], [10], { timeoutMs: 100 });
    await s.sender.emit(event("CA4"));
    await until(() => s.results.includes("delivered"));
    assert.ok(performance.now() - t0 < 390, "the slow first try was abandoned");
  } finally {
    await slow.server.shutdown();
  }
  assert.equal(slow.received.length, 2);
});

Deno.test("events go to the webhooks that take them: the environment's gets all, an agent's only its calls' and listed events", async () => {
  const all = receiver([]);
  const sales = receiver([]);
  try {
    const targets = webhookTargets(
      { url: all.url, secret: SECRET, events: undefined, legacy: false },
      [{ name: "sales", webhooks: [{ url: sales.url, secret: SECRET, events: ["call.ended"] }] }],
    );
    await using s = await sender(targets, [20]);
    await s.sender.emit({ ...event("CA5"), agent: "sales" });
    await s.sender.emit({ ...event("CA6"), agent: "support" });
    await s.sender.emit({ ...event("CA7", "call.analyzed"), agent: "sales" });
    await until(() => s.results.length === 4, 5000, "four deliveries");
  } finally {
    await all.server.shutdown();
    await sales.server.shutdown();
  }
  const sids = (r: { received: Received[] }) =>
    r.received.map((got) => JSON.parse(got.body).data.callSid).sort();
  assert.deepEqual(sids(all), ["CA5", "CA6", "CA7"]);
  assert.deepEqual(sids(sales), ["CA5"]);
});

Deno.test("two instances sharing the store: a pending delivery is taken by one (atomic lease) and picked up by the other when the first stops", async () => {
  const dir = await Deno.makeTempDir();
  const r = receiver([500]);
  try {
    const kvA = await Deno.openKv(`${dir}/calls.kv`);
    const kvB = await Deno.openKv(`${dir}/calls.kv`);
    try {
      // A emits; its try fails; A stops before its retry is due (1 s).
      {
        await using a = await sender([target(r.url)], [1000], { kv: kvA });
        await a.sender.emit(event("CA8"));
        await until(() => a.results.length === 1);
      }
      await using b = await sender([target(r.url)], [1000], { kv: kvB });
      await using c = await sender([target(r.url)], [1000], { kv: kvA });
      await until(() => b.results.length + c.results.length === 1, 5000, "the retry");
      await sleep(200);
      assert.deepEqual([...b.results, ...c.results], ["delivered"], "exactly one instance sent it");
    } finally {
      kvA.close();
      kvB.close();
    }
  } finally {
    await r.server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
  assert.equal(r.received.length, 2);
  assert.equal(r.received[1].id, r.received[0].id);
});

Deno.test("the deprecated CALL_RECORD_WEBHOOK_* still work: a warning, the old header, and a Standard signature keyed with the secret's bytes", async () => {
  const legacySecret = "webhook-secret-0123456789";
  const r = receiver([], { secret: "whsec_" + btoa(legacySecret) });
  const config = parseConfig({
    OPENAI_API_KEY: TEST_API_KEY,
    CALL_RECORD_WEBHOOK_URL: r.url,
    CALL_RECORD_WEBHOOK_SECRET: legacySecret,
  });
  assert.ok(
    config.warnings.some((w) => /CALL_RECORD_WEBHOOK_URL .* deprecated: set WEBHOOK_URL/.test(w)),
  );
  const ops = await Operations.create({ config, store: null, webhookPollMs: 50 });
  try {
    await ops.webhooks.emit(event("CA9"));
    await until(() => r.received.length === 1);
  } finally {
    await ops.close();
    await r.server.shutdown();
  }
  const [got] = r.received;
  assert.ok(!(got.verified instanceof Error));
  assert.equal(
    got.headers.get("x-signature-256"),
    await legacySignature(new TextEncoder().encode(legacySecret), got.body),
  );
});

Deno.test("call records are posted off the audio path: the call ends before the webhook answers", async () => {
  // The receiver holds the first try 400 ms, fails it, then accepts the retry.
  const r = receiver([500, 200], { delayMs: [400, 0] });
  const env = { WEBHOOK_URL: r.url, WEBHOOK_SECRET: SECRET };
  const config = parseConfig({ OPENAI_API_KEY: TEST_API_KEY, ...env });
  const ops = await Operations.create({
    config,
    store: null,
    webhookRetryDelaysMs: [20],
    webhookPollMs: 50,
  });
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
    await until(() => r.received.length === 2);
    assert.ok(
      finishedAt < r.answeredAt[0],
      "the call finished while the webhook was still waiting",
    );
    const body = JSON.parse(r.received[1].body) as { type: string; data: CallRecord };
    assert.equal(body.type, "call.ended");
    assert.equal(body.data.callSid, call.callSid);
    assert.equal(body.data.outcome, "caller_hung_up");
    assert.ok(!(r.received[1].verified instanceof Error));
    await until(() => /result="delivered"\} 1/.test(ops.metrics.render()));
    assert.match(ops.metrics.render(), /bridge_webhook_deliveries_total\{result="retrying"\} 1/);
  } finally {
    await ops.close();
    await r.server.shutdown();
  }
});

Deno.test("Operations sends each agent's events to that agent's webhooks, read from the current agents", async () => {
  const sales = receiver([]);
  const config = parseConfig({ OPENAI_API_KEY: TEST_API_KEY });
  const agent = { name: "sales", instructions: "Sell.", analysis: undefined };
  let profiles = [{ ...agent, webhooks: [{ url: sales.url, secret: SECRET }] }];
  const ops = await Operations.create({
    config,
    store: null,
    webhookPollMs: 50,
    agents: { profiles: () => profiles },
  });
  try {
    await ops.webhooks.emit({ ...event("CA10"), agent: "sales" });
    await until(() => sales.received.length === 1);
    // An agents file reload without the webhook: no more deliveries there.
    profiles = [{ ...agent, webhooks: [] }];
    await ops.webhooks.emit({ ...event("CA11"), agent: "sales" });
    await ops.webhooks.idle();
    await sleep(100);
  } finally {
    await ops.close();
    await sales.server.shutdown();
  }
  assert.deepEqual(sales.received.map((got) => JSON.parse(got.body).data.callSid), ["CA10"]);
  assert.ok(!(sales.received[0].verified instanceof Error));
});
