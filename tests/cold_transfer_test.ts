/**
 * Cold transfers to several destinations, over real sockets: the agent's
 * stream ends with a transfer, `/call-ended` dials the first destination
 * with a `<Dial action>`, each failed dial moves on to the next, and after
 * the last one the caller is back with the agent, who opens with the
 * fallback line. Every request is signed like Twilio's.
 */
import assert from "node:assert/strict";
import { BridgeHarness, TEST_TWILIO_TOKEN } from "./support/bridge_harness.ts";
import { FakeTwilioCall, twilioSignature } from "./support/fake_twilio.ts";
import { MetricsRegistry } from "../src/observability/metrics.ts";
import { DEFAULT_TRANSFER_FALLBACK } from "../src/prompts/mod.ts";
import type { AppOptions } from "../src/http/app.ts";
import { parseConfig } from "../src/config/mod.ts";
import { Operations } from "../src/observability/operations.ts";
import { maskPhoneNumber } from "../src/security/phone_numbers.ts";
import { TEST_API_KEY } from "./support/bridge_harness.ts";
import { receiver, WEBHOOK_SECRET } from "./support/webhook_receiver.ts";
import { waitUntil } from "./support/wait.ts";

const PUBLIC = "https://voice.example.com";
const ACCOUNT = "AC" + "3".repeat(32);

async function start(app: Partial<AppOptions> = {}) {
  const registry = new MetricsRegistry();
  const transfers = registry.counter({
    name: "bridge_transfers_total",
    help: "test",
    labelNames: ["mode", "result"],
  });
  const h = await BridgeHarness.startSecure({
    PUBLIC_URL: PUBLIC,
    STREAM_TOKEN_SECRET: "cold-stream-token-secret-0123456789",
    TRANSFER_NUMBERS: "+14155550123,sip:desk@pbx.example.com",
    END_CALL_GRACE_SECONDS: "0",
  }, {
    app: {
      ...app,
      onTransfer: (mode, result, report) => {
        transfers.inc({ mode, result });
        app.onTransfer?.(mode, result, report);
      },
    },
  });
  return { h, registry };
}

async function twilioPost(h: BridgeHarness, url: string, params: Record<string, string>) {
  const u = new URL(url);
  const response = await fetch(`${h.server.localUrl}${u.pathname}${u.search}`, {
    method: "POST",
    body: new URLSearchParams(params),
    headers: { "x-twilio-signature": await twilioSignature(TEST_TWILIO_TOKEN, url, params) },
  });
  return { status: response.status, text: await response.text() };
}

/** Connects the `<Stream>` of `twiml` like Twilio (signed upgrade, the `<Parameter>`s in start). */
async function connectStream(h: BridgeHarness, twiml: string, callSid: string) {
  const parameters = Object.fromEntries(
    [...twiml.matchAll(/<Parameter name="([^"]+)" value="([^"]*)"\/>/g)].map((m) => [m[1], m[2]]),
  );
  const streamUrl = /<Stream url="([^"]+)"/.exec(twiml)![1];
  const call = await FakeTwilioCall.connect({
    url: `${h.server.localUrl.replace("http", "ws")}${new URL(streamUrl).pathname}`,
    callSid,
    customParameters: parameters,
    headers: { "x-twilio-signature": await twilioSignature(TEST_TWILIO_TOKEN, streamUrl) },
  });
  h.calls.push(call);
  return { call, parameters };
}

/** A call whose agent made a cold transfer; resolves with the first `<Dial>`'s TwiML. */
async function transferredCall(h: BridgeHarness) {
  const callSid = `CA${crypto.randomUUID().replaceAll("-", "")}`;
  const answer = await twilioPost(h, `${PUBLIC}/incoming-call`, {
    CallSid: callSid,
    AccountSid: ACCOUNT,
    From: "+14155550100",
    To: "+14155550199",
  });
  const { call } = await connectStream(h, answer.text, callSid);
  const session = await h.realtime.nextSession();
  await session.waitFor("session.update");
  const r = session.beginResponse({ message: false });
  r.functionCall("transfer_call", { reason: "billing" });
  r.finish();
  await session.waitFor("response.create");
  session.beginResponse().finish(); // "transferring you now" (no audio)
  await call.closed;
  const ended = await twilioPost(h, `${PUBLIC}/call-ended`, {
    CallSid: callSid,
    AccountSid: ACCOUNT,
  });
  return { callSid, dial: ended.text };
}

function dialAction(twiml: string): string {
  return /<Dial [^>]*action="([^"]+)"/.exec(twiml)![1].replaceAll("&amp;", "&");
}

Deno.test("cold transfer: busy, then no answer → the caller is back with the agent, who says the fallback line", async () => {
  const { h, registry } = await start();
  await using _h = h;
  const { callSid, dial } = await transferredCall(h);
  assert.match(
    dial,
    /<Dial timeout="20" action="https:\/\/voice\.example\.com\/transfer\/dial-ended\?t=c1\.0\.\.[^"]+" method="POST"><Number>\+14155550123<\/Number><\/Dial>/,
  );

  const second = await twilioPost(h, dialAction(dial), {
    CallSid: callSid,
    AccountSid: ACCOUNT,
    DialCallStatus: "busy",
  });
  assert.equal(second.status, 200);
  assert.match(
    second.text,
    /<Dial timeout="20" action="[^"]+\?t=c1\.1\.\.[^"]+" method="POST"><Sip>sip:desk@pbx\.example\.com<\/Sip><\/Dial>/,
  );

  const back = await twilioPost(h, dialAction(second.text), {
    CallSid: callSid,
    AccountSid: ACCOUNT,
    DialCallStatus: "no-answer",
  });
  assert.match(
    back.text,
    /<Connect action="https:\/\/voice\.example\.com\/call-ended" method="POST"><Stream url="wss:\/\/voice\.example\.com\/media-stream">/,
  );
  const { call, parameters } = await connectStream(h, back.text, callSid);
  assert.equal(parameters.transferFallback, "1");
  const session = await h.realtime.nextSession();
  await session.waitFor("session.update");
  const fallback = await session.waitFor("response.create");
  assert.equal(fallback.response.instructions, DEFAULT_TRANSFER_FALLBACK);
  assert.equal(call.isOpen, true, "the conversation goes on");
  assert.match(registry.render(), /bridge_transfers_total\{mode="cold",result="fallback"\} 1/);
  assert.deepEqual(session.schemaErrors, []);
});

Deno.test("cold transfer: a person answers → hang up after their call; a wrong signature or another call's token is refused", async () => {
  const { h, registry } = await start();
  await using _h = h;
  const { callSid, dial } = await transferredCall(h);
  const action = dialAction(dial);
  const params = { CallSid: callSid, AccountSid: ACCOUNT, DialCallStatus: "completed" };
  const u = new URL(action);
  const forged = await fetch(`${h.server.localUrl}${u.pathname}${u.search}`, {
    method: "POST",
    body: new URLSearchParams(params),
    headers: { "x-twilio-signature": await twilioSignature("not-the-token", action, params) },
  });
  assert.equal(forged.status, 403);
  await forged.body?.cancel();
  // Signed, but the token was issued for another call: nothing is dialed.
  const other = await twilioPost(h, action, { ...params, CallSid: `CA${"9".repeat(32)}` });
  assert.match(
    other.text,
    /^<\?xml version="1\.0" encoding="UTF-8"\?><Response><Hangup\/><\/Response>$/,
  );
  const done = await twilioPost(h, action, params);
  assert.match(done.text, /<Response><Hangup\/><\/Response>$/);
  assert.match(registry.render(), /bridge_transfers_total\{mode="cold",result="transferred"\} 1/);
  // The caller hung up while it rang: nothing more is dialed.
  const gone = await twilioPost(h, action, {
    ...params,
    DialCallStatus: "canceled",
    CallStatus: "completed",
  });
  assert.match(gone.text, /<Response><Hangup\/><\/Response>$/);
  assert.match(
    registry.render(),
    /bridge_transfers_total\{mode="cold",result="caller_hung_up"\} 1/,
  );
});

Deno.test("cold transfer webhooks: busy then no answer → transfer.failed with both statuses; a person answers → transfer.completed", async () => {
  const r = receiver([]);
  const ops = await Operations.create({
    config: parseConfig({ OPENAI_API_KEY: TEST_API_KEY, WEBHOOK_URL: r.url, WEBHOOK_SECRET }),
    store: null,
    webhookPollMs: 50,
  });
  try {
    const { h } = await start({ onTransfer: ops.appOptions().onTransfer });
    await using _h = h;
    const events = () =>
      r.received.filter((got) => !(got.verified instanceof Error)).map((got) =>
        JSON.parse(got.body)
      );
    {
      const { callSid, dial } = await transferredCall(h);
      const second = await twilioPost(h, dialAction(dial), {
        CallSid: callSid,
        AccountSid: ACCOUNT,
        DialCallStatus: "busy",
      });
      await twilioPost(h, dialAction(second.text), {
        CallSid: callSid,
        AccountSid: ACCOUNT,
        DialCallStatus: "no-answer",
      });
      await waitUntil(() => events().some((e) => e.type === "transfer.failed"), 3000, "failed");
      const failed = events().find((e) => e.type === "transfer.failed");
      assert.deepEqual(failed.data, {
        callSid,
        agent: null,
        mode: "cold",
        result: "fallback",
        legs: [
          { destination: maskPhoneNumber("+14155550123"), result: "busy" },
          { destination: "sip:…@pbx.example.com", result: "no-answer" },
        ],
      });
    }
    {
      const { callSid, dial } = await transferredCall(h);
      await twilioPost(h, dialAction(dial), {
        CallSid: callSid,
        AccountSid: ACCOUNT,
        DialCallStatus: "completed",
      });
      await waitUntil(
        () => events().some((e) => e.type === "transfer.completed"),
        3000,
        "completed",
      );
      const completed = events().find((e) => e.type === "transfer.completed");
      assert.equal(completed.data.callSid, callSid);
      assert.deepEqual(completed.data.legs, [
        { destination: maskPhoneNumber("+14155550123"), result: "completed" },
      ]);
    }
  } finally {
    await ops.close();
    await r.server.shutdown();
  }
});
