import assert from "node:assert/strict";
import { parseConfig } from "../src/config/mod.ts";
import {
  analysisFormat,
  type AnalysisSpec,
  analyzeCall,
  ResponsesClient,
  toStrictSchema,
} from "../src/analysis/mod.ts";
import type { CallRecord } from "../src/calls/call_record.ts";
import { KvCallStore } from "../src/calls/call_store.ts";
import { formatCallDetail } from "../src/cli/calls.ts";
import { Operations } from "../src/observability/operations.ts";
import { environmentProfile } from "../src/agents/agent_profile.ts";
import type { WebhookEvent } from "../src/webhooks/mod.ts";
import { BridgeHarness, TEST_API_KEY } from "./support/bridge_harness.ts";
import { audioBytes } from "./support/fake_realtime.ts";
import { FakeResponsesApi, strictProblem } from "./support/fake_responses_api.ts";
import { sampleRecord } from "./support/sample_record.ts";
import { denoRunArgs, ServerProcess } from "./support/server_process.ts";

const EXTRACT = {
  type: "object",
  properties: {
    name: { type: "string" },
    callback_number: { type: "string" },
    intent: { type: "string", enum: ["buy", "rent", "other"] },
    bedrooms: { type: "integer" },
  },
  required: ["intent"],
};
const SPEC: AnalysisSpec = {
  summary: true,
  extract: EXTRACT,
  success: "The caller booked a viewing or left a callback number.",
  model: "gpt-5-mini",
};
const PRICES = { input: 0.25, cachedInput: 0.025, output: 2 };
const TRANSCRIPT = [
  { role: "assistant" as const, text: "Hello, Acme Realty.", atMs: 500 },
  { role: "caller" as const, text: "Hi, I'm Ana, I want to rent a two-bedroom flat.", atMs: 2100 },
  { role: "tool_call" as const, text: 'search_listings({"bedrooms":2})', atMs: 3000 },
  { role: "tool_result" as const, text: '{"count":3}', atMs: 3400 },
  { role: "assistant" as const, text: "We have three. Shall I call you back?", atMs: 4000 },
];
const GOOD = {
  summary: "Ana called to rent a two-bedroom flat; three listings match.",
  extraction: { name: "Ana", callback_number: null, intent: "rent", bedrooms: 2 },
  success: { passed: false, reason: "No viewing was booked and no number was left." },
};

function client(api: FakeResponsesApi) {
  return new ResponsesClient({ baseUrl: api.baseUrl, apiKey: TEST_API_KEY });
}

/** {@link SPEC}'s analysis of {@link TRANSCRIPT} against `api`, retries 1 ms apart. */
function analyze(api: FakeResponsesApi) {
  return analyzeCall({
    spec: SPEC,
    agentInstructions: "x",
    transcript: TRANSCRIPT,
    client: client(api),
    prices: PRICES,
    retryDelayMs: 1,
  });
}

Deno.test("the author's schema becomes strict: every property required, optional ones nullable, objects closed; the fake refuses the author's form", () => {
  const strict = toStrictSchema({
    type: "object",
    properties: {
      intent: { type: "string", enum: ["buy", "rent"] },
      address: {
        type: "object",
        properties: { city: { type: "string" }, zip: { type: "string" } },
        required: ["city"],
      },
      rooms: { type: "array", items: { type: "object", properties: { kind: { type: "string" } } } },
    },
    required: ["intent"],
  });
  assert.deepEqual(strict, {
    type: "object",
    properties: {
      intent: { type: "string", enum: ["buy", "rent"] },
      address: {
        type: ["object", "null"],
        properties: { city: { type: "string" }, zip: { type: ["string", "null"] } },
        required: ["city", "zip"],
        additionalProperties: false,
      },
      rooms: {
        type: ["array", "null"],
        items: {
          type: "object",
          properties: { kind: { type: ["string", "null"] } },
          required: ["kind"],
          additionalProperties: false,
        },
      },
    },
    required: ["intent", "address", "rooms"],
    additionalProperties: false,
  });
  assert.equal(strictProblem(strict), undefined, "the fake accepts the strict form");
  assert.match(strictProblem(EXTRACT) ?? "", /additionalProperties/, "and refuses the author's");
  const format = analysisFormat(SPEC);
  if (typeof format === "string") throw new Error(format);
  assert.equal(strictProblem(format.schema), undefined);
  assert.deepEqual(
    (format.schema.properties as Record<string, { type: unknown }>).extraction.type,
    "object",
  );
  // What strict mode cannot say is a problem naming the place.
  assert.match(
    String(
      toStrictSchema({
        type: "object",
        properties: { a: { type: "string", not: { const: "x" } } },
      }),
    ),
    /^a uses not, which OpenAI's strict structured output does not support$/,
  );
  assert.match(
    String(toStrictSchema({ type: "object", additionalProperties: true })),
    /allows additional properties/,
  );
  assert.match(String(toStrictSchema({ type: "array", items: {} })), /must be an object schema/);
  assert.match(
    String(toStrictSchema({ type: "object", properties: { l: { type: "array" } } })),
    /^l is an array without one items schema$/,
  );
});

Deno.test("analysis: one strict request, the message item read after the reasoning item, fields, tokens and cost", async () => {
  await using api = FakeResponsesApi.start(TEST_API_KEY);
  api.answer({ json: GOOD });
  const analysis = await analyzeCall({
    spec: SPEC,
    agentInstructions: "You are the receptionist of Acme Realty.",
    transcript: TRANSCRIPT,
    client: client(api),
    prices: PRICES,
    now: () => new Date("2026-12-07T10:00:00Z"),
  });
  assert.deepEqual(analysis, {
    status: "ok",
    model: "gpt-5-mini",
    analyzedAt: "2026-12-07T10:00:00.000Z",
    summary: GOOD.summary,
    extraction: GOOD.extraction,
    success: GOOD.success,
    attempts: 1,
    tokens: { input: 900, cachedInput: 100, output: 120, reasoning: 64 },
    // (800 × 0.25 + 100 × 0.025 + 120 × 2) / 1e6
    estimatedCostUsd: 0.000443,
  });
  const [request] = api.requests;
  assert.equal(request.authorization, `Bearer ${TEST_API_KEY}`);
  assert.equal(request.body.model, "gpt-5-mini");
  assert.equal(request.body.store, false);
  const format = (request.body.text as { format: Record<string, unknown> }).format;
  assert.equal(format.type, "json_schema");
  assert.equal(format.strict, true);
  const input = String(request.body.input);
  assert.match(input, /You are the receptionist of Acme Realty\./);
  assert.match(input, /\[0:02\] Caller: Hi, I'm Ana, I want to rent a two-bedroom flat\./);
  assert.match(input, /\[0:03\] Tool call: search_listings\(\{"bedrooms":2\}\)/);
  assert.match(input, /\[0:03\] Tool result: \{"count":3\}/);
  assert.match(
    String(request.body.instructions),
    /passed is true only if this happened in the call: The caller booked a viewing/,
  );
});

Deno.test("a malformed or mismatching answer is tried again; when every try fails the analysis is an error with no field at all", async () => {
  await using api = FakeResponsesApi.start(TEST_API_KEY);
  api.answer(
    { text: '{"summary": "Ana called' },
    { json: { ...GOOD, extraction: { ...GOOD.extraction, intent: "lease" } } },
    { json: GOOD },
  );
  const retried = await analyze(api);
  assert.equal(retried.status, "ok");
  assert.equal(retried.attempts, 3);
  assert.deepEqual(retried.tokens, { input: 2700, cachedInput: 300, output: 360, reasoning: 192 });

  api.answer(
    { json: { summary: "Half of it." } },
    { incomplete: '{"summary": "cut' },
    { text: "not json at all" },
  );
  const failed = await analyze(api);
  assert.equal(failed.status, "error");
  assert.equal(failed.error, "the answer is not JSON");
  assert.equal(failed.attempts, 3);
  assert.equal(
    "summary" in failed || "extraction" in failed || "success" in failed,
    false,
    "never half-stored",
  );
  assert.ok(failed.estimatedCostUsd > 0, "the failed tries cost too");

  api.answer({ refusal: "I can't help with that." });
  const refused = await analyze(api);
  assert.equal(refused.status, "error");
  assert.equal(refused.attempts, 1, "a refusal is not retried");
  assert.match(refused.error ?? "", /refused/);
});

Deno.test("a call's analysis is stored in its record, shown by deno task calls, and sent as call.analyzed, off the call path", async () => {
  await using api = FakeResponsesApi.start(TEST_API_KEY);
  api.answer({ json: GOOD });
  const env = {
    OPENAI_BASE_URL: api.baseUrl,
    ANALYSIS_SUMMARY: "on",
    ANALYSIS_EXTRACT: JSON.stringify(EXTRACT),
    ANALYSIS_SUCCESS: SPEC.success!,
  };
  const config = parseConfig({ OPENAI_API_KEY: TEST_API_KEY, ...env });
  assert.deepEqual(environmentProfile(config).analysis, SPEC);
  const store = await KvCallStore.open({ path: ":memory:", retentionDays: 1 });
  const events: WebhookEvent[] = [];
  const ops = await Operations.create({ config, store, analysisRetryDelayMs: 1 });
  const emit = ops.webhooks.emit.bind(ops.webhooks);
  ops.webhooks.emit = (event) => {
    events.push(event);
    return emit(event);
  };
  try {
    let finishedAt = Infinity;
    await using h = await BridgeHarness.start(env, {
      app: { ...ops.appOptions(), onCallFinished: () => finishedAt = performance.now() },
    });
    const call = await h.call();
    const session = await h.realtime.nextSession();
    await session.waitFor("session.update");
    const response = session.beginResponse();
    response.audio(audioBytes(0x21, 60));
    response.transcript("Hello, Acme Realty.");
    response.finish();
    await call.waitFor(() => call.receivedAudioBytes(0x21) === 480);
    await call.hangUp();
    await h.waitForFinished(1);
    await ops.recorder.idle();
    assert.ok(api.requests[0].at > finishedAt, "asked after the call was over, off its path");
    const record = await store.get(call.callSid) as CallRecord;
    assert.equal(record.analysis?.status, "ok");
    assert.deepEqual(record.analysis?.extraction, GOOD.extraction);
    assert.equal(record.analysis?.success?.passed, false);
    assert.equal(record.analysis?.model, "gpt-5-mini");
    assert.match(String(api.requests[0].body.input), /\[0:0\d\] Assistant: Hello, Acme Realty\./);
    assert.deepEqual(events.map((e) => e.type), ["call.ended", "call.analyzed"]);
    assert.deepEqual(events[1].data, {
      callSid: call.callSid,
      agent: "default",
      analysis: record.analysis,
    });
    const detail = formatCallDetail(record);
    assert.match(
      detail,
      /analysis {2}ok by gpt-5-mini at .*1 request\(s\); tokens input 900 \(cached 100\), output 120 \(reasoning 64\); cost \$0\.0004/,
    );
    assert.match(detail, /summary {3}Ana called to rent a two-bedroom flat/);
    assert.match(detail, /success {3}failed: No viewing was booked/);
    assert.match(
      detail,
      /extracted \{"name":"Ana","callback_number":null,"intent":"rent","bedrooms":2\}/,
    );
  } finally {
    await ops.close();
  }
});

Deno.test("bad analysis settings are start-up problems naming the variable or the agents file field", async () => {
  assert.throws(
    () =>
      parseConfig({
        OPENAI_API_KEY: TEST_API_KEY,
        ANALYSIS_EXTRACT: '{"type":"object","properties":{"a":{"allOf":[]}}}',
      }),
    /ANALYSIS_EXTRACT: a uses allOf, which OpenAI's strict structured output does not support\./,
  );
  assert.throws(
    () => parseConfig({ OPENAI_API_KEY: TEST_API_KEY, ANALYSIS_EXTRACT: "{not json" }),
    /ANALYSIS_EXTRACT is not valid JSON/,
  );
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/extract.json`, JSON.stringify(EXTRACT));
    const fromFile = parseConfig({
      OPENAI_API_KEY: TEST_API_KEY,
      ANALYSIS_EXTRACT: `${dir}/extract.json`,
    });
    assert.deepEqual(fromFile.analysisExtract, EXTRACT);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const { parseAgentsFile } = await import("../src/agents/agents_file.ts");
  const bad = parseAgentsFile(
    "agents:\n  - name: a\n    analysis:\n      extract:\n        type: object\n        additionalProperties: true\n",
    { path: "agents.yaml", env: {} },
  );
  assert.equal(bad.ok, false);
  if (!bad.ok) {
    assert.match(
      bad.problems[0],
      /^agents\.yaml:5: agents\[0\]\.analysis\.extract: the root allows additional properties/,
    );
  }
});

Deno.test({
  name:
    "deno task calls --reanalyze runs the analysis again as a process: record updated, call.analyzed in the outbox",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    await using api = FakeResponsesApi.start(TEST_API_KEY);
    api.answer({
      json: { ...GOOD, success: { passed: true, reason: "Schema changed: passes now." } },
    });
    const dir = await Deno.makeTempDir();
    const path = `${dir}/calls.kv`;
    try {
      const store = await KvCallStore.open({ path, retentionDays: 1 });
      const record = sampleRecord("CA0123456789abcdef0123456789abcdef", {
        agent: "default",
        turns: { caller: 1, assistant: 2 },
        toolCalls: 1,
        responses: 2,
        transcript: TRANSCRIPT,
      });
      await store.put(record);
      store.close();
      await using cli = await ServerProcess.spawn({
        args: denoRunArgs("src/cli/calls.ts", ["net", "env", "read", "write"], [
          "--reanalyze",
          record.callSid,
        ]),
        env: {
          OPENAI_API_KEY: TEST_API_KEY,
          OPENAI_BASE_URL: api.baseUrl,
          CALL_STORE_PATH: path,
          AGENTS_FILE: "off",
          ANALYSIS_SUMMARY: "on",
          ANALYSIS_EXTRACT: JSON.stringify(EXTRACT),
          ANALYSIS_SUCCESS: "The caller gave a name.",
          WEBHOOK_URL: "https://hooks.example.com/in",
          WEBHOOK_SECRET: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
          NO_COLOR: "1",
        },
        cwd: dir,
      });
      const status = await cli.child.status;
      assert.equal(status.code, 0, cli.output);
      assert.match(cli.output, /analyzed again:\n {2}analysis {2}ok by gpt-5-mini/);
      assert.match(cli.output, /success {3}passed: Schema changed: passes now\./);
      assert.match(String(api.requests[0].body.instructions), /The caller gave a name\./);
      const after = await KvCallStore.open({ path, retentionDays: 1 });
      const kv = await Deno.openKv(path);
      try {
        assert.equal((await after.get(record.callSid))?.analysis?.success?.passed, true);
        const { WebhookOutbox } = await import("../src/webhooks/mod.ts");
        const { pending } = await new WebhookOutbox(kv, { retentionDays: 1 }).list();
        assert.deepEqual(pending.map((d) => [d.type, d.targetId]), [["call.analyzed", "env"]]);
      } finally {
        after.close();
        kv.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
