/**
 * Drives a {@link CallCore} message by message with a fake clock, speaking
 * the real wire formats: Twilio messages and OpenAI events go in as the JSON
 * text the sockets would carry, and what the core sends comes out parsed.
 *
 * @module
 */
import { CallCore, type CallCoreOptions } from "../../src/core/call_core.ts";
import type { CallCommand, CallInput } from "../../src/core/call_types.ts";
import { encodeClientEvent } from "../../src/openai/client_events.ts";
import { parseServerEvent } from "../../src/openai/server_events.ts";
import { encodeTwilioMessage, parseTwilioMessage } from "../../src/twilio/media_stream_messages.ts";

/** Default session.update used by the driver. */
export const SESSION_UPDATE = {
  type: "session.update",
  session: { type: "realtime", instructions: "Be brief." },
} as const;

/** An input whose `generation` may be left out. */
type GenerationOptional<T> = T extends { generation: number }
  ? Omit<T, "generation"> & { generation?: number }
  : T;

/**
 * A core input; for inputs about an OpenAI socket `generation` may be left
 * out: the driver fills in the session the call currently uses.
 */
export type DriverInput = GenerationOptional<CallInput>;

export const STREAM_SID = "MZ00000000000000000000000000000001";
export const CALL_SID = "CA00000000000000000000000000000001";

/** Fills `ms` of μ-law audio (8 bytes per ms) with `value`, as base64. */
export function audioB64(ms: number, value = 0x55): string {
  const bytes = new Uint8Array(ms * 8).fill(value);
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

/** A test driver around one CallCore. */
export class CoreDriver {
  readonly core: CallCore;
  now = 0;
  /** Every command, in order. */
  readonly commands: CallCommand[] = [];
  /** Active timers by name: due time. */
  readonly timers = new Map<string, number>();

  /** The generation of the session the call uses (or used last, while reconnecting). */
  #current = 1;

  constructor(options: Partial<CallCoreOptions> = {}) {
    this.core = new CallCore({ sessionUpdate: SESSION_UPDATE, ...options });
  }

  #currentGeneration(): number {
    const session = this.core.session;
    if ("generation" in session) this.#current = session.generation;
    return this.#current;
  }

  /** Feeds one input; returns the commands it produced. */
  input(input: DriverInput): CallCommand[] {
    const full = (input.type === "openai_open" || input.type === "openai_event" ||
        input.type === "openai_closed") && input.generation === undefined
      ? { ...input, generation: this.#currentGeneration() } as CallInput
      : input as CallInput;
    const out = this.core.handle(full, this.now);
    this.#currentGeneration();
    for (const c of out) {
      if (c.type === "set_timer") this.timers.set(c.name, this.now + c.delayMs);
      if (c.type === "cancel_timer") this.timers.delete(c.name);
    }
    this.commands.push(...out);
    return out;
  }

  /** Sends a Twilio message given as an object (serialized and parsed like the adapter does). */
  twilio(message: Record<string, unknown>): CallCommand[] {
    const parsed = parseTwilioMessage(JSON.stringify(message));
    if (!parsed.ok) throw new Error(`test sent an invalid Twilio message: ${parsed.error}`);
    return this.input({ type: "twilio_message", message: parsed.value });
  }

  /** Sends an OpenAI server event given as an object. */
  openai(event: Record<string, unknown>): CallCommand[] {
    const parsed = parseServerEvent(JSON.stringify(event));
    if (!parsed.ok) throw new Error(`test sent an invalid OpenAI event: ${parsed.error}`);
    return this.input({ type: "openai_event", event: parsed.event });
  }

  /** Begins the call: socket open, connected, start, OpenAI open. */
  startCall(): CallCommand[] {
    this.input({ type: "begin" });
    this.twilio({ event: "connected", protocol: "Call", version: "1.0.0" });
    this.twilio({
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
    return this.input({ type: "openai_open" });
  }

  /** Advances the clock, firing due timers in order. */
  advance(ms: number): CallCommand[] {
    const target = this.now + ms;
    const out: CallCommand[] = [];
    for (;;) {
      let next: [string, number] | undefined;
      for (const entry of this.timers) {
        if (entry[1] <= target && (next === undefined || entry[1] < next[1])) next = entry;
      }
      if (next === undefined) break;
      this.timers.delete(next[0]);
      this.now = next[1];
      out.push(...this.input({ type: "timer", name: next[0] as never }));
    }
    this.now = target;
    return out;
  }

  /** Caller audio frame. */
  media(payload = audioB64(20, 0xff)): CallCommand[] {
    return this.twilio({
      event: "media",
      sequenceNumber: "2",
      streamSid: STREAM_SID,
      media: { track: "inbound", chunk: "1", timestamp: String(this.now), payload },
    });
  }

  /** Twilio echoes a mark. */
  mark(name: string): CallCommand[] {
    return this.twilio({
      event: "mark",
      sequenceNumber: "3",
      streamSid: STREAM_SID,
      mark: { name },
    });
  }

  responseCreated(responseId: string): CallCommand[] {
    return this.openai({
      type: "response.created",
      event_id: "ev",
      response: { id: responseId, object: "realtime.response", status: "in_progress", output: [] },
    });
  }

  delta(responseId: string, itemId: string, ms: number, value = 0x55): CallCommand[] {
    return this.openai({
      type: "response.output_audio.delta",
      event_id: "ev",
      response_id: responseId,
      item_id: itemId,
      output_index: 0,
      content_index: 0,
      delta: audioB64(ms, value),
    });
  }

  audioDone(responseId: string, itemId: string): CallCommand[] {
    return this.openai({
      type: "response.output_audio.done",
      event_id: "ev",
      response_id: responseId,
      item_id: itemId,
      output_index: 0,
      content_index: 0,
    });
  }

  responseDone(responseId: string, status = "completed"): CallCommand[] {
    return this.openai({
      type: "response.done",
      event_id: "ev",
      response: { id: responseId, object: "realtime.response", status, output: [] },
    });
  }

  /** The model calls tool `name` in response `responseId`. */
  functionCall(responseId: string, callId: string, name: string, args = "{}"): CallCommand[] {
    return this.openai({
      type: "response.function_call_arguments.done",
      event_id: "ev",
      response_id: responseId,
      item_id: `item_${callId}`,
      output_index: 0,
      call_id: callId,
      name,
      arguments: args,
    });
  }

  speechStarted(): CallCommand[] {
    return this.openai({
      type: "input_audio_buffer.speech_started",
      event_id: "ev",
      audio_start_ms: this.now,
      item_id: "item_user",
    });
  }

  /** What OpenAI receives from `commands` (or all commands), parsed from the encoded wire text. */
  sentToOpenAI(commands: CallCommand[] = this.commands): Record<string, unknown>[] {
    return sentToOpenAI(commands);
  }

  /** What Twilio receives from `commands` (or all commands), parsed from the encoded wire text. */
  sentToTwilio(commands: CallCommand[] = this.commands): Record<string, unknown>[] {
    return commands.flatMap((c) =>
      c.type === "to_twilio" ? [JSON.parse(encodeTwilioMessage(c.message))] : []
    );
  }

  /** Names of marks sent to Twilio in `commands`. */
  marks(commands: CallCommand[] = this.commands): string[] {
    return this.sentToTwilio(commands).flatMap((m) =>
      m.event === "mark" ? [(m.mark as { name: string }).name] : []
    );
  }
}

/**
 * What OpenAI receives from `commands` (of session `generation`, or every
 * session), parsed from the text the runner's encoder writes.
 */
export function sentToOpenAI(
  commands: readonly CallCommand[],
  generation?: number,
): Record<string, unknown>[] {
  return commands.flatMap((c) =>
    c.type === "to_openai" && (generation === undefined || c.generation === generation)
      ? [JSON.parse(encodeClientEvent(c.event))]
      : []
  );
}

/**
 * A reference model of Twilio's play-out that echoes marks like Twilio
 * (queue in order, echo when the audio before has played, clear flushes all),
 * used to drive the core with a fake clock.
 */
export class PlayoutSimulator {
  /** Queue of [kind, bytes or mark name, value]. */
  #queue: ({ kind: "audio"; bytes: number; value: number } | { kind: "mark"; name: string })[] = [];
  #playedUntil = 0;
  /** Bytes played per byte value. */
  readonly played = new Map<number, number>();

  /** Accepts what the core sent to Twilio at time `now`. */
  accept(messages: Record<string, unknown>[], now: number): string[] {
    const echoes = this.advanceTo(now);
    for (const m of messages) {
      if (m.event === "media") {
        const raw = atob((m.media as { payload: string }).payload);
        this.#queue.push({ kind: "audio", bytes: raw.length, value: raw.charCodeAt(0) });
      } else if (m.event === "mark") {
        this.#queue.push({ kind: "mark", name: (m.mark as { name: string }).name });
      } else if (m.event === "clear") {
        for (const q of this.#queue) if (q.kind === "mark") echoes.push(q.name);
        this.#queue = [];
      }
    }
    echoes.push(...this.advanceTo(now));
    return echoes;
  }

  /** Plays until `now`; returns marks echoed on the way (in order). */
  advanceTo(now: number): string[] {
    const echoes: string[] = [];
    let t = this.#playedUntil;
    while (this.#queue.length > 0) {
      const head = this.#queue[0];
      if (head.kind === "mark") {
        echoes.push(head.name);
        this.#queue.shift();
        continue;
      }
      const canPlay = Math.floor((now - t) * 8);
      if (canPlay <= 0) break;
      const n = Math.min(canPlay, head.bytes);
      this.played.set(head.value, (this.played.get(head.value) ?? 0) + n);
      head.bytes -= n;
      t += n / 8;
      if (head.bytes === 0) this.#queue.shift();
    }
    this.#playedUntil = this.#queue.length === 0 ? now : t;
    return echoes;
  }

  /** Ms played of audio filled with `value`. */
  playedMs(value: number): number {
    return (this.played.get(value) ?? 0) / 8;
  }
}

/** Runs `commands` through the play-out simulator and feeds the marks it echoes back. */
export function deliver(d: CoreDriver, sim: PlayoutSimulator, commands: CallCommand[]): void {
  const echoes = sim.accept(d.sentToTwilio(commands), d.now);
  for (const name of echoes) deliver(d, sim, d.mark(name));
}

/** Advances time 1 ms at a time, letting the simulator echo marks on time. */
export function tick(d: CoreDriver, sim: PlayoutSimulator, ms: number): void {
  for (let i = 0; i < ms; i++) {
    deliver(d, sim, d.advance(1));
    for (const name of sim.advanceTo(d.now)) deliver(d, sim, d.mark(name));
  }
}

/** One chunk of assistant audio and the pause after it, for {@link bargeInIsExact}. */
export interface AudioChunk {
  ms: number;
  gap: number;
}

/**
 * Plays `chunks` of one assistant item through the core and a simulated
 * Twilio, lets the caller speak at `speakAt` ms, and checks the truncate:
 * there is one, it is a whole number of ms, never beyond the audio sent, and
 * within 20 ms of what the simulated caller really heard.
 */
export function bargeInIsExact(
  chunks: AudioChunk[],
  speakAt: number,
  options: Partial<CallCoreOptions>,
): boolean {
  const d = new CoreDriver(options);
  const sim = new PlayoutSimulator();
  d.startCall();
  d.responseCreated("resp_1");
  let sentMs = 0;
  let elapsed = 0;
  for (const chunk of chunks) {
    if (elapsed >= speakAt) break;
    deliver(d, sim, d.delta("resp_1", "item_a", chunk.ms, 0x33));
    sentMs += chunk.ms;
    const wait = Math.min(chunk.gap, speakAt - elapsed);
    tick(d, sim, wait);
    elapsed += wait;
  }
  if (elapsed < speakAt) tick(d, sim, speakAt - elapsed);
  const heard = sim.playedMs(0x33);
  const sent = d.sentToOpenAI(d.speechStarted()).filter((e) =>
    e.type === "conversation.item.truncate"
  );
  // The item is still streaming, so something is always playing: a truncate must come.
  if (sent.length === 0) return false;
  const end = sent[0].audio_end_ms as number;
  return Number.isInteger(end) && end <= sentMs && Math.abs(end - heard) <= 20;
}
