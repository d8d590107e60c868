/**
 * A local stand-in for GPT-Live (`/v1/live/sessions`), for the offline demo's
 * agents on `engine: live` (`deno task demo`). Like the Realtime stand-in it
 * needs no key and no network and has no intelligence; it behaves like
 * GPT-Live where the bridge can tell:
 *
 * - one continuous output track, paced by the input: for every 100 ms of
 *   caller audio it sends one 100 ms delta, the reply in progress or silence
 *   (GPT-Live's timeline advances with the input);
 * - full duplex: it hears the caller (energy-based, on the appended μ-law
 *   audio) while it speaks; a caller turn ends after 600 ms of silence and is
 *   reported as an empty input transcript whose `start_ms`/`end_ms` span the
 *   turn (it cannot transcribe, so it reports no words), then answered with a
 *   beep and the caller's own words; when the caller talks over a reply it
 *   yields: the track goes silent (there is no yield event, and with no words
 *   the bridge does not clear Twilio: what it holds, at most the reply's
 *   lead, plays out);
 * - says the quoted text of a `session.commentary.append` (the greeting,
 *   voicemail and filler prompts) in its own voice, one tone per word;
 * - calls a tool on every second caller turn through Responses delegation
 *   when the session declares one (`standin_tools.ts`), and `end_call` after
 *   a silence; once `response.item.create` and `response.create` arrive it
 *   speaks the confirmation (or the farewell).
 *
 * The session's protocol is the shared kit (`src/fake_peers/live_server_session.ts`).
 *
 * @example
 * ```ts ignore
 * import { StandinLive } from "./standin_live.ts";
 * const standin = StandinLive.start({ silenceTimeoutMs: 20_000 });
 * // point OPENAI_LIVE_URL at standin.url
 * await standin.close();
 * ```
 *
 * @module
 */
import { getLogger, type Logger } from "@logtape/logtape";
import {
  LIVE_DELTA_BYTES,
  LiveServerSession,
  type LiveWireEvent,
} from "../fake_peers/live_server_session.ts";
import { decodeBase64 } from "../audio/base64.ts";
import { mulawRms } from "../audio/mulaw.js";
import { ECHO_BEEP, FAREWELL_TONES, joinBytes, spokenTones, TOOL_CHIME } from "./standin_sounds.ts";
import { standinToolChoice, toolConfirmation } from "./standin_tools.ts";
import { END_CALL_TOOL } from "../tools/tool_registry.ts";
import { BYTES_PER_MS, FRAME_BYTES, FRAME_MS } from "../audio/frames.js";
import { errorMessage } from "../observability/error_message.ts";

/** Options of {@link StandinLive.start}. */
export interface StandinLiveOptions {
  /** Frame RMS (0 to 1) that counts as speech. Default 0.02. */
  speechLevel?: number;
  /** Ms of silence that end a caller turn. Default 600. */
  turnSilenceMs?: number;
  /** Ms of caller silence after which it calls `end_call`. Default 15000. */
  silenceTimeoutMs?: number;
  /** Every how many caller turns it calls a tool (when declared). Default 2; 0: never. */
  toolEveryTurns?: number;
  /** Called with every event sent (tests validate them). */
  onEvent?: (event: LiveWireEvent) => void;
  logger?: Logger;
}

/** Counters over all sessions. */
export interface StandinLiveStats {
  sessions: number;
  turns: number;
  yields: number;
  toolCalls: number;
  endCalls: number;
}

const SPEECH_START_MS = 60;
const MAX_ECHO_MS = 8000;
const USAGE_EVERY_MS = 15_000;
/** Deltas sent at once when a reply starts. */
const REPLY_LEAD_DELTAS = 4;

/** The stand-in server; always `await close()`. */
export class StandinLive {
  /** The URL to use as `OPENAI_LIVE_URL`. */
  readonly url: string;
  readonly stats: StandinLiveStats = {
    sessions: 0,
    turns: 0,
    yields: 0,
    toolCalls: 0,
    endCalls: 0,
  };
  /** The tool calls it made (besides `end_call`), with their outputs once they arrived. */
  readonly toolCalls: Array<{ name: string; arguments: unknown; output?: string }> = [];
  #server: Deno.HttpServer<Deno.NetAddr>;
  #sockets = new Set<WebSocket>();
  #options: StandinLiveOptions;
  #log: Logger;

  private constructor(options: StandinLiveOptions) {
    this.#options = options;
    this.#log = options.logger ?? getLogger(["bridge", "standin"]);
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (request) => this.#handle(request),
    );
    this.url = `ws://127.0.0.1:${this.#server.addr.port}/v1/live/sessions`;
  }

  /** Starts the stand-in on a free port of 127.0.0.1. */
  static start(options: StandinLiveOptions = {}): StandinLive {
    return new StandinLive(options);
  }

  /** Closes every session and the server. */
  async close(): Promise<void> {
    for (const socket of this.#sockets) {
      if (socket.readyState === WebSocket.OPEN) socket.close(1001, "stand-in closing");
    }
    await this.#server.shutdown();
  }

  #handle(request: Request): Response {
    if (new URL(request.url).pathname !== "/v1/live/sessions") {
      return new Response("not found", { status: 404 });
    }
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response("expected a WebSocket upgrade", { status: 426 });
    }
    const { socket, response } = Deno.upgradeWebSocket(request);
    this.#sockets.add(socket);
    this.stats.sessions++;
    const session = new StandinSession(socket, this.#options, this.stats, this.toolCalls);
    socket.addEventListener("message", (e) => {
      try {
        session.onMessage(e.data);
      } catch (error) {
        this.#log.warn("GPT-Live stand-in failed on a message: {error}", {
          error: errorMessage(error),
        });
      }
    });
    socket.addEventListener("close", () => this.#sockets.delete(socket));
    socket.addEventListener("error", () => {});
    return response;
  }
}

/** Something to say: audio, and the words of its transcript. */
interface Utterance {
  bytes: Uint8Array;
  text: string | undefined;
}

/** One session of the stand-in. */
class StandinSession {
  #socket: WebSocket;
  #o: StandinLiveOptions;
  #stats: StandinLiveStats;
  #kit = new LiveServerSession({ now: () => Date.now() / 1000 });
  /** What it says, in order; `#at` bytes of the first one are sent. */
  #queue: Utterance[] = [];
  #at = 0;
  /** A reply is under way (its lead was sent). */
  #replying = false;
  /** Input ms not yet answered by an output delta. */
  #inputOwed = 0;
  #usageAt = 0;
  /** The caller's speech: loud ms in a row, quiet ms since, and the turn's audio. */
  #loudMs = 0;
  #quietMs = 0;
  #speaking = false;
  #turn: Uint8Array[] = [];
  #silentMs = 0;
  #turns = 0;
  /** Function calls waiting for their output (name, the caller's words), and outputs waiting for `response.create`. */
  #calls = new Map<string, { name: string; words: Uint8Array }>();
  #outputs: Array<{ name: string; words: Uint8Array; output: string }> = [];
  #ended = false;

  #made: Array<{ name: string; arguments: unknown; output?: string }>;

  constructor(
    socket: WebSocket,
    options: StandinLiveOptions,
    stats: StandinLiveStats,
    made: Array<{ name: string; arguments: unknown; output?: string }>,
  ) {
    this.#socket = socket;
    this.#o = options;
    this.#stats = stats;
    this.#made = made;
  }

  onMessage(data: unknown): void {
    if (typeof data !== "string") return;
    const event = JSON.parse(data) as LiveWireEvent;
    const answer = this.#kit.handle(event);
    this.#send(answer.events);
    const outcome = answer.outcome;
    switch (outcome.kind) {
      case "audio":
        this.#onAudio(decodeBase64(event.audio) ?? new Uint8Array());
        return;
      case "appended": {
        const quoted = /"([^"]+)"/.exec(outcome.content)?.[1];
        if (outcome.what === "commentary") {
          this.#say(quoted === undefined ? FAREWELL_TONES : spokenTones(quoted), quoted);
        }
        return;
      }
      case "tool_output": {
        const call = this.#calls.get(outcome.callId);
        this.#calls.delete(outcome.callId);
        if (call === undefined) return;
        const made = this.#made.find((m) => m.name === call.name && m.output === undefined);
        if (made !== undefined) made.output = outcome.output;
        this.#outputs.push({ ...call, output: outcome.output });
        return;
      }
      case "continue":
        // The confirmation: a chime, then the caller's words; the output in the transcript.
        for (const { name, words, output } of this.#outputs.splice(0)) {
          if (name === END_CALL_TOOL) this.#say(FAREWELL_TONES, "Goodbye!");
          else this.#say(joinBytes([TOOL_CHIME, words]), toolConfirmation(name, output));
        }
        return;
      case "close":
        this.#socket.close(1000, "session closed");
        return;
      default:
        return;
    }
  }

  #say(bytes: Uint8Array, text: string | undefined): void {
    this.#queue.push({ bytes, text });
  }

  #onAudio(bytes: Uint8Array): void {
    for (let at = 0; at < bytes.length; at += FRAME_BYTES) {
      this.#onFrame(bytes.subarray(at, at + FRAME_BYTES));
    }
  }

  #onFrame(frame: Uint8Array): void {
    const loud = mulawRms(frame) >= (this.#o.speechLevel ?? 0.02);
    if (loud) {
      this.#loudMs += FRAME_MS;
      this.#quietMs = 0;
    } else {
      this.#loudMs = 0;
      this.#quietMs += FRAME_MS;
    }
    if (!this.#speaking && this.#loudMs >= SPEECH_START_MS) {
      this.#speaking = true;
      this.#silentMs = 0;
      if (this.#queue.length > 0) {
        // Talked over: the model yields (the caller's words arrive, the track goes silent).
        this.#stats.yields++;
        this.#queue = [];
        this.#at = 0;
        this.#replying = false;
        // It cannot transcribe, so it reports no words now: the bridge sees the track go quiet.
      }
    }
    if (this.#speaking) {
      if (this.#turn.length * FRAME_MS < MAX_ECHO_MS) this.#turn.push(frame.slice());
      if (this.#quietMs >= (this.#o.turnSilenceMs ?? 600)) this.#endTurn();
    } else {
      // Silence counts while nobody talks (not while the stand-in speaks).
      this.#silentMs = this.#queue.length > 0 ? 0 : this.#silentMs + FRAME_MS;
      const timeout = this.#o.silenceTimeoutMs ?? 15_000;
      if (!this.#ended && this.#queue.length === 0 && this.#silentMs >= timeout) {
        this.#ended = true;
        this.#stats.endCalls++;
        this.#call(END_CALL_TOOL, { reason: "the caller stayed silent" }, new Uint8Array());
      }
    }
    this.#inputOwed += FRAME_MS;
    while (this.#inputOwed >= LIVE_DELTA_BYTES / BYTES_PER_MS) {
      this.#inputOwed -= LIVE_DELTA_BYTES / BYTES_PER_MS;
      this.#tick();
    }
    if (this.#kit.inputMs - this.#usageAt >= USAGE_EVERY_MS) {
      this.#usageAt = this.#kit.inputMs;
      this.#send([this.#kit.usage()]);
    }
  }

  #endTurn(): void {
    this.#speaking = false;
    this.#silentMs = 0;
    const spokenMs = this.#turn.length * FRAME_MS - (this.#o.turnSilenceMs ?? 600);
    const words = joinBytes(this.#turn);
    this.#turn = [];
    this.#turns++;
    this.#stats.turns++;
    // No words (it cannot transcribe): an empty transcript spanning the turn on the timeline.
    this.#send([this.#kit.inputTranscript("", Math.max(0, spokenMs))]);
    const every = this.#o.toolEveryTurns ?? 2;
    const tool = every > 0 && this.#turns % every === 0
      ? standinToolChoice(this.#declaredTools())
      : undefined;
    if (tool !== undefined) {
      this.#stats.toolCalls++;
      this.#made.push({ name: tool.name, arguments: tool.arguments });
      this.#call(tool.name, tool.arguments, words);
      return;
    }
    this.#say(joinBytes([ECHO_BEEP, words]), "(your words)");
  }

  #declaredTools(): unknown {
    const delegation = this.#kit.config?.delegation as
      | { responses?: { tools?: unknown } }
      | null
      | undefined;
    return delegation?.responses?.tools;
  }

  #call(name: string, args: unknown, words: Uint8Array): void {
    if (!this.#kit.responsesDelegation) return;
    const { events, callId } = this.#kit.functionCall(name, args);
    this.#calls.set(callId, { name, words });
    this.#send(events);
  }

  /**
   * One 100 ms delta of the track: the reply in progress, or silence. A reply
   * starts with {@link REPLY_LEAD_DELTAS} deltas at once (a server ahead of
   * real time, so the caller's side holds some audio, as with a real network).
   */
  #tick(): void {
    const current = this.#queue[0];
    if (current === undefined) {
      this.#send(this.#kit.silence(LIVE_DELTA_BYTES / BYTES_PER_MS));
      return;
    }
    if (this.#at === 0 && !this.#replying) {
      this.#replying = true;
      for (let i = 1; i < REPLY_LEAD_DELTAS && this.#queue.length > 0; i++) this.#speakDelta();
    }
    this.#speakDelta();
    if (this.#queue.length === 0) this.#replying = false;
  }

  #speakDelta(): void {
    const current = this.#queue[0];
    if (this.#at === 0 && current.text !== undefined) {
      this.#send([this.#kit.outputTranscript(current.text)]);
    }
    const chunk = new Uint8Array(LIVE_DELTA_BYTES).fill(0xff);
    chunk.set(current.bytes.subarray(this.#at, this.#at + LIVE_DELTA_BYTES));
    this.#at += LIVE_DELTA_BYTES;
    if (this.#at >= current.bytes.length) {
      this.#queue.shift();
      this.#at = 0;
    }
    this.#send(this.#kit.outputAudio(chunk));
  }

  #send(events: readonly LiveWireEvent[]): void {
    for (const event of events) {
      if (this.#socket.readyState !== WebSocket.OPEN) return;
      this.#o.onEvent?.(event);
      this.#socket.send(JSON.stringify(event));
    }
  }
}
