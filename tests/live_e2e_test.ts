/**
 * End-to-end tests of an agent on GPT-Live (`ENGINE=live`): the real bridge
 * over real sockets between a fake Twilio call and the fake GPT-Live server
 * (`support/fake_live.ts`), whose events are checked against the schema
 * written from the contract.
 */
import assert from "node:assert/strict";
import { BridgeHarness, sleep, TEST_API_KEY, TEST_TWILIO_TOKEN } from "./support/bridge_harness.ts";
import { twilioSignature } from "./support/fake_twilio.ts";
import { loadAgents } from "../src/agents/agent_book.ts";
import { parseConfig } from "../src/config/mod.ts";
import { buildCallRecord } from "../src/calls/call_record.ts";
import { DEFAULT_PRICES } from "../src/calls/prices.ts";
import { BridgeMetrics } from "../src/observability/bridge_metrics.ts";
import { audioBytes } from "./support/fake_realtime.ts";
import { FakeLiveServer, type FakeLiveSession } from "./support/fake_live.ts";
import { encodeBase64 } from "../src/audio/base64.ts";
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
  const cleared = call.waitFor((m) => m.event === "clear", 2000);
  const sentAt = performance.now();
  session.silence(100);
  await cleared;
  const clearMs = performance.now() - sentAt;
  assert.equal(call.clearCount, 1);
  const heard = call.playedMs(0x21);
  assert.ok(heard < 3900, `the stale tail was not played (${heard} ms heard)`);
  await sleep(100);
  assert.equal(call.playedMs(0x21), heard, "nothing more of the reply plays after the clear");
  // Two loopback hops and the bridge in between (the bridge itself clears in the same step:
  // tests/live_engine_test.ts); generous for a loaded machine.
  assert.ok(clearMs < 50, `clear ${clearMs.toFixed(1)} ms after the quiet delta was sent`);
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

Deno.test("live: a session closed mid-call (expired) is continued by a new one with the conversation so far, without a second greeting; the waiting sound covers the gap", async () => {
  await using live = await FakeLiveServer.start();
  const dir = await Deno.makeTempDir();
  const chime = `${dir}/chime.ulaw`;
  await Deno.writeFile(chime, new Uint8Array(1600).fill(0x5a));
  await using h = await BridgeHarness.start({
    ENGINE: "live",
    OPENAI_LIVE_URL: live.url,
    GREETING: "Hello from Acme.",
    WAITING_SOUND: chime,
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
  // GPT-Live is slow to give a new session: the caller hears the waiting sound meanwhile.
  live.answerDelayMs = 1800;
  await first.end("expired");
  await until("the waiting sound plays", () => call.receivedAudioBytes(0x5a) > 0, 3000);
  const second = await live.nextSession(4000);
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
  await Deno.remove(dir, { recursive: true });
});

const LISTINGS_TOKEN = "listings-live-secret-5e1d";

Deno.test("live agent of the agents file: signed webhook and stream, an HTTP tool through Responses delegation (its secret stays in the bridge), backend tokens and seconds priced in the record", async () => {
  const seen: Array<{ path: string; authorization: string | null }> = [];
  const controller = new AbortController();
  const backend = Deno.serve(
    { port: 0, hostname: "127.0.0.1", signal: controller.signal, onListen: () => {} },
    (request) => {
      const url = new URL(request.url);
      seen.push({ path: url.pathname, authorization: request.headers.get("authorization") });
      return Response.json({ id: "12", price: 450000 });
    },
  );
  const backendUrl = `http://127.0.0.1:${backend.addr.port}`;
  try {
    await using live = await FakeLiveServer.start({ expectedApiKey: TEST_API_KEY });
    const config = parseConfig({ OPENAI_API_KEY: TEST_API_KEY, OPENAI_LIVE_URL: live.url });
    const loaded = loadAgents({
      config,
      file: { path: "agents.yaml", required: true },
      env: { LISTINGS_TOKEN },
      readTextFile: () => `
agents:
  - name: front-desk
  - name: listings
    engine: live
    numbers: ["+15005550001"]
    instructions: "You help callers with listings."
    backend_model: gpt-5-nano
    reasoning_effort: low
    tools:
      - type: http
        name: lookup_listing
        description: Look up a listing by its id.
        parameters: { type: object, properties: { listing_id: { type: string } }, required: [listing_id] }
        request:
          url: "${backendUrl}/listings/{listing_id}"
          headers: { Authorization: "Bearer \${LISTINGS_TOKEN}" }
`,
    });
    if (!loaded.ok) throw new Error(loaded.problems.join("\n"));
    await using h = await BridgeHarness.startSecure({ OPENAI_LIVE_URL: live.url }, {
      app: { agents: { book: loaded.book } },
    });
    const callSid = `CA${crypto.randomUUID().replaceAll("-", "")}`;
    const answer = await h.webhook({ CallSid: callSid, From: "+14155550100", To: "+15005550001" });
    assert.ok(answer.streamUrl?.endsWith("/media-stream/agent/listings"), answer.body);
    // An unsigned stream is refused before GPT-Live is dialled.
    const forged = await h.call({
      url: answer.streamUrl!.replace(/^wss:/, "ws:"),
      callSid,
      customParameters: answer.parameters,
    }).then((c) => c.closed, (error) => ({ code: 0, reason: String(error) }));
    assert.notEqual(forged.code, 1000);
    const call = await h.call({
      url: answer.streamUrl!.replace(/^wss:/, "ws:"),
      callSid,
      headers: {
        "x-twilio-signature": await twilioSignature(TEST_TWILIO_TOKEN, answer.streamUrl!),
      },
      customParameters: answer.parameters,
    });
    const session = await live.nextSession();
    assert.equal(live.sessions.length, 1, "only the signed stream reached GPT-Live");
    const start = await session.waitFor("session.start");
    assert.equal(start.session.instructions, "You help callers with listings.");
    assert.deepEqual(start.session.delegation.responses.model, "gpt-5-nano");
    assert.deepEqual(start.session.delegation.responses.reasoning, { effort: "low" });
    const tool = start.session.delegation.responses.tools.find(
      (t: { name: string }) => t.name === "lookup_listing",
    );
    assert.deepEqual(Object.keys(tool).sort(), ["description", "name", "parameters", "type"]);

    const callId = session.functionCall("lookup_listing", { listing_id: "12" });
    const output = await session.waitFor("response.item.create");
    assert.equal(output.item.call_id, callId);
    assert.deepEqual(JSON.parse(output.item.output), {
      status: 200,
      data: { id: "12", price: 450000 },
    });
    await session.waitFor("response.create");
    assert.deepEqual(seen, [{ path: "/listings/12", authorization: `Bearer ${LISTINGS_TOKEN}` }]);
    session.send([session.kit.backendUsage(1200, 80)]);
    session.speak(audioBytes(0x21, 200), "It is 450,000 dollars.");
    session.silence(600);
    await until("the answer played", () => call.playedMs(0x21) >= 200);
    for (let i = 0; i < 25; i++) call.sendMedia(new Uint8Array(160).fill(0x7e));
    await until("audio in", () => session.inputMs >= 500);
    session.usage();
    await sleep(50);
    const raw = JSON.stringify(session.received);
    assert.ok(!raw.includes(LISTINGS_TOKEN), "the HTTP tool's secret never reaches OpenAI");
    assert.ok(!raw.includes(backendUrl), "nor does the backend's URL");
    await call.hangUp();
    const [summary] = await h.waitForFinished(1);
    assert.equal(summary.usage.inputTextTokens, 1200, "the backend model's tokens");
    assert.equal(summary.usage.outputTextTokens, 80);
    const record = buildCallRecord(summary, {
      prices: DEFAULT_PRICES,
      livePricePerMinute: 0.05,
      startedAtMonotonic: 0,
    });
    assert.deepEqual(record.live, { seconds: 0.5, usdPerMinute: 0.05 });
    const tokensUsd = (1200 * DEFAULT_PRICES.inputText + 80 * DEFAULT_PRICES.outputText) / 1e6;
    assert.equal(record.estimatedCostUsd, Math.round((tokensUsd + 0.5 / 60 * 0.05) * 1e6) / 1e6);
    // /metrics adds the session seconds at the per-minute price when the call finishes.
    const metrics = new BridgeMetrics({ prices: DEFAULT_PRICES, livePricePerMinute: 0.05 });
    metrics.observeCall(0, { agent: "listings" }).finished(summary);
    const cost = /^bridge_estimated_cost_usd_total (\S+)$/m.exec(metrics.render())?.[1];
    assert.ok(Math.abs(Number(cost) - 0.5 / 60 * 0.05) < 1e-9, `cost ${cost}`);
    assertClean(session);
  } finally {
    controller.abort();
    await backend.finished;
  }
});

Deno.test("live: a session is renewed ahead of its expires_at at a turn boundary: the new one hears the conversation, the old one gets session.close, no gap", async () => {
  await using live = await FakeLiveServer.start({ lifetimeSeconds: 3 });
  await using h = await BridgeHarness.start({ ENGINE: "live", OPENAI_LIVE_URL: live.url });
  const call = await h.call();
  const first = await live.nextSession();
  await first.waitFor("session.start");
  live.lifetimeSeconds = 3600; // the next sessions live long
  first.callerSays("Do you have flats in Springfield?");
  first.speak(audioBytes(0x21, 200), "Yes, three of them.");
  first.silence(600);
  await until("the answer played", () => call.playedMs(0x21) >= 200);
  // About half-way to expires_at, a new session opens; the call is idle, so it switches at once.
  const second = await live.nextSession(4000);
  const history = await second.waitFor("session.instructions.append");
  assert.match(
    history.content,
    /Caller: Do you have flats in Springfield\?\nYou: Yes, three of them\.$/,
  );
  await first.waitFor("session.close");
  await first.closed;
  const before = second.inputMs;
  for (let i = 0; i < 5; i++) call.sendMedia(new Uint8Array(160).fill(0x7e));
  await until("caller audio goes to the new session", () => second.inputMs >= before + 100);
  await call.hangUp();
  const [summary] = await h.waitForFinished(1);
  assert.equal(summary.stats.sessionRenewals, 1);
  assert.equal(summary.stats.reconnects, 0, "renewed, not lost");
  assertClean(first);
  assertClean(second);
});
