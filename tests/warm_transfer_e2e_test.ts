/**
 * Warm transfers end to end, over real sockets: the bridge, the fake
 * Realtime server (which answers the out-of-band briefing), a fake Twilio
 * media stream for the caller, and the fake Twilio REST API that places the
 * person's leg and plays its far end (status, AMD and `<Gather>` callbacks,
 * conferences), every callback signed like Twilio's.
 */
import assert from "node:assert/strict";
import { startTransferBridge } from "./support/transfer_bridge.ts";
import { BridgeHarness, TEST_TWILIO_TOKEN } from "./support/bridge_harness.ts";
import { twilioSignature } from "./support/fake_twilio.ts";
import { connectTwimlStream, signedTwilioPost } from "./support/twilio_requests.ts";
import { conferenceOf, type FakeRestCall, FakeTwilioRest } from "./support/fake_twilio_rest.ts";
import type { FakeRealtimeSession } from "./support/fake_realtime.ts";
import { audioBytes } from "./support/fake_realtime.ts";
import { waitUntil } from "./support/wait.ts";
import { DEFAULT_TRANSFER_FALLBACK } from "../src/prompts/mod.ts";
import { buildCallRecord } from "../src/calls/call_record.ts";
import type { AppOptions } from "../src/http/app.ts";
import { parseConfig } from "../src/config/mod.ts";
import { Operations } from "../src/observability/operations.ts";
import { TEST_API_KEY } from "./support/bridge_harness.ts";
import { maskPhoneNumber } from "../src/security/phone_numbers.ts";
import { receiver, WEBHOOK_SECRET } from "./support/webhook_receiver.ts";
import { DEFAULT_PRICES } from "../src/calls/prices.ts";

const ACCOUNT = "AC" + "7".repeat(32);
const PUBLIC = "https://voice.example.com";
const CALLED = "+14155550199";
const FIRST = "+15005550101";
const SECOND = "+15005550102";

/** The bridge with warm transfers to `destinations`, against `rest` (`app`: more app options). */
async function start(
  rest: FakeTwilioRest,
  destinations = [FIRST, SECOND],
  app: Partial<AppOptions> = {},
) {
  const { h, registry } = await startTransferBridge({
    PUBLIC_URL: PUBLIC,
    TWILIO_ACCOUNT_SID: ACCOUNT,
    TWILIO_API_BASE_URL: rest.baseUrl,
    STREAM_TOKEN_SECRET: "e2e-stream-token-secret-0123456789",
    TRANSFER_MODE: "warm",
    TRANSFER_NUMBERS: destinations.join(","),
    END_CALL_GRACE_SECONDS: "0",
  }, app);
  rest.callbacksTo(h.server.localUrl);
  return { h, registry };
}

/** What Twilio sends to a public URL of the bridge, signed. */
function twilioPost(h: BridgeHarness, url: string, params: Record<string, string>) {
  return signedTwilioPost(h.server.localUrl, url, params);
}

/** An inbound call: the signed webhook, then the media stream; the fake REST knows the call. */
async function inboundCall(h: BridgeHarness, rest: FakeTwilioRest) {
  const callSid = `CA${crypto.randomUUID().replaceAll("-", "")}`;
  rest.addCall(callSid);
  const twiml = await (await twilioPost(h, `${PUBLIC}/incoming-call`, {
    CallSid: callSid,
    AccountSid: ACCOUNT,
    From: "+14155550100",
    To: CALLED,
  })).text();
  const call = await connectTwimlStream(h.server.localUrl, callSid, twiml);
  h.calls.push(call);
  const session = await h.realtime.nextSession();
  await session.waitFor("session.update");
  return { callSid, call, session };
}

/**
 * Waits for Twilio's final callback of `legSid` with `status` (naming `what` on a timeout), and
 * checks the bridge ended the leg through REST with exactly that status.
 */
async function legEndedThroughRest(
  rest: FakeTwilioRest,
  legSid: string,
  status: string,
  what: string,
) {
  await waitUntil(
    () => rest.callbacks.some((c) => c.params.CallSid === legSid && c.params.CallStatus === status),
    2000,
    what,
  );
  assert.deepEqual(rest.updatesOf(legSid).map((u) => u.params.Status), [status]);
}

/** The model calls the warm transfer tool; resolves when the person's first leg was requested. */
async function modelTransfers(session: FakeRealtimeSession, rest: FakeTwilioRest) {
  const calledAt = performance.now();
  const r = session.beginResponse({ message: false });
  r.functionCall("transfer_call", { reason: "wants to book a viewing" });
  r.finish();
  const leg = await waitForLeg(rest, FIRST);
  const requestedAt = performance.now();
  // The agent tells the caller it is getting someone, and stays on the line.
  const hold = await session.waitFor(
    "response.create",
    (e) => e.response?.conversation !== "none",
  );
  assert.match(hold.response.instructions, /stay on the line/);
  const spoken = session.beginResponse();
  spoken.audio(audioBytes(0x44, 200));
  spoken.finish();
  return { calledAt, requestedAt, leg };
}

async function waitForLeg(rest: FakeTwilioRest, to: string, after = 0): Promise<FakeRestCall> {
  await waitUntil(
    () => rest.creates.filter((c) => c.params.To === to).length > after,
    3000,
    `the leg to ${to}`,
  );
  return rest.placed((c) => c.to === to)!;
}

Deno.test("warm transfer, accepted by the first destination: briefed leg through REST, caller moved into the person's conference, stop is the hand-over", async () => {
  await using rest = FakeTwilioRest.start({ accountSid: ACCOUNT, authToken: TEST_TWILIO_TOKEN });
  const { h, registry } = await start(rest);
  await using _h = h;
  const { callSid, call, session } = await inboundCall(h, rest);
  const { calledAt, requestedAt, leg } = await modelTransfers(session, rest);
  assert.ok(requestedAt - calledAt <= 2000, `leg requested after ${requestedAt - calledAt} ms`);

  // The briefing is an out-of-band text response on the call's own session.
  const briefingAsk = session.receivedOfType("response.create").find((e) =>
    e.response?.conversation === "none"
  )!;
  assert.deepEqual(briefingAsk.response.output_modalities, ["text"]);
  assert.equal(briefingAsk.response.metadata.purpose, "transfer_briefing");
  await waitUntil(() => call.playedMs(0x44) >= 200, 2000, "the caller heard the hold line");

  // The person's leg: Twilio's Calls API with every parameter the issue names.
  const create = rest.creates[0];
  assert.equal(create.params.To, FIRST);
  assert.equal(create.params.From, CALLED);
  assert.equal(create.params.MachineDetection, "Enable");
  assert.equal(create.params.AsyncAmd, "true");
  assert.equal(create.params.Timeout, "20");
  assert.deepEqual(create.form.getAll("StatusCallbackEvent"), [
    "initiated",
    "ringing",
    "answered",
    "completed",
  ]);
  for (const name of ["Url", "StatusCallback", "AsyncAmdStatusCallback"]) {
    assert.match(create.params[name], /^https:\/\/voice\.example\.com\/transfer\/\w+\?t=w1\./);
    assert.ok(!create.params[name].includes(callSid), `${name} has no raw call reference`);
  }

  assert.equal(await rest.ring(leg.sid), 204);
  const briefing = await rest.answer(leg.sid);
  assert.match(briefing, /<Gather [^>]*numDigits="1"/);
  assert.match(briefing, /actionOnEmptyResult="true"/);
  assert.match(briefing, /The caller asked for a person about a viewing\./);
  assert.match(briefing, /Press 1 to take the call, or 2 to decline\./);
  assert.equal(call.isOpen, true, "the caller is still with the agent while the person is briefed");

  const pressedAt = performance.now();
  const joined = await rest.press(leg.sid, "1");
  const conference = conferenceOf(joined)!;
  assert.match(conference, /^transfer-[A-Za-z0-9_-]{20,}$/);
  await waitUntil(() => rest.moves.length === 1, 2000, "the caller moved");
  const move = rest.moves[0];
  assert.equal(move.callSid, callSid);
  assert.equal(move.conference, conference);
  assert.deepEqual(move.alreadyIn, [leg.sid], "the person was in the conference first");
  assert.ok(move.at - pressedAt <= 1000, `caller moved ${move.at - pressedAt} ms after accept`);
  assert.deepEqual(rest.completed, [], "neither leg was ended");

  // Twilio ends the agent's stream once the caller runs the new TwiML.
  await call.hangUp();
  const [summary] = await h.waitForFinished(1, 3000);
  assert.equal(summary.outcome, "transferred");
  assert.equal(summary.transfer?.legs.length, 1);
  const [first] = summary.transfer!.legs;
  assert.equal(first.result, "accepted");
  assert.equal(first.destination.includes("5550101"), false, "the number is masked");
  assert.ok(first.rangMs !== undefined && first.acceptedAtMs !== undefined);
  // The call record keeps the timeline.
  const record = buildCallRecord(summary, { prices: DEFAULT_PRICES, startedAtMonotonic: 0 });
  assert.deepEqual(record.outcome, "transferred");
  assert.deepEqual(record.transfer, summary.transfer);
  assert.match(registry.render(), /bridge_transfers_total\{mode="warm",result="transferred"\} 1/);
  assert.deepEqual(session.schemaErrors, []);
  assert.deepEqual(session.selfErrors, [], "the briefing's events are valid GA server events");
});

Deno.test("warm transfer: no briefing from the model in time → the person's leg is still requested within 2 s, briefed with the reason", async () => {
  await using rest = FakeTwilioRest.start({ accountSid: ACCOUNT, authToken: TEST_TWILIO_TOKEN });
  const { h } = await start(rest, [FIRST]);
  await using _h = h;
  h.realtime.outOfBandText = null; // the briefing never comes
  const { session } = await inboundCall(h, rest);
  const { calledAt, requestedAt, leg } = await modelTransfers(session, rest);
  const waited = requestedAt - calledAt;
  assert.ok(waited >= 1100 && waited <= 2000, `leg requested after ${Math.round(waited)} ms`);
  assert.match(await rest.answer(leg.sid), /A caller needs a person: wants to book a viewing/);
  await rest.press(leg.sid, "2");
  await session.waitFor(
    "response.create",
    (e) => e.response?.instructions === DEFAULT_TRANSFER_FALLBACK,
  );
});

Deno.test("warm transfer: no answer on the first destination, accepted on the second", async () => {
  await using rest = FakeTwilioRest.start({ accountSid: ACCOUNT, authToken: TEST_TWILIO_TOKEN });
  const { h } = await start(rest);
  await using _h = h;
  const { callSid, call, session } = await inboundCall(h, rest);
  const { leg } = await modelTransfers(session, rest);
  await rest.ring(leg.sid);
  await rest.end(leg.sid, "no-answer");
  const second = await waitForLeg(rest, SECOND);
  assert.equal(rest.creates.length, 2);
  await rest.answer(second.sid);
  await rest.press(second.sid, "1");
  await waitUntil(() => rest.moves.length === 1, 2000, "the caller moved");
  assert.equal(rest.moves[0].callSid, callSid);
  assert.deepEqual(rest.moves[0].alreadyIn, [second.sid]);
  await call.hangUp();
  const [summary] = await h.waitForFinished(1, 3000);
  assert.equal(summary.outcome, "transferred");
  assert.deepEqual(summary.transfer?.legs.map((l) => l.result), ["no-answer", "accepted"]);
});

Deno.test("warm transfer: everyone declines (a 2, then no key) → the fallback line on the live session, the conversation goes on, nobody is moved", async () => {
  await using rest = FakeTwilioRest.start({ accountSid: ACCOUNT, authToken: TEST_TWILIO_TOKEN });
  const { h, registry } = await start(rest);
  await using _h = h;
  const { call, session } = await inboundCall(h, rest);
  const { leg } = await modelTransfers(session, rest);
  await rest.answer(leg.sid);
  const declined = await rest.press(leg.sid, "2");
  assert.match(declined, /<Say>Thank you\..*<Hangup\/>/);
  const second = await waitForLeg(rest, SECOND);
  await rest.answer(second.sid);
  const failedAt = performance.now();
  const silent = await rest.press(second.sid, undefined); // no key: actionOnEmptyResult
  assert.match(silent, /<Hangup\/>/);
  const fallback = await session.waitFor(
    "response.create",
    (e) => e.response?.instructions === DEFAULT_TRANSFER_FALLBACK,
  );
  assert.ok(performance.now() - failedAt <= 1000, "fallback requested within 1 s");
  assert.notEqual(
    fallback.response.conversation,
    "none",
    "said to the caller, in the conversation",
  );
  const said = session.beginResponse();
  said.audio(audioBytes(0x55, 200));
  said.finish();
  await waitUntil(() => call.playedMs(0x55) >= 200, 2000, "the caller heard the fallback line");
  // The conversation goes on: the caller speaks, the bridge still relays it.
  await call.speak(100);
  await waitUntil(() => session.inputAudio.bytes > 0, 2000, "the caller's audio reaches the model");
  assert.equal(call.isOpen, true);
  assert.deepEqual(rest.moves, [], "the caller was never moved");
  assert.equal(h.finished.length, 0);
  assert.match(registry.render(), /bridge_transfers_total\{mode="warm",result="fallback"\} 1/);
  assert.deepEqual(session.schemaErrors, []);
});

Deno.test("warm transfer: a machine answers the person's leg → that leg is ended through REST and the next destination rings", async () => {
  await using rest = FakeTwilioRest.start({ accountSid: ACCOUNT, authToken: TEST_TWILIO_TOKEN });
  const { h } = await start(rest);
  await using _h = h;
  const { session } = await inboundCall(h, rest);
  const { leg } = await modelTransfers(session, rest);
  await rest.answer(leg.sid); // async AMD: the briefing starts at once…
  assert.equal(await rest.amd(leg.sid, "machine_start"), 204); // …then a machine is detected
  await waitUntil(
    () => rest.updatesOf(leg.sid).some((u) => u.params.Status === "completed"),
    2000,
    "the machine's leg ended",
  );
  const second = await waitForLeg(rest, SECOND);
  // A late press from the machine's leg is not an accept.
  assert.match(await rest.press(leg.sid, "1"), /<Hangup\/>/);
  assert.deepEqual(rest.moves, []);
  assert.equal(second.to, SECOND);
  await rest.end(second.sid, "busy");
  await session.waitFor(
    "response.create",
    (e) => e.response?.instructions === DEFAULT_TRANSFER_FALLBACK,
  );
});

Deno.test("warm transfer: the caller hangs up while the person's phone rings → the leg is canceled through REST; once answered it is completed", async () => {
  await using rest = FakeTwilioRest.start({ accountSid: ACCOUNT, authToken: TEST_TWILIO_TOKEN });
  const { h, registry } = await start(rest);
  await using _h = h;
  {
    const { call, session } = await inboundCall(h, rest);
    const { leg } = await modelTransfers(session, rest);
    await rest.ring(leg.sid);
    await call.hangUp();
    await legEndedThroughRest(
      rest,
      leg.sid,
      "canceled",
      "the ringing leg canceled through REST (and Twilio's final callback)",
    );
    const [summary] = await h.waitForFinished(1, 3000);
    assert.equal(summary.outcome, "caller_hung_up");
    assert.deepEqual(summary.transfer?.legs.map((l) => l.result), ["caller_hung_up"]);
  }
  {
    const { call, session } = await inboundCall(h, rest);
    const r = session.beginResponse({ message: false });
    r.functionCall("transfer_call", { reason: "again" });
    r.finish();
    await waitUntil(() => rest.creates.length === 2, 3000, "the second transfer's leg");
    const leg = rest.placed()!;
    const briefing = await rest.answer(leg.sid);
    assert.match(briefing, /<Gather/);
    await call.hangUp();
    await legEndedThroughRest(
      rest,
      leg.sid,
      "completed",
      "the answered leg completed through REST (and Twilio's final callback)",
    );
    // The person presses 1 too late: told the caller is gone, nobody is moved.
    assert.match(await rest.press(leg.sid, "1"), /already hung up/);
    assert.deepEqual(rest.moves, []);
  }
  assert.match(
    registry.render(),
    /bridge_transfers_total\{mode="warm",result="caller_hung_up"\} 2/,
  );
});

Deno.test("transfer routes refuse a wrong Twilio signature (403) and a forged token does nothing", async () => {
  await using rest = FakeTwilioRest.start({ accountSid: ACCOUNT, authToken: TEST_TWILIO_TOKEN });
  const { h } = await start(rest, [FIRST]);
  await using _h = h;
  const { session } = await inboundCall(h, rest);
  const { leg } = await modelTransfers(session, rest);
  const urls = [
    leg.params!.Url,
    leg.params!.StatusCallback,
    leg.params!.AsyncAmdStatusCallback,
    leg.params!.Url.replace("/transfer/briefing", "/transfer/answer"),
    leg.params!.Url.replace("/transfer/briefing", "/transfer/conference"),
    `${PUBLIC}/transfer/dial-ended?t=c1.0..${"A".repeat(43)}`,
  ];
  for (const url of urls) {
    const params = { CallSid: leg.sid, CallStatus: "in-progress", Digits: "1" };
    const u = new URL(url);
    const wrong = await fetch(`${h.server.localUrl}${u.pathname}${u.search}`, {
      method: "POST",
      body: new URLSearchParams(params),
      headers: { "x-twilio-signature": await twilioSignature("wrong-token", url, params) },
    });
    assert.equal(wrong.status, 403, u.pathname);
    await wrong.body?.cancel();
    const unsigned = await fetch(`${h.server.localUrl}${u.pathname}${u.search}`, {
      method: "POST",
      body: new URLSearchParams(params),
    });
    assert.equal(unsigned.status, 403, u.pathname);
    await unsigned.body?.cancel();
  }
  // Signed by Twilio but with a forged token: answered with a hang-up, nothing moves.
  const forged = leg.params!.Url.replace(/t=w1\.[^.]+/, "t=w1.forgedforged");
  const answer = await twilioPost(h, forged, { CallSid: leg.sid, CallStatus: "in-progress" });
  assert.match(await answer.text(), /<Hangup\/>/);
  assert.deepEqual(rest.moves, []);
  assert.equal(rest.creates.length, 1);
  await rest.end(leg.sid, "no-answer"); // the transfer ends: fallback
  await session.waitFor(
    "response.create",
    (e) => e.response?.instructions === DEFAULT_TRANSFER_FALLBACK,
  );
});

/** Operations posting every event to a Standard Webhooks receiver over a real socket. */
async function webhookOps() {
  const r = receiver([]);
  const ops = await Operations.create({
    config: parseConfig({
      OPENAI_API_KEY: TEST_API_KEY,
      WEBHOOK_URL: r.url,
      WEBHOOK_SECRET,
    }),
    store: null,
    webhookPollMs: 50,
  });
  return {
    r,
    ops,
    /** The verified bodies of type `type` received so far. */
    of(type: string) {
      return r.received.filter((got) => !(got.verified instanceof Error))
        .map((got) => JSON.parse(got.body))
        .filter((body) => body.type === type);
    },
    async [Symbol.asyncDispose]() {
      await ops.close();
      await r.server.shutdown();
    },
  };
}

Deno.test("warm transfer accepted → a signed transfer.completed webhook with the CallSid and the masked timeline", async () => {
  await using hooks = await webhookOps();
  await using rest = FakeTwilioRest.start({ accountSid: ACCOUNT, authToken: TEST_TWILIO_TOKEN });
  const { h } = await start(rest, [FIRST, SECOND], {
    onTransfer: hooks.ops.appOptions().onTransfer,
  });
  await using _h = h;
  const { callSid, call, session } = await inboundCall(h, rest);
  const { leg } = await modelTransfers(session, rest);
  await rest.end(leg.sid, "busy");
  const second = await waitForLeg(rest, SECOND);
  await rest.answer(second.sid);
  await rest.press(second.sid, "1");
  await waitUntil(() => rest.moves.length === 1, 2000, "the caller moved");
  await waitUntil(() => hooks.of("transfer.completed").length === 1, 3000, "transfer.completed");
  const [event] = hooks.of("transfer.completed");
  assert.equal(event.data.callSid, callSid);
  assert.equal(event.data.mode, "warm");
  assert.equal(event.data.result, "transferred");
  assert.deepEqual(event.data.legs.map((l: { result: string }) => l.result), ["busy", "accepted"]);
  const body = JSON.stringify(event);
  assert.ok(!body.includes("5550101") && !body.includes("5550102"), "numbers are masked");
  assert.equal(
    event.data.legs[0].destination,
    maskPhoneNumber(FIRST),
    "masked as the record masks",
  );
  assert.deepEqual(hooks.of("transfer.failed"), []);
  await call.hangUp();
  await h.waitForFinished(1, 3000);
});

Deno.test("warm transfer: every destination fails → a signed transfer.failed webhook (result fallback) with each leg's result", async () => {
  await using hooks = await webhookOps();
  await using rest = FakeTwilioRest.start({ accountSid: ACCOUNT, authToken: TEST_TWILIO_TOKEN });
  const { h } = await start(rest, [FIRST, SECOND], {
    onTransfer: hooks.ops.appOptions().onTransfer,
  });
  await using _h = h;
  const { callSid, session } = await inboundCall(h, rest);
  const { leg } = await modelTransfers(session, rest);
  await rest.ring(leg.sid);
  await rest.end(leg.sid, "no-answer");
  const second = await waitForLeg(rest, SECOND);
  await rest.answer(second.sid);
  await rest.press(second.sid, "2");
  await session.waitFor(
    "response.create",
    (e) => e.response?.instructions === DEFAULT_TRANSFER_FALLBACK,
  );
  await waitUntil(() => hooks.of("transfer.failed").length === 1, 3000, "transfer.failed");
  const [event] = hooks.of("transfer.failed");
  assert.equal(event.data.callSid, callSid);
  assert.equal(event.data.mode, "warm");
  assert.equal(event.data.result, "fallback");
  assert.deepEqual(event.data.legs.map((l: { result: string }) => l.result), [
    "no-answer",
    "declined",
  ]);
  assert.ok(!JSON.stringify(event).includes("5550101"), "numbers are masked");
  assert.deepEqual(hooks.of("transfer.completed"), []);
});
