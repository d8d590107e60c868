import assert from "node:assert/strict";
import { parseConfig } from "../src/config/mod.ts";
import { OutboundService } from "../src/outbound/outbound_service.ts";
import { environmentAgentCallingOut } from "./support/agent_books.ts";
import type { OutboundProfile } from "../src/agents/agent_profile.ts";
import { AgentsHolder, loadAgents } from "../src/agents/agent_book.ts";
import { MetricsRegistry } from "../src/observability/metrics.ts";
import { BridgeHarness, TEST_API_KEY, TEST_TWILIO_TOKEN } from "./support/bridge_harness.ts";
import { audioBytes, type FakeRealtimeSession } from "./support/fake_realtime.ts";
import { FakeTwilioCall, twilioSignature } from "./support/fake_twilio.ts";
import {
  connectTwimlStream,
  placeAnsweredCall,
  signedTwilioPost,
  twimlStream,
} from "./support/twilio_requests.ts";
import { FakeTwilioRest } from "./support/fake_twilio_rest.ts";
import { waitUntil } from "./support/wait.ts";
import { buildCallRecord } from "../src/calls/call_record.ts";
import { DEFAULT_PRICES } from "../src/calls/prices.ts";
import { assertTakenOverAfterKeys } from "./support/keypad_handoff.ts";

const ACCOUNT = "AC" + "5".repeat(32);
const API_TOKEN = "e2e-control-token-0123456789abcdefghij";
const PUBLIC = "https://voice.example.com";
const VOICEMAIL = "Hi, this is Acme Realty about your listing. Please call us back. Goodbye.";

/** The settings of outbound calling against a fake Twilio REST API (`env` for the harness). */
function outboundSettings(rest: FakeTwilioRest, extra: Record<string, string> = {}) {
  const env = {
    API_TOKEN,
    PUBLIC_URL: PUBLIC,
    TWILIO_ACCOUNT_SID: ACCOUNT,
    TWILIO_PHONE_NUMBER: "+15005550006",
    TWILIO_API_BASE_URL: rest.baseUrl,
    STREAM_TOKEN_SECRET: "e2e-stream-token-secret-0123456789",
    ...extra,
  };
  const config = parseConfig({
    OPENAI_API_KEY: TEST_API_KEY,
    TWILIO_AUTH_TOKEN: TEST_TWILIO_TOKEN,
    ...env,
  });
  return { env, config };
}

/** The bridge (real sockets, fake OpenAI) with outbound calling against a fake Twilio REST API. */
async function start(
  rest: FakeTwilioRest,
  agent: Partial<OutboundProfile> = {
    greeting: "Hi, Acme Realty here.",
    voicemail: VOICEMAIL,
  },
  extra: Record<string, string> = {},
) {
  const { env, config } = outboundSettings(rest, { END_CALL_GRACE_SECONDS: "0", ...extra });
  const registry = new MetricsRegistry();
  const service = OutboundService.create({
    config,
    registry,
    agents: environmentAgentCallingOut(config, agent),
  });
  const h = await BridgeHarness.startSecure(env, {
    app: { agents: service.agents, outbound: service },
  });
  return { h, service, registry };
}

/** What Twilio sends to a public URL of the bridge, signed. */
function twilioPost(h: BridgeHarness, url: string, params: Record<string, string>) {
  return signedTwilioPost(h.server.localUrl, url, params);
}

/** Places a call with POST /calls (`body`); Twilio fetches its TwiML when the callee answers. */
async function placedCall(
  h: BridgeHarness,
  rest: FakeTwilioRest,
  body: Record<string, unknown> = { to: "+15551234567", context: { name: "Ada" } },
) {
  const { callSid, create, twiml } = await placeAnsweredCall(
    h.server.localUrl,
    rest,
    API_TOKEN,
    ACCOUNT,
    body,
  );
  const streamUrl = /<Stream url="([^"]+)"/.exec(twiml)![1];
  return { callSid, create, twiml, streamUrl };
}

/** Twilio connects the media stream of a placed call's TwiML. */
async function connectStream(h: BridgeHarness, placed: Awaited<ReturnType<typeof placedCall>>) {
  const call = await connectTwimlStream(h.server.localUrl, placed.callSid, placed.twiml);
  h.calls.push(call);
  return call;
}

/** Places a call with POST /calls, answers it like Twilio, and connects its media stream. */
async function answeredCall(h: BridgeHarness, rest: FakeTwilioRest) {
  const placed = await placedCall(h, rest);
  // The path names the agent: the bridge sets the call up (wait for AMD) before `start`.
  assert.equal(placed.streamUrl, "wss://voice.example.com/media-stream/outbound/default");
  const call = await connectStream(h, placed);
  return { callSid: placed.callSid, call, create: placed.create, streamUrl: placed.streamUrl };
}

/** AMD says a person answered; the agent's first request for a response (its greeting). */
async function personAnswers(
  h: BridgeHarness,
  amdUrl: string,
  callSid: string,
  session: FakeRealtimeSession,
) {
  await twilioPost(h, amdUrl, { CallSid: callSid, AnsweredBy: "human" });
  return await session.waitFor("response.create");
}

Deno.test("voicemail end to end: the bridge listens, AMD says machine, the callee's machine records the message, then the hang-up reaches REST", async () => {
  await using rest = FakeTwilioRest.start({ accountSid: ACCOUNT, authToken: TEST_TWILIO_TOKEN });
  const { h, service, registry } = await start(rest);
  await using _h = h;
  try {
    const { callSid, call, create } = await answeredCall(h, rest);
    const session = await h.realtime.nextSession();
    await session.waitFor("session.update");
    // Listening: the voicemail greeting neither reaches the model nor gets an answer.
    await call.speak(300); // "Hi, you've reached Ada, leave a message after the beep."
    assert.equal(session.receivedOfType("input_audio_buffer.append").length, 0);
    assert.equal(session.receivedOfType("response.create").length, 0);

    const amd = await twilioPost(h, create.params.AsyncAmdStatusCallback, {
      CallSid: callSid,
      AccountSid: ACCOUNT,
      AnsweredBy: "machine_end_beep",
      MachineDetectionDuration: "4100",
    });
    assert.equal(amd.status, 204);
    const asked = await session.waitFor("response.create");
    assert.ok(asked.response.instructions.includes(`"${VOICEMAIL}"`));
    const response = session.beginResponse();
    response.audio(audioBytes(0x33, 400));
    response.transcript(VOICEMAIL);
    response.finish();
    // The machine hears the whole message, then the bridge hangs up through REST.
    await waitUntil(() => call.playedMs(0x33) >= 400, 3000, "the voicemail message played");
    await waitUntil(
      () => rest.updatesOf(callSid).some((u) => u.params.Status === "completed"),
      3000,
      "the REST hang-up",
    );
    await call.hangUp(); // Twilio ends the stream after the REST hang-up
    assert.equal(session.receivedOfType("response.create").length, 1); // said once
    assert.deepEqual(session.schemaErrors, []);
    const [summary] = await h.waitForFinished(1, 5000);
    assert.equal(summary.outcome, "voicemail");
    assert.equal(summary.reason, "Left a voicemail message.");
    assert.deepEqual(summary.outbound, { answeredBy: "machine_end_beep" });
    const record = buildCallRecord(summary, { prices: DEFAULT_PRICES, startedAtMonotonic: 0 });
    assert.deepEqual(record.outbound, { answeredBy: "machine_end_beep" });

    // Twilio then reports the end: counted as a machine.
    await twilioPost(h, create.params.StatusCallback, {
      CallSid: callSid,
      CallStatus: "completed",
    });
    assert.equal((await service.dialer.attempts.get(callSid))?.outcome, "machine");
    assert.match(registry.render(), /bridge_outbound_calls_total\{outcome="machine"\} 1/);
  } finally {
    await service.close();
  }
});

Deno.test("a person answers: after AMD the agent opens with the outbound greeting", async () => {
  await using rest = FakeTwilioRest.start({ accountSid: ACCOUNT, authToken: TEST_TWILIO_TOKEN });
  const { h, service } = await start(rest);
  await using _h = h;
  try {
    const { callSid, create } = await answeredCall(h, rest);
    const session = await h.realtime.nextSession();
    await session.waitFor("session.update");
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(session.receivedOfType("response.create").length, 0); // no greeting before AMD
    const greeting = await personAnswers(h, create.params.AsyncAmdStatusCallback, callSid, session);
    assert.match(greeting.response.instructions, /"Hi, Acme Realty here\."/);
    assert.deepEqual(session.schemaErrors, []);
  } finally {
    await service.close();
  }
});

Deno.test("send_dtmf plays keys through REST, the call goes on in a new stream with its conversation, and keys pressed reach the model", async () => {
  await using rest = FakeTwilioRest.start({ accountSid: ACCOUNT, authToken: TEST_TWILIO_TOKEN });
  const { h, service } = await start(rest, { sendDtmf: true });
  await using _h = h;
  try {
    const { callSid, call, create } = await answeredCall(h, rest);
    const first = await h.realtime.nextSession();
    const tools = (await first.waitFor("session.update")).session.tools;
    assert.ok(tools.some((t: { name: string }) => t.name === "send_dtmf"));
    await twilioPost(h, create.params.AsyncAmdStatusCallback, {
      CallSid: callSid,
      AnsweredBy: "human",
    });
    // A phone menu answers (this agent has no greeting); the model presses 1.
    first.userTurn("Thanks for calling. For sales, press 1.");
    const r = first.beginResponse({ message: false });
    const { callId } = r.functionCall("send_dtmf", { digits: "1" });
    const output = await first.waitFor(
      "conversation.item.create",
      (e) => e.item.call_id === callId,
    );
    assert.equal(output.item.output, '{"ok":true,"pressed":"1"}');
    r.finish();
    const [update] = rest.updatesOf(callSid);
    assert.match(
      update.params.Twiml,
      /<Play digits="1"\/><Connect action="https:\/\/voice\.example\.com\/call-ended" method="POST"><Stream url="wss:\/\/voice\.example\.com\/media-stream\/outbound\/default\/resume\/CA[0-9a-f]{32}">/,
    );
    const parameters = twimlStream(update.params.Twiml).parameters;
    assert.notEqual(parameters.streamToken, call.customParameters.streamToken); // a fresh one
    const resumeUrl = /<Stream url="([^"]+)"/.exec(update.params.Twiml)![1];
    assert.equal(
      resumeUrl,
      `wss://voice.example.com/media-stream/outbound/default/resume/${callSid}`,
    );

    // Twilio stops the old stream, plays the key, and opens a new stream for the same call.
    await call.hangUp();
    const next = await FakeTwilioCall.connect({
      url: `${h.mediaStreamUrl}/outbound/default/resume/${callSid}`,
      callSid,
      customParameters: parameters,
      headers: { "x-twilio-signature": await twilioSignature(TEST_TWILIO_TOKEN, resumeUrl) },
    });
    h.calls.push(next);
    const second = await h.realtime.nextSession();
    await assertTakenOverAfterKeys(second, "Thanks for calling. For sales, press 1.", "1");

    // Keys the other side presses reach the model as text.
    next.sendDtmf("4");
    const pressed = await second.waitFor(
      "conversation.item.create",
      (e) => e.item.content?.[0]?.text === "The caller pressed 4 on the phone keypad.",
    );
    assert.equal(pressed.item.role, "user");
    await second.waitFor("response.create");
    assert.deepEqual(first.schemaErrors, []);
    assert.deepEqual(second.schemaErrors, []);
  } finally {
    await service.close();
  }
});

Deno.test("an agent of the agents file calls out with its context: the request's context over its webhook's answer fills {{caller.*}} in its instructions and outbound greeting", async () => {
  await using rest = FakeTwilioRest.start({ accountSid: ACCOUNT, authToken: TEST_TWILIO_TOKEN });
  const { env, config } = outboundSettings(rest);
  const loaded = loadAgents({
    config,
    file: { path: "agents.yaml", required: true },
    env: {},
    readTextFile: () =>
      [
        "agents:",
        "  - name: front-desk",
        "  - name: listings",
        "    instructions: 'Call {{caller.name|the owner}} about listing {{caller.listing|unknown}}.'",
        "    context_webhook: { url: 'https://crm.example.com/callee' }",
        "    outbound:",
        "      greeting: 'Hi {{caller.name|there}}, Acme Realty here.'",
      ].join("\n"),
  });
  if (!loaded.ok) throw new Error(loaded.problems.join("\n"));
  const agents = new AgentsHolder(loaded.book);
  const asked: unknown[] = [];
  const service = OutboundService.create({ config, agents });
  const h = await BridgeHarness.startSecure(env, {
    app: {
      agents,
      outbound: service,
      fetch: (_url, init) => {
        asked.push(JSON.parse(String(init?.body)));
        return Promise.resolve(Response.json({ name: "From the CRM", listing: "L-1001" }));
      },
    },
  });
  await using _h = h;
  try {
    const placed = await placedCall(h, rest, {
      to: "+15551234567",
      agent: "listings",
      context: { name: "Ada" },
    });
    const { callSid, create } = placed;
    assert.deepEqual(asked, [{ from: "+15005550006", to: "+15551234567", callSid }]);
    // The context waits on this instance for the stream whose path names the call.
    assert.equal(
      placed.streamUrl,
      `wss://voice.example.com/media-stream/outbound/listings/${callSid}`,
    );
    await connectStream(h, placed);
    const session = await h.realtime.nextSession();
    const update = await session.waitFor("session.update");
    assert.equal(update.session.instructions, "Call Ada about listing L-1001.");
    const greeting = await personAnswers(h, create.params.AsyncAmdStatusCallback, callSid, session);
    assert.match(greeting.response.instructions, /"Hi Ada, Acme Realty here\."/);
    assert.deepEqual(session.schemaErrors, []);
  } finally {
    await service.close();
  }
});

Deno.test("recording with consent on a placed call: the consent line before the stream's Connect, the recording started through REST once the stream starts", async () => {
  await using rest = FakeTwilioRest.start({ accountSid: ACCOUNT, authToken: TEST_TWILIO_TOKEN });
  const consent = "This call is recorded for quality.";
  const { h } = await start(rest, undefined, {
    RECORDING_CONSENT: consent,
    RECORDING_CHANNELS: "dual",
  });
  await using _h = h;
  const placed = await placedCall(h, rest);
  assert.match(
    placed.twiml,
    new RegExp(`<Response><Say>${consent}</Say><Connect [^>]*><Stream url="wss://`),
    "the consent line is the first thing the callee hears",
  );
  assert.equal(rest.recordings.size, 0, "nothing is recorded while Twilio says the consent line");
  // The callee answered (Twilio fetched the TwiML): the call is in progress at Twilio.
  rest.calls.get(placed.callSid)!.status = "in-progress";
  const call = await connectStream(h, placed);
  const session = await h.realtime.nextSession();
  await session.waitFor("session.update");
  await waitUntil(() => rest.recordings.size === 1, 5000, "the recording started");
  const [recording] = rest.recordings.values();
  assert.equal(recording.callSid, placed.callSid);
  assert.equal(recording.params.RecordingChannels, "dual");
  assert.equal(
    recording.params.RecordingStatusCallback,
    `${PUBLIC}/recording-status?agent=default`,
  );
  await call.hangUp();
  await h.waitForFinished(1, 3000);
});
