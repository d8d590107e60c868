/**
 * A warm transfer behind a load balancer: two server processes share one
 * KV file (the call store). The caller's media stream is on A; every
 * callback Twilio makes about the person's leg (status, briefing, the
 * `<Gather>` action, AMD, the conference join) lands on B. B answers the
 * TwiML from the transfer's shared record and relays each callback to A
 * through the store: the person hears the briefing, and their answer still
 * moves the caller (accept) or brings the fallback line (decline) on A,
 * and once the caller hung up on A, a late 1 on B is told so (nobody joins
 * an empty conference).
 * Real sockets, real processes, Twilio-signed requests, the fake Twilio
 * REST API in this process.
 */
import assert from "node:assert/strict";
import { TEST_TWILIO_TOKEN } from "./support/bridge_harness.ts";
import { audioBytes, FakeRealtimeServer } from "./support/fake_realtime.ts";
import { FakeTwilioCall } from "./support/fake_twilio.ts";
import { connectTwimlStream, signedTwilioPost } from "./support/twilio_requests.ts";
import { conferenceOf, type FakeRestCall, FakeTwilioRest } from "./support/fake_twilio_rest.ts";
import { spawnInstance } from "./support/server_instance.ts";
import { waitUntil } from "./support/wait.ts";
import { DEFAULT_TRANSFER_FALLBACK } from "../src/prompts/mod.ts";

const ACCOUNT = "AC" + "8".repeat(32);
const PUBLIC_URL = "https://voice.example.com";
const FIRST = "+15005550101";
const SECOND = "+15005550102";

function instance(realtimeUrl: string, storePath: string, restUrl: string) {
  return spawnInstance(realtimeUrl, storePath, {
    TWILIO_SIGNATURE_CHECK: "on",
    TWILIO_ACCOUNT_SID: ACCOUNT,
    TWILIO_AUTH_TOKEN: TEST_TWILIO_TOKEN,
    TWILIO_API_BASE_URL: restUrl,
    STREAM_TOKEN_SECRET: "instances-stream-token-secret-0123456789",
    PUBLIC_URL,
    TRANSFER_MODE: "warm",
    TRANSFER_NUMBERS: `${FIRST},${SECOND}`,
    END_CALL_GRACE_SECONDS: "0",
    GREETING: "Hello from Acme.",
  });
}

/** A caller on instance `base`: the signed webhook, then the media stream. */
async function inboundCall(base: string, rest: FakeTwilioRest, realtime: FakeRealtimeServer) {
  const callSid = `CA${crypto.randomUUID().replaceAll("-", "")}`;
  rest.addCall(callSid);
  const form = { CallSid: callSid, AccountSid: ACCOUNT, From: "+14155550100", To: "+14155550199" };
  const twiml = await (await signedTwilioPost(base, `${PUBLIC_URL}/incoming-call`, form)).text();
  const call = await connectTwimlStream(base, callSid, twiml);
  const session = await realtime.nextSession(5000);
  await session.waitFor("session.update", undefined, 5000);
  // The greeting: the stream has started.
  await session.waitFor("response.create", undefined, 5000);
  session.beginResponse().finish();
  const r = session.beginResponse({ message: false });
  r.functionCall("transfer_call", { reason: "wants to book a viewing" });
  r.finish();
  // The agent tells the caller it is getting someone, and stays on the line.
  await session.waitFor(
    "response.create",
    (e) => /stay on the line/.test(e.response?.instructions ?? ""),
    5000,
  );
  const hold = session.beginResponse();
  hold.audio(audioBytes(0x44, 200));
  hold.finish();
  return { callSid, call, session };
}

async function legTo(rest: FakeTwilioRest, to: string): Promise<FakeRestCall> {
  await waitUntil(() => rest.placed((c) => c.to === to) !== undefined, 5000, `the leg to ${to}`);
  return rest.placed((c) => c.to === to)!;
}

Deno.test("warm transfer callbacks on another instance: the briefing and the accept on B move the caller held by A; declines on B bring the fallback line on A; a late accept after the caller hung up is refused", async () => {
  const realtime = await FakeRealtimeServer.start();
  await using rest = FakeTwilioRest.start({ accountSid: ACCOUNT, authToken: TEST_TWILIO_TOKEN });
  const dir = await Deno.makeTempDir();
  const calls: FakeTwilioCall[] = [];
  try {
    await using a = await instance(realtime.url, `${dir}/calls.kv`, rest.baseUrl);
    await using b = await instance(realtime.url, `${dir}/calls.kv`, rest.baseUrl);
    const baseA = `http://127.0.0.1:${await a.port()}`;
    const baseB = `http://127.0.0.1:${await b.port()}`;
    // The load balancer sends every callback about the person's leg to B.
    rest.callbacksTo(baseB);

    // 1. Accepted on B: the caller, on A, is moved into the person's conference.
    const first = await inboundCall(baseA, rest, realtime);
    calls.push(first.call);
    const leg = await legTo(rest, FIRST);
    assert.equal(await rest.ring(leg.sid), 204);
    const briefing = await rest.answer(leg.sid);
    assert.match(briefing, /<Gather [^>]*numDigits="1"/, b.output);
    assert.match(briefing, /Press 1 to take the call, or 2 to decline\./);
    const pressedAt = performance.now();
    const joined = await rest.press(leg.sid, "1");
    const conference = conferenceOf(joined);
    assert.ok(conference !== undefined, joined);
    await waitUntil(() => rest.moves.length === 1, 3000, "the caller moved");
    assert.equal(rest.moves[0].callSid, first.callSid);
    assert.equal(rest.moves[0].conference, conference);
    assert.deepEqual(rest.moves[0].alreadyIn, [leg.sid], "the person was in the conference first");
    const movedMs = rest.moves[0].at - pressedAt;
    assert.ok(movedMs <= 1000, `caller moved ${movedMs} ms after the accept`);
    assert.deepEqual(rest.completed, [], "neither leg was ended");

    // 2. Everyone declines on B: the fallback line on the caller's live session on A.
    const legs = rest.creates.length;
    const second = await inboundCall(baseA, rest, realtime);
    calls.push(second.call);
    await waitUntil(() => rest.creates.length > legs, 5000, "the first leg of call 2");
    const one = rest.placed((c) => c.to === FIRST && c.sid !== leg.sid)!;
    await rest.answer(one.sid);
    assert.match(await rest.press(one.sid, "2"), /<Hangup\/>/);
    const two = await legTo(rest, SECOND);
    await rest.answer(two.sid);
    const failedAt = performance.now();
    assert.match(await rest.press(two.sid, undefined), /<Hangup\/>/);
    await second.session.waitFor(
      "response.create",
      (e) => e.response?.instructions === DEFAULT_TRANSFER_FALLBACK,
      3000,
    );
    const fallbackMs = performance.now() - failedAt;
    assert.ok(
      fallbackMs <= 1000,
      `fallback line requested ${fallbackMs} ms after the last decline`,
    );
    assert.equal(second.call.isOpen, true, "the conversation goes on");
    assert.equal(rest.moves.length, 1, "the second caller was never moved");
    assert.match(b.output, /relayed a/, "B relayed the callbacks");

    // 3. The caller (on A) hangs up after the person answered (on B): A ends the person's leg,
    // and a late 1 on B tells the person the caller is gone instead of joining them to nobody.
    const before = rest.creates.length;
    const third = await inboundCall(baseA, rest, realtime);
    calls.push(third.call);
    await waitUntil(() => rest.creates.length > before, 5000, "the leg of call 3");
    const late = rest.placed()!;
    assert.match(await rest.answer(late.sid), /<Gather/);
    // A heard (through the store) that the person answered.
    await waitUntil(
      () => a.output.split("\n").filter((l) => l.includes("Warm transfer: answered")).length === 4,
      3000,
      "A handled the relayed briefing",
    );
    await third.call.hangUp();
    await waitUntil(
      () => rest.updatesOf(late.sid).some((u) => u.params.Status === "completed"),
      3000,
      "the answered leg completed through REST by A",
    );
    const kv = await Deno.openKv(`${dir}/calls.kv`);
    try {
      const start = performance.now();
      while (true) {
        const records = await Array.fromAsync(
          kv.list<{ ended?: string }>({ prefix: ["warm_transfers"] }),
        );
        if (records.some((r) => r.value.ended === "caller_hung_up")) break;
        if (performance.now() - start > 3000) {
          assert.fail("the shared transfer was not marked over");
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } finally {
      kv.close();
    }
    assert.match(await rest.press(late.sid, "1"), /already hung up/);
    assert.equal(rest.moves.length, 1, "nobody else was moved");
  } finally {
    for (const call of calls) await call.hangUp().catch(() => {});
    await realtime.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
