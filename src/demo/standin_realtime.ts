/**
 * A local stand-in for the OpenAI Realtime API (GA interface), for the
 * offline demo (`deno task demo`) and end-to-end tests. It needs no key and
 * no network, and has no intelligence: it
 *
 * - detects the caller's speech and silence itself (energy-based VAD on the
 *   appended μ-law audio) and sends `input_audio_buffer.speech_started` /
 *   `speech_stopped` / `committed`, also while its own answer is playing
 *   (so the bridge's barge-in runs for real);
 * - answers each caller turn with audio: a short beep, then the caller's own
 *   words played back; answers `response.create` (greeting, farewell) with
 *   short tone patterns;
 * - honours `conversation.item.truncate` (and rejects a truncate past the
 *   audio it sent, like the live API);
 * - ends the call through the `end_call` tool when the caller has said
 *   nothing for a while (counted on the caller's audio clock).
 *
 * Everything it sends is a valid GA server event (the tests check that
 * against the published schema).
 *
 * @example
 * ```ts ignore
 * import { StandinRealtime } from "./standin_realtime.ts";
 * const standin = StandinRealtime.start({ silenceTimeoutMs: 20_000 });
 * // point OPENAI_REALTIME_URL at standin.url
 * await standin.close();
 * ```
 *
 * @module
 */
import { getLogger, type Logger } from "@logtape/logtape";
import { gaSessionDefaults } from "../openai/session_defaults.ts";
import { decodeBase64, encodeBase64 } from "./base64.ts";
import { encodeMulaw, mulawRms } from "../softphone/mulaw.js";

/** A server event as sent (plain JSON). */
export type StandinEvent = { type: string; event_id: string; [key: string]: unknown };

/** Options of {@link StandinRealtime.start}. */
export interface StandinRealtimeOptions {
  /** Port; default 0 (any free port). */
  port?: number;
  /** Address; default 127.0.0.1. */
  hostname?: string;
  /** Frame RMS (0 to 1) that counts as speech. Default 0.02. */
  speechLevel?: number;
  /** Ms of loud frames before speech counts as started. Default 60. */
  speechStartMs?: number;
  /** Ms of silence that end a turn; default: the session's `silence_duration_ms`, else 500. */
  turnSilenceMs?: number;
  /** Ms of audio kept before the speech started, echoed too. Default 300. */
  prefixMs?: number;
  /** Longest echo in ms. Default 8000. */
  maxEchoMs?: number;
  /** Ms of caller silence after which it calls `end_call`. Default 15000. */
  silenceTimeoutMs?: number;
  /** Called with every event sent (tests validate them). */
  onEvent?: (event: StandinEvent) => void;
  /** Logger; default LogTape category `["bridge", "standin"]`. */
  logger?: Logger;
}

/** Counters of a {@link StandinRealtime}. */
export interface StandinStats {
  sessions: number;
  turns: number;
  speechStarted: number;
  responses: number;
  truncates: number;
  rejectedTruncates: number;
  endCalls: number;
  /** Ms of caller audio heard in turns (speech only). */
  heardSpeechMs: number;
}

const FRAME_BYTES = 160; // 20 ms of 8 kHz μ-law
const MS_PER_BYTE = 1 / 8;

let seq = 0;
function id(prefix: string): string {
  seq++;
  return `${prefix}_${crypto.randomUUID().replaceAll("-", "").slice(0, 14)}${
    seq.toString(36).padStart(6, "0")
  }`;
}

/** μ-law tones: each note is [frequency Hz (0 = silence), ms]. */
export function tonePattern(notes: ReadonlyArray<readonly [number, number]>, level = 0.25) {
  const total = notes.reduce((sum, [, ms]) => sum + ms * 8, 0);
  const samples = new Int16Array(total);
  let offset = 0;
  for (const [frequency, ms] of notes) {
    const n = ms * 8;
    const fade = Math.min(80, n / 4); // 10 ms fades: no clicks
    for (let i = 0; i < n; i++) {
      const envelope = Math.min(1, i / fade, (n - 1 - i) / fade);
      samples[offset + i] = frequency === 0
        ? 0
        : Math.round(32767 * level * envelope * Math.sin((2 * Math.PI * frequency * i) / 8000));
    }
    offset += n;
  }
  return encodeMulaw(samples);
}

const GREETING_TONES = tonePattern([[523, 160], [0, 40], [659, 160], [0, 40], [784, 260]]);
const FAREWELL_TONES = tonePattern([[784, 160], [0, 40], [659, 160], [0, 40], [523, 320]]);
const ECHO_BEEP = tonePattern([[880, 120], [0, 80]], 0.15);

/**
 * The stand-in server. Start with {@link StandinRealtime.start}; always
 * `await close()`.
 */
export class StandinRealtime {
  /** The WebSocket URL to use as `OPENAI_REALTIME_URL`. */
  readonly url: string;
  /** Counters over all sessions. */
  readonly stats: StandinStats = {
    sessions: 0,
    turns: 0,
    speechStarted: 0,
    responses: 0,
    truncates: 0,
    rejectedTruncates: 0,
    endCalls: 0,
    heardSpeechMs: 0,
  };
  #server: Deno.HttpServer<Deno.NetAddr>;
  #sockets = new Set<WebSocket>();
  #options: StandinRealtimeOptions;
  #log: Logger;

  private constructor(options: StandinRealtimeOptions) {
    this.#options = options;
    this.#log = options.logger ?? getLogger(["bridge", "standin"]);
    this.#server = Deno.serve({
      port: options.port ?? 0,
      hostname: options.hostname ?? "127.0.0.1",
      onListen: () => {},
    }, (request) => this.#handle(request));
    const addr = this.#server.addr;
    this.url = `ws://${addr.hostname}:${addr.port}/v1/realtime`;
  }

  /** Starts listening. */
  static start(options: StandinRealtimeOptions = {}): StandinRealtime {
    return new StandinRealtime(options);
  }

  /** Closes every session and stops the server. */
  async close(): Promise<void> {
    const closing = [...this.#sockets].map((socket) =>
      new Promise<void>((resolve) => {
        if (socket.readyState === WebSocket.CLOSED) return resolve();
        socket.addEventListener("close", () => resolve(), { once: true });
        try {
          socket.close(1001, "stand-in shutting down");
        } catch {
          resolve();
        }
      })
    );
    await Promise.all(closing);
    await this.#server.shutdown();
  }

  #handle(request: Request): Response {
    const url = new URL(request.url);
    if (url.pathname !== "/v1/realtime" || request.headers.get("upgrade") !== "websocket") {
      return new Response("The offline demo's Realtime stand-in expects a WebSocket.\n", {
        status: 426,
      });
    }
    const protocols = (request.headers.get("sec-websocket-protocol") ?? "").split(",")
      .map((p) => p.trim());
    if (!protocols.includes("realtime")) {
      return new Response("Offer the realtime subprotocol.\n", { status: 400 });
    }
    const { socket, response } = Deno.upgradeWebSocket(request, { protocol: "realtime" });
    this.#sockets.add(socket);
    this.stats.sessions++;
    new StandinSession(socket, url.searchParams.get("model") ?? "gpt-realtime", {
      options: this.#options,
      stats: this.stats,
      log: this.#log,
    });
    socket.addEventListener("close", () => this.#sockets.delete(socket));
    return response;
  }
}

interface SessionContext {
  options: StandinRealtimeOptions;
  stats: StandinStats;
  log: Logger;
}

/** One Realtime session: VAD, turns, responses. */
class StandinSession {
  #socket: WebSocket;
  #ctx: SessionContext;
  #session: Record<string, unknown>;
  #lastItemId: string | null = null;
  /** Audio sent per assistant item, in bytes. */
  #itemAudio = new Map<string, number>();
  #pending = new Uint8Array(0);
  #inputMs = 0;
  #speaking = false;
  #loudMs = 0;
  #quietMs = 0;
  #speechItemId = "";
  #speechStartMs = 0;
  #prefix: Uint8Array[] = [];
  #turn: Uint8Array[] = [];
  #lastActivityMs = 0;
  #ending = false;
  #lastTurn: Uint8Array | undefined;

  constructor(socket: WebSocket, model: string, ctx: SessionContext) {
    this.#socket = socket;
    this.#ctx = ctx;
    this.#session = defaultSession(model);
    socket.addEventListener(
      "open",
      () => this.#send({ type: "session.created", session: this.#session }),
    );
    socket.addEventListener("message", (e) => {
      try {
        this.#onMessage(e.data);
      } catch (error) {
        this.#ctx.log.error("The stand-in failed on a client event: {error}", {
          error: error instanceof Error ? error.message : String(error),
        });
      }
    });
    socket.addEventListener("error", () => {});
  }

  get #turnSilenceMs(): number {
    if (this.#ctx.options.turnSilenceMs !== undefined) return this.#ctx.options.turnSilenceMs;
    const audio = this.#session.audio as { input?: { turn_detection?: unknown } } | undefined;
    const td = audio?.input?.turn_detection as { silence_duration_ms?: unknown } | undefined;
    return typeof td?.silence_duration_ms === "number" ? td.silence_duration_ms : 500;
  }

  #send(event: { type: string; [key: string]: unknown }): void {
    if (this.#socket.readyState !== WebSocket.OPEN) return;
    const { type, ...rest } = event;
    const full: StandinEvent = { type, event_id: id("event"), ...rest };
    this.#ctx.options.onEvent?.(full);
    this.#socket.send(JSON.stringify(full));
  }

  #error(code: string, message: string, param: string | null, eventId: string | null): void {
    this.#send({
      type: "error",
      error: { type: "invalid_request_error", code, message, param, event_id: eventId },
    });
  }

  #onMessage(data: unknown): void {
    if (typeof data !== "string") {
      this.#error("invalid_event", "Expected a JSON text frame.", null, null);
      return;
    }
    let event: Record<string, unknown>;
    try {
      event = JSON.parse(data);
    } catch {
      this.#error("invalid_event", "The event is not valid JSON.", null, null);
      return;
    }
    const eventId = typeof event.event_id === "string" ? event.event_id : null;
    switch (event.type) {
      case "session.update":
        this.#session = mergeSession(this.#session, event.session);
        this.#send({ type: "session.updated", session: this.#session });
        return;
      case "input_audio_buffer.append": {
        const bytes = typeof event.audio === "string" ? decodeBase64(event.audio) : undefined;
        if (bytes === undefined) {
          this.#error("invalid_value", "Invalid 'audio'. Expected base64.", "audio", eventId);
          return;
        }
        this.#onAudio(bytes);
        return;
      }
      case "input_audio_buffer.clear":
        this.#resetVad();
        this.#send({ type: "input_audio_buffer.cleared" });
        return;
      case "conversation.item.create": {
        const item = {
          ...(event.item as Record<string, unknown>),
          id: (event.item as { id?: string })?.id ?? id("item"),
          object: "realtime.item",
          status: "completed",
        };
        const previous = this.#lastItemId;
        this.#lastItemId = item.id;
        this.#send({ type: "conversation.item.added", previous_item_id: previous, item });
        this.#send({ type: "conversation.item.done", previous_item_id: previous, item });
        return;
      }
      case "conversation.item.truncate":
        this.#truncate(event, eventId);
        return;
      case "response.create": {
        const response = (event.response ?? {}) as { instructions?: unknown };
        const instructions = typeof response.instructions === "string" ? response.instructions : "";
        if (/goodbye|ending the call/i.test(instructions)) {
          this.#respond(FAREWELL_TONES, "Goodbye! (the offline demo plays a falling chime)");
        } else if (/greet/i.test(instructions) || this.#lastTurn === undefined) {
          this.#respond(
            GREETING_TONES,
            "Hello! This is the offline demo: say something and I will repeat it.",
          );
        } else {
          this.#respond(joinBytes([ECHO_BEEP, this.#lastTurn]), "(your words, played back)");
        }
        return;
      }
      case "response.cancel":
        // Responses are sent in one burst, so none is ever still in progress.
        this.#error(
          "response_cancel_not_active",
          "Cancellation failed: no active response found.",
          null,
          eventId,
        );
        return;
      default:
        return;
    }
  }

  #resetVad(): void {
    this.#pending = new Uint8Array(0);
    this.#speaking = false;
    this.#loudMs = 0;
    this.#quietMs = 0;
    this.#turn = [];
  }

  #onAudio(bytes: Uint8Array): void {
    let buffer = joinBytes([this.#pending, bytes]);
    while (buffer.length >= FRAME_BYTES) {
      this.#onFrame(buffer.subarray(0, FRAME_BYTES));
      buffer = buffer.subarray(FRAME_BYTES);
    }
    this.#pending = buffer.slice();
  }

  #onFrame(frame: Uint8Array): void {
    const { options, stats } = this.#ctx;
    const frameMs = frame.length * MS_PER_BYTE;
    this.#inputMs += frameMs;
    const loud = mulawRms(frame) >= (options.speechLevel ?? 0.02);
    if (!this.#speaking) {
      this.#prefix.push(frame.slice());
      const keep = Math.ceil((options.prefixMs ?? 300) / 20);
      while (this.#prefix.length > keep) this.#prefix.shift();
      this.#loudMs = loud ? this.#loudMs + frameMs : 0;
      if (this.#loudMs >= (options.speechStartMs ?? 60)) {
        this.#speaking = true;
        this.#quietMs = 0;
        this.#speechItemId = id("item");
        this.#speechStartMs = Math.max(0, this.#inputMs - this.#loudMs);
        this.#turn = [...this.#prefix];
        this.#prefix = [];
        stats.speechStarted++;
        this.#lastActivityMs = this.#inputMs;
        this.#send({
          type: "input_audio_buffer.speech_started",
          audio_start_ms: Math.floor(this.#speechStartMs),
          item_id: this.#speechItemId,
        });
      } else if (
        !this.#ending &&
        this.#inputMs - this.#lastActivityMs >= (options.silenceTimeoutMs ?? 15_000)
      ) {
        this.#endCall();
      }
      return;
    }
    this.#turn.push(frame.slice());
    this.#quietMs = loud ? 0 : this.#quietMs + frameMs;
    this.#lastActivityMs = this.#inputMs;
    if (this.#quietMs >= this.#turnSilenceMs) this.#endTurn();
  }

  #endTurn(): void {
    const { options, stats, log } = this.#ctx;
    this.#speaking = false;
    this.#loudMs = 0;
    const audioEndMs = Math.floor(this.#inputMs - this.#quietMs);
    // Echo the speech with a little of the silence after it, at most maxEchoMs.
    const trailingFrames = Math.max(0, Math.floor((this.#quietMs - 100) / 20));
    const frames = this.#turn.slice(0, this.#turn.length - trailingFrames);
    let echo = joinBytes(frames);
    const maxBytes = (options.maxEchoMs ?? 8000) * 8;
    if (echo.length > maxBytes) echo = echo.slice(0, maxBytes);
    this.#turn = [];
    const itemId = this.#speechItemId;
    const speechMs = audioEndMs - this.#speechStartMs;
    stats.turns++;
    stats.heardSpeechMs += speechMs;
    this.#send({
      type: "input_audio_buffer.speech_stopped",
      audio_end_ms: audioEndMs,
      item_id: itemId,
    });
    const previous = this.#lastItemId;
    this.#lastItemId = itemId;
    this.#send({
      type: "input_audio_buffer.committed",
      previous_item_id: previous,
      item_id: itemId,
    });
    const item = {
      id: itemId,
      object: "realtime.item",
      type: "message",
      status: "completed",
      role: "user",
      content: [{ type: "input_audio", transcript: null }],
    };
    this.#send({ type: "conversation.item.added", previous_item_id: previous, item });
    this.#send({ type: "conversation.item.done", previous_item_id: previous, item });
    log.info("Stand-in heard {speechMs} ms of speech; playing it back.", { speechMs });
    this.#lastTurn = echo;
    // Like server_vad with create_response: answer the turn at once.
    this.#respond(joinBytes([ECHO_BEEP, echo]), "(your words, played back)");
  }

  #respond(audio: Uint8Array, transcript: string): void {
    const { stats } = this.#ctx;
    stats.responses++;
    const responseId = id("resp");
    const itemId = id("item");
    const base = { response_id: responseId, item_id: itemId, output_index: 0, content_index: 0 };
    const item: Record<string, unknown> = {
      id: itemId,
      object: "realtime.item",
      type: "message",
      status: "in_progress",
      role: "assistant",
      content: [],
    };
    const previous = this.#openOutputItem(responseId, item);
    this.#send({
      type: "response.content_part.added",
      ...base,
      part: { type: "audio", transcript: "" },
    });
    for (let offset = 0; offset < audio.length; offset += 800) {
      const chunk = audio.subarray(offset, Math.min(audio.length, offset + 800));
      this.#itemAudio.set(itemId, (this.#itemAudio.get(itemId) ?? 0) + chunk.length);
      this.#send({ type: "response.output_audio.delta", ...base, delta: encodeBase64(chunk) });
    }
    this.#send({ type: "response.output_audio_transcript.delta", ...base, delta: transcript });
    this.#send({ type: "response.output_audio.done", ...base });
    this.#send({ type: "response.output_audio_transcript.done", ...base, transcript });
    this.#send({
      type: "response.content_part.done",
      ...base,
      part: { type: "audio", transcript },
    });
    item.content = [{ type: "output_audio", transcript }];
    this.#closeOutputItem(responseId, item, previous, audio.length);
    // The caller hears this until about now + its length (on the caller's audio clock).
    this.#lastActivityMs = Math.max(
      this.#lastActivityMs,
      this.#inputMs + audio.length * MS_PER_BYTE,
    );
  }

  #endCall(): void {
    const { stats, log } = this.#ctx;
    this.#ending = true;
    stats.endCalls++;
    stats.responses++;
    log.info("Stand-in: the caller has been silent; calling end_call.");
    const responseId = id("resp");
    const itemId = id("item");
    const callId = id("call");
    const args = JSON.stringify({ reason: "The caller said nothing for a while." });
    const item: Record<string, unknown> = {
      id: itemId,
      object: "realtime.item",
      type: "function_call",
      status: "in_progress",
      name: "end_call",
      call_id: callId,
      arguments: "",
    };
    const previous = this.#openOutputItem(responseId, item);
    const base = { response_id: responseId, item_id: itemId, output_index: 0, call_id: callId };
    this.#send({ type: "response.function_call_arguments.delta", ...base, delta: args });
    this.#send({
      type: "response.function_call_arguments.done",
      ...base,
      name: "end_call",
      arguments: args,
    });
    item.arguments = args;
    this.#closeOutputItem(responseId, item, previous);
  }

  /**
   * Starts a one-item response: `response.created`, then the item as added to
   * the response and to the conversation. Returns the previous item's id.
   */
  #openOutputItem(responseId: string, item: Record<string, unknown>): string | null {
    this.#send({
      type: "response.created",
      response: this.#responseObject(responseId, "in_progress", []),
    });
    const previous = this.#lastItemId;
    this.#lastItemId = String(item.id);
    this.#send({
      type: "response.output_item.added",
      response_id: responseId,
      output_index: 0,
      item: { ...item },
    });
    this.#send({ type: "conversation.item.added", previous_item_id: previous, item: { ...item } });
    return previous;
  }

  /** Completes the item and its response (`audioBytes` for the usage of audio replies). */
  #closeOutputItem(
    responseId: string,
    item: Record<string, unknown>,
    previous: string | null,
    audioBytes?: number,
  ): void {
    item.status = "completed";
    this.#send({
      type: "response.output_item.done",
      response_id: responseId,
      output_index: 0,
      item: { ...item },
    });
    this.#send({ type: "conversation.item.done", previous_item_id: previous, item: { ...item } });
    this.#send({
      type: "response.done",
      response: this.#responseObject(responseId, "completed", [item], audioBytes),
    });
  }

  #truncate(event: Record<string, unknown>, eventId: string | null): void {
    const { stats } = this.#ctx;
    const itemId = String(event.item_id ?? "");
    const audioEndMs = Number(event.audio_end_ms);
    const sent = this.#itemAudio.get(itemId);
    let reason: string | undefined;
    let param = "audio_end_ms";
    if (sent === undefined) {
      reason = `Item with item_id '${itemId}' not found.`;
      param = "item_id";
    } else if (event.content_index !== 0) {
      reason = `Invalid content_index ${event.content_index}: only content part 0 has audio.`;
      param = "content_index";
    } else if (!Number.isInteger(audioEndMs) || audioEndMs < 0 || audioEndMs > sent / 8) {
      reason = `Audio content of ${sent / 8}ms is already shorter than ${audioEndMs}ms`;
    }
    if (reason !== undefined) {
      stats.rejectedTruncates++;
      this.#error("invalid_value", reason, param, eventId);
      return;
    }
    stats.truncates++;
    this.#itemAudio.set(itemId, audioEndMs * 8);
    this.#send({
      type: "conversation.item.truncated",
      item_id: itemId,
      content_index: 0,
      audio_end_ms: audioEndMs,
    });
  }

  #responseObject(
    responseId: string,
    status: "in_progress" | "completed",
    output: Record<string, unknown>[],
    audioBytes = 0,
  ): Record<string, unknown> {
    const audioTokens = Math.ceil(audioBytes / 8 / 50);
    const audio = this.#session.audio as { output?: { format?: unknown; voice?: unknown } };
    return {
      object: "realtime.response",
      id: responseId,
      status,
      status_details: null,
      output: output.map((item) => ({ ...item })),
      conversation_id: "conv_standin",
      output_modalities: ["audio"],
      max_output_tokens: "inf",
      audio: {
        output: {
          format: audio?.output?.format ?? { type: "audio/pcmu" },
          voice: typeof audio?.output?.voice === "string" ? audio.output.voice : "alloy",
        },
      },
      usage: status === "completed"
        ? {
          total_tokens: audioTokens,
          input_tokens: 0,
          output_tokens: audioTokens,
          input_token_details: {
            text_tokens: 0,
            audio_tokens: 0,
            image_tokens: 0,
            cached_tokens: 0,
            cached_tokens_details: { text_tokens: 0, audio_tokens: 0, image_tokens: 0 },
          },
          output_token_details: { text_tokens: 0, audio_tokens: audioTokens },
        }
        : null,
      metadata: null,
    };
  }
}

function joinBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Merges a `session.update` like the live API (session and audio levels field by field). */
function mergeSession(base: Record<string, unknown>, patch: unknown): Record<string, unknown> {
  const merge = (current: unknown, update: unknown, path: string): unknown => {
    if (!isRecord(current) || !isRecord(update)) return structuredClone(update);
    const out: Record<string, unknown> = { ...current };
    for (const [key, value] of Object.entries(update)) {
      const child = path === "" ? key : `${path}.${key}`;
      out[key] = child === "audio" || child === "audio.input" || child === "audio.output"
        ? merge(current[key], value, child)
        : structuredClone(value);
    }
    return out;
  };
  return merge(base, patch, "") as Record<string, unknown>;
}

/** The `session` object of `session.created`: the GA defaults. */
function defaultSession(model: string): Record<string, unknown> {
  return gaSessionDefaults({
    id: id("sess"),
    model,
    instructions: "You are the offline demo stand-in.",
  });
}
