import assert from "node:assert/strict";
import { parseConfig } from "../src/config/mod.ts";
import { buildSessionUpdate } from "../src/openai/session_config.ts";
import {
  appendAudio,
  clearInput,
  encodeClientEvent,
  functionCallOutput,
  responseCreate,
  truncateItem,
  userText,
} from "../src/openai/client_events.ts";
import { validateClientEvent } from "./support/realtime_schema.ts";
import { encodeBase64 } from "../src/audio/base64.ts";

const KEY = "sk-test-abcdefghijklmnopqrstuvwxyz";

const variants: Record<string, string>[] = [
  {},
  { TURN_DETECTION: "semantic_vad", VAD_EAGERNESS: "high", INTERRUPT_RESPONSE: "false" },
  { NOISE_REDUCTION: "far_field", TRANSCRIPTION_MODEL: "gpt-4o-mini-transcribe" },
  { VOICE: "voice_1234abcd", VAD_THRESHOLD: "0.7", VAD_SILENCE_DURATION_MS: "800" },
  { TRANSFER_NUMBER: "+442071838750" },
  { REASONING_EFFORT: "xhigh", TRUNCATION: "0.75", PARALLEL_TOOL_CALLS: "true" },
  { REASONING_EFFORT: "minimal", TRUNCATION: "disabled", PARALLEL_TOOL_CALLS: "false" },
  { TRUNCATION: "auto", OPENAI_MODEL: "gpt-realtime-2.1-mini" },
];

for (const env of variants) {
  Deno.test(`session.update passes the strict GA schema (${JSON.stringify(env)})`, () => {
    const event = buildSessionUpdate(parseConfig({ OPENAI_API_KEY: KEY, ...env }));
    assert.deepEqual(validateClientEvent(event), []);
    assert.equal(event.session.type, "realtime");
    assert.deepEqual(event.session.audio.input.format, { type: "audio/pcmu" });
    assert.deepEqual(event.session.audio.output.format, { type: "audio/pcmu" });
  });
}

Deno.test("session.update maps each setting to its GA field", () => {
  const event = buildSessionUpdate(parseConfig({
    OPENAI_API_KEY: KEY,
    TURN_DETECTION: "semantic_vad",
    VAD_EAGERNESS: "low",
    NOISE_REDUCTION: "near_field",
    TRANSCRIPTION_MODEL: "gpt-4o-transcribe",
    VOICE: "voice_abc",
    SYSTEM_MESSAGE: "Be a pirate.",
  }));
  assert.deepEqual(event.session.audio.input.turn_detection, {
    type: "semantic_vad",
    eagerness: "low",
    create_response: true,
    interrupt_response: true,
  });
  assert.deepEqual(event.session.audio.input.noise_reduction, { type: "near_field" });
  assert.deepEqual(event.session.audio.input.transcription, { model: "gpt-4o-transcribe" });
  assert.deepEqual(event.session.audio.output.voice, { id: "voice_abc" });
  assert.equal(event.session.instructions, "Be a pirate.");
  assert.equal("temperature" in event.session, false);
});

Deno.test("every client event builder produces a schema-valid GA event", () => {
  const events = [
    appendAudio(encodeBase64(new Uint8Array(4).fill(0x7f))),
    truncateItem("item_1", 1234.9),
    functionCallOutput("call_1", { ok: true }),
    responseCreate(),
    responseCreate({ instructions: "Say bye.", toolChoice: "none", metadata: { p: "x" } }),
    clearInput(),
    responseCreate({ instructions: "Say: one moment.", toolChoice: "none", conversation: "none" }),
    userText("The caller pressed 4 2 on the phone keypad."),
  ].map((event) => JSON.parse(encodeClientEvent(event)));
  for (const event of events) assert.deepEqual(validateClientEvent(event), [], event.type);
  assert.equal(events[1].audio_end_ms, 1234);
});

Deno.test("the strict validator would catch a beta-era field", () => {
  const event = buildSessionUpdate(parseConfig({ OPENAI_API_KEY: KEY }));
  const bad = { ...event, session: { ...event.session, temperature: 0.8 } };
  assert.notDeepEqual(validateClientEvent(bad), []);
});

Deno.test("TRANSFER_NUMBER declares transfer_call; a malformed one is refused without echoing it", () => {
  const names = (env: Record<string, string>) =>
    buildSessionUpdate(parseConfig({ OPENAI_API_KEY: KEY, ...env })).session.tools.map((t) =>
      t.name
    );
  assert.deepEqual(names({}), ["end_call"]);
  assert.deepEqual(names({ TRANSFER_NUMBER: "+14155550199" }), ["end_call", "transfer_call"]);
  assert.throws(
    () => parseConfig({ OPENAI_API_KEY: KEY, TRANSFER_NUMBER: "415-555-0199" }),
    (error: Error) => {
      assert.match(error.message, /TRANSFER_NUMBER must be a phone number in E\.164 form/);
      assert.equal(error.message.includes("415-555-0199"), false);
      return true;
    },
  );
});

Deno.test("REASONING_EFFORT, TRUNCATION and PARALLEL_TOOL_CALLS map to their GA fields", () => {
  const session = (env: Record<string, string>) =>
    buildSessionUpdate(parseConfig({ OPENAI_API_KEY: KEY, ...env })).session as Record<
      string,
      unknown
    >;
  const unset = session({});
  for (const field of ["reasoning", "truncation", "parallel_tool_calls"]) {
    assert.equal(field in unset, false, `${field} is not sent unless set`);
  }
  assert.equal(unset.model, "gpt-realtime-2.1");
  const set = session({
    REASONING_EFFORT: "high",
    TRUNCATION: "0.8",
    PARALLEL_TOOL_CALLS: "false",
  });
  assert.deepEqual(set.reasoning, { effort: "high" });
  assert.deepEqual(set.truncation, { type: "retention_ratio", retention_ratio: 0.8 });
  assert.equal(set.parallel_tool_calls, false);
  assert.equal(session({ TRUNCATION: "disabled" }).truncation, "disabled");
  assert.equal(session({ TRUNCATION: "auto" }).truncation, "auto");
  for (const effort of ["minimal", "low", "medium", "high", "xhigh"]) {
    const event = buildSessionUpdate(
      parseConfig({ OPENAI_API_KEY: KEY, REASONING_EFFORT: effort }),
    );
    assert.deepEqual(validateClientEvent(event), [], effort);
  }
});

Deno.test("the strict schema would refuse a malformed reasoning or truncation field", () => {
  const event = buildSessionUpdate(parseConfig({ OPENAI_API_KEY: KEY }));
  const bad = [
    { reasoning: { effort: "maximum" } },
    { reasoning: { effort: "low", summary: "auto" } },
    { truncation: { type: "retention_ratio", retention_ratio: 1.5 } },
    { truncation: { retention_ratio: 0.5 } },
    { truncation: "sometimes" },
    { parallel_tool_calls: "yes" },
  ];
  for (const fields of bad) {
    const session = { ...event.session, ...fields };
    assert.notDeepEqual(validateClientEvent({ ...event, session }), [], JSON.stringify(fields));
  }
});
