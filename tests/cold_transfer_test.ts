/**
 * Cold transfers to several destinations, over real sockets: the agent's
 * stream ends with a transfer, `/call-ended` dials the first destination
 * with a `<Dial action>`, each failed dial moves on to the next, and after
 * the last one the caller is back with the agent, who opens with the
 * fallback line. With the shared call store, that fallback stream replays
 * the conversation so far, on whichever instance Twilio reaches. Every
 * request is signed like Twilio's.
 */
import assert from "node:assert/strict";
import { sayHeard } from "./support/heard_speech.ts";
import { startTransferBridge } from "./support/transfer_bridge.ts";
import { BridgeHarness } from "./support/bridge_harness.ts";
import { twilioSignature } from "./support/fake_twilio.ts";
import { connectTwimlStream, signedTwilioPost, twimlStream } from "./support/twilio_requests.ts";
import { DEFAULT_TRANSFER_FALLBACK } from "../src/prompts/mod.ts";
import { type CallCheckpoint, CallCheckpoints } from "../src/calls/call_checkpoints.ts";
import type { AppOptions } from "../src/http/app.ts";
import { parseConfig } from "../src/config/mod.ts";
import { Operations } from "../src/observability/operations.ts";
import { maskPhoneNumber } from "../src/security/phone_numbers.ts";
import { TEST_API_KEY } from "./support/bridge_harness.ts";
import { receiver, WEBHOOK_SECRET } from "./support/webhook_receiver.ts";
import { waitUntil } from "./support/wait.ts";

const PUBLIC = "https://voice.example.com";
const ACCOUNT = "AC" + "3".repeat(32);

function start(app: Partial<AppOptions> = {}) {
  return startTransferBridge({
    PUBLIC_URL: PUBLIC,
    STREAM_TOKEN_SECRET: "cold-stream-token-secret-0123456789",
    TRANSFER_NUMBERS: "+14155550123,sip:desk@pbx.example.com",
    END_CALL_GRACE_SECONDS: "0",
  }, app);
}

async function twilioPost(h: BridgeHarness, url: string, params: Record<string, string>) {
  const response = await signedTwilioPost(h.server.localUrl, url, params);
  return { status: response.status, text: await response.text() };
}

/** Connects the `<Stream>` of `twiml` like Twilio (signed upgrade, the `<Parameter>`s in start). */
async function connectStream(h: BridgeHarness, twiml: string, callSid: string) {
  const call = await connectTwimlStream(h.server.localUrl, callSid, twiml);
  h.calls.push(call);
  return { call, parameters: twimlStream(twiml).parameters };
}

/** An inbound call on `h`: the signed webhook, the media stream, the session set up. */
async function inboundCall(h: BridgeHarness) {
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
  return { callSid, call, session };
}

/** A call whose agent made a cold transfer; resolves with the first `<Dial>`'s TwiML. */
async function transferredCall(h: BridgeHarness) {
  const { callSid, call, session } = await inboundCall(h);
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

Deno.test("cold transfer with the shared call store: nobody answers → the fallback stream, on another instance, replays the conversation, then says the fallback line", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const checkpoints = new CallCheckpoints(kv, { ttlMs: 60_000 });
    const env = {
      PUBLIC_URL: PUBLIC,
      STREAM_TOKEN_SECRET: "cold-stream-token-secret-0123456789",
      TRANSFER_NUMBERS: "+14155550123",
      END_CALL_GRACE_SECONDS: "0",
    };
    // Two instances behind one public URL, one call store.
    await using a = await BridgeHarness.startSecure(env, { app: { checkpoints } });
    await using b = await BridgeHarness.startSecure(env, { app: { checkpoints } });
    const { callSid, call, session } = await inboundCall(a);
    session.userTurn("My invoice for March is wrong.");
    await sayHeard(
      session,
      call,
      0x21,
      "I am sorry to hear that. Let me get someone from billing.",
    );
    const r = session.beginResponse({ message: false });
    r.functionCall("transfer_call", { reason: "billing" });
    r.finish();
    await session.waitFor("response.create");
    session.beginResponse().finish();
    await call.closed;
    const stored = (await kv.get<CallCheckpoint>(["call_checkpoints", callSid])).value;
    assert.equal(stored?.state, "transferring");

    // Twilio asks A what comes next (the stream was A's): the first <Dial>.
    const ended = await twilioPost(a, `${PUBLIC}/call-ended`, {
      CallSid: callSid,
      AccountSid: ACCOUNT,
    });
    // The <Dial action> reaches B: nobody answered.
    const back = await twilioPost(b, dialAction(ended.text), {
      CallSid: callSid,
      AccountSid: ACCOUNT,
      DialCallStatus: "no-answer",
    });
    assert.match(
      back.text,
      new RegExp(`<Stream url="wss://voice\\.example\\.com/media-stream/resumed/${callSid}">`),
    );
    const { call: again, parameters } = await connectStream(b, back.text, callSid);
    assert.equal(parameters.transferFallback, "1");
    const fallback = await b.realtime.nextSession();
    await fallback.waitFor("session.update");
    const line = await fallback.waitFor("response.create");
    // No greeting and no "sorry, I'm back": the fallback line, after the earlier turns.
    assert.equal(line.response.instructions, DEFAULT_TRANSFER_FALLBACK);
    const replayed = fallback.receivedOfType("conversation.item.create").map((e) =>
      `${e.item.role}: ${e.item.content?.[0]?.text ?? e.item.type}`
    );
    assert.ok(replayed.includes("user: My invoice for March is wrong."), replayed.join("\n"));
    assert.ok(
      replayed.includes("assistant: I am sorry to hear that. Let me get someone from billing."),
      replayed.join("\n"),
    );
    assert.equal(again.isOpen, true, "the conversation goes on");
    assert.deepEqual(fallback.schemaErrors, []);
    // The call is live again in the store: a new turn is checkpointed on B.
    fallback.userTurn("Then please take a message.");
    const start = performance.now();
    while (true) {
      const c = (await kv.get<CallCheckpoint>(["call_checkpoints", callSid])).value;
      if (
        c?.state === "live" &&
        c.conversation.some((e) =>
          e.kind === "user" && e.transcript === "Then please take a message."
        )
      ) break;
      if (performance.now() - start > 5000) assert.fail(`checkpoint: ${JSON.stringify(c)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    kv.close();
  }
});

Deno.test("cold transfer with the shared call store: a person answered → the call is over in the store, never resumed", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const checkpoints = new CallCheckpoints(kv, { ttlMs: 60_000 });
    const { h } = await start({ checkpoints });
    await using _h = h;
    const { callSid, dial } = await transferredCall(h);
    const done = await twilioPost(h, dialAction(dial), {
      CallSid: callSid,
      AccountSid: ACCOUNT,
      DialCallStatus: "completed",
    });
    assert.match(done.text, /<Response><Hangup\/><\/Response>$/);
    const c = (await kv.get<CallCheckpoint>(["call_checkpoints", callSid])).value;
    assert.equal(c?.state, "over");
    assert.equal(c?.ending, "transferred");
  } finally {
    kv.close();
  }
});
