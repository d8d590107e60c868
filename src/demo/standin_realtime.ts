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
 *   words played back; with input transcription on, it reports each caller
 *   turn as the live API reports speech it heard no words in: an empty
 *   transcript, with the turn's length as the transcription's duration (it
 *   cannot transcribe, and makes no words up: the bridge's interruption
 *   decision reads the words; the demo's live view shows
 *   {@link standinNote});
 * - says what a `response.create` tells it to say word for word (the quoted
 *   text of the greeting, voicemail and filler prompts: an agent's own
 *   greeting), in its own voice, one tone per word (`spokenTones`), with that
 *   text as the transcript; answers other responses (farewell) with a chime;
 * - honours `conversation.item.truncate` (and rejects a truncate past the
 *   audio it sent, like the live API);
 * - ends the call through the `end_call` tool when the caller has said
 *   nothing for a while (counted on the caller's audio clock);
 * - calls a tool on every second caller turn (`toolEveryTurns`) when the
 *   session declares one besides `end_call` and transfers (the first such,
 *   with example arguments from its JSON Schema, see `standin_tools.ts`), and
 *   once its `function_call_output` arrives answers with a chime, then the
 *   caller's words, the output in the transcript.
 *
 * Everything it sends is a valid GA server event (the tests check that
 * against the published schema). The server behaviour it shares with the
 * tests' fake (session, conversation, truncation, response event sequences)
 * is the Realtime server kit in `src/fake_peers/`.
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
import { realtimeId as id } from "../fake_peers/realtime_ids.ts";
import type { ServerEvent } from "../fake_peers/realtime_response.ts";
import { ResponseScript } from "../fake_peers/realtime_response_script.ts";
import { outOfBandTextResponse } from "../fake_peers/realtime_text_response.ts";
import { errorEvent, RealtimeServerSession } from "../fake_peers/realtime_server_session.ts";
import { createsResponse } from "../fake_peers/realtime_session_state.ts";
import { mulawRms } from "../audio/mulaw.js";
import {
  ECHO_BEEP,
  FAREWELL_TONES,
  GREETING_TONES,
  joinBytes,
  spokenTones,
  TOOL_CHIME,
} from "./standin_sounds.ts";
import { standinToolChoice, toolConfirmation } from "./standin_tools.ts";
import { BYTES_PER_MS, FRAME_BYTES } from "../audio/frames.js";
import { errorMessage } from "../observability/error_message.ts";

/** A server event as sent (plain JSON). */
export type StandinEvent = { type: string; event_id: string; [key: string]: unknown };

/** A tool call the stand-in made, and its output once the bridge sent it. */
export interface StandinToolCall {
  name: string;
  callId: string;
  arguments: Record<string, unknown>;
  /** The `function_call_output` item's output (undefined until it arrives). */
  output?: string;
}

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
  /**
   * Every how many caller turns of a session the stand-in calls a tool instead
   * of echoing (when the session declares one). Default 2; 0: never.
   */
  toolEveryTurns?: number;
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
  /** Tool calls made (besides `end_call`). */
  toolCalls: number;
  /** Their `function_call_output` items received. */
  toolOutputs: number;
  /** Ms of caller audio heard in turns (speech only). */
  heardSpeechMs: number;
}

const MS_PER_BYTE = 1 / BYTES_PER_MS;

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
    toolCalls: 0,
    toolOutputs: 0,
    heardSpeechMs: 0,
  };
  /** The tool calls made, over all sessions, in order. */
  readonly toolCalls: StandinToolCall[] = [];
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
      toolCalls: this.toolCalls,
      log: this.#log,
    });
    socket.addEventListener("close", () => this.#sockets.delete(socket));
    return response;
  }
}

interface SessionContext {
  options: StandinRealtimeOptions;
  stats: StandinStats;
  toolCalls: StandinToolCall[];
  log: Logger;
}

/**
 * The text `instructions` ask to be said word for word: the quoted part of
 * the prompts that say "saying exactly this …: \"…\"" (greeting, voicemail,
 * filler; see `src/prompts/mod.ts`), from the first quote to the last.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_CALL_PROMPTS } from "../prompts/mod.ts";
 * import { textToSay } from "./standin_realtime.ts";
 * assert.equal(textToSay(DEFAULT_CALL_PROMPTS.greeting('Hi, "Acme" here!')), 'Hi, "Acme" here!');
 * assert.equal(textToSay(DEFAULT_CALL_PROMPTS.farewell), undefined);
 * ```
 */
export function textToSay(instructions: string): string | undefined {
  const first = instructions.indexOf('"');
  const last = instructions.lastIndexOf('"');
  const text = last > first + 1 ? instructions.slice(first + 1, last).trim() : "";
  return text === "" ? undefined : text;
}

/**
 * What the demo's live view shows for a caller turn the stand-in reported
 * without words (it reports none: see the module's notes).
 *
 * @example
 * ```ts
 * import { standinNote } from "./standin_realtime.ts";
 * if (standinNote(1234) !== "(1.2 s of speech — the offline stand-in does not transcribe)") {
 *   throw new Error();
 * }
 * ```
 */
export function standinNote(speechMs: number): string {
  return `(${(speechMs / 1000).toFixed(1)} s of speech — the offline stand-in does not transcribe)`;
}

/** The stand-in reports no input tokens: it has no model reading a prompt. */
const NO_INPUT_USAGE = { text_tokens: 0, audio_tokens: 0, cached_tokens: 0 };

/** One Realtime session: VAD, turns, responses (the rest is the kit's). */
class StandinSession {
  #socket: WebSocket;
  #ctx: SessionContext;
  #kit: RealtimeServerSession;
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
  /** Ms of speech of the last turn (for the log). */
  #lastTurnMs = 0;
  #sessionTurns = 0;
  /** Tool calls of this session by call id. */
  #calls = new Map<string, StandinToolCall>();
  /** A tool call whose output arrived: the next `response.create` confirms it. */
  #answered: StandinToolCall | undefined;

  constructor(socket: WebSocket, model: string, ctx: SessionContext) {
    this.#socket = socket;
    this.#ctx = ctx;
    this.#kit = new RealtimeServerSession({
      model,
      instructions: "You are the offline demo stand-in.",
      conversationId: "conv_standin",
      inputUsage: NO_INPUT_USAGE,
    });
    socket.addEventListener("open", () => this.#send([this.#kit.created()]));
    socket.addEventListener("message", (e) => {
      try {
        this.#onMessage(e.data);
      } catch (error) {
        this.#ctx.log.error("The stand-in failed on a client event: {error}", {
          error: errorMessage(error),
        });
      }
    });
    socket.addEventListener("error", () => {});
  }

  get #turnSilenceMs(): number {
    if (this.#ctx.options.turnSilenceMs !== undefined) return this.#ctx.options.turnSilenceMs;
    const audio = this.#kit.config.audio as { input?: { turn_detection?: unknown } } | undefined;
    const td = audio?.input?.turn_detection as { silence_duration_ms?: unknown } | undefined;
    return typeof td?.silence_duration_ms === "number" ? td.silence_duration_ms : 500;
  }

  /** Whether the session asked for input transcription (`audio.input.transcription`). */
  get #transcribing(): boolean {
    const audio = this.#kit.config.audio as { input?: { transcription?: unknown } } | undefined;
    return audio?.input?.transcription !== null && audio?.input?.transcription !== undefined;
  }

  #send(events: ServerEvent[]): void {
    for (const event of events) {
      if (this.#socket.readyState !== WebSocket.OPEN) return;
      const { type, ...rest } = event;
      const full: StandinEvent = { type, event_id: id("event"), ...rest };
      this.#ctx.options.onEvent?.(full);
      this.#socket.send(JSON.stringify(full));
    }
  }

  #onMessage(data: unknown): void {
    if (typeof data !== "string") {
      this.#send([errorEvent("invalid_event", "Expected a JSON text frame.")]);
      return;
    }
    let event: Record<string, unknown>;
    try {
      event = JSON.parse(data);
    } catch {
      this.#send([errorEvent("invalid_event", "The event is not valid JSON.")]);
      return;
    }
    const result = this.#kit.handle(event);
    this.#send(result.events);
    const { stats } = this.#ctx;
    const outcome = result.outcome;
    switch (outcome.kind) {
      case "audio_appended":
        this.#onAudio(outcome.bytes);
        return;
      case "audio_cleared":
        this.#resetVad();
        return;
      case "item_created": {
        const item = outcome.item as { type?: unknown; call_id?: unknown; output?: unknown };
        const call = item.type === "function_call_output" && typeof item.call_id === "string"
          ? this.#calls.get(item.call_id)
          : undefined;
        if (call !== undefined && call.output === undefined) {
          call.output = typeof item.output === "string" ? item.output : JSON.stringify(item.output);
          stats.toolOutputs++;
          this.#answered = call;
        }
        return;
      }
      case "truncated":
        stats.truncates++;
        return;
      case "truncate_rejected":
        stats.rejectedTruncates++;
        return;
      case "out_of_band_requested":
        if (isTextOnly(outcome.response)) {
          // A warm transfer's briefing: text nobody hears.
          this.#send(outOfBandTextResponse({
            text: "A caller of the offline demo asked for a person.",
            metadata: metadataOf(outcome.response),
          }));
          return;
        }
        this.#requested(outcome.response);
        return;
      case "response_requested":
        this.#requested(outcome.response);
        return;
      default:
        // Responses are sent in one burst, so `response.cancel` finds none in progress.
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
        // Like the live API, audio_start_ms includes the prefix padding kept before the speech.
        const paddedStart = Math.max(0, this.#speechStartMs - this.#prefix.length * 20);
        this.#prefix = [];
        stats.speechStarted++;
        this.#lastActivityMs = this.#inputMs;
        this.#send(this.#kit.speechStarted(paddedStart, this.#speechItemId));
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
    const { options, stats } = this.#ctx;
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
    this.#lastTurnMs = speechMs;
    stats.turns++;
    stats.heardSpeechMs += speechMs;
    const item = {
      id: itemId,
      object: "realtime.item",
      type: "message",
      status: "completed",
      role: "user",
      content: [{ type: "input_audio", transcript: null }],
    };
    const previous = this.#kit.conversation.add(item);
    this.#send([
      // Like the live API, audio_end_ms includes the silence that ended the turn.
      {
        type: "input_audio_buffer.speech_stopped",
        audio_end_ms: Math.floor(this.#inputMs),
        item_id: itemId,
      },
      { type: "input_audio_buffer.committed", previous_item_id: previous, item_id: itemId },
      { type: "conversation.item.added", previous_item_id: previous, item },
      { type: "conversation.item.done", previous_item_id: previous, item },
    ]);
    if (this.#transcribing) {
      // Like the live API when its transcription model heard no words: an empty transcript (the
      // stand-in cannot transcribe; words made up here would decide interruptions), the duration.
      this.#send([{
        type: "conversation.item.input_audio_transcription.completed",
        item_id: itemId,
        content_index: 0,
        transcript: "",
        usage: { type: "duration", seconds: Math.max(0, speechMs / 1000) },
      }]);
    }
    this.#lastTurn = echo;
    this.#sessionTurns++;
    // With create_response off (the bridge decides interruptions) the bridge asks for the answer.
    if (!createsResponse(this.#kit.config)) return;
    this.#answerTurn(speechMs);
  }

  /** Answers the caller's last turn: every `toolEveryTurns`th with a tool call, else its echo. */
  #answerTurn(speechMs: number): void {
    const { options, log } = this.#ctx;
    const echo = this.#lastTurn ?? new Uint8Array(0);
    const every = options.toolEveryTurns ?? 2;
    const tool = every > 0 && this.#sessionTurns % every === 0
      ? standinToolChoice(this.#kit.config.tools)
      : undefined;
    if (tool !== undefined) {
      log.info("Stand-in heard {speechMs} ms of speech; calling the tool {tool}.", {
        speechMs,
        tool: tool.name,
      });
      this.#callTool(tool.name, tool.arguments);
      return;
    }
    log.info("Stand-in heard {speechMs} ms of speech; playing it back.", { speechMs });
    this.#respond(joinBytes([ECHO_BEEP, echo]), "(your words, played back)");
  }

  /** Answers a `response.create` (a greeting, a tool's confirmation, a farewell, an echo). */
  #requested(response: Record<string, unknown>): void {
    const instructions = typeof response.instructions === "string" ? response.instructions : "";
    const answered = this.#answered;
    this.#answered = undefined;
    const say = textToSay(instructions);
    if (answered !== undefined && !/goodbye|ending the call/i.test(instructions)) {
      this.#respond(
        joinBytes([TOOL_CHIME, this.#lastTurn ?? new Uint8Array(0)]),
        toolConfirmation(answered.name, answered.output ?? ""),
      );
    } else if (say !== undefined) {
      // The agent's greeting (or voicemail message): its words, in the stand-in's voice.
      this.#respond(spokenTones(say), say);
    } else if (/goodbye|ending the call/i.test(instructions)) {
      this.#respond(FAREWELL_TONES, "Goodbye! (the offline demo plays a falling chime)");
    } else if (/greet/i.test(instructions) || this.#lastTurn === undefined) {
      this.#respond(
        GREETING_TONES,
        "Hello! This is the offline demo: say something and I will repeat it.",
      );
    } else {
      this.#answerTurn(this.#lastTurnMs);
    }
  }

  #respond(audio: Uint8Array, transcript: string): void {
    this.#ctx.stats.responses++;
    const script = new ResponseScript(this.#kit.beginResponse(), {
      items: [{ audio, transcript }],
      bytesPerMs: 8,
    });
    this.#send(script.runToEnd());
    // The caller hears this until about now + its length (on the caller's audio clock).
    this.#lastActivityMs = Math.max(
      this.#lastActivityMs,
      this.#inputMs + audio.length * MS_PER_BYTE,
    );
  }

  /** A response with one function call; the bridge runs it and sends its output. */
  #callTool(name: string, args: Record<string, unknown>): void {
    const { stats, toolCalls } = this.#ctx;
    stats.toolCalls++;
    stats.responses++;
    const script = new ResponseScript(this.#kit.beginResponse(), {
      items: [{ functionCall: { name, arguments: args } }],
    });
    const callId = script.items[0].callId ?? "";
    const call: StandinToolCall = { name, callId, arguments: args };
    this.#calls.set(callId, call);
    toolCalls.push(call);
    this.#send(script.runToEnd());
  }

  #endCall(): void {
    const { stats, log } = this.#ctx;
    this.#ending = true;
    stats.endCalls++;
    stats.responses++;
    log.info("Stand-in: the caller has been silent; calling end_call.");
    const script = new ResponseScript(this.#kit.beginResponse(), {
      items: [{
        functionCall: {
          name: "end_call",
          arguments: { reason: "The caller said nothing for a while." },
        },
      }],
    });
    this.#send(script.runToEnd());
  }
}

/** Whether a requested response is text only (`output_modalities: ["text"]`). */
function isTextOnly(response: Record<string, unknown>): boolean {
  const modalities = response.output_modalities;
  return Array.isArray(modalities) && modalities.length === 1 && modalities[0] === "text";
}

/** The request's string `metadata`, or null. */
function metadataOf(response: Record<string, unknown>): Record<string, string> | null {
  const metadata = response.metadata;
  if (typeof metadata !== "object" || metadata === null) return null;
  return Object.fromEntries(
    Object.entries(metadata).filter((entry): entry is [string, string] =>
      typeof entry[1] === "string"
    ),
  );
}
