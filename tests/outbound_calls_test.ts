import assert from "node:assert/strict";
import { ConfigError, parseConfig } from "../src/config/mod.ts";
import { createApp } from "../src/http/app.ts";
import { MetricsRegistry } from "../src/observability/metrics.ts";
import { configureLogging, disposeLogging } from "../src/observability/logging.ts";
import { OutboundService } from "../src/outbound/outbound_service.ts";
import { AgentsHolder, loadAgents } from "../src/agents/agent_book.ts";
import { AgentCalls } from "../src/agents/agent_calls.ts";
import { environmentAgentCallingOut } from "./support/agent_books.ts";
import { AgentBook } from "../src/agents/agent_book.ts";
import { environmentProfile } from "../src/agents/agent_profile.ts";
import type { AnsweredBy } from "../src/outbound/call_progress.ts";
import { MAX_CONTEXT_BYTES } from "../src/outbound/place_call_request.ts";
import { FakeTwilioRest } from "./support/fake_twilio_rest.ts";
import { twilioSignature } from "./support/fake_twilio.ts";

const ACCOUNT = "AC" + "1".repeat(32);
const AUTH = "f00dfeedf00dfeedf00dfeedf00dfeed";
const API_TOKEN = "control-token-0123456789abcdefghijklmnop";
const PUBLIC = "https://voice.example.com";
const FROM = "+15005550006";

function env(rest: FakeTwilioRest, extra: Record<string, string> = {}) {
  return {
    OPENAI_API_KEY: "sk-test-abcdefghijklmnopqrstuvwxyz",
    API_TOKEN,
    PUBLIC_URL: PUBLIC,
    TWILIO_ACCOUNT_SID: ACCOUNT,
    TWILIO_AUTH_TOKEN: AUTH,
    TWILIO_PHONE_NUMBER: FROM,
    TWILIO_API_BASE_URL: rest.baseUrl,
    STREAM_TOKEN_SECRET: "stream-token-secret-0123456789",
    ...extra,
  };
}

/** The app with outbound calling, against the fake REST API; no port for the app. */
function setUp(rest: FakeTwilioRest) {
  const config = parseConfig(env(rest));
  const registry = new MetricsRegistry();
  const amd: [string, AnsweredBy][] = [];
  const service = OutboundService.create({
    config,
    registry,
    onAmd: (callSid, answeredBy) => amd.push([callSid, answeredBy]),
  });
  const app = createApp({ config, outbound: service });
  return { app, service, registry, amd };
}

function placeCall(body: unknown, token: string | null = API_TOKEN): Request {
  return new Request("http://bridge.local/calls", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(token !== null ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  });
}

/** A request as Twilio sends it to `url` (a public URL of the bridge), signed unless told not to. */
async function fromTwilio(url: string, params: Record<string, string>, sign = true) {
  const u = new URL(url);
  return new Request(`http://bridge.local${u.pathname}${u.search}`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      ...(sign ? { "x-twilio-signature": await twilioSignature(AUTH, url, params) } : {}),
    },
    body: new URLSearchParams(params),
  });
}

Deno.test("POST /calls places the call through Twilio's REST API with async AMD and signed callbacks", async () => {
  await using rest = FakeTwilioRest.start({ accountSid: ACCOUNT, authToken: AUTH });
  const { app } = setUp(rest);
  const response = await app.handler(
    placeCall({ to: "+15551234567", agent: "default", context: { name: "Ada Lovelace" } }),
  );
  assert.equal(response.status, 201);
  const body = await response.json();
  assert.equal(body.status, "queued");
  assert.match(body.callSid, /^CA[0-9a-f]{32}$/);

  assert.equal(rest.creates.length, 1);
  const [create] = rest.creates;
  assert.equal(create.path, `/2010-04-01/Accounts/${ACCOUNT}/Calls.json`);
  assert.equal(create.user, ACCOUNT);
  assert.equal(create.params.To, "+15551234567");
  assert.equal(create.params.From, FROM);
  assert.match(create.params.Url, /^https:\/\/voice\.example\.com\/outbound\/twiml\?t=o1\.[\w-]+$/);
  assert.equal(create.params.StatusCallback, `${PUBLIC}/outbound/status`);
  assert.deepEqual(create.form.getAll("StatusCallbackEvent"), [
    "initiated",
    "ringing",
    "answered",
    "completed",
  ]);
  assert.equal(create.params.MachineDetection, "DetectMessageEnd");
  assert.equal(create.params.AsyncAmd, "true");
  assert.equal(create.params.AsyncAmdStatusCallback, `${PUBLIC}/outbound/amd`);
  // The agent and context travel sealed, never raw.
  assert.ok(!create.params.Url.includes("Ada"));
  assert.ok(!create.params.Url.includes("default"));
});

Deno.test("POST /calls without the right bearer token is refused and nothing reaches Twilio", async () => {
  await using rest = FakeTwilioRest.start({ accountSid: ACCOUNT, authToken: AUTH });
  const { app } = setUp(rest);
  for (const token of [null, "wrong", API_TOKEN.slice(0, -1), `${API_TOKEN}x`]) {
    const response = await app.handler(placeCall({ to: "+15551234567" }, token));
    assert.equal(response.status, 401, `token ${token}`);
    assert.match((await response.json()).error, /Bearer <API_TOKEN>/);
  }
  assert.equal(rest.requests.length, 0);
});

Deno.test("POST /calls answers 400 naming the field for a bad number, an unknown agent or an oversized context", async () => {
  await using rest = FakeTwilioRest.start({ accountSid: ACCOUNT, authToken: AUTH });
  const { app } = setUp(rest);
  const cases: [unknown, string][] = [
    [{ to: "5551234567" }, "to"],
    [{ to: "+1 555 123 4567" }, "to"],
    [{ to: "+15551234567", agent: "listings" }, "agent"],
    [{ to: "+15551234567", context: { notes: "x".repeat(MAX_CONTEXT_BYTES) } }, "context"],
    [{ to: "+15551234567", context: ["not", "an", "object"] }, "context"],
    [["+15551234567"], "body"],
  ];
  for (const [body, field] of cases) {
    const response = await app.handler(placeCall(body));
    assert.equal(response.status, 400, JSON.stringify(body).slice(0, 60));
    const answer = await response.json();
    assert.equal(answer.field, field);
    assert.match(answer.error, new RegExp(field === "body" ? "JSON object" : field));
  }
  const notJson = await app.handler(
    new Request("http://bridge.local/calls", {
      method: "POST",
      headers: { authorization: `Bearer ${API_TOKEN}` },
      body: "to=+15551234567",
    }),
  );
  assert.equal(notJson.status, 400);
  assert.equal(rest.requests.length, 0);
});

Deno.test("a call Twilio refuses is answered 502 with Twilio's error code", async () => {
  await using rest = FakeTwilioRest.start({ accountSid: ACCOUNT, authToken: AUTH });
  const { app } = setUp(rest);
  rest.failNextCreate = {
    status: 400,
    code: 21219,
    message:
      "The number +15551234567 is unverified. Trial accounts may only make calls to verified numbers.",
  };
  const response = await app.handler(placeCall({ to: "+15551234567" }));
  assert.equal(response.status, 502);
  const body = await response.json();
  assert.equal(body.twilioCode, 21219);
  assert.match(body.error, /unverified/);
});

Deno.test("wrong Twilio credentials come back as Twilio's 20003, not as a placed call", async () => {
  await using rest = FakeTwilioRest.start({ accountSid: ACCOUNT, authToken: "another-token" });
  const { app } = setUp(rest);
  const response = await app.handler(placeCall({ to: "+15551234567" }));
  assert.equal(response.status, 502);
  assert.equal((await response.json()).twilioCode, 20003);
});

Deno.test("the outbound TwiML connects the answered call to the media stream with a stream token and the ticket", async () => {
  await using rest = FakeTwilioRest.start({ accountSid: ACCOUNT, authToken: AUTH });
  const { app, service } = setUp(rest);
  const { callSid } = await (await app.handler(
    placeCall({ to: "+15551234567", context: { name: "Ada" } }),
  )).json();
  const url = rest.creates[0].params.Url;
  const form = { CallSid: callSid, CallStatus: "in-progress", Direction: "outbound-api" };

  const twiml = await (await app.handler(await fromTwilio(url, form))).text();
  assert.match(
    twiml,
    /<Connect action="https:\/\/voice\.example\.com\/call-ended" method="POST"><Stream url="wss:\/\/voice\.example\.com\/media-stream\/outbound\/default">/,
  );
  const parameters = Object.fromEntries(
    [...twiml.matchAll(/<Parameter name="([^"]+)" value="([^"]*)"\/>/g)].map((m) => [m[1], m[2]]),
  );
  assert.match(parameters.streamToken, /^v1\.\d+\./);
  const ticket = service.tickets.open(parameters.callTicket);
  assert.deepEqual(ticket, { ok: true, value: { agent: "default", context: { name: "Ada" } } });

  // Unsigned: refused like any webhook.
  assert.equal((await app.handler(await fromTwilio(url, form, false))).status, 403);
  // A forged ticket: the call is hung up, no stream.
  const forged = url.replace(/t=o1\.(.)/, (_, c) => `t=o1.${c === "A" ? "B" : "A"}`);
  const hangUp = await (await app.handler(await fromTwilio(forged, form))).text();
  assert.equal(hangUp, '<?xml version="1.0" encoding="UTF-8"?><Response><Hangup/></Response>');
});

Deno.test("AMD callbacks of each kind reach the live call and the attempt; unsigned ones are refused", async () => {
  await using rest = FakeTwilioRest.start({ accountSid: ACCOUNT, authToken: AUTH });
  const { app, service, amd } = setUp(rest);
  const kinds: AnsweredBy[] = [
    "human",
    "machine_start",
    "machine_end_beep",
    "machine_end_silence",
    "machine_end_other",
    "fax",
    "unknown",
  ];
  for (const kind of kinds) {
    const { callSid } = await (await app.handler(placeCall({ to: "+15551234567" }))).json();
    const url = rest.creates.at(-1)!.params.AsyncAmdStatusCallback;
    const form = {
      CallSid: callSid,
      AccountSid: ACCOUNT,
      AnsweredBy: kind,
      MachineDetectionDuration: "2400",
    };
    assert.equal((await app.handler(await fromTwilio(url, form, false))).status, 403);
    assert.equal((await app.handler(await fromTwilio(url, form))).status, 204);
    assert.deepEqual(amd.at(-1), [callSid, kind]);
    // The live stream of the call (subscribing when it starts) hears it too.
    const heard: AnsweredBy[] = [];
    service.amd.subscribe(callSid, (r) => heard.push(r));
    assert.deepEqual(heard, [kind]);
    assert.equal((await service.dialer.attempts.get(callSid))?.answeredBy, kind);
  }
  assert.equal(amd.length, kinds.length);
});

Deno.test("status callbacks finish each attempt once, with its outcome counted by kind", async () => {
  await using rest = FakeTwilioRest.start({ accountSid: ACCOUNT, authToken: AUTH });
  const { app, service, registry } = setUp(rest);
  const place = async () =>
    (await (await app.handler(placeCall({ to: "+15551234567" }))).json()).callSid;
  const status = async (callSid: string, CallStatus: string) => {
    const url = rest.creates.at(-1)!.params.StatusCallback;
    return await app.handler(await fromTwilio(url, { CallSid: callSid, CallStatus }));
  };
  const amd = async (callSid: string, AnsweredBy: string) => {
    const url = rest.creates.at(-1)!.params.AsyncAmdStatusCallback;
    return await app.handler(await fromTwilio(url, { CallSid: callSid, AnsweredBy }));
  };

  const machine = await place();
  for (const s of ["initiated", "ringing", "in-progress"]) {
    assert.equal((await status(machine, s)).status, 204);
  }
  await amd(machine, "machine_end_beep");
  await status(machine, "completed");
  await status(machine, "completed"); // Twilio may repeat a callback
  assert.equal((await service.dialer.attempts.get(machine))?.outcome, "machine");

  const human = await place();
  await amd(human, "human");
  await status(human, "completed");
  const busy = await place();
  await status(busy, "busy");
  const noAnswer = await place();
  await status(noAnswer, "no-answer");
  const failed = await place();
  await status(failed, "failed");

  const text = registry.render();
  for (const outcome of ["machine", "human", "busy", "no-answer", "failed"]) {
    assert.match(text, new RegExp(`bridge_outbound_calls_total\\{outcome="${outcome}"\\} 1\\n`));
  }
  assert.equal((await status(busy, "bogus")).status, 204); // ignored, not a crash
  const unsigned = await fromTwilio(
    rest.creates[0].params.StatusCallback,
    { CallSid: busy },
    false,
  );
  assert.equal((await app.handler(unsigned)).status, 403);
});

Deno.test("without API_TOKEN the control API is off", async () => {
  const config = parseConfig({ OPENAI_API_KEY: "sk-test-abcdefghijklmnopqrstuvwxyz" });
  const app = createApp({ config });
  assert.equal((await app.handler(placeCall({ to: "+15551234567" }))).status, 404);
});

Deno.test("outbound settings: PUBLIC_URL, Twilio credentials and caller id are required, the token must be long", () => {
  const problems = (vars: Record<string, string>) => {
    try {
      parseConfig({ OPENAI_API_KEY: "sk-test-abcdefghijklmnopqrstuvwxyz", ...vars });
      return [];
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      return error.problems;
    }
  };
  const missing = problems({ API_TOKEN });
  assert.equal(missing.length, 3);
  assert.match(missing[0], /API_TOKEN is set .* PUBLIC_URL is not/);
  assert.match(missing[1], /TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN/);
  assert.match(missing[2], /TWILIO_PHONE_NUMBER/);
  const short = problems({ API_TOKEN: "short-token" });
  assert.equal(short.length, 1);
  assert.match(short[0], /API_TOKEN must be at least 32 characters/);
  assert.ok(!short[0].includes("short-token"));
  assert.match(problems({ TWILIO_PHONE_NUMBER: "555-1234" })[0], /TWILIO_PHONE_NUMBER must be/);
  assert.deepEqual(problems({}), []);
});

/** Logs at debug level, as JSON, with the API and Twilio tokens as secrets, into the lines returned. */
async function debugLogLines(): Promise<string[]> {
  const lines: string[] = [];
  await configureLogging({
    level: "debug",
    format: "json",
    secrets: [API_TOKEN, AUTH],
    sink: (line) => lines.push(line),
  });
  return lines;
}

Deno.test("outbound calls logged at debug level leak no token, callee number or context", async () => {
  const lines = await debugLogLines();
  try {
    await using rest = FakeTwilioRest.start({ accountSid: ACCOUNT, authToken: AUTH });
    const { app } = setUp(rest);
    const { callSid } = await (await app.handler(
      placeCall({ to: "+15557654321", context: { name: "Ada Lovelace" } }),
    )).json();
    const amdUrl = rest.creates[0].params.AsyncAmdStatusCallback;
    await app.handler(await fromTwilio(amdUrl, { CallSid: callSid, AnsweredBy: "human" }));
    await app.handler(
      await fromTwilio(rest.creates[0].params.StatusCallback, {
        CallSid: callSid,
        CallStatus: "completed",
        To: "+15557654321",
      }),
    );
    rest.failNextCreate = { status: 400, code: 21215, message: "Geo permission for +15557654321" };
    assert.equal((await app.handler(placeCall({ to: "+15557654321" }))).status, 502);
    await app.handler(placeCall({ to: "+15557654321" }, "wrong-token"));
  } finally {
    await disposeLogging();
  }
  const all = lines.join("\n");
  assert.match(all, /Placed an outbound call/);
  assert.match(all, /Twilio refused an outbound call/);
  for (const secret of [API_TOKEN, AUTH, "5557654321", "Ada Lovelace"]) {
    assert.equal(all.includes(secret), false, `the log contains ${secret.slice(0, 4)}…`);
  }
});

Deno.test("an outbound stream's path sets up its call: the agent's greeting, voicemail and keypad, or the resumed conversation", async () => {
  await using rest = FakeTwilioRest.start({ accountSid: ACCOUNT, authToken: AUTH });
  const config = parseConfig(env(rest));
  const service = OutboundService.create({
    config,
    agents: environmentAgentCallingOut(config, {
      greeting: "Hi, Acme here.",
      voicemail: "Call us back.",
      keypad: { collectUntil: "#", timeoutMs: 3000 },
    }),
  });
  assert.deepEqual(service.streams.coreOptionsFor("/media-stream/outbound/default"), {
    greeting: "Hi, Acme here.",
    awaitAnswer: { voicemail: "Call us back." },
    keypad: { collectUntil: "#", timeoutMs: 3000 },
  });
  assert.equal(service.streams.coreOptionsFor("/media-stream/outbound/listings"), undefined);
  assert.equal(service.streams.coreOptionsFor("/media-stream/outbound/default/x"), undefined);
  // After keypad tones: the conversation of the ended stream, once; no greeting, no AMD wait.
  const sid = "CA" + "9".repeat(32);
  const entries = [{ kind: "user" as const, itemId: "i1", transcript: "Press 1.", at: 0 }];
  service.handoff.expectNewStream(sid);
  service.streams.streamEnded(sid, entries, undefined);
  assert.deepEqual(service.streams.coreOptionsFor(`/media-stream/outbound/default/resume/${sid}`), {
    greeting: undefined,
    keypad: { collectUntil: "#", timeoutMs: 3000 },
    resume: entries,
  });
  await service.close();
});

Deno.test("a flood of unsigned /outbound/* requests costs a few log lines, through the app's one refusal throttle", async () => {
  const lines = await debugLogLines();
  try {
    await using rest = FakeTwilioRest.start({ accountSid: ACCOUNT, authToken: AUTH });
    const config = parseConfig(env(rest));
    const service = OutboundService.create({ config, registry: new MetricsRegistry() });
    const rejected: string[] = [];
    const app = createApp({
      config,
      outbound: service,
      onCallRejected: (reason) => rejected.push(reason),
    });
    for (let i = 0; i < 200; i++) {
      const path = ["/outbound/status", "/outbound/amd", "/incoming-call"][i % 3];
      const res = await app.handler(
        await fromTwilio(`${PUBLIC}${path}`, { CallSid: `CA${i}` }, false),
      );
      assert.equal(res.status, 403);
      await res.body?.cancel();
    }
    const refusals = lines.map((l) => JSON.parse(l)).filter((l) =>
      /without an X-Twilio-Signature/.test(l.message)
    );
    for (const path of ["/outbound/status", "/outbound/amd", "/incoming-call"]) {
      assert.equal(refusals.filter((l) => l.path === path).length, 5, path);
    }
    assert.equal(rejected.length, 200, "every refusal is counted");
  } finally {
    await disposeLogging();
  }
});

Deno.test("POST /calls and campaigns refuse the server's own numbers (an agent calling itself)", async () => {
  await using rest = FakeTwilioRest.start({ accountSid: ACCOUNT, authToken: AUTH });
  const config = parseConfig(env(rest));
  const base = environmentProfile(config);
  const book = new AgentBook(
    [base, { ...base, name: "front-desk", numbers: ["+15005550001"] }],
    "test",
  );
  const kv = await Deno.openKv(":memory:");
  const service = OutboundService.create({ config, agents: { book }, kv });
  try {
    const app = createApp({ config, outbound: service });
    for (const to of [FROM, "+15005550001"]) {
      const res = await app.handler(placeCall({ to }));
      assert.equal(res.status, 400, to);
      const body = await res.json();
      assert.equal(body.field, "to");
      assert.match(
        body.error,
        /one of this server's own numbers \(TWILIO_PHONE_NUMBER or an agent's numbers\)/,
      );
    }
    const csv = await app.handler(
      new Request("http://bridge.local/campaigns?agent=default", {
        method: "POST",
        headers: { authorization: `Bearer ${API_TOKEN}`, "content-type": "text/csv" },
        body: `to\n+15551234567\n${FROM}\n`,
      }),
    );
    assert.equal(csv.status, 400);
    assert.match((await csv.json()).problems[0], /^line 3: to is one of this server's own numbers/);
    assert.equal(rest.creates.length, 0, "nothing reached Twilio");
  } finally {
    await service.close();
  }
});

Deno.test("MAX_CALLS_PER_MINUTE caps POST /calls per instance: 429 with Retry-After, and room again a minute later", async () => {
  await using rest = FakeTwilioRest.start({ accountSid: ACCOUNT, authToken: AUTH });
  const config = parseConfig({ ...env(rest), MAX_CALLS_PER_MINUTE: "2" });
  const clock = { now: 1_000_000 };
  const service = OutboundService.create({ config, now: () => clock.now });
  const app = createApp({ config, outbound: service });
  const statuses: number[] = [];
  for (let i = 0; i < 4; i++) {
    const res = await app.handler(placeCall({ to: `+1555123456${i}` }));
    statuses.push(res.status);
    if (res.status === 429) {
      assert.equal(res.headers.get("retry-after"), "60");
      assert.match(
        (await res.json()).error,
        /More than 2 calls per minute \(MAX_CALLS_PER_MINUTE\)/,
      );
    } else await res.body?.cancel();
  }
  assert.deepEqual(statuses, [201, 201, 429, 429]);
  assert.equal(rest.creates.length, 2);
  clock.now += 60_000;
  const later = await app.handler(placeCall({ to: "+15551234569" }));
  assert.equal(later.status, 201);
  await later.body?.cancel();
  assert.equal(parseConfig(env(rest)).maxCallsPerMinute, 0, "no cap by default");
});

Deno.test("MAX_CALLS_PER_MINUTE with a shared call store caps all instances together", async () => {
  await using rest = FakeTwilioRest.start({ accountSid: ACCOUNT, authToken: AUTH });
  const config = parseConfig({ ...env(rest), MAX_CALLS_PER_MINUTE: "2" });
  const path = `${await Deno.makeTempDir()}/calls.kv`;
  const clock = { now: 1_000_000 };
  const kvs = [await Deno.openKv(path), await Deno.openKv(path)]; // two instances, one store
  const services = kvs.map((kv) => OutboundService.create({ config, kv, now: () => clock.now }));
  try {
    const [a, b] = services.map((service) => createApp({ config, outbound: service }));
    const statuses: number[] = [];
    for (
      const [app, to] of [[a, "+15551234560"], [b, "+15551234561"], [a, "+15551234562"], [
        b,
        "+15551234563",
      ]] as const
    ) {
      const res = await app.handler(placeCall({ to }));
      statuses.push(res.status);
      if (res.status === 429) assert.equal(res.headers.get("retry-after"), "60");
      await res.body?.cancel();
    }
    assert.deepEqual(statuses, [201, 201, 429, 429], "two calls in all, not two per instance");
    assert.equal(rest.creates.length, 2);
    clock.now += 60_000;
    const later = await b.handler(placeCall({ to: "+15551234569" }));
    assert.equal(later.status, 201);
    await later.body?.cancel();
  } finally {
    for (const service of services) await service.close(); // each closes its KV handle
  }
});

Deno.test("a reload of the agents file (SIGHUP) applies to the next call placed: the new agent calls from its own number", async () => {
  await using rest = FakeTwilioRest.start({ accountSid: ACCOUNT, authToken: AUTH });
  const config = parseConfig(env(rest));
  const files: Record<string, string> = {
    "agents.yaml": "agents:\n  - name: front-desk\n",
  };
  const load = () =>
    loadAgents({
      config,
      file: { path: "agents.yaml", required: true },
      env: {},
      readTextFile: (path) => files[path],
    });
  const first = load();
  if (!first.ok) throw new Error(first.problems.join("\n"));
  const agents = new AgentsHolder(first.book);
  const service = OutboundService.create({ config, agents });
  const app = createApp({ config, agents, outbound: service });
  try {
    const before = await app.handler(placeCall({ to: "+15557654321", agent: "sales" }));
    assert.equal(before.status, 400);
    assert.match((await before.json()).error, /agent "sales" is unknown; known agents: front-desk/);
    files["agents.yaml"] +=
      "  - name: sales\n    outbound:\n      from: '+15005550009'\n      greeting: Hi from sales.\n";
    assert.equal(agents.reload(load).ok, true);
    const after = await app.handler(placeCall({ to: "+15557654321", agent: "sales" }));
    assert.equal(after.status, 201);
    assert.equal(rest.creates.at(-1)?.params.From, "+15005550009");
  } finally {
    await service.close();
  }
});

Deno.test("send_dtmf is one of an agent's tools only when its outbound block asks for it", async () => {
  await using rest = FakeTwilioRest.start({ accountSid: ACCOUNT, authToken: AUTH });
  const config = parseConfig(env(rest));
  const loaded = loadAgents({
    config,
    file: { path: "agents.yaml", required: true },
    env: {},
    readTextFile: () =>
      "agents:\n  - name: front-desk\n  - name: menus\n    outbound: { send_dtmf: true }\n",
  });
  if (!loaded.ok) throw new Error(loaded.problems.join("\n"));
  const agents = new AgentsHolder(loaded.book);
  const service = OutboundService.create({ config, agents });
  try {
    const calls = new AgentCalls({ config, agents, toolsFor: service.toolsFor });
    const toolsOf = (agent: string) =>
      calls.forStream({ kind: "outbound", agent }).tools.map((tool) => tool.declaration.name);
    assert.ok(toolsOf("menus").includes("send_dtmf"));
    assert.ok(!toolsOf("front-desk").includes("send_dtmf"));
  } finally {
    await service.close();
  }
});
