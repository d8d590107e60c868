/**
 * A call outlives its server: two server processes share one KV file (the
 * call store) behind one public URL. The call's conversation is
 * checkpointed after each turn; when the instance holding the call is
 * killed with SIGKILL, Twilio's `<Connect action>` request on the other
 * instance gets a new stream for the same call, whose Realtime session
 * hears the conversation so far and says one short line instead of a second
 * greeting. A call that ended is never resumed, and a call is resumed at
 * most 3 times. Real sockets, real processes, Twilio-signed requests.
 */
import assert from "node:assert/strict";
import { BridgeHarness, TEST_TWILIO_TOKEN } from "./support/bridge_harness.ts";
import { CallCheckpoints } from "../src/calls/call_checkpoints.ts";
import { drainApp } from "../src/http/drain.ts";
import {
  audioBytes,
  FakeRealtimeServer,
  type FakeRealtimeSession,
} from "./support/fake_realtime.ts";
import { FakeTwilioCall } from "./support/fake_twilio.ts";
import { connectTwimlStream, signedTwilioPost, twimlStream } from "./support/twilio_requests.ts";
import type { ServerProcess } from "./support/server_process.ts";
import { spawnInstance } from "./support/server_instance.ts";
import type { CallCheckpoint } from "../src/calls/call_checkpoints.ts";
import { DEFAULT_CALL_PROMPTS } from "../src/prompts/mod.ts";

const PUBLIC_URL = "https://voice.example.test";
const SECRET = "resume-shared-secret-0123456789abcdef";

function callSid(n: number): string {
  return `CA${String(n).padStart(32, "0")}`;
}

/** One instance: the fake Realtime server, the shared KV file, the same secrets. */
function instance(
  realtimeUrl: string,
  storePath: string,
  extra: Record<string, string> = {},
): Promise<ServerProcess> {
  return spawnInstance(realtimeUrl, storePath, {
    TWILIO_SIGNATURE_CHECK: "on",
    TWILIO_AUTH_TOKEN: TEST_TWILIO_TOKEN,
    STREAM_TOKEN_SECRET: SECRET,
    PUBLIC_URL,
    END_CALL_GRACE_SECONDS: "0.2",
    GREETING: "Hello from Acme, how can I help?",
    ...extra,
  });
}

/** A signed POST from Twilio to `path` on the instance at `base`; returns the TwiML. */
async function twilioPost(base: string, path: string, form: Record<string, string>) {
  const response = await signedTwilioPost(base, `${PUBLIC_URL}${path}`, form);
  const body = await response.text();
  assert.equal(response.status, 200, body);
  return body;
}

/** The `<Stream>` of a TwiML answer: its URL and parameters. */
function streamOf(twiml: string): { url: string; parameters: Record<string, string> } {
  const { url, parameters } = twimlStream(twiml);
  assert.ok(url !== undefined, `no <Stream> in ${twiml}`);
  return { url, parameters };
}

/** Twilio opens the stream the TwiML names, on the instance at `base` (the load balancer's pick). */
function openStream(base: string, sid: string, twiml: string): Promise<FakeTwilioCall> {
  return connectTwimlStream(base, sid, twiml);
}

/** The assistant speaks `words` on `session`; resolves when the caller heard all of it (played). */
async function say(
  session: FakeRealtimeSession,
  call: FakeTwilioCall,
  value: number,
  words: string,
) {
  const r = session.beginResponse();
  r.audio(audioBytes(value, 100));
  r.transcript(words);
  r.finish();
  await until(
    "the caller heard it",
    () => Promise.resolve(call.playedBytes(value) === 800 ? true : undefined),
    5000,
  );
  // The play-out's last mark reaches the bridge: it counts the words as heard.
  await new Promise((resolve) => setTimeout(resolve, 100));
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 10_000) {
  const start = performance.now();
  while (true) {
    const value = await probe();
    if (value !== undefined) return value;
    if (performance.now() - start > ms) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const HANG_UP = '<?xml version="1.0" encoding="UTF-8"?><Response><Hangup/></Response>';

Deno.test("kill -9 of the instance holding a call: the other resumes it with the conversation, no second greeting; ended calls are not resumed; at most 3 resumes", async () => {
  const realtime = await FakeRealtimeServer.start();
  const dir = await Deno.makeTempDir();
  const storePath = `${dir}/calls.kv`;
  const kv = await Deno.openKv(storePath);
  const calls: FakeTwilioCall[] = [];
  try {
    await using a = await instance(realtime.url, storePath);
    await using b = await instance(realtime.url, storePath);
    const baseA = `http://127.0.0.1:${await a.port()}`;
    const baseB = `http://127.0.0.1:${await b.port()}`;
    const form = (sid: string) => ({ CallSid: sid, From: "+14155550100", To: "+14155550199" });

    // A call that ends normally (end_call) on A is not resumed by B: B answers a plain hang-up.
    const ended = callSid(1);
    const first = await openStream(
      baseA,
      ended,
      await twilioPost(baseA, "/incoming-call", form(ended)),
    );
    calls.push(first);
    const s0 = await realtime.nextSession(5000);
    await s0.waitFor("response.create", undefined, 5000); // the greeting
    const r = s0.beginResponse({ message: false });
    r.functionCall("end_call", { reason: "caller said goodbye" });
    r.finish();
    await s0.waitFor("response.create", (e) => /goodbye/i.test(e.response?.instructions ?? ""));
    const bye = s0.beginResponse();
    bye.audio(audioBytes(0x30, 100));
    bye.finish();
    assert.equal((await first.closed).code, 1000);
    assert.equal(await twilioPost(baseB, "/call-ended", form(ended)), HANG_UP);

    // A live call on A, with one turn each way.
    const sid = callSid(2);
    const call = await openStream(baseA, sid, await twilioPost(baseA, "/incoming-call", form(sid)));
    calls.push(call);
    const s1 = await realtime.nextSession(5000);
    const greeting = await s1.waitFor("response.create", undefined, 5000);
    assert.match(greeting.response.instructions, /Hello from Acme/);
    await say(s1, call, 0x21, "Hello from Acme, how can I help?");
    s1.userTurn("I would like to visit the flat on Baker Street.");
    await say(s1, call, 0x22, "Of course. Which day suits you?");
    // The turn is checkpointed in the shared store.
    const saved = await until("the checkpoint of the turn", async () => {
      const c = (await kv.get<CallCheckpoint>(["call_checkpoints", sid])).value;
      const said = c?.conversation.map((e) => "transcript" in e ? e.transcript : "").join(" | ");
      return said?.includes("Which day suits you?") ? c! : undefined;
    });
    assert.equal(saved.state, "live");

    // A dies.
    a.child.kill("SIGKILL");
    await a.child.status;
    assert.notEqual((await call.closed).code, 1000, "the stream was cut, not ended");

    // Twilio asks B what comes next: a new stream for the same call.
    const next = await twilioPost(baseB, "/call-ended", form(sid));
    const stream = streamOf(next);
    assert.equal(stream.url, `wss://voice.example.test/media-stream/resumed/${sid}`);
    assert.match(next, /<Connect action="https:\/\/voice\.example\.test\/call-ended"/);
    assert.ok(stream.parameters.streamToken, "the new stream carries a signed stream token");
    const opened = performance.now();
    const resumed = await openStream(baseB, sid, next);
    calls.push(resumed);
    const s2 = await realtime.nextSession(5000);
    const update = await s2.waitFor("session.update", undefined, 5000);
    assert.equal(update.session.tools.some((t: { name: string }) => t.name === "end_call"), true);
    // The earlier turns are replayed, then one short line instead of the greeting.
    const ack = await s2.waitFor("response.create", undefined, 5000);
    assert.equal(ack.response.instructions, DEFAULT_CALL_PROMPTS.resumed);
    assert.doesNotMatch(ack.response.instructions, /Hello from Acme/);
    const replayed = s2.receivedOfType("conversation.item.create").map((e) =>
      `${e.item.role}: ${e.item.content?.[0]?.text}`
    );
    assert.deepEqual(replayed, [
      "assistant: Hello from Acme, how can I help?",
      "user: I would like to visit the flat on Baker Street.",
      "assistant: Of course. Which day suits you?",
    ]);
    await say(s2, resumed, 0x23, "Sorry about that, I'm back. Which day suits you?");
    const heardAfterMs = performance.now() - opened;
    assert.ok(heardAfterMs < 1500, `the caller heard the assistant ${heardAfterMs} ms after start`);
    // The call goes on on B: a new turn is checkpointed there.
    s2.userTurn("Tuesday, please.");
    await until("B's checkpoint", async () => {
      const c = (await kv.get<CallCheckpoint>(["call_checkpoints", sid])).value;
      return c?.conversation.some((e) => e.kind === "user" && e.transcript === "Tuesday, please.")
        ? true
        : undefined;
    });

    // The resume cap: the call was resumed once; two more, then the apology and a hang-up.
    for (let i = 0; i < 2; i++) {
      assert.match(await twilioPost(baseB, "/call-ended", form(sid)), /<Connect /);
    }
    const capped = await twilioPost(baseB, "/call-ended", form(sid));
    assert.match(capped, /<Say>Sorry, our assistant is unavailable right now.*<\/Say><Hangup\/>/);
    assert.deepEqual(s1.schemaErrors, []);
    assert.deepEqual(s2.schemaErrors, []);
  } finally {
    await Promise.all(calls.map((c) => c.close()));
    kv.close();
    await realtime.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SIGTERM with DRAIN_MODE=handover moves 5 live calls to the other instance, each at a turn boundary, none lost", async () => {
  const realtime = await FakeRealtimeServer.start();
  const dir = await Deno.makeTempDir();
  const storePath = `${dir}/calls.kv`;
  const calls: FakeTwilioCall[] = [];
  try {
    const handover = { DRAIN_MODE: "handover", DRAIN_SECONDS: "5" };
    await using a = await instance(realtime.url, storePath, handover);
    await using b = await instance(realtime.url, storePath, handover);
    const baseA = `http://127.0.0.1:${await a.port()}`;
    const baseB = `http://127.0.0.1:${await b.port()}`;
    const form = (sid: string) => ({ CallSid: sid, From: "+14155550100", To: "+14155550199" });
    const sids = [11, 12, 13, 14, 15].map(callSid);
    const sessions: FakeRealtimeSession[] = [];
    for (const [i, sid] of sids.entries()) {
      const call = await openStream(
        baseA,
        sid,
        await twilioPost(baseA, "/incoming-call", form(sid)),
      );
      calls.push(call);
      const session = await realtime.nextSession(5000);
      sessions.push(session);
      await session.waitFor("response.create", undefined, 5000);
      await say(session, call, 0x21 + i, "Hello from Acme, how can I help?");
      session.userTurn(`Caller ${i} asks about flat number ${i}.`);
      await say(session, call, 0x31 + i, `Flat ${i} is free on Monday.`);
    }
    // The last call's assistant is still talking when the signal comes: 400 ms of audio.
    const talking = sessions[4].beginResponse();
    talking.audio(audioBytes(0x4f, 400));
    talking.transcript("Would you like to book it?");
    talking.finish();
    await until(
      "the last answer reaching the caller",
      () => Promise.resolve(calls[4].receivedAudioBytes(0x4f) === 3200 ? true : undefined),
    );

    a.child.kill("SIGTERM");
    const closes = await Promise.all(calls.map((call) => call.closed));
    for (const close of closes) assert.equal(close.code, 1000, JSON.stringify(close));
    assert.equal(
      calls[4].playedBytes(0x4f),
      3200,
      "the stream closed at the turn boundary: after the answer was heard",
    );
    assert.equal((await a.child.status).code, 0);

    // Twilio asks the load balancer what comes next; A is gone, B resumes every call.
    for (const [i, sid] of sids.entries()) {
      const next = await twilioPost(baseB, "/call-ended", form(sid));
      assert.match(next, /media-stream\/resumed\//);
      const resumed = await openStream(baseB, sid, next);
      calls.push(resumed);
      const session = await realtime.nextSession(5000);
      const ack = await session.waitFor("response.create", undefined, 5000);
      assert.equal(ack.response.instructions, DEFAULT_CALL_PROMPTS.resumed);
      const replayed = session.receivedOfType("conversation.item.create").map((e) =>
        e.item.content?.[0]?.text
      );
      assert.ok(replayed.includes(`Caller ${i} asks about flat number ${i}.`), `call ${i}`);
      assert.ok(replayed.includes(`Flat ${i} is free on Monday.`), `call ${i}`);
      if (i === 4) assert.ok(replayed.includes("Would you like to book it?"));
      await say(session, resumed, 0x51 + i, "Sorry about that, I'm back.");
      assert.deepEqual(session.schemaErrors, []);
    }
    assert.match(a.output, /"handedOver":5/);
  } finally {
    await Promise.all(calls.map((c) => c.close()));
    await realtime.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a handed-over call whose new stream reaches a draining instance is refused there and resumed by another", async () => {
  const kv = await Deno.openKv(":memory:");
  const checkpoints = new CallCheckpoints(kv, { ttlMs: 60_000 });
  try {
    await using a = await BridgeHarness.start({ GREETING: "Hello!" }, { app: { checkpoints } });
    await using b = await BridgeHarness.start({ GREETING: "Hello!" }, { app: { checkpoints } });
    const sid = callSid(21);
    const call = await a.call({ callSid: sid });
    const session = await a.realtime.nextSession();
    await session.waitFor("response.create");
    await say(session, call, 0x21, "Hello!");
    session.userTurn("Is the flat on Baker Street still free?");
    await say(session, call, 0x22, "It is.");

    const drained = drainApp(a.server.app, { drainMs: 2000, mode: "handover" });
    assert.equal((await call.closed).code, 1000);
    // The action request reaches the draining instance itself: it still answers with a new stream.
    const next = await a.callEnded(sid);
    assert.match(next, /<Stream url="[^"]*\/media-stream\/resumed\/CA0+21"/);
    const path = new URL(streamOf(next).url).pathname;
    // ... which the load balancer sends to A again: refused, the server is shutting down.
    const refused = await FakeTwilioCall.connect({
      url: `${a.server.localUrl.replace("http", "ws")}${path}`,
      callSid: sid,
    });
    assert.equal((await refused.closed).code, 1013);
    assert.deepEqual(await drained, {
      activeAtStart: 1,
      endedOnTheirOwn: 0,
      saidGoodbye: 0,
      hungUp: 0,
      handedOver: 1,
    });
    // Twilio asks again; B answers, and the call goes on there with its conversation.
    const again = await b.callEnded(sid);
    assert.match(again, /\/media-stream\/resumed\//);
    const resumed = await FakeTwilioCall.connect({
      url: `${b.server.localUrl.replace("http", "ws")}${path}`,
      callSid: sid,
    });
    b.calls.push(resumed);
    const second = await b.realtime.nextSession();
    const ack = await second.waitFor("response.create");
    assert.equal(ack.response.instructions, DEFAULT_CALL_PROMPTS.resumed);
    assert.ok(
      second.receivedOfType("conversation.item.create").some((e) =>
        e.item.content?.[0]?.text === "Is the flat on Baker Street still free?"
      ),
    );
    await say(second, resumed, 0x23, "Sorry about that. Yes, it is free.");
    assert.equal((await checkpoints.get(sid))?.resumes, 2);
  } finally {
    kv.close();
  }
});

Deno.test("a call that reaches no turn boundary is handed over at once when the drain time is over", async () => {
  const kv = await Deno.openKv(":memory:");
  const checkpoints = new CallCheckpoints(kv, { ttlMs: 60_000 });
  try {
    await using a = await BridgeHarness.start({ GREETING: "Hello!" }, { app: { checkpoints } });
    const sid = callSid(31);
    const call = await a.call({ callSid: sid });
    const session = await a.realtime.nextSession();
    await session.waitFor("response.create");
    // The assistant's answer is still streaming (no response.done): no turn boundary.
    const r = session.beginResponse();
    r.audio(audioBytes(0x61, 100));
    const t0 = performance.now();
    const drained = await drainApp(a.server.app, { drainMs: 500, mode: "handover" });
    const elapsed = performance.now() - t0;
    assert.equal((await call.closed).code, 1000);
    assert.ok(
      elapsed >= 450,
      `handed over after ${Math.round(elapsed)} ms, not before the deadline`,
    );
    assert.equal(drained.handedOver, 1);
    assert.equal((await checkpoints.get(sid))?.state, "live", "the call is not over");
    assert.match(await a.callEnded(sid), /\/media-stream\/resumed\//);
  } finally {
    kv.close();
  }
});

Deno.test("a stream lost without `stop` on a live instance is resumed there with the conversation, no greeting; a hang-up (stop) or a completed call is not", async () => {
  const kv = await Deno.openKv(":memory:");
  const checkpoints = new CallCheckpoints(kv, { ttlMs: 60_000 });
  try {
    await using h = await BridgeHarness.start({ GREETING: "Hello from Acme!" }, {
      app: { checkpoints },
    });
    const sid = callSid(41);
    const call = await h.call({ callSid: sid });
    const s1 = await h.realtime.nextSession();
    assert.match((await s1.waitFor("response.create")).response.instructions, /Hello from Acme/);
    await say(s1, call, 0x41, "Hello from Acme!");
    s1.userTurn("Is the flat on Baker Street still free?");
    await say(s1, call, 0x42, "It is. When would you like to visit?");
    await until("the checkpoint of the turn", async () => {
      const c = await checkpoints.get(sid);
      return c?.conversation.some((e) => "transcript" in e && e.transcript?.startsWith("It is."))
        ? true
        : undefined;
    });

    // The socket drops without Twilio's `stop`; the instance stays alive.
    await call.close(1000, "");
    const [summary] = await h.waitForFinished(1);
    assert.equal(summary.outcome, "stream_lost");
    assert.equal((await checkpoints.get(sid))?.state, "live", "a lost stream is not a hang-up");

    // Twilio asks the same instance what comes next: a new stream for the same call.
    const next = await h.callEnded(sid);
    const { url, parameters } = streamOf(next);
    assert.equal(new URL(url).pathname, `/media-stream/resumed/${sid}`);
    const resumed = await h.call({
      url: `${h.server.localUrl.replace("http", "ws")}/media-stream/resumed/${sid}`,
      callSid: sid,
      customParameters: parameters,
    });
    const s2 = await h.realtime.nextSession();
    const ack = await s2.waitFor("response.create");
    assert.equal(ack.response.instructions, DEFAULT_CALL_PROMPTS.resumed, "no second greeting");
    assert.deepEqual(
      s2.receivedOfType("conversation.item.create").map((e) =>
        `${e.item.role}: ${e.item.content?.[0]?.text}`
      ),
      [
        "assistant: Hello from Acme!",
        "user: Is the flat on Baker Street still free?",
        "assistant: It is. When would you like to visit?",
      ],
    );
    await say(s2, resumed, 0x43, "Sorry about that, I'm back.");

    // Twilio says the call is completed (the caller is gone): a hang-up, no new stream.
    const completed = await h.server.app.handler(
      new Request("http://127.0.0.1/call-ended", {
        method: "POST",
        body: new URLSearchParams({ CallSid: sid, CallStatus: "completed" }).toString(),
        headers: { "content-type": "application/x-www-form-urlencoded" },
      }),
    );
    assert.equal(await completed.text(), HANG_UP);

    // A real hang-up (`stop`, then the close) ends the call: never resumed.
    await resumed.hangUp();
    const [, second] = await h.waitForFinished(2);
    assert.equal(second.outcome, "caller_hung_up");
    assert.equal((await checkpoints.get(sid))?.state, "over");
    assert.equal(await h.callEnded(sid), HANG_UP);
    assert.deepEqual(s1.schemaErrors, []);
    assert.deepEqual(s2.schemaErrors, []);
  } finally {
    kv.close();
  }
});

Deno.test("a server that stops waits until the end of its calls is in the store (a slow write: no timer outlives it)", async () => {
  const kv = await Deno.openKv(":memory:");
  let recorded = false;
  class SlowCheckpoints extends CallCheckpoints {
    override async markOver(callSid: string, ending: string) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      const result = await super.markOver(callSid, ending);
      recorded = true;
      return result;
    }
  }
  const checkpoints = new SlowCheckpoints(kv, { ttlMs: 60_000 });
  try {
    const h = await BridgeHarness.start({}, { app: { checkpoints } });
    const sid = callSid(51);
    const call = await h.call({ callSid: sid });
    await (await h.realtime.nextSession()).waitFor("session.update");
    await call.hangUp();
    await h[Symbol.asyncDispose]();
    assert.equal(recorded, true, "the hang-up was recorded before the server stopped");
    assert.equal((await checkpoints.get(sid))?.state, "over");
  } finally {
    kv.close();
  }
});
