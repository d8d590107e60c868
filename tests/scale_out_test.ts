/**
 * Scale-out end to end over real sockets: two bridge instances on port 0
 * behind one public URL with the same `STREAM_TOKEN_SECRET`. A call whose
 * webhook hit one instance and whose media stream hit the other is bridged;
 * one instance drains (its calls get their goodbye, none is dropped) while
 * the other takes the new calls; both write their call records into one
 * store.
 */
import assert from "node:assert/strict";
import { parseConfig } from "../src/config/mod.ts";
import { drainApp } from "../src/http/drain.ts";
import { KvCallStore } from "../src/calls/call_store.ts";
import { Operations } from "../src/observability/operations.ts";
import { BridgeHarness, TEST_API_KEY, TEST_TWILIO_TOKEN } from "./support/bridge_harness.ts";
import { audioBytes, type FakeRealtimeSession } from "./support/fake_realtime.ts";
import { FakeTwilioCall, twilioSignature } from "./support/fake_twilio.ts";
import { signedTwilioPost, twimlStream } from "./support/twilio_requests.ts";

/** The one public URL of both instances (the load balancer's). */
const PUBLIC_URL = "https://voice.example.test";
const SHARED_SECRET = "scale-out-shared-secret-0123456789";

function instanceEnv(secret = SHARED_SECRET): Record<string, string> {
  return {
    TWILIO_SIGNATURE_CHECK: "on",
    TWILIO_AUTH_TOKEN: TEST_TWILIO_TOKEN,
    STREAM_TOKEN_SECRET: secret,
    PUBLIC_URL,
    END_CALL_GRACE_SECONDS: "0.2",
  };
}

/** Posts Twilio's signed webhook to `instance` (as the load balancer forwards it); returns the TwiML parameters. */
async function webhookOn(
  instance: BridgeHarness,
  callSid: string,
): Promise<Record<string, string>> {
  const form = { CallSid: callSid, From: "+14155550100", To: "+14155550199" };
  const response = await signedTwilioPost(
    instance.server.localUrl,
    `${PUBLIC_URL}/incoming-call`,
    form,
  );
  const body = await response.text();
  assert.equal(response.status, 200, body);
  assert.match(body, /<Stream url="wss:\/\/voice\.example\.test\/media-stream"/);
  return twimlStream(body).parameters;
}

/** Opens the media stream of `callSid` on `instance`, signed for the public URL, with the TwiML's parameters. */
async function streamOn(
  instance: BridgeHarness,
  callSid: string,
  parameters: Record<string, string>,
): Promise<FakeTwilioCall> {
  const call = await FakeTwilioCall.connect({
    url: instance.mediaStreamUrl,
    callSid,
    customParameters: parameters,
    headers: {
      "x-twilio-signature": await twilioSignature(
        TEST_TWILIO_TOKEN,
        `${PUBLIC_URL.replace("https", "wss")}/media-stream`,
      ),
    },
  });
  instance.calls.push(call);
  return call;
}

/** The assistant says something on `session`; resolves when the caller got all of it. */
async function speak(session: FakeRealtimeSession, call: FakeTwilioCall, value: number) {
  const r = session.beginResponse();
  r.audio(audioBytes(value, 100));
  r.finish();
  await call.waitFor(() => call.receivedAudioBytes(value) === 800);
}

/** Waits until `predicate` holds (polling), or fails naming `what`. */
async function until(predicate: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const start = performance.now();
  while (!predicate()) {
    if (performance.now() - start > timeoutMs) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function callSid(n: number): string {
  return `CA${String(n).padStart(32, "0")}`;
}

Deno.test("scale-out: the webhook on one instance, the media stream on the other, the call is bridged", async () => {
  await using a = await BridgeHarness.start(instanceEnv());
  await using b = await BridgeHarness.start(instanceEnv());
  const sid = callSid(1);
  const call = await streamOn(b, sid, await webhookOn(a, sid));
  const session = await b.realtime.nextSession();
  await session.waitFor("session.update");
  call.sendFrames(5, 0x42);
  await speak(session, call, 0x21);
  await until(() => session.inputAudio.bytes === 5 * 160, "the caller's audio at OpenAI");
  assert.equal(a.server.app.calls.size, 0, "instance A only answered the webhook");
  await call.hangUp();
  const [summary] = await b.waitForFinished(1);
  assert.equal(summary.callSid, sid);
  assert.equal(summary.outcome, "caller_hung_up");
  assert.deepEqual(session.schemaErrors, []);
  assert.deepEqual(call.protocolErrors, []);
});

Deno.test("scale-out: an instance with another STREAM_TOKEN_SECRET refuses the stream (1008)", async () => {
  await using a = await BridgeHarness.start(instanceEnv());
  await using other = await BridgeHarness.start(instanceEnv("a-different-secret-0123456789abcdef"));
  const sid = callSid(2);
  const call = await streamOn(other, sid, await webhookOn(a, sid));
  const closed = await call.closed;
  assert.equal(closed.code, 1008);
});

Deno.test("scale-out: one instance drains while the other takes new calls; the draining one's calls get their goodbye, none is dropped", async () => {
  await using a = await BridgeHarness.start(instanceEnv());
  await using b = await BridgeHarness.start(instanceEnv());
  // A call on A whose webhook went to B.
  const first = await streamOn(a, callSid(3), await webhookOn(b, callSid(3)));
  const firstSession = await a.realtime.nextSession();
  await firstSession.waitFor("session.update");

  const draining = drainApp(a.server.app, { drainMs: 600, farewellMs: 5000 });
  const ready = async (h: BridgeHarness) => {
    const response = await fetch(`${h.server.localUrl}/readyz`);
    await response.body?.cancel();
    return response.status;
  };
  assert.equal(await ready(a), 503, "the load balancer takes A out of rotation");
  assert.equal(await ready(b), 200);

  // A new call arrives while A drains: the load balancer sends it to B, webhook and stream.
  const second = await streamOn(b, callSid(4), await webhookOn(b, callSid(4)));
  const secondSession = await b.realtime.nextSession();
  await secondSession.waitFor("session.update");
  await speak(secondSession, second, 0x44);

  // The call on A goes on during the drain time...
  await speak(firstSession, first, 0x35);
  assert.equal(first.isOpen, true);
  // ... then the assistant says goodbye, the caller hears all of it, and the call ends normally.
  await firstSession.waitFor(
    "response.create",
    (e) => /goodbye/i.test(e.response?.instructions ?? ""),
    10_000,
  );
  const goodbye = firstSession.beginResponse();
  goodbye.audio(audioBytes(0x36, 300));
  goodbye.transcript("We have to end the call now. Please call back. Goodbye!");
  goodbye.finish();
  assert.equal((await first.closed).code, 1000);
  assert.equal(first.playedBytes(0x36), 2400, "the whole goodbye was played before the hang-up");
  assert.deepEqual(await draining, {
    activeAtStart: 1,
    endedOnTheirOwn: 0,
    saidGoodbye: 1,
    hungUp: 0,
  });

  // B's call is untouched by A's drain and still relays both ways.
  assert.equal(second.isOpen, true);
  second.sendFrames(3, 0x43);
  await until(() => secondSession.inputAudio.bytes === 3 * 160, "the caller's audio at OpenAI");
  await speak(secondSession, second, 0x45);
  await second.hangUp();
  const [summary] = await b.waitForFinished(1);
  assert.equal(summary.outcome, "caller_hung_up");
  assert.deepEqual(firstSession.schemaErrors, []);
  assert.deepEqual(secondSession.schemaErrors, []);
});

Deno.test("scale-out: both instances write their call records into one store", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/calls.kv`;
  try {
    // Two handles on one KV database, like two processes sharing CALL_STORE_PATH or a KV Connect URL.
    const config = parseConfig({
      OPENAI_API_KEY: TEST_API_KEY,
      CALL_STORE_PATH: path,
      ...instanceEnv(),
    });
    const opsA = await Operations.create({ config });
    const opsB = await Operations.create({ config });
    try {
      {
        await using a = await BridgeHarness.start(instanceEnv(), { app: opsA.appOptions() });
        await using b = await BridgeHarness.start(instanceEnv(), { app: opsB.appOptions() });
        for (const [n, hook, stream] of [[5, a, b], [6, b, a]] as const) {
          const call = await streamOn(stream, callSid(n), await webhookOn(hook, callSid(n)));
          const session = await stream.realtime.nextSession();
          await session.waitFor("session.update");
          await speak(session, call, 0x50 + n);
          await call.hangUp();
          await stream.waitForFinished(1);
        }
      }
      await opsA.recorder.idle();
      await opsB.recorder.idle();
    } finally {
      await opsA.close();
      await opsB.close();
    }
    const store = await KvCallStore.open({ path, retentionDays: 30 });
    try {
      const listed = (await store.list()).map((r) => r.callSid).sort();
      assert.deepEqual(listed, [callSid(5), callSid(6)]);
      const record = await store.get(callSid(6));
      assert.equal(record?.outcome, "caller_hung_up");
    } finally {
      store.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
