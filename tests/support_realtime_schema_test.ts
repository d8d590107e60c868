import { gaSessionDefaults } from "../src/fake_peers/realtime_session_state.ts";
import assert from "node:assert/strict";
import {
  clientEventTypes,
  describeClientEventProblem,
  serverEventTypes,
  validateClientEvent,
  validateServerEvent,
} from "./support/realtime_schema.ts";

/** The GA session.update of protocol.md §1.3. */
const GA_SESSION_UPDATE = {
  type: "session.update",
  event_id: "cfg1",
  session: {
    type: "realtime",
    model: "gpt-realtime",
    output_modalities: ["audio"],
    instructions: "You are a concise phone assistant.",
    audio: {
      input: {
        format: { type: "audio/pcmu" },
        noise_reduction: { type: "near_field" },
        transcription: { model: "gpt-4o-mini-transcribe", language: "en" },
        turn_detection: {
          type: "server_vad",
          threshold: 0.5,
          prefix_padding_ms: 300,
          silence_duration_ms: 500,
          idle_timeout_ms: null,
          create_response: true,
          interrupt_response: true,
        },
      },
      output: { format: { type: "audio/pcmu" }, voice: "marin", speed: 1.0 },
    },
    tools: [{
      type: "function",
      name: "lookup_order",
      description: "Looks up an order.",
      parameters: {
        type: "object",
        properties: { order_id: { type: "string" } },
        required: ["order_id"],
      },
    }],
    tool_choice: "auto",
    max_output_tokens: 1024,
    truncation: "auto",
  },
};

function withSession(extra: Record<string, unknown>): unknown {
  return { ...GA_SESSION_UPDATE, session: { ...GA_SESSION_UPDATE.session, ...extra } };
}

Deno.test("schema: the GA session.update of protocol.md passes", () => {
  assert.deepEqual(validateClientEvent(GA_SESSION_UPDATE), []);
  assert.equal(describeClientEventProblem(GA_SESSION_UPDATE), undefined);
});

Deno.test("schema: valid client events pass", () => {
  const valid: unknown[] = [
    { type: "session.update", session: { type: "realtime" } },
    withSession({
      audio: {
        input: {
          format: { type: "audio/pcmu" },
          turn_detection: { type: "semantic_vad", eagerness: "low" },
          transcription: null,
          noise_reduction: null,
        },
        output: { format: { type: "audio/pcmu" }, voice: "cedar" },
      },
      tool_choice: { type: "function", name: "lookup_order" },
      tracing: null,
      truncation: { type: "retention_ratio", retention_ratio: 0.8 },
    }),
    {
      type: "session.update",
      session: { type: "realtime", audio: { input: { turn_detection: null } } },
    },
    { type: "input_audio_buffer.append", audio: "f39/fw==" },
    { type: "input_audio_buffer.append", event_id: "a1", audio: "f39/fw==" },
    { type: "input_audio_buffer.commit" },
    { type: "input_audio_buffer.clear" },
    { type: "conversation.item.truncate", item_id: "item_1", content_index: 0, audio_end_ms: 1234 },
    {
      type: "conversation.item.create",
      item: { type: "function_call_output", call_id: "call_abc", output: '{"status":"shipped"}' },
    },
    {
      type: "conversation.item.create",
      previous_item_id: "root",
      item: { type: "message", role: "user", content: [{ type: "input_text", text: "Hi" }] },
    },
    {
      type: "conversation.item.create",
      item: { type: "message", role: "system", content: [{ type: "input_text", text: "Be nice" }] },
    },
    { type: "response.create" },
    {
      type: "response.create",
      response: {
        instructions: "Greet the caller.",
        output_modalities: ["audio"],
        tool_choice: "none",
        max_output_tokens: 200,
        metadata: { purpose: "greeting" },
      },
    },
    { type: "response.cancel" },
    { type: "response.cancel", response_id: "resp_1" },
    { type: "conversation.item.delete", item_id: "item_1" },
  ];
  for (const event of valid) {
    assert.deepEqual(validateClientEvent(event), [], JSON.stringify(event));
  }
});

/** Expect failure: returns the errors (joined) and the classified problem. */
function expectInvalid(event: unknown): { text: string; code: string; param: string | null } {
  const errors = validateClientEvent(event);
  assert.ok(errors.length > 0, `expected ${JSON.stringify(event)} to be invalid`);
  const problem = describeClientEventProblem(event);
  assert.ok(problem, "a problem is described");
  return { text: errors.join("\n"), code: problem.code, param: problem.param };
}

Deno.test("schema: retired beta session fields are unknown parameters", () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ voice: "alloy" }, "voice"],
    [{ temperature: 0.8 }, "temperature"],
    [{ turn_detection: { type: "server_vad" } }, "turn_detection"],
    [{ modalities: ["audio", "text"] }, "modalities"],
    [{ input_audio_format: "g711_ulaw" }, "input_audio_format"],
    [{ max_response_output_tokens: 100 }, "max_response_output_tokens"],
  ];
  for (const [extra, name] of cases) {
    const r = expectInvalid(withSession(extra));
    assert.match(r.text, new RegExp(`/session must NOT have unevaluated properties: '${name}'`));
    assert.equal(r.code, "unknown_parameter");
    assert.equal(r.param, `session.${name}`);
  }
});

Deno.test("schema: undeclared properties are rejected at any depth", () => {
  let r = expectInvalid({ type: "input_audio_buffer.append", audio: "AAAA", extra: 1 });
  assert.equal(r.text, "/ must NOT have unevaluated properties: 'extra'");
  assert.equal(r.param, "extra");

  r = expectInvalid(withSession({
    audio: { input: { format: { type: "audio/pcmu", rate: 8000 } } },
  }));
  assert.equal(r.code, "unknown_parameter");
  assert.equal(r.param, "session.audio.input.format.rate");

  r = expectInvalid({
    type: "session.update",
    session: {
      type: "realtime",
      audio: { input: { turn_detection: { type: "server_vad", eagerness: "low" } } },
    },
  });
  assert.equal(r.param, "session.audio.input.turn_detection.eagerness");

  r = expectInvalid({
    type: "conversation.item.create",
    item: { type: "function_call_output", call_id: "c", output: "{}", extra: true },
  });
  assert.equal(r.text, "/item must NOT have unevaluated properties: 'extra'");
  assert.equal(r.param, "item.extra");

  r = expectInvalid({ type: "response.create", response: { temperature: 0.7 } });
  assert.equal(r.param, "response.temperature");
});

Deno.test("schema: missing, mistyped and unknown events fail", () => {
  let r = expectInvalid({ type: "session.update", session: { model: "gpt-realtime" } });
  assert.equal(r.code, "missing_required_parameter");
  assert.equal(r.param, "session.type");

  r = expectInvalid({ type: "session.update" });
  assert.equal(r.code, "missing_required_parameter");
  assert.equal(r.param, "session");

  r = expectInvalid({
    type: "conversation.item.truncate",
    item_id: "item_1",
    content_index: 0,
    audio_end_ms: 1.5,
  });
  assert.match(r.text, /\/audio_end_ms must be integer/);
  assert.equal(r.code, "invalid_value");
  assert.equal(r.param, "audio_end_ms");

  r = expectInvalid({ type: "conversation.item.truncate", item_id: "item_1", audio_end_ms: 10 });
  assert.equal(r.param, "content_index");

  r = expectInvalid({ type: "response.audio.delta", delta: "AAAA" });
  assert.equal(r.code, "invalid_event");
  assert.match(r.text, /\/type must be equal to one of the allowed values/);

  r = expectInvalid({ audio: "AAAA" });
  assert.equal(r.code, "missing_required_parameter");
  assert.equal(r.param, "type");

  assert.equal(expectInvalid("session.update").code, "invalid_event");
  assert.equal(expectInvalid(null).code, "invalid_event");

  r = expectInvalid(withSession({ type: "realtime", output_modalities: ["audio", "video"] }));
  assert.equal(r.code, "invalid_value");
  assert.equal(r.param, "session.output_modalities[1]");
});

Deno.test("schema: the event type lists are the GA unions", () => {
  const client = clientEventTypes();
  assert.equal(client.length, 11);
  assert.ok(client.includes("conversation.item.truncate"));
  const server = serverEventTypes();
  assert.equal(server.length, 46);
  assert.ok(server.includes("response.output_audio.delta"));
  assert.ok(!server.includes("response.audio.delta"));
});

Deno.test("schema: server events validate", () => {
  const sessionCreated = {
    type: "session.created",
    event_id: "event_1",
    // The GA defaults the demo stand-in and the fake server report: they must be valid too.
    session: gaSessionDefaults({
      id: "sess_1",
      model: "gpt-realtime",
      instructions: "",
      expiresAt: 1_800_000_000,
    }),
  };
  assert.deepEqual(validateServerEvent(sessionCreated), []);
  assert.deepEqual(validateServerEvent(sessionCreated, { strict: true }), []);

  const delta = {
    type: "response.output_audio.delta",
    event_id: "event_2",
    response_id: "resp_1",
    item_id: "item_1",
    output_index: 0,
    content_index: 0,
    delta: "f39/fw==",
  };
  assert.deepEqual(validateServerEvent(delta, { strict: true }), []);

  const error = {
    type: "error",
    event_id: "event_3",
    error: {
      type: "invalid_request_error",
      code: "unknown_parameter",
      message: "Unknown parameter: 'session.turn_detection'.",
      param: "session.turn_detection",
      event_id: null,
    },
  };
  assert.deepEqual(validateServerEvent(error, { strict: true }), []);

  const responseDone = {
    type: "response.done",
    event_id: "event_5",
    response: {
      object: "realtime.response",
      id: "resp_2",
      status: "completed",
      status_details: null,
      conversation_id: "conv_1",
      output_modalities: ["audio"],
      output: [{
        id: "item_fc_1",
        type: "function_call",
        status: "completed",
        name: "lookup_order",
        call_id: "call_abc",
        arguments: '{"order_id":"42"}',
      }],
      usage: {
        total_tokens: 300,
        input_tokens: 250,
        output_tokens: 50,
        input_token_details: {
          text_tokens: 200,
          audio_tokens: 50,
          image_tokens: 0,
          cached_tokens: 128,
          cached_tokens_details: { text_tokens: 128, audio_tokens: 0, image_tokens: 0 },
        },
        output_token_details: { text_tokens: 50, audio_tokens: 0 },
      },
      metadata: null,
    },
  };
  assert.deepEqual(validateServerEvent(responseDone, { strict: true }), []);

  const userItem = {
    type: "conversation.item.added",
    event_id: "event_6",
    previous_item_id: null,
    item: {
      id: "item_u1",
      object: "realtime.item",
      type: "message",
      status: "completed",
      role: "user",
      content: [{ type: "input_audio", transcript: null }],
    },
  };
  assert.deepEqual(validateServerEvent(userItem, { strict: true }), []);

  // Failures: missing delta, a beta event name, a wrong-typed field; strict catches extras.
  assert.match(
    validateServerEvent({ ...delta, delta: undefined }).join("\n"),
    /must have required property 'delta'/,
  );
  assert.ok(validateServerEvent({ ...delta, type: "response.audio.delta" }).length > 0);
  assert.match(
    validateServerEvent({ ...delta, output_index: "0" }).join("\n"),
    /\/output_index must be integer/,
  );
  assert.deepEqual(validateServerEvent({ ...delta, extra: 1 }), []);
  assert.deepEqual(validateServerEvent({ ...delta, extra: 1 }, { strict: true }), [
    "/ must NOT have unevaluated properties: 'extra'",
  ]);
});
