/**
 * One state for every instance: a call's webhook answered by one instance
 * and its media stream taken by another (no sticky sessions) still gets the
 * caller context the context webhook answered, through the shared call
 * store; an outbound call whose stream after keypad tones (`send_dtmf`)
 * lands on another instance goes on with its conversation. Real sockets,
 * signed requests, one public URL for both instances.
 */
import assert from "node:assert/strict";
import { loadAgents } from "../src/agents/agent_book.ts";
import { parseConfig } from "../src/config/mod.ts";
import { SharedCallState } from "../src/calls/shared_call_state.ts";
import { BridgeHarness, TEST_API_KEY, TEST_TWILIO_TOKEN } from "./support/bridge_harness.ts";
import {
  connectTwimlStream,
  placeAnsweredCall,
  signedTwilioPost,
} from "./support/twilio_requests.ts";
import { FakeTwilioRest } from "./support/fake_twilio_rest.ts";
import { OutboundService } from "../src/outbound/outbound_service.ts";
import { environmentAgentCallingOut } from "./support/agent_books.ts";
import { CallCheckpoints } from "../src/calls/call_checkpoints.ts";
import { DEFAULT_CALL_PROMPTS } from "../src/prompts/mod.ts";
import { assertTakenOverAfterKeys } from "./support/keypad_handoff.ts";

const PUBLIC_URL = "https://voice.example.test";
const ENV = {
  TWILIO_SIGNATURE_CHECK: "on",
  TWILIO_AUTH_TOKEN: TEST_TWILIO_TOKEN,
  STREAM_TOKEN_SECRET: "call-state-shared-secret-0123456789",
  PUBLIC_URL,
};

function agents(backend: string) {
  const loaded = loadAgents({
    config: parseConfig({ OPENAI_API_KEY: TEST_API_KEY }),
    file: { path: "agents.yaml", required: true },
    env: {},
    readTextFile: () =>
      `agents:
  - name: listings
    numbers: ["+15005550001"]
    instructions: "You help callers with listings. The caller is {{caller.name|a caller}}."
    context_webhook: { url: "${backend}/caller", timeout_seconds: 1 }
`,
  });
  if (!loaded.ok) throw new Error(loaded.problems.join("\n"));
  return { book: loaded.book };
}

Deno.test("the caller context answered on one instance reaches the call's stream on another", async () => {
  const backend = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: () => {} },
    () => Response.json({ name: "Ada" }),
  );
  const kv = await Deno.openKv(":memory:");
  try {
    const callState = new SharedCallState(kv);
    const app = { agents: agents(`http://127.0.0.1:${backend.addr.port}`), callState };
    await using a = await BridgeHarness.start(ENV, { app });
    await using b = await BridgeHarness.start(ENV, { app });
    const callSid = `CA${"7".repeat(32)}`;
    const form = { CallSid: callSid, From: "+14155550100", To: "+15005550001" };
    const response = await signedTwilioPost(
      a.server.localUrl,
      `${PUBLIC_URL}/incoming-call`,
      form,
    );
    const twiml = await response.text();
    const url = /<Stream url="([^"]*)"/.exec(twiml)![1];
    assert.equal(url, `wss://voice.example.test/media-stream/agent/listings/${callSid}`);
    // The load balancer sends the stream to B.
    const call = await connectTwimlStream(b.server.localUrl, callSid, twiml);
    b.calls.push(call);
    const session = await b.realtime.nextSession();
    const update = await session.waitFor("session.update");
    assert.equal(
      update.session.instructions,
      "You help callers with listings. The caller is Ada.",
    );
    assert.equal(a.server.app.calls.size, 0, "A only answered the webhook");
  } finally {
    kv.close();
    await backend.shutdown();
  }
});

const ACCOUNT = "AC" + "6".repeat(32);
const API_TOKEN = "state-control-token-0123456789abcdefghij";

/**
 * Two instances with outbound calling (send_dtmf on) over one KV file (calls, checkpoints, call
 * state), a fake Twilio REST API, and what Twilio does: signed posts, a placed call answered.
 */
async function outboundPair(
  rest: FakeTwilioRest,
  dir: string,
  extraEnv: Record<string, string> = {},
) {
  const env = {
    ...ENV,
    ...extraEnv,
    API_TOKEN,
    TWILIO_ACCOUNT_SID: ACCOUNT,
    TWILIO_PHONE_NUMBER: "+15005550006",
    TWILIO_API_BASE_URL: rest.baseUrl,
  };
  const config = parseConfig({ OPENAI_API_KEY: TEST_API_KEY, ...env });
  const services: OutboundService[] = [];
  const harnesses: BridgeHarness[] = [];
  const stores: Deno.Kv[] = [];
  for (let i = 0; i < 2; i++) {
    const service = OutboundService.create({
      config,
      kv: await Deno.openKv(`${dir}/calls.kv`),
      dispatch: false,
      agents: environmentAgentCallingOut(config, { sendDtmf: true, greeting: "Hi, Acme here." }),
    });
    services.push(service);
    const kv = await Deno.openKv(`${dir}/calls.kv`);
    stores.push(kv);
    harnesses.push(
      await BridgeHarness.start(env, {
        app: {
          agents: service.agents,
          outbound: service,
          checkpoints: new CallCheckpoints(kv, { ttlMs: 60_000 }),
        },
      }),
    );
  }
  const signedPost = (h: BridgeHarness, url: string, params: Record<string, string>) =>
    signedTwilioPost(h.server.localUrl, url, params);
  /** Twilio opens the stream a TwiML names on instance `h`. */
  const openStream = async (h: BridgeHarness, callSid: string, twiml: string) => {
    const call = await connectTwimlStream(h.server.localUrl, callSid, twiml);
    h.calls.push(call);
    return call;
  };
  /** POST /calls on A; the callee answers: Twilio fetches the TwiML and opens the stream on A. */
  const answeredCall = async (context?: Record<string, unknown>) => {
    const [a] = harnesses;
    const { callSid, create, twiml } = await placeAnsweredCall(
      a.server.localUrl,
      rest,
      API_TOKEN,
      ACCOUNT,
      { to: "+15551234567", ...(context ? { context } : {}) },
    );
    const call = await openStream(a, callSid, twiml);
    const session = await a.realtime.nextSession();
    const sessionUpdate = await session.waitFor("session.update");
    await signedPost(a, create.params.AsyncAmdStatusCallback, {
      CallSid: callSid,
      AnsweredBy: "human",
    });
    return { callSid, call, session, sessionUpdate };
  };
  /**
   * After the greeting the callee says `said` and the model sends `digits` (send_dtmf): Twilio
   * stops the stream on A. Resolves with the TwiML of the call's next stream.
   */
  const pressedKey = async (
    { callSid, call, session }: Awaited<ReturnType<typeof answeredCall>>,
    said: string,
    digits: string,
  ) => {
    await session.waitFor("response.create"); // the greeting
    session.userTurn(said);
    const r = session.beginResponse({ message: false });
    const { callId } = r.functionCall("send_dtmf", { digits });
    await session.waitFor("conversation.item.create", (e) => e.item.call_id === callId);
    r.finish();
    const [update] = rest.updatesOf(callSid);
    await call.hangUp();
    await harnesses[0].waitForFinished(1);
    return update.params.Twiml;
  };
  return {
    a: harnesses[0],
    b: harnesses[1],
    signedPost,
    openStream,
    answeredCall,
    pressedKey,
    async [Symbol.asyncDispose]() {
      for (const h of harnesses) await h[Symbol.asyncDispose]();
      for (const service of services) await service.close();
      for (const kv of stores) kv.close();
    },
  };
}

Deno.test("send_dtmf on one instance, the call's next stream on another: the conversation goes on there", async () => {
  await using rest = FakeTwilioRest.start({ accountSid: ACCOUNT, authToken: TEST_TWILIO_TOKEN });
  const dir = await Deno.makeTempDir();
  try {
    await using pair = await outboundPair(rest, dir);
    const { b } = pair;
    const answered = await pair.answeredCall();
    const next = await pair.pressedKey(answered, "Thanks for calling. For sales, press 1.", "1");
    // Twilio stopped the old stream on A, plays the key, and the new stream lands on B.
    await pair.openStream(b, answered.callSid, next);
    const second = await b.realtime.nextSession();
    await assertTakenOverAfterKeys(second, "Thanks for calling. For sales, press 1.", "1");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

for (const where of ["the same instance", "another instance"] as const) {
  Deno.test(`send_dtmf: the call's next stream, on ${where}, keeps the caller context of the call`, async () => {
    await using rest = FakeTwilioRest.start({ accountSid: ACCOUNT, authToken: TEST_TWILIO_TOKEN });
    const dir = await Deno.makeTempDir();
    try {
      await using pair = await outboundPair(rest, dir, {
        SYSTEM_MESSAGE: "You call {{caller.name|a customer}} about their order.",
      });
      const { a, b } = pair;
      const answered = await pair.answeredCall({ name: "Ada" });
      const { callSid, sessionUpdate } = answered;
      assert.match(sessionUpdate.session.instructions, /You call Ada about their order\./);
      const twiml = await pair.pressedKey(answered, "For orders, press 2.", "2");
      const next = where === "the same instance" ? a : b;
      await pair.openStream(next, callSid, twiml);
      const second = await next.realtime.nextSession();
      const resumed = await second.waitFor("session.update");
      assert.match(resumed.session.instructions, /You call Ada about their order\./);
      await second.waitFor(
        "conversation.item.create",
        (e) => e.item.type === "function_call" && e.item.name === "send_dtmf",
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("an outbound call whose instance is lost is resumed on another: no AMD wait, no second greeting", async () => {
  await using rest = FakeTwilioRest.start({ accountSid: ACCOUNT, authToken: TEST_TWILIO_TOKEN });
  const dir = await Deno.makeTempDir();
  try {
    await using pair = await outboundPair(rest, dir);
    const { b } = pair;
    const { callSid, session: first } = await pair.answeredCall();
    const greeting = await first.waitFor("response.create");
    assert.match(greeting.response.instructions, /Hi, Acme here\./);
    first.userTurn("Yes, I am interested in selling my flat.");
    const r = first.beginResponse();
    r.transcript("Great, when could we visit?");
    r.finish();
    // The turn is checkpointed; then A is lost (its stream is gone as far as Twilio knows).
    const kv = await Deno.openKv(`${dir}/calls.kv`);
    try {
      const checkpoints = new CallCheckpoints(kv, { ttlMs: 60_000 });
      for (let i = 0; i < 200; i++) {
        const saved = await checkpoints.get(callSid);
        if (
          saved?.conversation.some((e) => "transcript" in e && e.transcript?.startsWith("Great"))
        ) {
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    } finally {
      kv.close();
    }
    // Twilio asks B what comes next.
    const next = await (await pair.signedPost(b, "https://voice.example.test/call-ended", {
      CallSid: callSid,
    })).text();
    assert.match(next, /<Stream url="wss:\/\/voice\.example\.test\/media-stream\/resumed\/CA/);
    await pair.openStream(b, callSid, next);
    const second = await b.realtime.nextSession();
    const ack = await second.waitFor("response.create");
    assert.equal(ack.response.instructions, DEFAULT_CALL_PROMPTS.resumed);
    const texts = second.receivedOfType("conversation.item.create")
      .map((e) => e.item.content?.[0]?.text).filter(Boolean);
    assert.ok(texts.includes("Yes, I am interested in selling my flat."), JSON.stringify(texts));
    assert.equal(second.receivedOfType("response.create").length, 1, "one line, no greeting");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
