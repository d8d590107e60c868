/**
 * Agents end to end over real sockets: a signed Twilio call to a number of
 * the agents file reaches its agent (stream URL, token, session.update), the
 * fake Realtime server calls the agent's HTTP tool, a local backend answers
 * it, and the output reaches the model; the tool's secret header reaches the
 * backend and is absent from every event sent to OpenAI and from the logs.
 */
import assert from "node:assert/strict";
import { loadAgents } from "../src/agents/agent_book.ts";
import { parseConfig } from "../src/config/mod.ts";
import { configureLogging, disposeLogging } from "../src/observability/logging.ts";
import { BridgeHarness, sleep, TEST_API_KEY, TEST_TWILIO_TOKEN } from "./support/bridge_harness.ts";
import { softphoneCall, twilioSignature } from "./support/fake_twilio.ts";
import { audioBytes } from "./support/fake_realtime.ts";
import { KvCallStore } from "../src/calls/call_store.ts";
import { Operations } from "../src/observability/operations.ts";
import { formatCallDetail, formatCallTable } from "../src/cli/calls.ts";

const LISTINGS_TOKEN = "listings-backend-secret-7f3a9c";
const CALENDAR_TOKEN = "calendar-mcp-token-0b1c2d";

function agentsYaml(backend: string): string {
  return `
agents:
  - name: front-desk
    instructions: "You are the front desk."
  - name: listings
    numbers: ["+15005550001"]
    instructions: "You help callers with listings. The caller is {{caller.name|a caller}}."
    greeting: "Hi {{caller.name|there}}, this is the listings line."
    voice: marin
    model: gpt-realtime-listings
    language: en
    filler: "One moment, let me check."
    tools:
      - type: http
        name: lookup_listing
        description: Look up a property listing by its id.
        parameters: { type: object, properties: { listing_id: { type: string } }, required: [listing_id] }
        request:
          method: GET
          url: "${backend}/listings/{listing_id}"
          headers: { Authorization: "Bearer \${LISTINGS_TOKEN}" }
        timeout_seconds: 0.3
      - type: http
        name: check_availability
        description: Check whether a listing can be visited.
        parameters: { type: object, properties: { listing_id: { type: string } }, required: [listing_id] }
        request: { url: "${backend}/listings/{listing_id}" }
        timeout_seconds: 3
      - type: mcp
        server_label: calendar
        server_url: https://mcp.example.com/mcp
        headers: { Authorization: "Bearer \${CALENDAR_MCP_TOKEN}" }
        require_approval: never
        approve_tools: [find_slot]
      - type: transfer
        name: transfer_to_sales
        number: "+15557654321"
        description: Hand the caller to the sales team.
    wording:
      transfer: "Tell the caller, in one short sentence, that the sales team takes over now."
    context_webhook:
      url: "${backend}/caller"
      timeout_seconds: 1
`;
}

/** A backend for the tool: records each request's path and Authorization header. */
function startBackend() {
  const seen: Array<{ path: string; authorization: string | null }> = [];
  const contextAsked: Array<Record<string, string>> = [];
  const controller = new AbortController();
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", signal: controller.signal, onListen: () => {} },
    async (request) => {
      const url = new URL(request.url);
      if (url.pathname === "/caller") {
        const asked = await request.json();
        contextAsked.push(asked);
        return asked.from === "+14155550100"
          ? Response.json({ name: "Ada", tier: "gold" })
          : new Response("unknown caller", { status: 404 });
      }
      seen.push({ path: url.pathname, authorization: request.headers.get("authorization") });
      if (url.pathname.endsWith("/slow")) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 1500);
          request.signal.addEventListener("abort", () => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      if (url.pathname.endsWith("/broken")) return new Response("oops", { status: 502 });
      return Response.json({
        id: decodeURIComponent(url.pathname.split("/").pop()!),
        price: 450000,
        beds: 3,
      });
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    seen,
    contextAsked,
    close: async () => {
      controller.abort();
      await server.finished;
    },
  };
}

async function startBridge(
  backendUrl: string,
  app: Record<string, unknown> = {},
  bridgeEnv: Record<string, string> = {},
) {
  const env = { LISTINGS_TOKEN, CALENDAR_MCP_TOKEN: CALENDAR_TOKEN };
  const config = parseConfig({ OPENAI_API_KEY: TEST_API_KEY });
  const loaded = loadAgents({
    config,
    file: { path: "agents.yaml", required: true },
    env,
    readTextFile: () => agentsYaml(backendUrl),
  });
  if (!loaded.ok) throw new Error(loaded.problems.join("\n"));
  return await BridgeHarness.startSecure(bridgeEnv, {
    app: { ...app, agents: { book: loaded.book } },
  });
}

/** A signed call to `to`, streamed to the URL the TwiML names. */
async function callNumber(h: BridgeHarness, to: string, from = "+14155550100") {
  const callSid = `CA${crypto.randomUUID().replaceAll("-", "")}`;
  const answer = await h.webhook({ CallSid: callSid, From: from, To: to });
  assert.ok(answer.streamUrl, answer.body);
  // Twilio signs the wss:// URL of the TwiML; the fakes reach the same path over ws://.
  const call = await h.call({
    url: answer.streamUrl.replace(/^wss:/, "ws:"),
    callSid,
    headers: { "x-twilio-signature": await twilioSignature(TEST_TWILIO_TOKEN, answer.streamUrl) },
    customParameters: answer.parameters,
  });
  return { call, answer };
}

Deno.test("the called number picks the agent: stream URL, bound token, model, voice, tools", async () => {
  const backend = startBackend();
  try {
    await using h = await startBridge(backend.url);
    const { answer, call } = await callNumber(h, "+15005550001");
    assert.equal(answer.streamUrl, `${h.twilioStreamUrl}/agent/listings/${call.callSid}`);
    assert.deepEqual(backend.contextAsked, [{
      from: "+14155550100",
      to: "+15005550001",
      callSid: call.callSid,
    }]);
    assert.equal(answer.parameters.agent, "listings");
    assert.match(answer.parameters.streamToken, /^v2\./);
    const session = await h.realtime.nextSession();
    assert.equal(session.model, "gpt-realtime-listings");
    const update = await session.waitFor("session.update");
    assert.equal(update.session.audio.output.voice, "marin");
    assert.equal(
      update.session.instructions,
      "You help callers with listings. The caller is Ada.",
    );
    assert.equal(update.session.audio.input.transcription.language, "en");
    assert.deepEqual(
      update.session.tools.map((t: { name?: string; type: string }) => t.name ?? t.type),
      [
        "end_call",
        "transfer_to_sales",
        "lookup_listing",
        "check_availability",
        "mcp",
      ],
    );
    assert.deepEqual(update.session.tools[2].parameters.required, ["listing_id"]);
    assert.equal(update.session.tools[1].description, "Hand the caller to the sales team.");
    assert.equal(update.session.tools[4].headers.Authorization, `Bearer ${CALENDAR_TOKEN}`);
    const greeting = await session.waitFor("response.create");
    assert.match(JSON.stringify(greeting), /Hi Ada, this is the listings line\./);
    assert.deepEqual(session.schemaErrors, []);

    const other = await callNumber(h, "+15559876543");
    assert.match(other.answer.streamUrl!, /\/media-stream\/agent\/front-desk$/);
    const second = await h.realtime.nextSession();
    const secondUpdate = await second.waitFor("session.update");
    assert.equal(secondUpdate.session.instructions, "You are the front desk.");
    assert.equal(other.call.callSid.length > 0, true);
  } finally {
    await backend.close();
  }
});

Deno.test("a stream that names another agent than its token (or its URL) is refused", async () => {
  const backend = startBackend();
  try {
    await using h = await startBridge(backend.url);
    const attempt = async (path: (callSid: string, url: string) => string, agent: string) => {
      const callSid = `CA${crypto.randomUUID().replaceAll("-", "")}`;
      const answer = await h.webhook({
        CallSid: callSid,
        From: "+14155550100",
        To: "+15005550001",
      });
      const url = path(callSid, answer.streamUrl!);
      const call = await h.call({
        url: url.replace(/^wss:/, "ws:"),
        callSid,
        headers: { "x-twilio-signature": await twilioSignature(TEST_TWILIO_TOKEN, url) },
        customParameters: { ...answer.parameters, agent },
      });
      return await call.closed;
    };
    // The URL and the agent parameter agree on front-desk, but the token binds listings.
    const forged = await attempt(() => `${h.twilioStreamUrl}/agent/front-desk`, "front-desk");
    assert.equal(forged.code, 1008);
    assert.match(forged.reason, /stream token bad signature/);
    // The URL says listings, the parameter another agent.
    const mismatch = await attempt((_, url) => url, "front-desk");
    assert.equal(mismatch.code, 1008);
    assert.match(mismatch.reason, /stream agent mismatch/);
    // Another call's CallSid in the URL.
    const other = await attempt((sid, url) => url.replace(sid, "CAother"), "listings");
    assert.equal(other.code, 1008);
    assert.match(other.reason, /stream call mismatch/);
  } finally {
    await backend.close();
  }
});

Deno.test("HTTP tool end to end: backend answers, output reaches the model, the secret stays in the bridge", async () => {
  const lines: string[] = [];
  // No redaction list: the bridge must not log the secret in the first place.
  await configureLogging({ level: "debug", format: "json", sink: (line) => lines.push(line) });
  const backend = startBackend();
  try {
    await using h = await startBridge(backend.url);
    await callNumber(h, "+15005550001");
    const session = await h.realtime.nextSession();
    await session.waitFor("session.update");

    const r1 = session.beginResponse({ message: false });
    const { callId } = r1.functionCall("lookup_listing", { listing_id: "12 B" });
    r1.finish();
    const output = await session.waitFor(
      "conversation.item.create",
      (e) => e.item.call_id === callId,
    );
    assert.deepEqual(JSON.parse(output.item.output), {
      status: 200,
      data: { id: "12 B", price: 450000, beds: 3 },
    });
    assert.deepEqual(backend.seen[0], {
      path: "/listings/12%20B",
      authorization: `Bearer ${LISTINGS_TOKEN}`,
    });

    // A bad argument: an error output, no request.
    const r2 = session.beginResponse({ message: false });
    const bad = r2.functionCall("lookup_listing", { listing_id: 42 });
    r2.finish();
    const badOutput = await session.waitFor(
      "conversation.item.create",
      (e) => e.item.call_id === bad.callId,
    );
    assert.equal(JSON.parse(badOutput.item.output).error.type, "invalid_arguments");
    assert.equal(backend.seen.length, 1);

    // A slow backend and a failing one: structured errors the model can talk about.
    for (const [id, type] of [["slow", "timeout"], ["broken", "http_error"]]) {
      const r = session.beginResponse({ message: false });
      const c = r.functionCall("lookup_listing", { listing_id: id });
      r.finish();
      const out = await session.waitFor(
        "conversation.item.create",
        (e) => e.item.call_id === c.callId,
      );
      assert.equal(JSON.parse(out.item.output).error.type, type, id);
    }
    assert.deepEqual(session.schemaErrors, []);
    for (const raw of session.receivedRaw) {
      assert.ok(!raw.includes(LISTINGS_TOKEN), "the HTTP tool's secret never reaches OpenAI");
      assert.ok(!raw.includes(backend.url), "nor does the backend's URL");
    }
  } finally {
    await backend.close();
    await disposeLogging();
  }
  assert.ok(lines.length > 0);
  for (const line of lines) assert.ok(!line.includes(LISTINGS_TOKEN), line);
});

Deno.test("call records, deno task calls and /metrics carry the agent's name", async () => {
  const backend = startBackend();
  const store = await KvCallStore.open({ path: ":memory:", retentionDays: 30 });
  const ops = await Operations.create({
    config: parseConfig({ OPENAI_API_KEY: TEST_API_KEY }),
    store,
  });
  try {
    await using h = await startBridge(backend.url, ops.appOptions());
    const { call } = await callNumber(h, "+15005550001");
    const session = await h.realtime.nextSession();
    await session.waitFor("session.update");
    await call.hangUp();
    await h.waitForFinished(1);
    await ops.recorder.idle();
    const record = await store.get(call.callSid);
    assert.equal(record?.agent, "listings");
    assert.match(formatCallDetail(record!), /\n {2}agent {5}listings\n/);
    const table = formatCallTable(await store.list()).split("\n");
    assert.match(
      table[0],
      /^Started \(UTC\)\s+Duration\s+Outcome\s+Agent\s+Turns\s+Cost\s+CallSid$/,
    );
    assert.match(table[2], /\s+caller_hung_up\s+listings\s+/);
    const metrics = await (await fetch(`${h.server.localUrl}/metrics`)).text();
    assert.match(metrics, /^bridge_agent_calls_total\{agent="listings"\} 1$/m);
  } finally {
    await backend.close();
    await ops.close();
  }
});

Deno.test("softphone: the page lists the agents and a call to /media-stream/agent/<name> gets that agent", async () => {
  const backend = startBackend();
  try {
    await using h = await startBridge(backend.url, {}, { SOFTPHONE: "on" });
    const list = await (await fetch(`${h.server.localUrl}/softphone/agents`)).json();
    assert.deepEqual(list, { agents: ["front-desk", "listings"], default: "front-desk" });
    const issued = await (await fetch(`${h.server.localUrl}/softphone/token`, { method: "POST" }))
      .json();
    await h.call({
      url: `${h.mediaStreamUrl}/agent/listings`,
      ...softphoneCall(issued),
    });
    const session = await h.realtime.nextSession();
    const update = await session.waitFor("session.update");
    assert.equal(update.session.audio.output.voice, "marin");
    assert.equal(session.model, "gpt-realtime-listings");
  } finally {
    await backend.close();
  }
});

Deno.test("context webhook failure: logged, the call goes on without context (fallbacks)", async () => {
  const lines: string[] = [];
  await configureLogging({ level: "info", format: "json", sink: (line) => lines.push(line) });
  const backend = startBackend();
  try {
    await using h = await startBridge(backend.url);
    const { answer } = await callNumber(h, "+15005550001", "+14155559999");
    assert.match(
      answer.streamUrl!,
      /\/media-stream\/agent\/listings$/,
      "no context: no CallSid in the path",
    );
    const session = await h.realtime.nextSession();
    const update = await session.waitFor("session.update");
    assert.equal(
      update.session.instructions,
      "You help callers with listings. The caller is a caller.",
    );
    const greeting = await session.waitFor("response.create");
    assert.match(JSON.stringify(greeting), /Hi there, this is the listings line\./);
  } finally {
    await backend.close();
    await disposeLogging();
  }
  const warning = lines.map((l) => JSON.parse(l)).find((l) => /No caller context/.test(l.message));
  assert.ok(warning, lines.join("\n"));
  assert.match(warning.message, /the webhook answered HTTP 404/);
  const all = lines.join("\n");
  assert.ok(!all.includes("4155559999"), "the caller's number is not logged");
  assert.ok(!all.includes(`${backend.url}/caller`), "nor the webhook's URL");
});

Deno.test("a tool slower than a second: the caller hears the agent's filler, then the answer", async () => {
  const backend = startBackend();
  try {
    await using h = await startBridge(backend.url);
    const { call } = await callNumber(h, "+15005550001");
    const session = await h.realtime.nextSession();
    await session.waitFor("session.update");
    const greeting = await session.waitFor("response.create");
    const g = session.beginResponse();
    g.audio(audioBytes(0x21, 100));
    g.finish();
    assert.match(JSON.stringify(greeting), /Hi Ada/);
    await call.waitFor((m) => m.event === "media");

    const r1 = session.beginResponse({ message: false });
    const started = performance.now();
    const { callId } = r1.functionCall("check_availability", { listing_id: "slow" });
    r1.finish();
    const filler = await session.waitFor(
      "response.create",
      (e) => /One moment, let me check\./.test(e.response?.instructions ?? ""),
      3000,
    );
    const waited = performance.now() - started;
    assert.ok(waited >= 950 && waited < 1400, `filler after ${Math.round(waited)} ms`);
    assert.equal(filler.response.tool_choice, "none");
    const f = session.beginResponse();
    f.audio(audioBytes(0x22, 300));
    f.finish();
    const heardBy = performance.now() + 2000;
    while (call.receivedAudioBytes(0x22) < 2400 && performance.now() < heardBy) await sleep(10);
    assert.equal(call.receivedAudioBytes(0x22), 2400, "the filler's audio reached the caller");
    const output = await session.waitFor(
      "conversation.item.create",
      (e) => e.item.call_id === callId,
      3000,
    );
    assert.equal(JSON.parse(output.item.output).data.id, "slow");
    const answer = await session.waitFor(
      "response.create",
      (e) => !/One moment/.test(JSON.stringify(e)) && !/Hi Ada/.test(JSON.stringify(e)),
      3000,
    );
    assert.equal(answer.response?.instructions, undefined, "the answer is a plain response");
    assert.equal(
      session.receivedOfType("response.create").filter((e) => /One moment/.test(JSON.stringify(e)))
        .length,
      1,
      "one filler per wait",
    );
    assert.deepEqual(session.schemaErrors, []);
  } finally {
    await backend.close();
  }
});

Deno.test("MCP: approval requests answered per approve_tools (valid GA events), failures logged", async () => {
  const lines: string[] = [];
  await configureLogging({ level: "info", format: "json", sink: (line) => lines.push(line) });
  const backend = startBackend();
  try {
    await using h = await startBridge(backend.url);
    await callNumber(h, "+15005550001");
    const session = await h.realtime.nextSession();
    await session.waitFor("session.update");
    for (const [id, name] of [["mcpr_1", "find_slot"], ["mcpr_2", "cancel_all"]]) {
      session.send({
        type: "conversation.item.added",
        previous_item_id: null,
        item: { type: "mcp_approval_request", id, server_label: "calendar", name, arguments: "{}" },
      });
    }
    const approved = await session.waitFor(
      "conversation.item.create",
      (e) => e.item.approval_request_id === "mcpr_1",
    );
    const declined = await session.waitFor(
      "conversation.item.create",
      (e) => e.item.approval_request_id === "mcpr_2",
    );
    assert.equal(approved.item.type, "mcp_approval_response");
    assert.equal(approved.item.approve, true);
    assert.equal(declined.item.approve, false);
    session.send({
      type: "response.output_item.done",
      response_id: "resp_x",
      output_index: 0,
      item: {
        type: "mcp_call",
        id: "mcp_1",
        server_label: "calendar",
        name: "find_slot",
        arguments: "{}",
        output: null,
        error: { type: "http_error", code: 503, message: "unavailable" },
      },
    });
    session.send({ type: "mcp_list_tools.failed", item_id: "mcpl_1" });
    const start = performance.now();
    while (!lines.some((l) => /could not be listed/.test(l)) && performance.now() - start < 2000) {
      await sleep(10);
    }
    assert.deepEqual(session.schemaErrors, []);
  } finally {
    await backend.close();
    await disposeLogging();
  }
  const records = lines.map((l) => JSON.parse(l));
  const failed = records.find((r) => /MCP tool .* failed/.test(r.message));
  assert.ok(failed, lines.join("\n"));
  assert.equal(failed.errorType, "http_error");
  assert.equal(failed.code, 503);
  assert.ok(records.some((r) => /could not be listed/.test(r.message)));
  assert.ok(
    records.some((r) => /approval requested/.test(r.message) && /declined/.test(r.message)),
  );
});

Deno.test("the agent's transfer tool: its name, its wording, then /call-ended dials its number", async () => {
  const backend = startBackend();
  try {
    await using h = await startBridge(backend.url);
    const { call } = await callNumber(h, "+15005550001");
    const session = await h.realtime.nextSession();
    await session.waitFor("session.update");
    const r1 = session.beginResponse({ message: false });
    r1.functionCall("transfer_to_sales", { reason: "wants to buy" });
    r1.finish();
    const handover = await session.waitFor(
      "response.create",
      (e) => /sales team takes over/.test(e.response?.instructions ?? ""),
    );
    assert.ok(handover);
    const r2 = session.beginResponse();
    r2.audio(audioBytes(0x46, 200));
    r2.finish();
    await call.closed;
    const url = `${h.server.localUrl}/call-ended`;
    const form = { CallSid: call.callSid };
    const res = await fetch(url, {
      method: "POST",
      body: new URLSearchParams(form),
      headers: { "x-twilio-signature": await twilioSignature(TEST_TWILIO_TOKEN, url, form) },
    });
    // The agent's number, with a <Dial action> that tries the next one or comes back to the agent.
    assert.match(
      await res.text(),
      /<Dial timeout="20" action="[^"]+\/transfer\/dial-ended\?t=c1\.0\.[0-9a-f]+\.[^"]+" method="POST"><Number>\+15557654321<\/Number><\/Dial>/,
    );
    const [summary] = await h.waitForFinished(1);
    assert.equal(summary.outcome, "transferred");
  } finally {
    await backend.close();
  }
});
