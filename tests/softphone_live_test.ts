/**
 * The softphone's live call view over real sockets: `GET /softphone/events`
 * needs the call's softphone token (checked, not used up), then streams the
 * call's transcript, tool traffic, latency and end as Server-Sent Events.
 */
import assert from "node:assert/strict";
import type { ToolDefinition } from "../src/tools/tool_registry.ts";
import { SoftphoneTokens } from "../src/softphone/softphone_token.ts";
import { LiveCalls, type LiveEvent } from "../src/softphone/live_calls.ts";
import { parseServerEvent } from "../src/openai/server_events.ts";
import { BridgeHarness, sleep, TEST_API_KEY } from "./support/bridge_harness.ts";
import { HttpTool } from "../src/agents/http_tool.ts";
import { parseConfig } from "../src/config/mod.ts";
import { configureLogging, disposeLogging } from "../src/observability/logging.ts";
import { Operations } from "../src/observability/operations.ts";
import { softphoneCall } from "./support/fake_twilio.ts";
import { waitUntil } from "./support/wait.ts";

const ANSWER = 0x33;

/** Reads an SSE body to its end; returns the events' JSON and the raw text. */
async function readEvents(body: ReadableStream<Uint8Array>): Promise<{
  events: LiveEvent[];
  raw: string;
}> {
  const raw = await new Response(body).text();
  const events = raw.split("\n\n")
    .flatMap((frame) => frame.split("\n").filter((l) => l.startsWith("data: ")))
    .map((line) => JSON.parse(line.slice("data: ".length)) as LiveEvent);
  return { events, raw };
}

Deno.test("live view: the token is required, and the call's transcript, tool call and end stream in order", async () => {
  const listings: ToolDefinition = {
    declaration: {
      type: "function",
      name: "lookup_listings",
      description: "Finds flats.",
      parameters: { type: "object" },
    },
    async handler(args) {
      await sleep(120);
      return { matches: [{ street: "Elm Road 4", beds: args.beds, note: "x".repeat(5000) }] };
    },
  };
  const tokens = new SoftphoneTokens();
  // The script answers the caller's turn as the server itself would (create_response on).
  await using h = await BridgeHarness.start({
    SOFTPHONE: "on",
    LOG_LEVEL: "error",
    INTERRUPTION_RESUME: "false",
    // No waiting sound: when the fake OpenAI takes over 1 s to be ready (a loaded machine, a
    // parallel run), the caller's turn would start over it and add a barge_in to the events.
    WAITING_SOUND: "off",
  }, {
    app: { tools: [listings], softphoneTokens: tokens },
  });
  const base = h.server.localUrl;
  const issued = tokens.issue();

  // Without the token, with a forged one, or by POST: refused.
  for (
    const [url, init, status] of [
      [`${base}/softphone/events`, {}, 401],
      [`${base}/softphone/events?token=${issued.token.slice(0, -4)}AAAA`, {}, 401],
      [`${base}/softphone/events?token=${issued.token}`, { method: "POST" }, 405],
    ] as const
  ) {
    const res = await fetch(url, init);
    assert.equal(res.status, status, url);
    await res.body?.cancel();
  }

  // The page listens first; the token still opens the call afterwards (it was not used up).
  const live = await fetch(`${base}/softphone/events?token=${issued.token}`);
  assert.equal(live.status, 200);
  assert.match(live.headers.get("content-type") ?? "", /^text\/event-stream/);
  const reading = readEvents(live.body!);

  const call = await h.call({
    ...softphoneCall(issued),
  });
  const session = await h.realtime.nextSession();
  await session.waitFor("session.update");
  session.userTurn("Do you have two-bedroom flats?");
  const asked = session.respond({
    items: [{ functionCall: { name: "lookup_listings", arguments: '{"beds":2}' } }],
  });
  await asked.ended;
  await session.waitFor("response.create");
  const answer = session.respond({
    items: [{ audioMs: 400, value: ANSWER, transcript: "Yes, one on Elm Road." }],
  });
  await answer.ended;
  await waitUntil(() => call.playedMs(ANSWER) >= 399, 3000, "the answer played");
  await call.hangUp();
  const { events, raw } = await reading;

  const types = events.map((e) => e.type);
  assert.deepEqual(types, [
    "call",
    "caller_stopped",
    "caller",
    "tool_call",
    "tool_result",
    "assistant_audio",
    "assistant",
    "ended",
  ]);
  const byType = <T extends LiveEvent["type"]>(type: T) =>
    events.find((e) => e.type === type) as Extract<LiveEvent, { type: T }>;
  assert.equal(byType("call").callId, issued.callSid);
  assert.equal(byType("caller").text, "Do you have two-bedroom flats?");
  const toolCall = byType("tool_call");
  assert.deepEqual([toolCall.name, toolCall.arguments], ["lookup_listings", '{"beds":2}']);
  const result = byType("tool_result");
  assert.equal(result.callId, toolCall.callId);
  assert.equal(result.failed, false);
  assert.ok(result.durationMs >= 100 && result.durationMs < 2000, `${result.durationMs} ms`);
  // The 5 KB output is capped on the channel (the model got all of it).
  assert.match(result.output, /^\{"matches":\[\{"street":"Elm Road 4","beds":2/);
  assert.match(result.output, /… \(\d+ bytes, cut\)$/);
  assert.ok(new TextEncoder().encode(result.output).length < 2100);
  const audio = byType("assistant_audio");
  assert.ok(
    audio.latencyMs !== undefined && audio.latencyMs >= result.durationMs,
    `turn latency ${audio.latencyMs} ms includes the tool's ${result.durationMs} ms`,
  );
  assert.equal(byType("assistant").text, "Yes, one on Elm Road.");
  assert.equal(byType("ended").outcome, "caller_hung_up");
  // Nothing secret on the channel.
  assert.equal(raw.includes(issued.token), false, "the token is not echoed");
  assert.equal(raw.includes("sk-test"), false, "no API key");

  // After the call, the stream replays and ends at once; the token has been used for the call.
  const again = await readEvents(
    (await fetch(`${base}/softphone/events?token=${issued.token}`)).body!,
  );
  assert.deepEqual(again.events.map((e) => e.type), types);
  assert.deepEqual(session.schemaErrors, []);
});

Deno.test("live view: only softphone calls get a channel; an unused channel ends on closeAll (as the server's shutdown does)", async () => {
  const tokens = new SoftphoneTokens();
  await using h = await BridgeHarness.start({ SOFTPHONE: "on", LOG_LEVEL: "error" }, {
    app: { softphoneTokens: tokens },
  });
  const call = await h.call();
  const session = await h.realtime.nextSession();
  await session.waitFor("session.update");
  await call.hangUp();
  await waitUntil(() => h.finished.length === 1, 3000, "the Twilio call ended");
  assert.equal(h.server.app.liveCalls.size, 0, "a Twilio call has no live view");

  const issued = tokens.issue();
  const live = await fetch(`${h.server.localUrl}/softphone/events?token=${issued.token}`);
  const reading = readEvents(live.body!);
  await waitUntil(() => h.server.app.liveCalls.size === 1, 3000, "the page listens");
  h.server.app.liveCalls.closeAll();
  assert.deepEqual((await reading).events, []);
});

Deno.test("live view: a barge-in reports the cut answer (heard of sent ms); a channel without a call expires", async () => {
  const live = new LiveCalls({ idleMs: 30 });
  const body = live.subscribe("SP1")!;
  const observer = live.observeCall("SP1", 1000, { agent: "front-desk" });
  observer.observe({ kind: "caller_speech_stopped" }, 1500);
  observer.observe({ kind: "assistant_audio_started", responseId: "r1", itemId: "a1" }, 2120);
  observer.observe(
    { kind: "assistant_truncated", itemId: "a1", heardMs: 640.4, sentMs: 2000 },
    2800,
  );
  observer.observe({ kind: "barge_in", truncates: 1 }, 2800);
  observer.observe({ kind: "response_started", responseId: "r2" }, 2900); // not shown
  observer.finished(
    { outcome: "caller_hung_up", durationMs: 3000 } as Parameters<
      typeof observer.finished
    >[0],
  );
  assert.deepEqual((await readEvents(body)).events, [
    { type: "call", callId: "SP1", agent: "front-desk", t: 0 },
    { type: "caller_stopped", t: 500 },
    { type: "assistant_audio", itemId: "a1", responseId: "r1", latencyMs: 620, t: 1120 },
    { type: "truncated", itemId: "a1", heardMs: 640, sentMs: 2000, t: 1800 },
    { type: "barge_in", t: 1800 },
    { type: "ended", outcome: "caller_hung_up", t: 3000 },
  ]);

  const waiting = readEvents(live.subscribe("SP2")!);
  assert.deepEqual((await waiting).events, [], "no call within idleMs: the stream ends");
  assert.equal(live.size, 1, "only the ended call's channel is kept");
});

Deno.test("live view: a late subscriber gets the events kept within maxBytes, and always the end", async () => {
  const live = new LiveCalls({ maxBytes: 200 });
  const early = readEvents(live.subscribe("SP1")!);
  const observer = live.observeCall("SP1", 0);
  for (let i = 0; i < 10; i++) {
    observer.observe({ kind: "caller_transcript", itemId: `item_${i}`, text: "a".repeat(40) }, i);
  }
  observer.finished(
    { outcome: "assistant_ended", durationMs: 50 } as Parameters<
      typeof observer.finished
    >[0],
  );
  const all = (await early).events.map((e) => e.type);
  assert.equal(all.length, 12, "a live subscriber gets every event");
  const late = (await readEvents(live.subscribe("SP1")!)).events.map((e) => e.type);
  assert.ok(late.length < 12 && late.length >= 3, `kept ${late.length}`);
  assert.deepEqual([late[0], late.at(-1)], ["call", "ended"]);
});

Deno.test("live view: a quiet call's stream gets keep-alive comments (proxies' idle timeouts), and they stop with it", async () => {
  const live = new LiveCalls({ keepAliveMs: 40 });
  const body = readEvents(live.subscribe("SP1")!);
  const observer = live.observeCall("SP1", 0);
  await sleep(150); // nothing happens in the call for a while
  observer.finished(
    { outcome: "caller_hung_up", durationMs: 150 } as Parameters<typeof observer.finished>[0],
  );
  const { events, raw } = await body;
  const pings = raw.split("\n\n").filter((frame) => frame === ": keep-alive").length;
  assert.ok(pings >= 2, `${pings} keep-alive comments in 150 ms at 40 ms`);
  assert.deepEqual(events.map((e) => e.type), ["call", "ended"]); // comments are not events
  // No stream is open any more: the timer is gone (the test sanitizer fails on a leaked interval).
});

Deno.test("live view: 120 idle subscriptions never evict a started call's open view; with only live calls, a new page gets none", async () => {
  const live = new LiveCalls({ maxChannels: 3, idleMs: 60_000 });
  const observer = live.observeCall("SPA", 0);
  const watching = readEvents(live.subscribe("SPA")!);
  const idle: ReadableStream<Uint8Array>[] = [];
  for (let i = 0; i < 120; i++) {
    const stream = live.subscribe(`SP${i}`);
    assert.ok(stream !== undefined, "room is made among the idle ones");
    idle.push(stream);
  }
  assert.equal(live.size, 3);
  live.observeCall("SPB", 0);
  live.observeCall("SPC", 0);
  assert.equal(live.subscribe("SPX"), undefined, "every channel is a live call's");
  live.observeCall("SPD", 0); // a call always gets its channel
  assert.equal(live.size, 4);
  observer.observe({ kind: "caller_transcript", itemId: "i1", text: "still here" }, 10);
  observer.finished(
    { outcome: "caller_hung_up", durationMs: 20 } as Parameters<
      typeof observer.finished
    >[0],
  );
  assert.deepEqual((await watching).events.map((e) => e.type), ["call", "caller", "ended"]);
  for (const stream of idle) assert.deepEqual((await readEvents(stream)).events, []);
  live.closeAll();
});

Deno.test("live view: a warm transfer's steps are shown, numbered by destination, without any number", async () => {
  const live = new LiveCalls();
  const body = live.subscribe("SP1")!;
  const observer = live.observeCall("SP1", 0);
  observer.transferStep!({ step: "calling", destination: 1 }, 100);
  observer.transferStep!({ step: "no-answer", destination: 1 }, 900);
  observer.transferStep!({ step: "accepted", destination: 2 }, 2000);
  observer.finished(
    { outcome: "transferred", durationMs: 2500 } as Parameters<
      typeof observer.finished
    >[0],
  );
  assert.deepEqual((await readEvents(body)).events.slice(1), [
    { type: "transfer", step: "calling", destination: 1, t: 100 },
    { type: "transfer", step: "no-answer", destination: 1, t: 900 },
    { type: "transfer", step: "accepted", destination: 2, t: 2000 },
    { type: "ended", outcome: "transferred", t: 2500 },
  ]);
});

Deno.test("a dead tool backend is visible: a log line, a metric outcome and the live view's failed mark", async () => {
  // A backend answering 503, and a closed port (nothing listens there any more).
  const controller = new AbortController();
  const backend = Deno.serve(
    { port: 0, hostname: "127.0.0.1", signal: controller.signal, onListen: () => {} },
    () => new Response("down for maintenance", { status: 503 }),
  );
  const closed = Deno.listen({ port: 0, hostname: "127.0.0.1" });
  const closedPort = (closed.addr as Deno.NetAddr).port;
  closed.close();
  const tool = (name: string, url: string) =>
    new HttpTool({
      name,
      description: "Looks up.",
      parameters: { type: "object", properties: { id: { type: "string" } } },
      method: "GET",
      url,
      headers: { Authorization: "Bearer backend-secret-token-1" },
      timeoutMs: 2000,
    }).definition();
  const lines: string[] = [];
  await configureLogging({ level: "info", format: "json", sink: (line) => lines.push(line) });
  const ops = await Operations.create({
    config: parseConfig({ OPENAI_API_KEY: TEST_API_KEY }),
    store: null,
  });
  const tokens = new SoftphoneTokens();
  try {
    await using h = await BridgeHarness.start({ SOFTPHONE: "on" }, {
      app: {
        ...ops.appOptions(),
        tools: [
          tool("crm_lookup", `http://127.0.0.1:${backend.addr.port}/x/{id}`),
          tool("stock_check", `http://127.0.0.1:${closedPort}/x/{id}`),
        ],
        softphoneTokens: tokens,
      },
    });
    const issued = tokens.issue();
    const reading = readEvents(
      (await fetch(`${h.server.localUrl}/softphone/events?token=${issued.token}`)).body!,
    );
    const call = await h.call({ ...softphoneCall(issued) });
    const session = await h.realtime.nextSession();
    await session.waitFor("session.update");
    for (const name of ["crm_lookup", "stock_check"]) {
      const response = session.beginResponse({ message: false });
      const { callId } = response.functionCall(name, { id: "A-7 +14155550100" });
      response.finish();
      await session.waitFor("conversation.item.create", (e) => e.item.call_id === callId);
    }
    await call.hangUp();
    const { events } = await reading;
    const results = events.filter((e) => e.type === "tool_result") as Array<
      Extract<LiveEvent, { type: "tool_result" }>
    >;
    assert.deepEqual(results.map((r) => [r.name, r.failed]), [
      ["crm_lookup", true],
      ["stock_check", true],
    ]);
    const metrics = ops.metrics.render();
    assert.match(
      metrics,
      /^bridge_tool_results_total\{tool="crm_lookup",outcome="http_error"\} 1$/m,
    );
    assert.match(
      metrics,
      /^bridge_tool_results_total\{tool="stock_check",outcome="unreachable"\} 1$/m,
    );
  } finally {
    controller.abort();
    await backend.finished;
    await ops.close();
    await disposeLogging();
  }
  const failures = lines.map((l) => JSON.parse(l)).filter((l) => /^Tool .* failed/.test(l.message));
  assert.deepEqual(failures.map((l) => [l.level, l.message]), [
    ["warning", "Tool crm_lookup failed: http_error 503."],
    ["warning", "Tool stock_check failed: unreachable."],
  ]);
  const all = lines.join("\n");
  assert.ok(!all.includes("A-7"), "the arguments are not logged");
  assert.ok(!all.includes("backend-secret-token-1"), "nor the tool's header");
  assert.ok(!all.includes(`127.0.0.1:${closedPort}`), "nor its URL");
});

Deno.test("live view: a caller turn the transcription heard no words in shows its length, not made-up words", async () => {
  // The transcription event as the live API sends it for speech without words (usage by duration).
  const parsed = parseServerEvent(JSON.stringify({
    type: "conversation.item.input_audio_transcription.completed",
    event_id: "ev_1",
    item_id: "item_1",
    content_index: 0,
    transcript: "",
    usage: { type: "duration", seconds: 0.8 },
  }));
  assert.ok(
    parsed.ok && parsed.event.type === "conversation.item.input_audio_transcription.completed",
  );
  assert.equal(parsed.event.audioMs, 800);
  for (
    const [live, note] of [
      [new LiveCalls(), "(0.8 s of speech, no words transcribed)"],
      [new LiveCalls({ untranscribedNote: (ms) => `stand-in: ${ms} ms` }), "stand-in: 800 ms"],
    ] as const
  ) {
    const body = live.subscribe("SP1")!;
    const observer = live.observeCall("SP1", 0);
    observer.observe({ kind: "caller_transcript", itemId: "item_1", text: "", speechMs: 800 }, 10);
    observer.observe({ kind: "caller_transcript", itemId: "item_2", text: "Hello" }, 20);
    observer.finished(
      { outcome: "caller_hung_up", durationMs: 30 } as Parameters<typeof observer.finished>[0],
    );
    const callers = (await readEvents(body)).events.filter((e) => e.type === "caller");
    assert.deepEqual(callers, [
      { type: "caller", itemId: "item_1", text: "", speechMs: 800, note, t: 10 },
      { type: "caller", itemId: "item_2", text: "Hello", t: 20 },
    ]);
    live.closeAll();
  }
});
