/**
 * Property-based tests with hostile and random input: the Twilio message
 * parser and the call core.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { CallCore } from "../src/core/call_core.ts";
import type { CallCommand, CallInput, TimerName } from "../src/core/call_types.ts";
import { parseServerEvent } from "../src/openai/server_events.ts";
import { encodeClientEvent } from "../src/openai/client_events.ts";
import {
  encodeTwilioMessage,
  parseTwilioMessage,
  type TwilioSid,
} from "../src/twilio/media_stream_messages.ts";
import { SESSION_UPDATE, STREAM_SID } from "./support/core_driver.ts";
import { validateClientEvent } from "./support/realtime_schema.ts";
import { encodeBase64 } from "../src/audio/base64.ts";
import * as wire from "./support/twilio_stream_messages.ts";

const EVENTS = ["connected", "start", "media", "mark", "dtmf", "stop"];

Deno.test("property: the Twilio parser never throws, whatever the text", () => {
  const check = (text: string) => {
    const result = parseTwilioMessage(text);
    if (result.ok) assert.ok(EVENTS.includes(result.value.event));
    else assert.ok(typeof result.error === "string" && result.error.length > 0);
  };
  fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 200 }), check), { numRuns: 500 });
  fc.assert(fc.property(fc.jsonValue(), (value) => check(JSON.stringify(value) ?? "")), {
    numRuns: 500,
  });
  // Near-misses: a known event with random fields of random types.
  const nearMiss = fc.record({
    event: fc.constantFrom(...EVENTS, "clear", "", "START"),
    streamSid: fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.constant(STREAM_SID)),
    start: fc.oneof(
      fc.anything(),
      fc.record({
        streamSid: fc.anything(),
        callSid: fc.oneof(fc.anything(), fc.constant("CA1")),
        customParameters: fc.anything(),
        mediaFormat: fc.anything(),
      }),
    ),
    media: fc.oneof(fc.anything(), fc.record({ payload: fc.anything(), timestamp: fc.anything() })),
    mark: fc.oneof(fc.anything(), fc.record({ name: fc.anything() })),
    dtmf: fc.oneof(fc.anything(), fc.record({ digit: fc.anything() })),
  }, { requiredKeys: ["event"] });
  fc.assert(fc.property(nearMiss, (value) => check(JSON.stringify(value))), { numRuns: 1000 });
});

const sid = (prefix: string) => fc.stringMatching(/^[0-9a-f]{32}$/).map((hex) => `${prefix}${hex}`);

Deno.test("property: valid Twilio messages round-trip through the parser", () => {
  const message = fc.oneof(
    fc.record({ streamSid: sid("MZ"), callSid: sid("CA"), accountSid: sid("AC") })
      .chain((s) =>
        fc.dictionary(fc.string({ minLength: 1, maxLength: 20 }), fc.string({ maxLength: 50 }))
          .map((params) => ({ kind: "start" as const, ...s, params }))
      ),
    fc.record({
      kind: fc.constant("media" as const),
      streamSid: sid("MZ"),
      bytes: fc.uint8Array({ maxLength: 400 }),
      timestamp: fc.nat(),
    }),
    fc.record({
      kind: fc.constant("mark" as const),
      streamSid: sid("MZ"),
      name: fc.string({ maxLength: 64 }),
    }),
    fc.record({
      kind: fc.constant("dtmf" as const),
      streamSid: sid("MZ"),
      digit: fc.constantFrom(..."0123456789*#"),
    }),
    fc.record({ kind: fc.constant("stop" as const), streamSid: sid("MZ") }),
  );
  fc.assert(
    fc.property(message, fc.nat(), (m, sequenceNumber) => {
      // The messages as Twilio's socket carries them (numbers as strings): the tests' builders.
      switch (m.kind) {
        case "start": {
          const r = parseTwilioMessage(JSON.stringify(wire.start({
            sequenceNumber,
            streamSid: m.streamSid,
            callSid: m.callSid,
            accountSid: m.accountSid,
            customParameters: m.params,
          })));
          assert.deepEqual(r, {
            ok: true,
            value: {
              event: "start",
              streamSid: m.streamSid,
              callSid: m.callSid,
              accountSid: m.accountSid,
              customParameters: { ...m.params },
              encoding: "audio/x-mulaw",
              sampleRate: 8000,
            },
          });
          return;
        }
        case "media": {
          const payload = encodeBase64(m.bytes);
          const r = parseTwilioMessage(JSON.stringify(wire.media({
            sequenceNumber,
            streamSid: m.streamSid,
            chunk: 1,
            timestamp: m.timestamp,
            payload,
          })));
          assert.deepEqual(r, {
            ok: true,
            value: { event: "media", streamSid: m.streamSid, payload, timestamp: m.timestamp },
          });
          return;
        }
        case "mark":
          assert.deepEqual(
            parseTwilioMessage(JSON.stringify(wire.mark({
              sequenceNumber,
              streamSid: m.streamSid,
              name: m.name,
            }))),
            { ok: true, value: { event: "mark", streamSid: m.streamSid, name: m.name } },
          );
          return;
        case "dtmf":
          assert.deepEqual(
            parseTwilioMessage(JSON.stringify(wire.dtmf({
              sequenceNumber,
              streamSid: m.streamSid,
              digit: m.digit,
            }))),
            { ok: true, value: { event: "dtmf", streamSid: m.streamSid, digit: m.digit } },
          );
          return;
        case "stop":
          assert.deepEqual(
            parseTwilioMessage(JSON.stringify(wire.stop({
              sequenceNumber,
              streamSid: m.streamSid,
              callSid: "CA1",
              accountSid: "AC1",
            }))),
            { ok: true, value: { event: "stop", streamSid: m.streamSid } },
          );
      }
    }),
    { numRuns: 500 },
  );
});

// ---- the call core under random input sequences --------------------------------------------

const RESPONSES = ["resp_1", "resp_2", "resp_3"];
/** One 20 ms frame of the waiting sound. */
const WAITING_FRAME = encodeBase64(new Uint8Array(160).fill(0x7e));
const ITEMS = ["item_1", "item_2", "item_3"];
const CALLS = ["call_1", "call_2"];
const TIMERS: TimerName[] = [
  "openai_connect",
  "end_call_watchdog",
  "farewell_playback",
  "end_call_grace",
  "start_timeout",
  "max_duration",
  "caller_idle",
  "session_renew",
  "session_switch_wait",
  "reconnect_retry",
  "reconnect_deadline",
  "waiting_sound",
  "keypad",
  "answer_wait",
  "tool_filler",
];

/** One step of a random call. */
type Action =
  | { kind: "begin" | "connected" | "openai_open" | "stop" | "speech" | "dtmf" }
  | { kind: "start"; own: boolean }
  | { kind: "media"; own: boolean; bytes: number }
  | { kind: "echo_mark"; index: number }
  | { kind: "bogus_mark"; name: string }
  | { kind: "twilio_closed" | "openai_closed"; code: number }
  | { kind: "created" | "done"; response: number; status: string }
  | { kind: "delta"; response: number; item: number; bytes: number }
  | { kind: "audio_done"; response: number; item: number }
  | { kind: "function"; response: number; call: number; name: string; args: string }
  | { kind: "tool_result"; call: number }
  | { kind: "error"; code: string }
  | { kind: "raw_openai"; text: string }
  | { kind: "timer"; name: TimerName }
  | { kind: "refuse" }
  | { kind: "answered_by"; result: string };

/** Actions that usually end the call: rare, so that most random calls get somewhere. */
const ending: fc.Arbitrary<Action> = fc.oneof(
  fc.constantFrom<Action>({ kind: "stop" }, { kind: "refuse" }),
  fc.record({
    kind: fc.constantFrom("twilio_closed" as const, "openai_closed" as const),
    code: fc.constantFrom(1000, 1005, 1006, 1011),
  }),
);

const ordinary: fc.Arbitrary<Action> = fc.oneof(
  fc.constantFrom<Action>(
    { kind: "begin" },
    { kind: "connected" },
    { kind: "openai_open" },
    { kind: "speech" },
    { kind: "dtmf" },
  ),
  fc.record({ kind: fc.constant("start" as const), own: fc.boolean() }),
  fc.record({
    kind: fc.constant("media" as const),
    own: fc.boolean(),
    bytes: fc.integer({ min: 0, max: 320 }),
  }),
  fc.record({ kind: fc.constant("echo_mark" as const), index: fc.nat(40) }),
  fc.record({ kind: fc.constant("bogus_mark" as const), name: fc.string({ maxLength: 12 }) }),
  fc.record({
    kind: fc.constantFrom("created" as const, "done" as const),
    response: fc.nat(2),
    status: fc.constantFrom("completed", "cancelled", "failed", "incomplete"),
  }),
  fc.record({
    kind: fc.constant("function" as const),
    response: fc.nat(2),
    call: fc.nat(1),
    name: fc.constantFrom("end_call", "lookup", "launch_rockets"),
    args: fc.oneof(fc.constant("{}"), fc.constant('{"reason":"bye"}'), fc.string()),
  }),
  fc.record({ kind: fc.constant("tool_result" as const), call: fc.nat(1) }),
  fc.record({
    kind: fc.constant("answered_by" as const),
    result: fc.constantFrom("human", "machine_end_beep", "machine_start", "fax", "unknown", "?"),
  }),
  fc.record({
    kind: fc.constant("error" as const),
    code: fc.constantFrom("conversation_already_has_active_response", "invalid_value", ""),
  }),
  fc.record({
    kind: fc.constant("raw_openai" as const),
    text: fc.oneof(
      fc.string(),
      fc.jsonValue().map((v) => JSON.stringify(v) ?? ""),
      fc.constantFrom(
        '{"type":"response.output_audio.delta"}',
        '{"type":"response.done","response":{}}',
        '{"type":"input_audio_buffer.speech_started"}',
        '{"type":"conversation.item.truncated","item_id":5}',
      ),
    ),
  }),
  fc.record({ kind: fc.constant("timer" as const), name: fc.constantFrom(...TIMERS) }),
);

/** Assistant audio, the most common event of a real call. */
const audio: fc.Arbitrary<Action> = fc.oneof(
  fc.record({
    kind: fc.constant("delta" as const),
    response: fc.nat(2),
    item: fc.nat(2),
    bytes: fc.integer({ min: 1, max: 1600 }),
  }),
  fc.record({ kind: fc.constant("audio_done" as const), response: fc.nat(2), item: fc.nat(2) }),
);

/**
 * Session switches: sockets opening and dropping, renewal and reconnect
 * timers (with the step's `socket` choosing which generation an input is about).
 */
const sessions: fc.Arbitrary<Action> = fc.oneof(
  fc.constantFrom<Action>(
    { kind: "openai_open" },
    { kind: "openai_closed", code: 1006 },
    { kind: "timer", name: "session_renew" },
    { kind: "timer", name: "session_switch_wait" },
    { kind: "timer", name: "reconnect_retry" },
    { kind: "timer", name: "waiting_sound" },
  ),
);

const action: fc.Arbitrary<Action> = fc.oneof(
  { arbitrary: ending, weight: 1 },
  { arbitrary: sessions, weight: 3 },
  { arbitrary: ordinary, weight: 12 },
  { arbitrary: audio, weight: 8 },
);

/** Most random calls begin like a real one (then anything may happen). */
const PRELUDE: Action[] = [
  { kind: "begin" },
  { kind: "connected" },
  { kind: "start", own: true },
  { kind: "openai_open" },
];

/**
 * Steps of a random call: an action, how long to wait before it, and which
 * OpenAI socket an OpenAI input is about: the session the call uses (most
 * often), the newest socket the core asked for (a renewal or reconnect
 * attempt), or an older one.
 */
const steps = fc.array(
  fc.record({
    waitMs: fc.oneof(
      fc.constant(0),
      fc.integer({ min: 0, max: 300 }),
      fc.integer({ max: 6000, min: 0 }),
    ),
    action,
    socket: fc.constantFrom("current", "current", "current", "newest", "older"),
  }),
  { maxLength: 80 },
);

/** Checks every command of a random call; returns a problem or undefined. */
class CommandChecker {
  sentBytes = new Map<string, number>();
  payloadItem = new Map<string, string>();
  marksSent: string[] = [];
  finishes = 0;
  problems: string[] = [];

  /** Generations the core asked to open, and those open now (opened, not yet closed). */
  requested: number[] = [];
  open = new Set<number>();
  closed = new Set<number>();

  /** Totals over every run, to show the random calls really reach the interesting paths. */
  static seen = {
    media: 0,
    truncates: 0,
    clears: 0,
    finishes: 0,
    farewells: 0,
    switches: 0,
    waiting: 0,
  };

  check(core: CallCore, commands: CallCommand[]): void {
    for (const c of commands) {
      if (this.finishes > 0) this.problems.push(`command after finish: ${c.type}`);
      switch (c.type) {
        case "to_twilio": {
          const m = JSON.parse(encodeTwilioMessage(c.message));
          if (!["media", "mark", "clear"].includes(m.event)) {
            this.problems.push(`bad Twilio event ${m.event}`);
          }
          if (m.streamSid !== core.streamSid || m.streamSid === undefined) {
            this.problems.push(`Twilio message for stream ${m.streamSid}`);
          }
          if (m.event === "clear") CommandChecker.seen.clears++;
          if (m.event === "media") {
            CommandChecker.seen.media++;
            const item = this.payloadItem.get(m.media.payload);
            if (m.media.payload === WAITING_FRAME) {
              CommandChecker.seen.waiting++;
              if (core.session.name === "open" || core.session.name === "renewing") {
                this.problems.push("waiting sound while a session is open");
              }
            } else if (item === undefined) this.problems.push("media that OpenAI never sent");
            else {
              const bytes = atob(m.media.payload).length;
              this.sentBytes.set(item, (this.sentBytes.get(item) ?? 0) + bytes);
            }
          }
          if (m.event === "mark") {
            if (typeof m.mark?.name !== "string" || m.mark.name === "") {
              this.problems.push("mark without name");
            }
            this.marksSent.push(m.mark.name);
          }
          break;
        }
        case "to_openai": {
          if (!this.open.has(c.generation)) {
            this.problems.push(
              `${c.event.type} sent to session ${c.generation}, which is not open`,
            );
          }
          const text = encodeClientEvent(c.event);
          const event = JSON.parse(text);
          const errors = validateClientEvent(event);
          if (errors.length > 0) this.problems.push(`${event.type}: ${errors.join("; ")}`);
          if (event.type === "response.create" && /goodbye/.test(text)) {
            CommandChecker.seen.farewells++;
          }
          if (event.type === "conversation.item.truncate") {
            CommandChecker.seen.truncates++;
            const sentMs = Math.floor((this.sentBytes.get(event.item_id) ?? 0) / 8);
            if (event.audio_end_ms > sentMs) {
              this.problems.push(`truncate at ${event.audio_end_ms} ms, only ${sentMs} ms sent`);
            }
          }
          break;
        }
        case "set_timer":
          if (!Number.isFinite(c.delayMs) || c.delayMs < 0 || !TIMERS.includes(c.name)) {
            this.problems.push(`bad timer ${c.name} ${c.delayMs}`);
          }
          break;
        case "finish":
          this.finishes++;
          CommandChecker.seen.finishes++;
          break;
        case "open_openai":
        case "close_openai":
          if (!Number.isInteger(c.generation) || c.generation < 1) {
            this.problems.push(`bad session generation ${c.generation}`);
          }
          if (c.type === "open_openai") {
            if (this.requested.includes(c.generation)) {
              this.problems.push(`session ${c.generation} opened twice`);
            }
            this.requested.push(c.generation);
          } else {
            this.open.delete(c.generation);
            this.closed.add(c.generation);
          }
          break;
        case "log":
          if (c.message === "Switched to a new OpenAI Realtime session.") {
            CommandChecker.seen.switches++;
          }
          break;
        case "cancel_timer":
        case "run_tool":
        case "observe":
          break;
        default:
          this.problems.push(`unknown command ${JSON.stringify(c)}`);
      }
    }
  }
}

Deno.test("property: random call inputs never throw, and every command is well-formed", () => {
  fc.assert(
    fc.property(
      steps,
      fc.boolean(),
      fc.constantFrom(0, 5000),
      fc.constantFrom("none", "call", "reconnect"),
      fc.constantFrom(0, 3000),
      fc.constantFrom(0, 5000),
      fc.constantFrom(undefined, "", "Please call us back."),
      (randomSteps, greet, limitMs, prelude, renewMs, reconnectMs, voicemail) => {
        const start = prelude === "none" ? [] : prelude === "call" ? PRELUDE : [
          ...PRELUDE,
          { kind: "openai_closed", code: 1006 } as const,
          { kind: "openai_open" } as const,
        ];
        const script = [
          ...start.map((a) => ({ waitMs: 0, action: a, socket: "current" as const })),
          ...randomSteps,
        ];
        const core = new CallCore({
          sessionUpdate: SESSION_UPDATE,
          greeting: greet ? "Hello" : undefined,
          customTools: ["lookup"],
          maxCallMs: limitMs,
          callerIdleMs: limitMs,
          startTimeoutMs: 4000,
          renewAfterMs: renewMs,
          switchWaitMs: 2000,
          // A call that starts with a reconnect needs a reconnect window.
          reconnectWindowMs: prelude === "reconnect" ? 5000 : reconnectMs,
          waitingSound: reconnectMs > 0 || prelude === "reconnect" ? [WAITING_FRAME] : [],
          // Some calls are outbound: they wait for answering-machine detection.
          ...(voicemail === undefined ? {} : { awaitAnswer: { voicemail } }),
        });
        const checker = new CommandChecker();
        let now = 0;
        let seq = 0;
        let current = 1;
        const feed = (input: CallInput) => checker.check(core, core.handle(input, now));
        for (const { waitMs, action: a, socket } of script) {
          now += waitMs;
          const responseId = RESPONSES[(a as { response?: number }).response ?? 0];
          // The socket this step is about: the runner only reports on sockets the core opened.
          const session = core.session;
          if ("generation" in session) current = session.generation;
          const newest = checker.requested.at(-1) ?? 1;
          let generation = socket === "current"
            ? current
            : socket === "newest"
            ? newest
            : Math.max(1, current - 1);
          switch (a.kind) {
            case "begin":
              feed({ type: a.kind });
              break;
            case "openai_open":
              // A socket opens once, and never after it closed. Mostly the socket the core
              // asked for last opens (as a real one would), sometimes another.
              if (socket !== "older") generation = newest;
              if (!checker.requested.includes(generation) || checker.closed.has(generation)) break;
              if (checker.open.has(generation)) break;
              checker.open.add(generation);
              feed({ type: "openai_open", generation });
              break;
            case "refuse":
              feed({ type: "refuse", code: 1008, reason: "test" });
              break;
            case "connected":
              feed({ type: "twilio_message", message: { event: "connected" } });
              break;
            case "start":
              feed({
                type: "twilio_message",
                message: {
                  event: "start",
                  streamSid: a.own ? STREAM_SID : "MZother" as TwilioSid,
                  callSid: "CA1" as TwilioSid,
                  accountSid: "AC1",
                  customParameters: {},
                  encoding: "audio/x-mulaw",
                  sampleRate: 8000,
                },
              });
              break;
            case "media":
              feed({
                type: "twilio_message",
                message: {
                  event: "media",
                  streamSid: a.own ? STREAM_SID : "MZother",
                  payload: encodeBase64(new Uint8Array(a.bytes)),
                  timestamp: now,
                },
              });
              break;
            case "stop":
              feed({ type: "twilio_message", message: { event: "stop", streamSid: STREAM_SID } });
              break;
            case "dtmf":
              feed({
                type: "twilio_message",
                message: { event: "dtmf", streamSid: STREAM_SID, digit: "5" },
              });
              break;
            case "echo_mark": {
              const name = checker.marksSent[a.index % Math.max(1, checker.marksSent.length)];
              feed({
                type: "twilio_message",
                message: { event: "mark", streamSid: STREAM_SID, name: name ?? "none" },
              });
              break;
            }
            case "bogus_mark":
              feed({
                type: "twilio_message",
                message: { event: "mark", streamSid: STREAM_SID, name: a.name },
              });
              break;
            case "twilio_closed":
              feed({ type: "twilio_closed", code: a.code });
              break;
            case "openai_closed": {
              if (!checker.requested.includes(generation) || checker.closed.has(generation)) break;
              const opened = checker.open.delete(generation);
              checker.closed.add(generation);
              feed({ type: "openai_closed", code: a.code, reason: "x", opened, generation });
              break;
            }
            case "speech":
              feed({
                type: "openai_event",
                generation,
                event: {
                  type: "input_audio_buffer.speech_started",
                  audioStartMs: now,
                  itemId: "u",
                },
              });
              break;
            case "created":
              feed({
                type: "openai_event",
                generation,
                event: { type: "response.created", responseId },
              });
              break;
            case "done":
              feed({
                type: "openai_event",
                generation,
                event: {
                  type: "response.done",
                  responseId,
                  status: a.status,
                  errorCode: undefined,
                  usage: undefined,
                },
              });
              break;
            case "delta": {
              // Unique payloads, so every byte sent to Twilio can be traced to its item.
              const bytes = new Uint8Array(a.bytes + 2).fill(0x55);
              bytes[0] = (seq >> 8) & 0xff;
              bytes[1] = seq++ & 0xff;
              const delta = encodeBase64(bytes);
              checker.payloadItem.set(delta, ITEMS[a.item]);
              feed({
                type: "openai_event",
                generation,
                event: {
                  type: "response.output_audio.delta",
                  responseId,
                  itemId: ITEMS[a.item],
                  delta,
                },
              });
              break;
            }
            case "audio_done":
              feed({
                type: "openai_event",
                generation,
                event: { type: "response.output_audio.done", responseId, itemId: ITEMS[a.item] },
              });
              break;
            case "function":
              feed({
                type: "openai_event",
                generation,
                event: {
                  type: "response.function_call_arguments.done",
                  responseId,
                  callId: CALLS[a.call],
                  name: a.name,
                  arguments: a.args,
                },
              });
              break;
            case "tool_result":
              feed({ type: "tool_result", callId: CALLS[a.call], output: { ok: true } });
              break;
            case "answered_by":
              feed({ type: "answered_by", answeredBy: a.result });
              break;
            case "error":
              feed({
                type: "openai_event",
                generation,
                event: {
                  type: "error",
                  code: a.code || undefined,
                  errorType: "invalid_request_error",
                  message: "x",
                  param: undefined,
                  eventId: undefined,
                },
              });
              break;
            case "raw_openai": {
              const parsed = parseServerEvent(a.text);
              if (parsed.ok) feed({ type: "openai_event", generation, event: parsed.event });
              break;
            }
            case "timer":
              feed({ type: "timer", name: a.name });
              break;
          }
        }
        assert.deepEqual(checker.problems, []);
        assert.ok(checker.finishes <= 1);
      },
    ),
    { numRuns: 1000 },
  );
  const seen = CommandChecker.seen;
  assert.ok(
    seen.media > 0 && seen.truncates > 0 && seen.clears > 0 && seen.finishes > 0 &&
      seen.farewells > 0 && seen.switches > 0 && seen.waiting > 0,
    `the random calls missed a path: ${JSON.stringify(seen)}`,
  );
});
