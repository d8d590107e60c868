/**
 * The core tests' driver speaks the real protocols: every OpenAI event its
 * builders send is GA wire JSON valid against the strict schema of
 * `../shared/realtime-schema`, every Twilio message parses with the bridge's
 * parser, and each builder reaches the parser as the event it is named for.
 */
import assert from "node:assert/strict";
import { parseServerEvent } from "../src/openai/server_events.ts";
import { parseTwilioMessage } from "../src/twilio/media_stream_messages.ts";
import type { CallCommand } from "../src/core/call_types.ts";
import { CoreDriver, type FromSession } from "./support/core_driver.ts";
import { validateServerEvent } from "./support/realtime_schema.ts";

/** A driver that keeps the wire JSON of everything it sends. */
class RecordingDriver extends CoreDriver {
  readonly openaiWire: Record<string, unknown>[] = [];
  readonly twilioWire: Record<string, unknown>[] = [];

  override openai(event: Record<string, unknown>, from: FromSession = {}): CallCommand[] {
    this.openaiWire.push(event);
    return super.openai(event, from);
  }

  override twilio(message: Record<string, unknown>): CallCommand[] {
    this.twilioWire.push(message);
    return super.twilio(message);
  }
}

/** Drives one call through every builder the driver has. */
function driveEveryBuilder(): RecordingDriver {
  const d = new RecordingDriver({ customTools: ["lookup"], renewAfterMs: 1000 });
  d.startCall();
  d.media();
  d.speechStarted();
  d.speechStopped({ audioEndMs: 700, itemId: "item_u1" });
  d.committed("item_u1");
  d.transcriptionCompleted("item_u1", "Are you open?");
  d.responseCreated("resp_1");
  d.delta("resp_1", "item_a1", 100);
  d.audioDone("resp_1", "item_a1");
  d.outputTranscriptDone("resp_1", "item_a1", "Yes.");
  d.functionCall("resp_1", "call_1", "lookup", '{"q":"hours"}');
  d.responseDone("resp_1", "completed", {
    usage: {
      total_tokens: 30,
      input_tokens: 20,
      output_tokens: 10,
      input_token_details: { text_tokens: 15, audio_tokens: 5, cached_tokens: 0 },
      output_token_details: { text_tokens: 4, audio_tokens: 6 },
    },
  });
  for (const name of d.marks()) d.mark(name);
  d.toolResult("call_1", { open: true });
  d.responseCreated("resp_2");
  d.delta("resp_2", "item_a2", 500);
  d.advance(100);
  d.speechStarted();
  d.truncated("item_a2", 100);
  d.responseDone("resp_2", "cancelled");
  d.openaiError({ code: "invalid_value", message: "bad", param: "audio_end_ms", eventId: "x" });
  d.openaiError({ type: "server_error" });
  d.dtmf("5");
  d.advance(1000); // the renewal opens session 2
  d.openaiOpen(2);
  d.speechStarted({ generation: 2, audioStartMs: 0, itemId: "item_u2" });
  d.delta("resp_old", "item_old", 20, 0x55, { generation: 1 });
  d.stop();
  return d;
}

Deno.test("every OpenAI event the driver builds is valid GA wire JSON (strict schema)", () => {
  const d = driveEveryBuilder();
  assert.equal(d.openaiWire.length, 19, "one event per OpenAI builder call");
  for (const event of d.openaiWire) {
    assert.deepEqual(validateServerEvent(event, { strict: true }), [], JSON.stringify(event));
  }
  const ids = d.openaiWire.map((e) => e.event_id);
  assert.equal(new Set(ids).size, ids.length, "event ids are unique");
});

Deno.test("each OpenAI builder reaches the core as the event it is named for", () => {
  const d = driveEveryBuilder();
  const parsed = d.openaiWire.map((e) => {
    const r = parseServerEvent(JSON.stringify(e));
    if (!r.ok) throw new Error(r.error);
    return r.event.type;
  });
  assert.deepEqual(parsed, d.openaiWire.map((e) => e.type), "none is read as another type");
  // Every event the parser narrows has a builder (session.created/updated carry no field the
  // core reads and are not sent by the driver).
  assert.deepEqual([...new Set(parsed)].sort(), [
    "conversation.item.input_audio_transcription.completed",
    "conversation.item.truncated",
    "error",
    "input_audio_buffer.committed",
    "input_audio_buffer.speech_started",
    "input_audio_buffer.speech_stopped",
    "response.created",
    "response.done",
    "response.function_call_arguments.done",
    "response.output_audio.delta",
    "response.output_audio.done",
    "response.output_audio_transcript.done",
  ]);
});

Deno.test("every Twilio message the driver builds parses, with numbers as strings like Twilio's", () => {
  const d = driveEveryBuilder();
  const events = d.twilioWire.map((m) => {
    const r = parseTwilioMessage(JSON.stringify(m));
    if (!r.ok) throw new Error(r.error);
    return r.value.event;
  });
  assert.deepEqual([...new Set(events)].sort(), [
    "connected",
    "dtmf",
    "mark",
    "media",
    "start",
    "stop",
  ]);
  for (const m of d.twilioWire.filter((m) => m.event !== "connected")) {
    assert.equal(typeof m.sequenceNumber, "string");
  }
  const media = d.twilioWire.find((m) => m.event === "media")?.media as Record<string, unknown>;
  assert.deepEqual(Object.keys(media).sort(), ["chunk", "payload", "timestamp", "track"]);
  assert.equal(typeof media.chunk, "string");
  assert.equal(typeof media.timestamp, "string");
});

Deno.test("an event given a generation comes from that session, else from the one the call uses", () => {
  const d = new CoreDriver({ renewAfterMs: 1000, greeting: undefined });
  d.startCall();
  d.advance(1000);
  d.openaiOpen(2);
  d.media(); // at a turn boundary: the call switches to session 2
  assert.deepEqual(d.commands.filter((c) => c.type === "close_openai").map((c) => c.generation), [
    1,
  ]);
  d.responseCreated("resp_1");
  const fromOld = d.delta("resp_1", "item_a", 20, 0x55, { generation: 1 });
  assert.deepEqual(d.sentToTwilio(fromOld), [], "a late event of session 1 is ignored");
  const fromCurrent = d.delta("resp_1", "item_a", 20);
  assert.deepEqual(d.sentToTwilio(fromCurrent).map((m) => m.event), ["media"]);
  const fromTwo = d.delta("resp_1", "item_a", 20, 0x55, { generation: 2 });
  assert.deepEqual(d.sentToTwilio(fromTwo).map((m) => m.event), ["media"]);
});
