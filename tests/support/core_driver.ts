/**
 * Drives a {@link CallCore} message by message with a fake clock, speaking
 * the real wire formats. Every input has a builder: Twilio messages
 * (`media`, `mark`, `start`, …) and OpenAI server events (`delta`,
 * `speechStarted`, `committed`, `openaiError`, …) are built as the JSON the
 * sockets carry (`twilio_stream_messages.ts`, `realtime_server_events.ts`)
 * and parsed with the bridge's own parsers; socket and runner events
 * (`begin`, `openaiOpen`, `openaiClosed`, `toolResult`, …) go in as the core
 * inputs the runner would make. What the core sends comes out parsed from the
 * encoders' text (`sentToOpenAI`, `sentToTwilio`).
 *
 * OpenAI events come from the session the call uses now unless a
 * `generation` is given (a late event of an old session, or the new session
 * of a renewal).
 *
 * @example
 * ```ts
 * import { CoreDriver } from "./core_driver.ts";
 *
 * const d = new CoreDriver({ greeting: undefined });
 * d.startCall();
 * d.responseCreated("resp_1");
 * const sent = d.sentToTwilio(d.delta("resp_1", "item_a", 20));
 * if (sent[0]?.event !== "media") throw new Error("the caller hears the assistant");
 * ```
 *
 * @module
 */
import { CallCore } from "../../src/core/call_core.ts";
import { type CallCoreOptions } from "../../src/core/call_core_options.ts";
import type { CallCommand, CallInput } from "../../src/core/call_types.ts";
import { encodeClientEvent } from "../../src/openai/client_events.ts";
import { parseServerEvent } from "../../src/openai/server_events.ts";
import { TwilioPlayout } from "../../src/fake_peers/twilio_playout.ts";
import {
  encodeTwilioMessage,
  parseTwilioMessage,
  type TwilioSid,
} from "../../src/twilio/media_stream_messages.ts";
import { type Base64, encodeBase64 } from "../../src/audio/base64.ts";
import * as server from "./realtime_server_events.ts";
import * as twilio from "./twilio_stream_messages.ts";

// Moved to playout_driving.ts; re-exported for branches that import them from here.

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

/** Which OpenAI session an event comes from; default: the one the call uses now. */
export interface FromSession {
  generation?: number;
}

export const STREAM_SID = "MZ00000000000000000000000000000001" as TwilioSid;
export const CALL_SID = "CA00000000000000000000000000000001";
export const ACCOUNT_SID = "AC00000000000000000000000000000001";

/** Fills `ms` of μ-law audio (8 bytes per ms) with `value`, as base64. */
export function audioB64(ms: number, value = 0x55): Base64 {
  return encodeBase64(new Uint8Array(ms * 8).fill(value));
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
  #eventIds = 0;
  #sequence = 0;
  #chunks = 0;

  constructor(options: Partial<CallCoreOptions> = {}) {
    this.core = new CallCore({ sessionUpdate: SESSION_UPDATE, ...options });
  }

  #currentGeneration(): number {
    const session = this.core.session;
    if ("generation" in session) this.#current = session.generation;
    return this.#current;
  }

  #eventId(): string {
    return `event_${++this.#eventIds}`;
  }

  #sequenceNumber(): number {
    return ++this.#sequence;
  }

  /**
   * Feeds one core input as it is; returns the commands it produced. The
   * builders below are the way to write a test; this is what they call.
   */
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

  /**
   * Sends a Twilio message given as its wire JSON (serialized and parsed like
   * the adapter does). The Twilio builders below call this.
   */
  twilio(message: Record<string, unknown>): CallCommand[] {
    const parsed = parseTwilioMessage(JSON.stringify(message));
    if (!parsed.ok) throw new Error(`test sent an invalid Twilio message: ${parsed.error}`);
    return this.input({ type: "twilio_message", message: parsed.value });
  }

  /**
   * Sends an OpenAI server event given as its wire JSON (serialized and
   * parsed like the adapter does). The OpenAI builders below call this.
   */
  openai(event: Record<string, unknown>, from: FromSession = {}): CallCommand[] {
    const parsed = parseServerEvent(JSON.stringify(event));
    if (!parsed.ok) throw new Error(`test sent an invalid OpenAI event: ${parsed.error}`);
    return this.input({ type: "openai_event", event: parsed.event, generation: from.generation });
  }

  // --- The call, the sockets and the runner -------------------------------

  /** The Twilio media socket opened: the call begins. */
  begin(): CallCommand[] {
    return this.input({ type: "begin" });
  }

  /** The OpenAI socket of `generation` (default: the current one) opened. */
  openaiOpen(generation?: number): CallCommand[] {
    return this.input({ type: "openai_open", generation });
  }

  /** The OpenAI socket of `generation` (default: the current one) closed or failed to open. */
  openaiClosed(
    closed: { code: number; reason?: string; opened: boolean; failure?: "auth" } & FromSession,
  ): CallCommand[] {
    return this.input({
      type: "openai_closed",
      code: closed.code,
      reason: closed.reason ?? "",
      opened: closed.opened,
      generation: closed.generation,
      ...(closed.failure === undefined ? {} : { failure: closed.failure }),
    });
  }

  /** The Twilio socket closed. */
  twilioClosed(code: number): CallCommand[] {
    return this.input({ type: "twilio_closed", code });
  }

  /** The runner finished custom tool call `callId` with `output`. */
  toolResult(callId: string, output: unknown): CallCommand[] {
    return this.input({ type: "tool_result", callId, output });
  }

  /** The server is shutting down (with `immediate`, hang up now). */
  drain(options: { immediate?: boolean } = {}): CallCommand[] {
    return this.input(
      options.immediate === undefined ? { type: "drain" } : { type: "drain", ...options },
    );
  }

  /** The adapter refuses the stream with close `code`. */
  refuse(code: number, reason: string): CallCommand[] {
    return this.input({ type: "refuse", code, reason });
  }

  /** A peer stopped reading: `bufferedBytes` are waiting for its socket. */
  peerStalled(peer: "twilio" | "openai", bufferedBytes: number): CallCommand[] {
    return this.input({ type: "peer_stalled", peer, bufferedBytes });
  }

  /** Twilio's answering-machine detection result for an outbound call (`AnsweredBy`). */
  answeredBy(answeredBy: string): CallCommand[] {
    return this.input({ type: "answered_by", answeredBy });
  }

  /** Begins the call: socket open, connected, start, OpenAI open. */
  startCall(): CallCommand[] {
    this.begin();
    this.connected();
    this.start();
    return this.openaiOpen();
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

  // --- Twilio → bridge ------------------------------------------------------

  /** Twilio's `connected`. */
  connected(): CallCommand[] {
    return this.twilio(twilio.connected());
  }

  /** Twilio's `start` for {@link STREAM_SID} (call {@link CALL_SID} unless given). */
  start(
    options: { callSid?: string; accountSid?: string; customParameters?: Record<string, string> } =
      {},
  ): CallCommand[] {
    return this.twilio(twilio.start({
      sequenceNumber: this.#sequenceNumber(),
      streamSid: STREAM_SID,
      callSid: options.callSid ?? CALL_SID,
      accountSid: options.accountSid ?? ACCOUNT_SID,
      customParameters: options.customParameters ?? {},
    }));
  }

  /** Caller audio frame (of {@link STREAM_SID} unless another `streamSid` is given). */
  media(payload: string = audioB64(20, 0xff), options: { streamSid?: string } = {}): CallCommand[] {
    return this.twilio(twilio.media({
      sequenceNumber: this.#sequenceNumber(),
      streamSid: options.streamSid ?? STREAM_SID,
      chunk: ++this.#chunks,
      timestamp: this.now,
      payload,
    }));
  }

  /** Twilio echoes a mark. */
  mark(name: string): CallCommand[] {
    return this.twilio(
      twilio.mark({ sequenceNumber: this.#sequenceNumber(), streamSid: STREAM_SID, name }),
    );
  }

  /** The caller presses a key. */
  dtmf(digit: string): CallCommand[] {
    return this.twilio(
      twilio.dtmf({ sequenceNumber: this.#sequenceNumber(), streamSid: STREAM_SID, digit }),
    );
  }

  /** Twilio's `stop`: the stream ends. */
  stop(options: { callSid?: string } = {}): CallCommand[] {
    return this.twilio(twilio.stop({
      sequenceNumber: this.#sequenceNumber(),
      streamSid: STREAM_SID,
      callSid: options.callSid ?? CALL_SID,
      accountSid: ACCOUNT_SID,
    }));
  }

  // --- OpenAI → bridge ------------------------------------------------------

  /** `response.created`. */
  responseCreated(responseId: string, from: FromSession = {}): CallCommand[] {
    return this.openai(server.responseCreated({ eventId: this.#eventId(), responseId }), from);
  }

  /** `response.output_audio.delta` with `ms` of audio filled with `value`. */
  delta(
    responseId: string,
    itemId: string,
    ms: number,
    value = 0x55,
    from: FromSession = {},
  ): CallCommand[] {
    return this.openai(
      server.audioDelta({
        eventId: this.#eventId(),
        responseId,
        itemId,
        delta: audioB64(ms, value),
      }),
      from,
    );
  }

  /** `response.output_audio.done`. */
  audioDone(responseId: string, itemId: string, from: FromSession = {}): CallCommand[] {
    return this.openai(server.audioDone({ eventId: this.#eventId(), responseId, itemId }), from);
  }

  /** `response.output_audio_transcript.done`: what item `itemId` said. */
  outputTranscriptDone(
    responseId: string,
    itemId: string,
    transcript: string,
    from: FromSession = {},
  ): CallCommand[] {
    return this.openai(
      server.outputTranscriptDone({ eventId: this.#eventId(), responseId, itemId, transcript }),
      from,
    );
  }

  /** `response.done` with `status` (and `usage`, when given). */
  responseDone(
    responseId: string,
    status = "completed",
    options: { usage?: server.WireUsage } & FromSession = {},
  ): CallCommand[] {
    return this.openai(
      server.responseDone({ eventId: this.#eventId(), responseId, status, usage: options.usage }),
      options,
    );
  }

  /** The model calls tool `name` in response `responseId`. */
  functionCall(
    responseId: string,
    callId: string,
    name: string,
    args = "{}",
    from: FromSession = {},
  ): CallCommand[] {
    return this.openai(
      server.functionCallDone({
        eventId: this.#eventId(),
        responseId,
        itemId: `item_${callId}`,
        callId,
        name,
        arguments: args,
      }),
      from,
    );
  }

  /** `input_audio_buffer.speech_started` (at the driver's clock, item `item_user`, unless given). */
  speechStarted(
    options: { audioStartMs?: number; itemId?: string } & FromSession = {},
  ): CallCommand[] {
    return this.openai(
      server.speechStarted({
        eventId: this.#eventId(),
        audioStartMs: options.audioStartMs ?? this.now,
        itemId: options.itemId ?? "item_user",
      }),
      options,
    );
  }

  /** `input_audio_buffer.speech_stopped` (at the driver's clock, item `item_user`, unless given). */
  speechStopped(
    options: { audioEndMs?: number; itemId?: string } & FromSession = {},
  ): CallCommand[] {
    return this.openai(
      server.speechStopped({
        eventId: this.#eventId(),
        audioEndMs: options.audioEndMs ?? this.now,
        itemId: options.itemId ?? "item_user",
      }),
      options,
    );
  }

  /** `input_audio_buffer.committed`: the caller's turn becomes user item `itemId`. */
  committed(itemId: string, from: FromSession = {}): CallCommand[] {
    return this.openai(server.committed({ eventId: this.#eventId(), itemId }), from);
  }

  /** `conversation.item.input_audio_transcription.completed`: the words of user item `itemId`. */
  transcriptionCompleted(
    itemId: string,
    transcript: string,
    from: FromSession = {},
  ): CallCommand[] {
    return this.openai(
      server.transcriptionCompleted({ eventId: this.#eventId(), itemId, transcript }),
      from,
    );
  }

  /** `conversation.item.truncated`: the server confirms a truncate of `itemId`. */
  truncated(itemId: string, audioEndMs: number, from: FromSession = {}): CallCommand[] {
    return this.openai(server.truncated({ eventId: this.#eventId(), itemId, audioEndMs }), from);
  }

  /** An OpenAI `error` event. */
  openaiError(error: server.WireError, from: FromSession = {}): CallCommand[] {
    return this.openai(server.errorEvent({ eventId: this.#eventId(), error }), from);
  }

  // --- What the core sent ---------------------------------------------------
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
  /** The shared model of Twilio's play-out (`src/fake_peers/twilio_playout.ts`). */
  readonly #playout = new TwilioPlayout();
  readonly #values = new Set<number>();
  #now = 0;

  /** Bytes played per byte value (as of the last time seen). */
  get played(): Map<number, number> {
    return new Map([...this.#values].map((v) => [v, this.#playout.playedBytes(this.#now, v)]));
  }

  /** Accepts what the core sent to Twilio at time `now`. */
  accept(messages: Record<string, unknown>[], now: number): string[] {
    const echoes = this.advanceTo(now);
    for (const m of messages) {
      if (m.event === "media") {
        const raw = atob((m.media as { payload: string }).payload);
        const bytes = Uint8Array.from(raw, (c) => c.charCodeAt(0));
        if (bytes.length > 0) this.#values.add(bytes[0]);
        this.#playout.media(bytes, now);
      } else if (m.event === "mark") {
        this.#playout.mark((m.mark as { name: string }).name, now);
      } else if (m.event === "clear") {
        echoes.push(...this.#playout.clear(now).map((e) => e.name));
      }
    }
    echoes.push(...this.advanceTo(now));
    return echoes;
  }

  /** Plays until `now`; returns marks echoed on the way (in order). */
  advanceTo(now: number): string[] {
    this.#now = Math.max(this.#now, now);
    return this.#playout.due(now).map((e) => e.name);
  }

  /** Ms played of audio filled with `value`. */
  playedMs(value: number): number {
    return this.#playout.playedMs(this.#now, value);
  }
}
