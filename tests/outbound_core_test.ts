import assert from "node:assert/strict";
import type { CallCommand } from "../src/core/call_types.ts";
import { CALL_SID, CoreDriver, STREAM_SID } from "./support/core_driver.ts";
import { validateClientEvent } from "./support/realtime_schema.ts";

/** A session.update with server VAD, as the app builds it. */
const SESSION_UPDATE = {
  type: "session.update",
  session: {
    type: "realtime",
    instructions: "You call customers back about their listings.",
    audio: {
      input: {
        format: { type: "audio/pcmu" },
        turn_detection: {
          type: "server_vad",
          threshold: 0.5,
          prefix_padding_ms: 300,
          silence_duration_ms: 500,
          create_response: true,
          interrupt_response: true,
        },
      },
    },
  },
} as const;

function outboundDriver(
  settings: { greeting?: string; voicemail?: string } = {},
  options: ConstructorParameters<typeof CoreDriver>[0] = {},
) {
  const d = new CoreDriver({
    sessionUpdate: SESSION_UPDATE,
    greeting: "Thanks for calling Acme Realty!", // the inbound greeting must not be used
    endCallGraceMs: 500,
    ...options,
  });
  d.startCall = () => {
    // As the runner does it: the socket opens, then the call ticket's settings come before `start`.
    d.input({ type: "begin" });
    d.input({ type: "outbound_call", ...settings });
    d.twilio({ event: "connected", protocol: "Call", version: "1.0.0" });
    d.twilio({
      event: "start",
      sequenceNumber: "1",
      streamSid: STREAM_SID,
      start: {
        accountSid: "AC00000000000000000000000000000001",
        streamSid: STREAM_SID,
        callSid: CALL_SID,
        tracks: ["inbound"],
        customParameters: {},
        mediaFormat: { encoding: "audio/x-mulaw", sampleRate: 8000, channels: 1 },
      },
    });
    return d.input({ type: "openai_open" });
  };
  return d;
}

function createResponse(d: CoreDriver, commands: CallCommand[]) {
  return d.sentToOpenAI(commands).filter((e) => e.type === "response.create");
}

function turnDetection(event: Record<string, unknown>) {
  // deno-lint-ignore no-explicit-any
  return (event.session as any)?.audio?.input?.turn_detection;
}

function dtmf(d: CoreDriver, digit: string) {
  return d.twilio({
    event: "dtmf",
    sequenceNumber: "9",
    streamSid: STREAM_SID,
    dtmf: { track: "inbound_track", digit },
  });
}

function assertSchemaValid(d: CoreDriver) {
  for (const event of d.sentToOpenAI()) {
    assert.deepEqual(validateClientEvent(event), [], JSON.stringify(event).slice(0, 120));
  }
}

Deno.test("an outbound call listens until AMD reports: no greeting, no automatic answers", () => {
  const d = outboundDriver({ greeting: "Hi, this is Acme Realty calling about your listing." });
  const opened = d.startCall();
  const sent = d.sentToOpenAI(opened);
  assert.deepEqual(sent.map((e) => e.type), ["session.update", "session.update"]);
  assert.equal(turnDetection(sent[0]).create_response, true);
  assert.deepEqual(turnDetection(sent[1]), { ...turnDetection(sent[0]), create_response: false });
  // The callee (or their voicemail greeting) speaks: the core asks for nothing.
  const spoken = [
    ...d.openai({
      type: "input_audio_buffer.speech_started",
      event_id: "e",
      audio_start_ms: 0,
      item_id: "u1",
    }),
    ...d.media(),
    ...d.openai({
      type: "input_audio_buffer.speech_stopped",
      event_id: "e",
      audio_end_ms: 900,
      item_id: "u1",
    }),
    ...d.openai({
      type: "input_audio_buffer.committed",
      event_id: "e",
      item_id: "u1",
      previous_item_id: null,
    }),
  ];
  assert.deepEqual(createResponse(d, spoken), []);
  assertSchemaValid(d);
});

Deno.test("a person answered: the session talks again and the agent says its outbound greeting", () => {
  const d = outboundDriver({ greeting: "Hi, this is Acme Realty calling about your listing." });
  d.startCall();
  const out = d.sentToOpenAI(d.input({ type: "answered_by", result: "human" }));
  assert.deepEqual(out.map((e) => e.type), ["session.update", "response.create"]);
  assert.equal(turnDetection(out[0]).create_response, true);
  const response = out[1].response as { instructions: string; tool_choice: string };
  assert.match(response.instructions, /"Hi, this is Acme Realty calling about your listing\."/);
  assert.equal(response.tool_choice, "none");
  // Decided once: a late second result changes nothing.
  assert.deepEqual(
    d.sentToOpenAI(d.input({ type: "answered_by", result: "machine_end_beep" })),
    [],
  );
  assertSchemaValid(d);
});

Deno.test("unknown counts as a person; without a greeting the agent opens in its own words", () => {
  const d = outboundDriver();
  d.startCall();
  const out = d.sentToOpenAI(d.input({ type: "answered_by", result: "unknown" }));
  assert.deepEqual(out.map((e) => e.type), ["session.update", "response.create"]);
  assert.equal(out[1].response, undefined);
});

Deno.test("an answering machine gets the voicemail message once, played out, then the hang-up", () => {
  const d = outboundDriver({
    voicemail: "Hi, this is Acme Realty. Please call us back at 555 0100.",
  });
  d.startCall();
  const asked = createResponse(d, d.input({ type: "answered_by", result: "machine_end_beep" }));
  assert.equal(asked.length, 1);
  const response = asked[0].response as { instructions: string; tool_choice: string };
  assert.match(response.instructions, /answering machine/);
  assert.match(
    response.instructions,
    /"Hi, this is Acme Realty\. Please call us back at 555 0100\."/,
  );
  d.responseCreated("resp_vm");
  const audio = d.sentToTwilio(d.delta("resp_vm", "item_vm", 400));
  assert.ok(audio.some((m) => m.event === "media"));
  // The machine's line noise cannot interrupt the message.
  assert.deepEqual(d.sentToOpenAI(d.media()), []);
  d.audioDone("resp_vm", "item_vm");
  d.responseDone("resp_vm");
  assert.equal(d.commands.some((c) => c.type === "finish"), false);
  const finalMark = d.marks().at(-1)!;
  d.now += 400;
  d.mark(finalMark);
  const end = d.advance(500).find((c) => c.type === "finish");
  assert.deepEqual(end, {
    type: "finish",
    outcome: "assistant_ended",
    reason: "Left the voicemail message.",
    action: "hang_up",
  });
  // Said once: no other response was asked for.
  assert.equal(createResponse(d, d.commands).length, 1);
  assertSchemaValid(d);
});

Deno.test("a machine without a voicemail message, or a fax, is hung up on at once", () => {
  for (const result of ["machine_end_silence", "machine_end_other", "machine_start", "fax"]) {
    const d = outboundDriver();
    d.startCall();
    const out = d.input({ type: "answered_by", result });
    const finish = out.find((c) => c.type === "finish");
    assert.equal(finish?.type === "finish" && finish.action, "hang_up", result);
    assert.equal(createResponse(d, out).length, 0);
  }
  const fax = outboundDriver({ voicemail: "Please call back." });
  fax.startCall();
  const out = fax.input({ type: "answered_by", result: "fax" });
  assert.deepEqual(out.find((c) => c.type === "finish"), {
    type: "finish",
    outcome: "assistant_ended",
    reason: "A fax machine answered.",
    action: "hang_up",
  });
});

Deno.test("inbound calls ignore AMD results and greet as before", () => {
  const d = new CoreDriver({ sessionUpdate: SESSION_UPDATE, greeting: "Hello!" });
  const sent = d.sentToOpenAI(d.startCall());
  assert.deepEqual(sent.map((e) => e.type), ["session.update", "response.create"]);
  assert.deepEqual(d.sentToOpenAI(d.input({ type: "answered_by", result: "fax" })), []);
  assert.equal(d.core.finished, false);
});

Deno.test("a session reconnected while listening listens too; after a person answered it talks", () => {
  const d = outboundDriver({ greeting: "Hi!" }, { reconnectWindowMs: 5000 });
  d.startCall();
  d.input({ type: "openai_closed", code: 1006, reason: "", opened: true });
  const reopened = d.sentToOpenAI(d.input({ type: "openai_open", generation: 2 }));
  const updates = reopened.filter((e) => e.type === "session.update");
  assert.equal(turnDetection(updates.at(-1)!).create_response, false);
  d.input({ type: "answered_by", result: "human" });
  d.input({ type: "openai_closed", code: 1006, reason: "", opened: true, generation: 2 });
  const again = d.sentToOpenAI(d.input({ type: "openai_open", generation: 3 }));
  const last = again.filter((e) => e.type === "session.update");
  assert.equal(last.length, 1);
  assert.equal(turnDetection(last[0]).create_response, true);
});

Deno.test("keys pressed reach the model as user text, then it answers", () => {
  const d = new CoreDriver({ sessionUpdate: SESSION_UPDATE, greeting: undefined });
  d.startCall();
  const out = d.sentToOpenAI(dtmf(d, "4"));
  assert.deepEqual(out, [
    {
      type: "conversation.item.create",
      item: {
        type: "message",
        role: "user",
        content: [{ type: "input_text", text: "The caller pressed 4." }],
      },
    },
    { type: "response.create" },
  ]);
  // The digit itself is never logged (it may be a PIN).
  assert.ok(!JSON.stringify(d.commands.filter((c) => c.type === "log")).includes('"4"'));
  assertSchemaValid(d);
});

Deno.test("with collect_until, digits are gathered into one item until # or a pause", () => {
  const d = new CoreDriver({
    sessionUpdate: SESSION_UPDATE,
    greeting: undefined,
    keypad: { collectUntil: "#", timeoutMs: 3000 },
  });
  d.startCall();
  const typed = [...dtmf(d, "1"), ...dtmf(d, "2"), ...dtmf(d, "3")];
  assert.deepEqual(d.sentToOpenAI(typed), []);
  const entry = d.sentToOpenAI(dtmf(d, "#"));
  assert.equal(
    (entry[0].item as { content: { text: string }[] }).content[0].text,
    "The caller entered 123 on the keypad.",
  );
  assert.equal(d.timers.has("keypad"), false);
  dtmf(d, "9");
  d.now += 1000;
  dtmf(d, "8");
  assert.deepEqual(d.sentToOpenAI(d.advance(2999)), []);
  const paused = d.sentToOpenAI(d.advance(1));
  assert.equal(
    (paused[0].item as { content: { text: string }[] }).content[0].text,
    "The caller entered 98 on the keypad.",
  );
});

Deno.test("keys pressed while an outbound call still listens are told to the model without an answer", () => {
  const d = outboundDriver();
  d.startCall();
  const out = d.sentToOpenAI(dtmf(d, "#"));
  assert.deepEqual(out.map((e) => e.type), ["conversation.item.create"]);
});

Deno.test("an outbound agent's keypad setting gathers digits for its call", () => {
  const d = new CoreDriver({ sessionUpdate: SESSION_UPDATE, greeting: undefined });
  d.input({ type: "begin" });
  d.input({ type: "outbound_call", keypad: { collectUntil: "*", timeoutMs: 2000 } });
  d.twilio({
    event: "start",
    sequenceNumber: "1",
    streamSid: STREAM_SID,
    start: {
      accountSid: "AC00000000000000000000000000000001",
      streamSid: STREAM_SID,
      callSid: CALL_SID,
      tracks: ["inbound"],
      customParameters: {},
      mediaFormat: { encoding: "audio/x-mulaw", sampleRate: 8000, channels: 1 },
    },
  });
  d.input({ type: "openai_open" });
  d.input({ type: "answered_by", result: "human" });
  assert.deepEqual(d.sentToOpenAI([...dtmf(d, "7"), ...dtmf(d, "#")]), []);
  const entry = d.sentToOpenAI(dtmf(d, "*"));
  assert.equal(
    (entry[0].item as { content: { text: string }[] }).content[0].text,
    "The caller entered 7# on the keypad.",
  );
});
