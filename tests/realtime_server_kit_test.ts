import assert from "node:assert/strict";
import type { ServerEvent } from "../src/fake_peers/realtime_response.ts";
import { ResponseScript } from "../src/fake_peers/realtime_response_script.ts";
import { RealtimeServerSession } from "../src/fake_peers/realtime_server_session.ts";
import { validateServerEvent } from "./support/realtime_schema.ts";

/** Collects the kit's events with an event_id, as an adapter sends them. */
class Wire {
  readonly events: (ServerEvent & { event_id: string })[] = [];
  readonly loose = new Set<ServerEvent>();
  #n = 0;
  add(events: ServerEvent[], strict = true): ServerEvent[] {
    for (const event of events) {
      const stamped = { ...event, event_id: `event_${++this.#n}` };
      this.events.push(stamped);
      if (!strict) this.loose.add(stamped);
    }
    return events;
  }
  types(from = 0): string[] {
    return this.events.slice(from).map((e) => e.type);
  }
}

function pcmuSession(): { kit: RealtimeServerSession; wire: Wire } {
  const kit = new RealtimeServerSession({ model: "gpt-realtime", instructions: "Be brief." });
  const wire = new Wire();
  wire.add([kit.created()]);
  const update = kit.handle({
    type: "session.update",
    session: {
      type: "realtime",
      audio: {
        input: { format: { type: "audio/pcmu" } },
        output: { format: { type: "audio/pcmu" }, voice: "marin" },
      },
    },
  });
  wire.add(update.events, update.strict);
  return { kit, wire };
}

Deno.test("realtime server kit: every event it emits is a valid GA server event (strict schema)", () => {
  const { kit, wire } = pcmuSession();
  const handle = (event: Record<string, unknown>) => {
    const result = kit.handle(event);
    wire.add(result.events, result.strict);
    return result;
  };
  // Caller-side events and errors.
  handle({ type: "input_audio_buffer.append", audio: "f39/fw==" });
  handle({ type: "input_audio_buffer.append", audio: "not base64!", event_id: "a1" });
  handle({ type: "input_audio_buffer.clear" });
  handle({
    type: "conversation.item.create",
    item: { type: "function_call_output", call_id: "call_1", output: "{}" },
  });
  handle({ type: "conversation.item.delete", item_id: "item_unknown" });
  handle({ type: "response.cancel", event_id: "c1" });
  wire.add(kit.speechStarted(120, "item_user1"));
  // A preamble and an answer in one response, then two function calls in another.
  const two = new ResponseScript(kit.beginResponse({ interruptible: true }), {
    items: [{ audioMs: 250, transcript: "Let me look." }, { audioMs: 120, transcript: "Done." }],
  });
  wire.add(two.runToEnd());
  const calls = new ResponseScript(kit.beginResponse(), {
    items: [
      { functionCall: { name: "lookup_order", arguments: { order_id: "42" } } },
      { functionCall: { name: "lookup_order", arguments: '{"order_id":"43"}' } },
    ],
  });
  wire.add(calls.runToEnd());
  // Truncates: accepted, past the audio, unknown item, function-call item.
  handle({
    type: "conversation.item.truncate",
    item_id: two.items[1].itemId,
    content_index: 0,
    audio_end_ms: 60,
  });
  handle({
    type: "conversation.item.truncate",
    item_id: two.items[1].itemId,
    content_index: 0,
    audio_end_ms: 61,
  });
  handle({
    type: "conversation.item.truncate",
    item_id: "item_x",
    content_index: 0,
    audio_end_ms: 0,
  });
  handle({
    type: "conversation.item.truncate",
    item_id: calls.items[0].itemId,
    content_index: 0,
    audio_end_ms: 0,
  });
  // Cancelled three ways while streaming: barge-in, response.cancel, a truncate of its item.
  for (const stop of ["speech", "cancel", "truncate"] as const) {
    const script = new ResponseScript(kit.beginResponse({ interruptible: true }), {
      items: [{ audioMs: 200, transcript: "First." }, { audioMs: 300 }, { audioMs: 100 }],
    });
    for (let i = 0; i < 7; i++) wire.add(script.step()!.events); // 100 ms into the second item
    const busy = handle({ type: "response.create" });
    assert.equal(busy.outcome.kind, "response_busy");
    if (stop === "speech") wire.add(kit.speechStarted(500));
    if (stop === "cancel") handle({ type: "response.cancel" });
    if (stop === "truncate") {
      handle({
        type: "conversation.item.truncate",
        item_id: script.items[1].itemId,
        content_index: 0,
        audio_end_ms: 50,
      });
    }
    assert.equal(script.response.status, "cancelled", stop);
    assert.equal(script.step(), undefined, "nothing more is produced");
  }
  for (const status of ["incomplete", "failed"] as const) {
    const r = kit.beginResponse();
    wire.add(r.created());
    wire.add(r.openMessage().events);
    wire.add(r.audio(new Uint8Array(80)));
    wire.add(r.finish(status));
  }
  const problems = wire.events.flatMap((event) =>
    validateServerEvent(event, { strict: !wire.loose.has(event) }).map((e) => `${event.type}: ${e}`)
  );
  assert.deepEqual(problems, []);
  // The run covered every event family the kit builds.
  for (
    const type of [
      "session.created",
      "session.updated",
      "input_audio_buffer.cleared",
      "input_audio_buffer.speech_started",
      "conversation.item.added",
      "conversation.item.done",
      "conversation.item.deleted",
      "conversation.item.truncated",
      "response.created",
      "response.output_item.added",
      "response.content_part.added",
      "response.output_audio.delta",
      "response.output_audio_transcript.delta",
      "response.output_audio.done",
      "response.output_audio_transcript.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.function_call_arguments.delta",
      "response.function_call_arguments.done",
      "response.done",
      "error",
    ]
  ) assert.ok(wire.types().includes(type), type);
  assert.equal(wire.loose.size, 3, "only session.updated and the created item echo the client");
});

Deno.test("realtime server kit: truncate rules and their error strings", () => {
  const { kit } = pcmuSession();
  const r = kit.beginResponse();
  r.created();
  const { itemId } = r.openMessage("item_a");
  r.audio(new Uint8Array(8 * 300));
  const call = r.functionCall("end_call", {});
  r.finish();
  const truncate = (event: Record<string, unknown>) => {
    const result = kit.handle({ type: "conversation.item.truncate", content_index: 0, ...event });
    return result.outcome.kind === "truncate_rejected"
      ? [result.outcome.reason, (result.events[0].error as { param: string }).param]
      : result.outcome.kind;
  };
  assert.deepEqual(truncate({ item_id: itemId, audio_end_ms: 301 }), [
    "Audio content of 300ms is already shorter than 301ms",
    "audio_end_ms",
  ]);
  assert.deepEqual(truncate({ item_id: "item_nope", audio_end_ms: 0 }), [
    "Item with item_id 'item_nope' not found.",
    "item_id",
  ]);
  assert.deepEqual(truncate({ item_id: call.itemId, audio_end_ms: 0 }), [
    `Item ${call.itemId} has no audio to truncate.`,
    "item_id",
  ]);
  assert.deepEqual(truncate({ item_id: itemId, content_index: 1, audio_end_ms: 0 }), [
    "Invalid content_index 1: only content part 0 has audio.",
    "content_index",
  ]);
  assert.deepEqual(truncate({ item_id: itemId, audio_end_ms: -1 }), [
    "Invalid 'audio_end_ms': expected a whole number of ms from 0, got -1.",
    "audio_end_ms",
  ]);
  assert.equal(truncate({ item_id: itemId, audio_end_ms: 200 }), "truncated");
  // The item now holds 200 ms: a second truncate cannot go past that.
  assert.deepEqual(truncate({ item_id: itemId, audio_end_ms: 250 }), [
    "Audio content of 200ms is already shorter than 250ms",
    "audio_end_ms",
  ]);
  assert.equal(kit.conversation.sentBytes(itemId), 2400, "what was sent is still known");
});

Deno.test("realtime server kit: session defaults and update merge", () => {
  const { kit } = pcmuSession();
  const config = kit.config as {
    id: string;
    instructions: string;
    audio: {
      input: { format: unknown; turn_detection: { type: string } };
      output: { voice: string };
    };
  };
  assert.match(config.id, /^sess_[0-9a-z]{20}$/);
  assert.equal(config.instructions, "Be brief.");
  assert.deepEqual(config.audio.input.format, { type: "audio/pcmu" });
  assert.equal(config.audio.input.turn_detection.type, "server_vad", "kept from the defaults");
  assert.equal(config.audio.output.voice, "marin");
  assert.equal(kit.outputAudio.bytesPerMs, 8);
  // turn_detection is replaced as a whole; without it speech does not cancel a response.
  kit.handle({
    type: "session.update",
    session: { type: "realtime", audio: { input: { turn_detection: null } } },
  });
  const r = kit.beginResponse({ interruptible: true });
  assert.deepEqual(kit.speechStarted(0).map((e) => e.type), ["input_audio_buffer.speech_started"]);
  assert.equal(r.done, false);
});
