/**
 * End-to-end tests of an agent on GPT-Live (`ENGINE=live`): the real bridge
 * over real sockets between a fake Twilio call and the fake GPT-Live server
 * (`support/fake_live.ts`), whose events are checked against the schema
 * written from the contract.
 */
import assert from "node:assert/strict";
import { BridgeHarness, sleep, TEST_API_KEY } from "./support/bridge_harness.ts";
import { audioBytes } from "./support/fake_realtime.ts";
import { FakeLiveServer, type FakeLiveSession } from "./support/fake_live.ts";
import { encodeBase64 } from "../src/protocol/base64.ts";
import type { ConversationEntry } from "../src/core/conversation_log.ts";

async function until(what: string, check: () => boolean, timeoutMs = 2000): Promise<void> {
  const start = performance.now();
  while (!check()) {
    if (performance.now() - start > timeoutMs) throw new Error(`Timed out waiting: ${what}`);
    await sleep(5);
  }
}

/** The conversation's turns as "who: words". */
function spoken(entries: readonly ConversationEntry[]): string[] {
  return entries.flatMap((e) =>
    e.kind === "user" || e.kind === "assistant" ? [`${e.kind}: ${e.transcript ?? ""}`] : []
  );
}

function assertClean(session: FakeLiveSession): void {
  assert.deepEqual(session.schemaErrors, [], "every event the bridge sent passed the schema");
  assert.deepEqual(session.selfErrors, [], "the fake sent only valid events");
  assert.deepEqual(
    session.outcomes.filter((o) => o.kind === "refused"),
    [],
    "GPT-Live refused nothing the bridge sent (nothing before session.started)",
  );
}

Deno.test("live: session.start first with the key in the header, the greeting asked for after session.started, audio both ways, seconds in the summary", async () => {
  await using live = await FakeLiveServer.start({ expectedApiKey: TEST_API_KEY });
  await using h = await BridgeHarness.start({
    ENGINE: "live",
    OPENAI_LIVE_URL: live.url,
    GREETING: "Hello from Acme.",
    VOICE: "marin",
  });
  const call = await h.call();
  // Caller audio sent before GPT-Live is there waits for session.started.
  const early = encodeBase64(new Uint8Array(160).fill(0x11));
  call.sendMedia(new Uint8Array(160).fill(0x11));
  const session = await live.nextSession();
  const start = await session.waitFor("session.start");
  assert.equal(session.received[0].type, "session.start", "session.start is the first event");
  assert.equal(session.url.search, "", "no query string");
  assert.equal(session.headers.get("authorization"), `Bearer ${TEST_API_KEY}`);
  assert.equal(session.headers.get("sec-websocket-protocol"), null, "the key is not a subprotocol");
  assert.equal(start.session.model, "gpt-live-1", "the live engine's default model");
  assert.deepEqual(start.session.audio, {
    format: { type: "audio/pcmu", rate: 8000 },
    output: { voice: "marin" },
  });
  assert.equal(start.session.delegation.type, "responses");
  assert.equal(start.session.delegation.responses.model, "gpt-5-mini");
  assert.deepEqual(
    start.session.delegation.responses.tools.map((t: { name: string }) => t.name),
    ["end_call"],
  );
  const greeting = await session.waitFor("session.commentary.append");
  assert.match(greeting.content, /Hello from Acme\./);
  assert.equal(greeting.delegation_id, null);
  const first = await session.waitFor("session.input_audio.append");
  assert.equal(first.audio, early, "the early frame was kept, then sent");

  // The silent track before a reply never reaches the caller; the reply and its pauses do.
  session.silence(300);
  session.speak(audioBytes(0x21, 400), "Hello from Acme.");
  session.silence(600);
  await until("the reply played", () => call.playedMs(0x21) >= 400);
  await until("the reply's tail", () => call.receivedAudioBytes(0xff) >= 4000);
  await sleep(50);
  assert.equal(call.receivedAudioBytes(0xff), 4000, "500 ms of pause, then the reply ended");

  for (let i = 0; i < 10; i++) call.sendMedia(new Uint8Array(160).fill(0x22));
  await until("caller audio reached GPT-Live", () => session.inputMs >= 11 * 20);
  session.usage();
  await sleep(50);
  await call.hangUp();
  const [summary] = await h.waitForFinished(1);
  assert.equal(summary.outcome, "caller_hung_up");
  assert.equal(summary.liveSeconds, 0.22, "the session's cumulative seconds");
  assert.deepEqual(spoken(summary.conversation), ["assistant: Hello from Acme."]);
  await session.waitFor("session.close");
  assertClean(session);
});

Deno.test("live: end_call through Responses delegation, the farewell plays out while caller audio still flows, then the REST hang-up", async () => {
  await using live = await FakeLiveServer.start();
  const hungUp: string[] = [];
  await using h = await BridgeHarness.start({
    ENGINE: "live",
    OPENAI_LIVE_URL: live.url,
    END_CALL_GRACE_SECONDS: "0.2",
  }, {
    app: {
      hangUp: (callSid) => {
        hungUp.push(callSid);
        return Promise.resolve();
      },
    },
  });
  const call = await h.call();
  const session = await live.nextSession();
  await session.waitFor("session.start");
  const callId = session.functionCall("end_call", { reason: "caller said goodbye" });
  const output = await session.waitFor("response.item.create");
  assert.deepEqual(output.item, {
    type: "function_call_output",
    call_id: callId,
    output: '{"ok":true}',
  });
  await session.waitFor("response.create");
  const before = session.inputMs;
  session.speak(audioBytes(0x41, 400), "Goodbye!");
  // The caller keeps talking over the farewell: it is not cut, and GPT-Live still hears them.
  for (let i = 0; i < 10; i++) call.sendMedia(new Uint8Array(160).fill(0x7e));
  session.callerSays("wait");
  session.silence(600);
  await until("caller audio during the farewell", () => session.inputMs >= before + 200);
  await sleep(300);
  assert.equal(call.clearCount, 0, "the farewell cannot be interrupted");
  await until("hang-up", () => hungUp.length > 0);
  assert.deepEqual(hungUp, [call.callSid], "hung up through Twilio REST");
  assert.equal(call.playedMs(0x41), 400, "the whole farewell was heard");
  await call.hangUp();
  const [summary] = await h.waitForFinished(1);
  assert.equal(summary.outcome, "assistant_ended");
  assertClean(session);
});

Deno.test("live: the caller talks over the model and it yields: Twilio's held audio is cleared on that very delta, the record keeps what was played", async () => {
  await using live = await FakeLiveServer.start();
  await using h = await BridgeHarness.start({ ENGINE: "live", OPENAI_LIVE_URL: live.url });
  const call = await h.call();
  const session = await live.nextSession();
  await session.waitFor("session.start");
  session.speak(audioBytes(0x21, 3000), "Our opening hours are nine to five every weekday.");
  await until("some of the reply played", () => call.playedMs(0x21) >= 300);
  // A backchannel: the caller's words arrive, the model talks on — nothing is cleared.
  session.callerSays("uh huh, ");
  session.speak(audioBytes(0x21, 900));
  await sleep(100);
  assert.equal(call.clearCount, 0, "the model talked on: no barge-in");
  // Now the caller interrupts and the model goes quiet: the stale tail is cleared at once.
  session.callerSays("sorry, what about Saturday?");
  const sentAt = performance.now();
  session.silence(100);
  await until("clear", () => call.clearCount === 1);
  const clearMs = performance.now() - sentAt;
  const heard = call.playedMs(0x21);
  assert.ok(heard < 3900, `the stale tail was not played (${heard} ms heard)`);
  await sleep(100);
  assert.equal(call.playedMs(0x21), heard, "nothing more of the reply plays after the clear");
  assert.ok(clearMs < 100, `clear ${clearMs.toFixed(1)} ms after the quiet delta was sent`);
  // The model answers the caller's new turn.
  session.speak(audioBytes(0x31, 200), "On Saturdays we open at ten.");
  session.silence(600);
  await until("the answer played", () => call.playedMs(0x31) >= 200);
  await call.hangUp();
  const [summary] = await h.waitForFinished(1);
  assert.equal(summary.stats.bargeIns, 1);
  const turns = summary.conversation.filter((e) => e.kind === "assistant");
  assert.equal(turns.length, 2);
  const cut = turns[0];
  assert.ok(cut.kind === "assistant" && cut.heardMs !== undefined, "the cut reply is marked heard");
  assert.ok(
    Math.abs(cut.heardMs! - heard) <= 120,
    `record: heard ${cut.heardMs} ms, the caller heard ${heard} ms`,
  );
  assert.deepEqual(spoken(summary.conversation).slice(1), [
    "user: uh huh, sorry, what about Saturday?",
    "assistant: On Saturdays we open at ten.",
  ]);
  assertClean(session);
});

Deno.test("live: a session closed mid-call (expired) is continued by a new one with the conversation so far, without a second greeting", async () => {
  await using live = await FakeLiveServer.start();
  await using h = await BridgeHarness.start({
    ENGINE: "live",
    OPENAI_LIVE_URL: live.url,
    GREETING: "Hello from Acme.",
  });
  const call = await h.call();
  const first = await live.nextSession();
  await first.waitFor("session.commentary.append");
  first.speak(audioBytes(0x21, 200), "Hello from Acme, how can I help?");
  first.silence(600);
  await until("greeting played", () => call.playedMs(0x21) >= 200);
  first.callerSays("I want to book a viewing.");
  first.speak(audioBytes(0x22, 200), "Sure, which property?");
  first.silence(600);
  await until("answer played", () => call.playedMs(0x22) >= 200);
  await first.end("expired");
  const second = await live.nextSession();
  const start = await second.waitFor("session.start");
  assert.equal(start.session.model, "gpt-live-1");
  const history = await second.waitFor("session.instructions.append");
  assert.match(history.content, /Do not greet the caller again/);
  assert.match(history.content, /Caller: I want to book a viewing\./);
  assert.match(history.content, /You: Sure, which property\?/);
  // Caller audio flows to the new session.
  const before = second.inputMs;
  for (let i = 0; i < 5; i++) call.sendMedia(new Uint8Array(160).fill(0x7e));
  await until("audio to the new session", () => second.inputMs >= before + 100);
  second.speak(audioBytes(0x23, 200), "Which one?");
  second.silence(600);
  await until("the new session is heard", () => call.playedMs(0x23) >= 200);
  assert.ok(
    !second.receivedTypes.includes("session.commentary.append"),
    "no second greeting",
  );
  await call.hangUp();
  const [summary] = await h.waitForFinished(1);
  assert.equal(summary.stats.reconnects, 1);
  assertClean(first);
  assertClean(second);
});
