import assert from "node:assert/strict";
import { parseConfig } from "../src/config.ts";
import { buildSessionUpdate } from "../src/openai/session_config.ts";
import {
  appendAudio,
  clearInput,
  encodeClientEvent,
  functionCallOutput,
  responseCreate,
  truncateItem,
} from "../src/openai/client_events.ts";
import { validateClientEvent } from "./support/realtime_schema.ts";

const KEY = "sk-test-abcdefghijklmnopqrstuvwxyz";

const variants: Record<string, string>[] = [
  {},
  { TURN_DETECTION: "semantic_vad", VAD_EAGERNESS: "high", INTERRUPT_RESPONSE: "false" },
  { NOISE_REDUCTION: "far_field", TRANSCRIPTION_MODEL: "gpt-4o-mini-transcribe" },
  { VOICE: "voice_1234abcd", VAD_THRESHOLD: "0.7", VAD_SILENCE_DURATION_MS: "800" },
  { TRANSFER_NUMBER: "+442071838750" },
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
    appendAudio("f39/fw=="),
    truncateItem("item_1", 1234.9),
    functionCallOutput("call_1", { ok: true }),
    responseCreate(),
    responseCreate({ instructions: "Say bye.", toolChoice: "none", metadata: { p: "x" } }),
    clearInput(),
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
