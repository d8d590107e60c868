/**
 * The sans-IO call core: one phone call as a state machine.
 *
 * Inputs are Twilio messages, OpenAI events, socket state changes and timer
 * expiries, each with the current time; the output is a list of commands
 * (send this text to Twilio or OpenAI, set a timer, run a tool, finish the
 * call). Time is injected, so tests drive a call message by message with an
 * exact clock.
 *
 * @module
 */
import {
  encodeAppend,
  encodeFunctionCallOutput,
  encodeInputClear,
  encodeResponseCreate,
  encodeTruncate,
} from "../openai/client_events.ts";
import type { ServerEvent } from "../openai/server_events.ts";
import { END_CALL_TOOL, TRANSFER_CALL_TOOL } from "../tools/tool_registry.ts";
import {
  encodeTwilioClear,
  encodeTwilioMark,
  encodeTwilioMedia,
  type TwilioInbound,
} from "../twilio/media_stream_messages.ts";
import type {
  CallCommand,
  CallInput,
  CallObservation,
  CallOutcome,
  CoreLogLevel,
  TimerName,
} from "./call_types.ts";
import { ConversationLog, parseUsage } from "./conversation_log.ts";
import { PlaybackLedger } from "./playback_ledger.ts";
import { buildReplayEvents, MAX_RECONNECT_ATTEMPTS, reconnectDelayMs } from "./session_replay.ts";

/** Options of {@link CallCore}. */
export interface CallCoreOptions {
  /** The serialized `session.update`, sent as soon as the OpenAI socket opens. */
  sessionUpdate: string;
  /** Text the assistant greets the caller with; undefined: no greeting. */
  greeting?: string | undefined;
  /** Whether caller speech interrupts the assistant (barge-in). Default true. */
  interruptResponse?: boolean;
  /** Ms between the end of the farewell and the hang-up. Default 3000. */
  endCallGraceMs?: number;
  /** Ms after `end_call` within which farewell audio must start. Default 4000. */
  endCallWatchdogMs?: number;
  /** Ms to wait for the OpenAI socket to open. Default 10000. */
  openaiConnectTimeoutMs?: number;
  /** Ms of assistant audio between two playback marks. Default 100. */
  markIntervalMs?: number;
  /**
   * Upper bound of the mark interval, which doubles after each mark while
   * audio plays without a break (fewer messages per call). Default 1000 when
   * `markIntervalMs` is unset, else `markIntervalMs` (a fixed interval).
   */
  maxMarkIntervalMs?: number;
  /** Caller frames kept while OpenAI is not ready yet (20 ms each). Default 500. */
  maxQueuedFrames?: number;
  /** Log the barge-in arithmetic at info level instead of debug. */
  showTimingMath?: boolean;
  /** Names of custom tools the call runner can execute. */
  customTools?: readonly string[];
  /** Whether the `transfer_call` tool is declared (a transfer number is configured). */
  transferEnabled?: boolean;
  /** Ms after the stream opens within which Twilio must send `start`. Default 10000. */
  startTimeoutMs?: number;
  /** Ms after `start` at which the assistant wraps the call up; 0: no limit. Default 0. */
  maxCallMs?: number;
  /**
   * Ms of caller silence (no speech detected, no assistant speech) after which
   * the assistant wraps the call up; 0: off. Default 0.
   */
  callerIdleMs?: number;
  /** Emit `observe` commands for metrics and traces. Default false. */
  observations?: boolean;
  /**
   * Ms after a session opened to renew it (open a new session, replay the
   * conversation, switch at a turn boundary). 0 (default): never.
   */
  renewAfterMs?: number;
  /** Ms to wait for a turn boundary before switching sessions anyway. Default 15000. */
  switchWaitMs?: number;
  /**
   * Ms to get a working session back after the OpenAI socket dropped or
   * could not be opened, before apologizing. 0: apologize at once. Default 5000.
   */
  reconnectWindowMs?: number;
}

/** Counters a call keeps for logs and metrics. */
export interface CallStats {
  framesIn: number;
  framesOut: number;
  bargeIns: number;
  truncates: number;
  droppedLateDeltas: number;
  droppedQueuedFrames: number;
  responses: number;
  toolCalls: number;
  openaiErrors: number;
  /** Sessions switched to by renewal. */
  sessionRenewals: number;
  /** Sessions switched to after the OpenAI socket dropped or failed to open. */
  reconnects: number;
}

type EndCallStage =
  | "awaiting_tool_response_done"
  | "farewell_requested"
  | "farewell_playing"
  | "farewell_draining"
  | "grace";

const FAREWELL_INSTRUCTIONS =
  "The caller is ending the call. Say one short, warm goodbye sentence, then stop. Do not ask any question.";
const TRANSFER_INSTRUCTIONS =
  "The caller is being transferred to a person on the staff. In one short sentence tell them you are transferring them now, then stop. Do not ask any question.";
const TIME_LIMIT_INSTRUCTIONS =
  "The call has reached its time limit. In one short, polite sentence tell the caller you have to end the call now, and say goodbye. Do not ask any question.";
const IDLE_INSTRUCTIONS =
  "The caller has been silent for a while. In one short, polite sentence say you will end the call because you have not heard from them, and say goodbye. Do not ask any question.";
const DRAIN_FAREWELL_INSTRUCTIONS =
  "The call has to end now because the service is restarting. Say one short, warm goodbye sentence and invite the caller to call back, then stop. Do not ask any question.";
const MAX_REMEMBERED_IDS = 64;

/** How a call is wound up: the last sentence asked of the assistant, and how it ends. */
interface Ending {
  instructions: string;
  reason: string;
  outcome: CallOutcome;
}

/** The endings the model can ask for with a built-in tool. */
const ENDING_BY_TOOL: Record<"end_call" | "transfer_call", Ending & { logMessage: string }> = {
  end_call: {
    instructions: FAREWELL_INSTRUCTIONS,
    reason: "The assistant ended the call.",
    outcome: "assistant_ended",
    logMessage: "The assistant is ending the call.",
  },
  transfer_call: {
    instructions: TRANSFER_INSTRUCTIONS,
    reason: "The assistant transferred the call.",
    outcome: "transferred",
    logMessage: "The assistant is transferring the call to a person.",
  },
};
/** Caller frames (20 ms each) of an unfinished turn re-sent after a reconnect: 5 s. */
const MAX_UNCOMMITTED_FRAMES = 250;
/** Ms a switch waits at most for the answer to and the transcript of the caller's last turn. */
const TURN_SETTLE_MS = 5000;
/** Ms before trying a renewal again after one failed. */
const RENEW_RETRY_MS = 30_000;

function greetingInstructions(greeting: string): string {
  return `Greet the caller now by saying exactly this, and nothing else: "${greeting}"`;
}

/** Bytes of audio in a base64 string, without decoding it. */
export function base64ByteLength(b64: string): number {
  const len = b64.length;
  if (len === 0) return 0;
  const padding = b64.endsWith("==") ? 2 : b64.endsWith("=") ? 1 : 0;
  return Math.floor(len / 4) * 3 - padding;
}

function remember(set: Set<string>, value: string): void {
  set.add(value);
  if (set.size > MAX_REMEMBERED_IDS) {
    const oldest = set.values().next().value;
    if (oldest !== undefined) set.delete(oldest);
  }
}

/**
 * One call's state machine. Create one per Twilio media stream, feed it every
 * input with {@link CallCore.handle}, and carry out the returned commands in
 * order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CallCore } from "./call_core.ts";
 * const update = '{"type":"session.update","session":{"type":"realtime"}}';
 * const core = new CallCore({ sessionUpdate: update });
 * // The stream opens: the core asks for an OpenAI socket at once.
 * const begin = core.handle({ type: "begin" }, 0);
 * assert.ok(begin.some((c) => c.type === "open_openai"));
 * // The socket is open: session.update is the first thing sent on it.
 * const open = core.handle({ type: "openai_open" }, 5);
 * const first = open.find((c) => c.type === "send_openai");
 * assert.equal(first?.type === "send_openai" && first.data, update);
 * ```
 */
export class CallCore {
  #options: Required<Omit<CallCoreOptions, "greeting">> & { greeting: string | undefined };
  #out: CallCommand[] = [];
  #now = 0;
  #ledger: PlaybackLedger;
  #conversation = new ConversationLog();

  #streamSid: string | undefined;
  #callSid: string | undefined;
  #openaiOpen = false;
  #greetingPending: boolean;
  #queuedFrames: string[] = [];
  #queuedDeltas: { itemId: string; responseId: string; delta: string }[] = [];

  #activeResponseId: string | undefined;
  #responseRequested = false;
  #pendingResponse: string | undefined;
  #lastRequestedResponse: string | undefined;
  #pendingToolCalls = new Set<string>();
  #interruptedResponses = new Set<string>();
  #droppedItems = new Set<string>();
  /** The assistant item whose audio is streaming (no `output_audio.done` yet). */
  #openAudioItem: string | undefined;
  /** The last assistant item whose first audio was reported (observations). */
  #observedAudioItem: string | undefined;

  #endCall:
    | {
      stage: EndCallStage;
      toolResponseId: string;
      farewellResponseId?: string;
      /** Per-response instructions of the farewell. */
      instructions: string;
      /** The finish reason once it is over. */
      reason: string;
      /** The outcome once it is over. */
      outcome: CallOutcome;
    }
    | undefined;
  /** When the caller last spoke or the assistant's audio is expected to end (ms). */
  #quietSince = 0;
  /** Keys of debug lines already logged once (hostile input must not flood logs). */
  #loggedOnce = new Set<string>();
  #farewellMark: string | undefined;
  #finished = false;

  /** The session (socket generation) the call uses. */
  #generation = 1;
  #lastGeneration = 1;
  /** A new session being opened (renewal or reconnect). */
  #pending: { generation: number; open: boolean } | undefined;
  /** Set while the current session is gone and a new one is being sought. */
  #reconnect: { attempts: number; resume: boolean } | undefined;
  /** Assistant items of the current session (only these can be truncated). */
  #sessionItems = new Set<string>();
  #callerSpeaking = false;
  /**
   * The caller's last committed turn: a switch waits until the model has
   * started answering it and its transcript is in (a few seconds at most).
   */
  #lastCommit: { itemId: string; at: number; answered: boolean; heard: boolean } | undefined;
  #everOpened = false;
  /**
   * Caller frames sent since the last commit: the turn in progress, which a
   * session that drops takes with it. Sent again to the next session.
   */
  #uncommitted: string[] = [];
  /** Caller frames of the last committed turn, until the model starts answering it. */
  #turnAudio: string[] = [];
  #stats: CallStats = {
    framesIn: 0,
    framesOut: 0,
    bargeIns: 0,
    truncates: 0,
    droppedLateDeltas: 0,
    droppedQueuedFrames: 0,
    responses: 0,
    toolCalls: 0,
    openaiErrors: 0,
    sessionRenewals: 0,
    reconnects: 0,
  };

  /** Creates the core of one call. */
  constructor(options: CallCoreOptions) {
    this.#options = {
      sessionUpdate: options.sessionUpdate,
      greeting: options.greeting,
      interruptResponse: options.interruptResponse ?? true,
      endCallGraceMs: options.endCallGraceMs ?? 3000,
      endCallWatchdogMs: options.endCallWatchdogMs ?? 4000,
      openaiConnectTimeoutMs: options.openaiConnectTimeoutMs ?? 10_000,
      markIntervalMs: options.markIntervalMs ?? 100,
      maxMarkIntervalMs: options.maxMarkIntervalMs ??
        (options.markIntervalMs === undefined ? 1000 : options.markIntervalMs),
      maxQueuedFrames: options.maxQueuedFrames ?? 500,
      showTimingMath: options.showTimingMath ?? false,
      customTools: options.customTools ?? [],
      transferEnabled: options.transferEnabled ?? false,
      startTimeoutMs: options.startTimeoutMs ?? 10_000,
      maxCallMs: options.maxCallMs ?? 0,
      callerIdleMs: options.callerIdleMs ?? 0,
      observations: options.observations ?? false,
      renewAfterMs: options.renewAfterMs ?? 0,
      switchWaitMs: options.switchWaitMs ?? 15_000,
      reconnectWindowMs: options.reconnectWindowMs ?? 5000,
    };
    this.#greetingPending = options.greeting !== undefined && options.greeting !== "";
    this.#ledger = new PlaybackLedger({
      markIntervalMs: this.#options.markIntervalMs,
      maxMarkIntervalMs: Math.max(this.#options.markIntervalMs, this.#options.maxMarkIntervalMs),
    });
  }

  /** The Twilio CallSid, once `start` arrived. */
  get callSid(): string | undefined {
    return this.#callSid;
  }

  /** The Twilio StreamSid, once `start` arrived. */
  get streamSid(): string | undefined {
    return this.#streamSid;
  }

  /** Whether the call is over (a `finish` command was issued). */
  get finished(): boolean {
    return this.#finished;
  }

  /** The call's turns, transcripts and token usage so far. */
  get conversation(): ConversationLog {
    return this.#conversation;
  }

  /** A copy of the call's counters. */
  get stats(): CallStats {
    return { ...this.#stats };
  }

  /**
   * Handles one input at time `now` (ms, monotonic) and returns the commands
   * to carry out, in order.
   */
  handle(input: CallInput, now: number): CallCommand[] {
    this.#now = now;
    this.#out = [];
    if (this.#finished) return this.#out; // late inputs after the end are expected
    switch (input.type) {
      case "begin":
        this.#out.push({ type: "open_openai", generation: this.#generation });
        this.#setTimer("openai_connect", this.#options.openaiConnectTimeoutMs);
        this.#setTimer("start_timeout", this.#options.startTimeoutMs);
        break;
      case "twilio_message":
        this.#onTwilio(input.message);
        break;
      case "twilio_closed":
        this.#finish("caller_hung_up", `Twilio media socket closed (code ${input.code}).`, "none");
        break;
      case "openai_open": {
        const generation = input.generation ?? this.#generation;
        if (generation === this.#generation && !this.#openaiOpen && this.#reconnect === undefined) {
          this.#onOpenAIOpen();
        } else if (generation === this.#pending?.generation) {
          this.#onPendingOpen();
        }
        break;
      }
      case "openai_event": {
        const generation = input.generation ?? this.#generation;
        if (generation === this.#generation && this.#openaiOpen) {
          this.#onOpenAI(input.event);
        } else if (input.event.type === "error") {
          this.#log("warning", "OpenAI reported an error on a session not in use.", {
            generation,
            code: input.event.code,
            message: input.event.message.slice(0, 300),
          });
        }
        break;
      }
      case "openai_closed":
        if (!input.opened) this.#observe({ kind: "openai_connect", ok: false });
        this.#onOpenAIClosed(input.generation ?? this.#generation, input);
        break;
      case "drain":
        if (input.immediate) {
          this.#finish("drained", "The server shut down.", "hang_up");
        } else this.#onDrain();
        break;
      case "timer":
        this.#onTimer(input.name);
        break;
      case "tool_result":
        this.#onToolResult(input.callId, input.output);
        break;
      case "refuse":
        this.#log("warning", "Refused the media stream: {reason}.", {
          reason: input.reason,
          code: input.code,
        });
        this.#finish("refused", `Refused: ${input.reason}.`, "close_stream", {
          code: input.code,
          reason: input.reason,
        });
        break;
      case "peer_stalled":
        this.#onPeerStalled(input.peer, input.bufferedBytes);
        break;
    }
    if (
      !this.#finished && this.#pending?.open && this.#reconnect === undefined &&
      this.#atTurnBoundary()
    ) {
      this.#switchSession("renewal");
    }
    return this.#out;
  }

  // ---- Twilio -------------------------------------------------------------

  #onTwilio(message: TwilioInbound): void {
    switch (message.event) {
      case "connected":
        return;
      case "start":
        if (this.#streamSid !== undefined) {
          this.#logOnce("second_start", "warning", "Ignored a second Twilio start message.");
          return;
        }
        this.#streamSid = message.streamSid;
        this.#callSid = message.callSid;
        this.#cancelTimer("start_timeout");
        this.#quietSince = this.#now;
        if (this.#options.maxCallMs > 0) this.#setTimer("max_duration", this.#options.maxCallMs);
        if (this.#options.callerIdleMs > 0) {
          this.#setTimer("caller_idle", this.#options.callerIdleMs);
        }
        this.#log("info", "Media stream started.", {
          encoding: message.encoding,
          sampleRate: message.sampleRate,
        });
        if (message.encoding !== "audio/x-mulaw" || message.sampleRate !== 8000) {
          this.#log(
            "warning",
            "Twilio announced an unexpected media format; audio is passed through as μ-law 8 kHz.",
            {
              encoding: message.encoding,
              sampleRate: message.sampleRate,
            },
          );
        }
        for (const d of this.#queuedDeltas) this.#forwardAudio(d.itemId, d.delta, d.responseId);
        this.#queuedDeltas = [];
        this.#maybeGreet();
        return;
      default:
        break;
    }
    if (this.#streamSid === undefined) {
      this.#logOnce("before_start", "debug", `Ignored Twilio ${message.event} before start.`);
      return;
    }
    if (message.streamSid !== this.#streamSid) {
      this.#logOnce("other_stream", "debug", `Ignored Twilio ${message.event} for another stream.`);
      return;
    }
    switch (message.event) {
      case "media":
        this.#onCallerAudio(message.payload);
        return;
      case "mark":
        this.#onMark(message.name);
        return;
      case "dtmf":
        this.#log("info", "Caller pressed a key.", { digit: message.digit });
        return;
      case "stop":
        this.#finish("caller_hung_up", "Twilio sent stop.", "none");
        return;
    }
  }

  #onCallerAudio(payload: string): void {
    this.#stats.framesIn++;
    if (this.#endCall !== undefined) return; // the farewell may not be interrupted
    if (!this.#openaiOpen) {
      this.#queuedFrames.push(payload);
      if (this.#queuedFrames.length > this.#options.maxQueuedFrames) {
        this.#queuedFrames.shift();
        this.#stats.droppedQueuedFrames++;
      }
      return;
    }
    this.#sendAudio(payload);
  }

  /** Sends one caller frame to the current session, remembering the turn in progress. */
  #sendAudio(payload: string): void {
    this.#sendOpenAI(encodeAppend(payload));
    this.#uncommitted.push(payload);
    if (this.#uncommitted.length > MAX_UNCOMMITTED_FRAMES) this.#uncommitted.shift();
  }

  #onMark(name: string): void {
    const position = this.#ledger.onMark(name, this.#now);
    if (position === undefined) {
      this.#logOnce(
        "unknown_mark",
        "debug",
        "Ignored a mark that is stale or was not sent by this call (logged once per call).",
        { mark: name.slice(0, 64) },
      );
      return;
    }
    if (name === this.#farewellMark && this.#endCall !== undefined) {
      this.#farewellMark = undefined;
      this.#endCall.stage = "grace";
      this.#cancelTimer("farewell_playback");
      this.#log("info", "Farewell finished playing; hanging up after the grace period.", {
        graceMs: this.#options.endCallGraceMs,
      });
      this.#setTimer("end_call_grace", this.#options.endCallGraceMs);
    }
  }

  // ---- OpenAI -------------------------------------------------------------

  #onOpenAIOpen(): void {
    this.#openaiOpen = true;
    this.#everOpened = true;
    this.#cancelTimer("openai_connect");
    this.#scheduleRenewal(this.#options.renewAfterMs);
    this.#sendOpenAI(this.#options.sessionUpdate);
    this.#observe({ kind: "openai_connect", ok: true });
    for (const payload of this.#queuedFrames) this.#sendAudio(payload);
    if (this.#queuedFrames.length > 0) {
      this.#log("debug", "Sent caller audio queued while OpenAI was connecting.", {
        frames: this.#queuedFrames.length,
      });
    }
    this.#queuedFrames = [];
    this.#maybeGreet();
  }

  #maybeGreet(): void {
    if (!this.#greetingPending || !this.#openaiOpen || this.#streamSid === undefined) return;
    this.#greetingPending = false;
    this.#requestResponse(encodeResponseCreate({
      instructions: greetingInstructions(this.#options.greeting ?? ""),
      toolChoice: "none",
    }));
  }

  #onOpenAI(event: ServerEvent): void {
    switch (event.type) {
      case "response.output_audio.delta":
        this.#onAudioDelta(event.responseId, event.itemId, event.delta);
        return;
      case "response.output_audio.done":
        if (this.#openAudioItem === event.itemId) {
          this.#openAudioItem = undefined;
          if (this.#streamSid !== undefined && !this.#droppedItems.has(event.itemId)) {
            this.#sendMark(this.#ledger.markNow());
          }
        }
        return;
      case "response.created":
        if (this.#lastCommit !== undefined) this.#lastCommit.answered = true;
        this.#turnAudio = [];
        this.#activeResponseId = event.responseId;
        this.#responseRequested = false;
        this.#stats.responses++;
        this.#observe({ kind: "response_started", responseId: event.responseId });
        if (this.#endCall?.stage === "farewell_requested" && !this.#endCall.farewellResponseId) {
          this.#endCall.farewellResponseId = event.responseId;
        }
        return;
      case "response.done":
        this.#onResponseDone(event);
        return;
      case "response.function_call_arguments.done":
        this.#onFunctionCall(event.responseId, event.callId, event.name, event.arguments);
        return;
      case "input_audio_buffer.speech_started":
        this.#callerSpeaking = true;
        this.#onSpeechStarted();
        return;
      case "input_audio_buffer.speech_stopped":
        this.#observe({ kind: "caller_speech_stopped" });
        this.#callerSpeaking = false;
        return;
      case "input_audio_buffer.committed":
        this.#callerSpeaking = false;
        this.#turnAudio = this.#uncommitted;
        this.#uncommitted = [];
        this.#lastCommit = { itemId: event.itemId, at: this.#now, answered: false, heard: false };
        this.#conversation.userItem(event.itemId, this.#now);
        return;
      case "conversation.item.input_audio_transcription.completed":
        if (this.#lastCommit?.itemId === event.itemId) this.#lastCommit.heard = true;
        this.#conversation.userTranscript(event.itemId, event.transcript);
        return;
      case "response.output_audio_transcript.done":
        this.#conversation.assistantItem(event.itemId, event.responseId, this.#now);
        this.#conversation.assistantTranscript(event.itemId, event.transcript);
        return;
      case "conversation.item.truncated":
        this.#log("debug", "OpenAI confirmed the truncate.", {
          itemId: event.itemId,
          audioEndMs: event.audioEndMs,
        });
        return;
      case "error":
        this.#onOpenAIError(event);
        return;
      default:
        return;
    }
  }

  #onAudioDelta(responseId: string, itemId: string, delta: string): void {
    if (this.#interruptedResponses.has(responseId) || this.#droppedItems.has(itemId)) {
      this.#stats.droppedLateDeltas++;
      return;
    }
    if (this.#endCall !== undefined && responseId === this.#endCall.farewellResponseId) {
      if (this.#endCall.stage === "farewell_requested") {
        this.#endCall.stage = "farewell_playing";
        this.#cancelTimer("end_call_watchdog");
      }
    }
    this.#sessionItems.add(itemId);
    if (this.#streamSid === undefined) {
      this.#queuedDeltas.push({ itemId, responseId, delta });
      return;
    }
    if (this.#openAudioItem !== itemId) {
      this.#conversation.assistantItem(itemId, responseId, this.#now);
    }
    this.#openAudioItem = itemId;
    this.#forwardAudio(itemId, delta, responseId);
  }

  #forwardAudio(itemId: string, delta: string, responseId: string): void {
    const streamSid = this.#streamSid as string;
    if (this.#observedAudioItem !== itemId) {
      this.#observedAudioItem = itemId;
      this.#observe({ kind: "assistant_audio_started", responseId, itemId });
    }
    this.#sendTwilio(encodeTwilioMedia(streamSid, delta));
    this.#stats.framesOut++;
    const mark = this.#ledger.addAudio(itemId, base64ByteLength(delta), this.#now);
    if (mark !== undefined) this.#sendMark(mark);
  }

  #sendMark(name: string): void {
    this.#sendTwilio(encodeTwilioMark(this.#streamSid as string, name));
  }

  #onResponseDone(
    event: Extract<ServerEvent, { type: "response.done" }>,
  ): void {
    if (this.#activeResponseId === event.responseId) this.#activeResponseId = undefined;
    this.#conversation.addUsage(event.usage);
    this.#quietSince = Math.max(
      this.#quietSince,
      this.#now + this.#ledger.snapshot(this.#now).pendingMs,
    );
    this.#observe({
      kind: "response_done",
      responseId: event.responseId,
      status: event.status,
      usage: parseUsage(event.usage),
    });
    if (event.status === "failed") {
      this.#log("error", "OpenAI response failed.", {
        responseId: event.responseId,
        code: event.errorCode,
      });
    }
    const endCall = this.#endCall;
    if (endCall !== undefined) {
      if (
        endCall.stage === "awaiting_tool_response_done" &&
        event.responseId === endCall.toolResponseId
      ) {
        this.#requestFarewell();
      } else if (
        event.responseId === endCall.farewellResponseId &&
        (endCall.stage === "farewell_playing" || endCall.stage === "farewell_requested")
      ) {
        this.#farewellDone();
      }
    }
    this.#flushPendingResponse();
  }

  /** The farewell's audio is all there: wait for it to play, then hang up. */
  #farewellDone(): void {
    const endCall = this.#endCall;
    if (endCall === undefined) return;
    this.#cancelTimer("end_call_watchdog");
    if (this.#ledger.sentMs > 0 && this.#streamSid !== undefined) {
      endCall.stage = "farewell_draining";
      this.#farewellMark = this.#ledger.markNow();
      this.#sendMark(this.#farewellMark);
      const pending = this.#ledger.snapshot(this.#now).pendingMs;
      // If Twilio never echoes the final mark, do not wait forever.
      this.#setTimer("farewell_playback", Math.ceil(pending) + 5000);
    } else {
      endCall.stage = "grace";
      this.#setTimer("end_call_grace", this.#options.endCallGraceMs);
    }
  }

  #onFunctionCall(responseId: string, callId: string, name: string, args: string): void {
    this.#stats.toolCalls++;
    this.#observe({ kind: "tool_call", name });
    this.#conversation.functionCall(callId, name, args, this.#now);
    const ending = name === END_CALL_TOOL
      ? ENDING_BY_TOOL.end_call
      : name === TRANSFER_CALL_TOOL && this.#options.transferEnabled
      ? ENDING_BY_TOOL.transfer_call
      : undefined;
    if (ending !== undefined) {
      if (this.#endCall !== undefined) {
        this.#sendToolOutput(callId, { ok: true, note: "already ending" });
        return;
      }
      this.#log("info", ending.logMessage, { reason: reasonOf(args) });
      this.#sendToolOutput(callId, { ok: true });
      this.#wrapUp(ending, responseId);
      return;
    }
    if (!this.#options.customTools.includes(name)) {
      this.#log("warning", "The model called an unknown tool.", { tool: name });
      this.#sendToolOutput(callId, {
        error: `Unknown tool "${name}". Do not call it again.`,
      });
      this.#requestResponse(encodeResponseCreate());
      return;
    }
    this.#pendingToolCalls.add(callId);
    this.#out.push({ type: "run_tool", callId, name, arguments: args });
  }

  #onToolResult(callId: string, output: unknown): void {
    if (!this.#pendingToolCalls.delete(callId)) return;
    this.#sendToolOutput(callId, output);
    if (this.#endCall === undefined) this.#requestResponse(encodeResponseCreate());
  }

  #requestFarewell(): void {
    if (this.#endCall === undefined) return;
    this.#endCall.stage = "farewell_requested";
    this.#requestResponse(
      encodeResponseCreate({ instructions: this.#endCall.instructions, toolChoice: "none" }),
    );
  }

  /**
   * Ends the call politely: the assistant says one last sentence (a goodbye,
   * or that the call is being transferred), then the call ends once Twilio has
   * played it. Used by `end_call`, `transfer_call`, the time limit, the idle
   * caller and the drain. After a tool call (`afterResponseId`), the farewell
   * is requested once the tool's response is done.
   */
  #wrapUp(ending: Ending, afterResponseId?: string): void {
    if (this.#endCall !== undefined) return;
    const waiting = afterResponseId !== undefined && this.#activeResponseId === afterResponseId;
    this.#endCall = {
      stage: waiting ? "awaiting_tool_response_done" : "farewell_requested",
      toolResponseId: afterResponseId ?? "",
      instructions: ending.instructions,
      reason: ending.reason,
      outcome: ending.outcome,
    };
    this.#abandonRenewal();
    // Stop feeding caller audio so voice activity cannot cancel the farewell.
    this.#uncommitted = [];
    this.#sendOpenAI(encodeInputClear());
    this.#setTimer("end_call_watchdog", this.#options.endCallWatchdogMs);
    if (!waiting) this.#requestFarewell();
  }

  /** Ends the call after its farewell (or when the farewell cannot be confirmed). */
  #finishEnding(reason: string): void {
    const outcome = this.#endCall?.outcome ?? "assistant_ended";
    if (outcome === "transferred") {
      // Twilio goes on to the <Connect action> URL, which answers <Dial> to the transfer number.
      this.#finish(outcome, reason, "close_stream", {
        code: 1000,
        reason: "transferring the call",
      });
    } else {
      this.#finish(outcome, reason, "hang_up");
    }
  }

  /** Sends `response.create` now, or after the active response is done. */
  #requestResponse(encoded: string): void {
    this.#pendingResponse = encoded;
    this.#flushPendingResponse();
  }

  #flushPendingResponse(): void {
    if (this.#pendingResponse === undefined || this.#pendingToolCalls.size > 0) return;
    if (!this.#openaiOpen) return; // sent once a session is back
    if (this.#activeResponseId !== undefined || this.#responseRequested) return;
    this.#lastRequestedResponse = this.#pendingResponse;
    this.#pendingResponse = undefined;
    this.#responseRequested = true;
    this.#sendOpenAI(this.#lastRequestedResponse);
  }

  #onSpeechStarted(): void {
    this.#quietSince = Math.max(this.#quietSince, this.#now);
    if (this.#endCall !== undefined) {
      this.#log("debug", "Caller speech during the farewell is ignored.");
      return;
    }
    if (!this.#options.interruptResponse) return;
    if (this.#activeResponseId !== undefined) {
      // The server cancels the response itself; drop its deltas still in flight.
      remember(this.#interruptedResponses, this.#activeResponseId);
    }
    const snap = this.#ledger.snapshot(this.#now);
    const current = snap.current;
    const currentOpen = current !== undefined && current.itemId === this.#openAudioItem;
    const playing = snap.pendingMs > 0 || currentOpen;
    const math = {
      anchorMs: snap.anchorMs,
      sinceAnchorMs: Math.round(snap.sinceAnchorMs),
      pendingMs: Math.round(snap.pendingMs),
      itemId: current?.itemId,
      heardMs: current?.audioEndMs,
      sentMs: current?.sentMs,
    };
    if (!playing || current === undefined || this.#streamSid === undefined) {
      this.#log(
        this.#options.showTimingMath ? "info" : "debug",
        "Caller started speaking; nothing is playing.",
        math,
      );
      return;
    }
    this.#stats.bargeIns++;
    this.#sendTwilio(encodeTwilioClear(this.#streamSid));
    this.#ledger.clear();
    this.#openAudioItem = undefined;
    const truncates = [current, ...snap.unheard];
    const truncatesBefore = this.#stats.truncates;
    for (const item of truncates) {
      remember(this.#droppedItems, item.itemId);
      if (item === current && !currentOpen && item.audioEndMs >= Math.floor(item.sentMs)) continue;
      if (!this.#sessionItems.has(item.itemId)) {
        // An item of a previous session: the new session does not know it.
        this.#conversation.assistantTruncated(item.itemId, item.audioEndMs, item.sentMs);
        continue;
      }
      this.#stats.truncates++;
      const audioEndMs = Math.min(item.audioEndMs, Math.floor(item.sentMs));
      this.#conversation.assistantTruncated(item.itemId, audioEndMs, item.sentMs);
      this.#sendOpenAI(encodeTruncate(item.itemId, audioEndMs));
    }
    this.#observe({ kind: "barge_in", truncates: this.#stats.truncates - truncatesBefore });
    this.#log(
      this.#options.showTimingMath ? "info" : "debug",
      "Barge-in: cleared Twilio playback and truncated the assistant item.",
      {
        ...math,
        unheardItems: snap.unheard.map((u) => u.itemId),
      },
    );
  }

  #onOpenAIError(event: Extract<ServerEvent, { type: "error" }>): void {
    this.#stats.openaiErrors++;
    this.#observe({
      kind: "openai_error",
      code: event.code ?? "unknown",
      truncateRejected: this.#stats.truncates > 0 && isTruncateError(event),
    });
    this.#log("warning", "OpenAI reported an error.", {
      code: event.code,
      errorType: event.errorType,
      param: event.param,
      message: event.message.slice(0, 300),
    });
    if (
      event.code === "conversation_already_has_active_response" &&
      this.#lastRequestedResponse !== undefined
    ) {
      // Our last response.create lost a race with a server-created response: retry after it.
      this.#responseRequested = false;
      this.#pendingResponse ??= this.#lastRequestedResponse;
      this.#lastRequestedResponse = undefined;
    }
  }

  // ---- session renewal and reconnects -------------------------------------

  #scheduleRenewal(delayMs: number): void {
    if (this.#options.renewAfterMs > 0) this.#setTimer("session_renew", delayMs);
  }

  #openNewSession(): number {
    const generation = ++this.#lastGeneration;
    this.#pending = { generation, open: false };
    this.#out.push({ type: "open_openai", generation });
    return generation;
  }

  #startRenewal(): void {
    if (this.#pending !== undefined || this.#reconnect !== undefined || !this.#openaiOpen) return;
    if (this.#endCall !== undefined) return; // the call is ending anyway
    const generation = this.#openNewSession();
    this.#log("info", "Renewing the OpenAI Realtime session before it expires.", {
      generation,
      switchWaitMs: this.#options.switchWaitMs,
    });
    this.#setTimer("session_switch_wait", this.#options.switchWaitMs);
  }

  #onPendingOpen(): void {
    const pending = this.#pending;
    if (pending === undefined) return;
    pending.open = true;
    this.#out.push({
      type: "send_openai",
      data: this.#options.sessionUpdate,
      generation: pending.generation,
    });
    if (this.#reconnect !== undefined) this.#switchSession("reconnect");
    // Renewal: the switch happens at the next turn boundary (see handle()).
  }

  /** The call is ending: no renewal (a reconnect still may bring the goodbye). */
  #abandonRenewal(): void {
    this.#cancelTimer("session_renew");
    if (this.#pending === undefined || this.#reconnect !== undefined) return;
    this.#cancelTimer("session_switch_wait");
    this.#closeSession(this.#pending.generation, "call ending");
    this.#pending = undefined;
  }

  #onSwitchWait(): void {
    const pending = this.#pending;
    if (pending === undefined || this.#reconnect !== undefined) return;
    if (pending.open) {
      this.#log("warning", "No turn boundary in time; switching Realtime sessions now.", {
        switchWaitMs: this.#options.switchWaitMs,
      });
      this.#switchSession("renewal");
      return;
    }
    this.#log("warning", "The new Realtime session did not open in time; renewal retried later.", {
      generation: pending.generation,
      retryMs: RENEW_RETRY_MS,
    });
    this.#closeSession(pending.generation, "renewal timed out");
    this.#pending = undefined;
    this.#scheduleRenewal(RENEW_RETRY_MS);
  }

  /**
   * No response playing or streaming, caller not speaking, the caller's last
   * turn answered and transcribed, nothing in flight.
   */
  #atTurnBoundary(): boolean {
    const commit = this.#lastCommit;
    if (
      commit !== undefined && (!commit.answered || !commit.heard) &&
      this.#now - commit.at < TURN_SETTLE_MS
    ) {
      return false;
    }
    return this.#endCall === undefined && this.#activeResponseId === undefined &&
      !this.#responseRequested && this.#pendingResponse === undefined &&
      this.#pendingToolCalls.size === 0 && this.#openAudioItem === undefined &&
      !this.#callerSpeaking && this.#ledger.snapshot(this.#now).pendingMs <= 0;
  }

  /** Makes the pending session the call's session: replay, queued audio, resume. */
  #switchSession(reason: "renewal" | "reconnect"): void {
    const pending = this.#pending;
    if (pending === undefined || !pending.open) return;
    const old = this.#generation;
    const oldAlive = this.#openaiOpen;
    const resume = this.#reconnect?.resume === true ||
      (oldAlive && (this.#activeResponseId !== undefined || this.#responseRequested));
    this.#pending = undefined;
    this.#reconnect = undefined;
    this.#generation = pending.generation;
    this.#openaiOpen = true;
    this.#everOpened = true;
    this.#cancelTimer("session_switch_wait");
    this.#cancelTimer("reconnect_retry");
    this.#cancelTimer("reconnect_deadline");
    this.#cancelTimer("openai_connect");
    if (oldAlive) this.#closeSession(old, "session renewed");
    if (oldAlive && this.#callerSpeaking) {
      // Forced switch mid-turn: the new session hears the whole turn.
      this.#queuedFrames = [...this.#uncommitted, ...this.#queuedFrames];
    }
    this.#resetSessionState();
    const replay = buildReplayEvents(this.#conversation.entries);
    for (const event of replay) this.#sendOpenAI(event);
    this.#uncommitted = [];
    this.#turnAudio = [];
    for (const payload of this.#queuedFrames) this.#sendAudio(payload);
    const queued = this.#queuedFrames.length;
    this.#queuedFrames = [];
    if (reason === "renewal") this.#stats.sessionRenewals++;
    else this.#stats.reconnects++;
    this.#observe({ kind: reason === "renewal" ? "session_renewed" : "openai_reconnected" });
    this.#log("info", "Switched to a new OpenAI Realtime session.", {
      reason,
      generation: this.#generation,
      replayedItems: replay.length,
      queuedFrames: queued,
    });
    this.#scheduleRenewal(this.#options.renewAfterMs);
    const endCall = this.#endCall;
    if (endCall !== undefined) {
      if (endCall.stage !== "grace" && endCall.stage !== "farewell_draining") {
        this.#pendingResponse = undefined;
        this.#requestFarewell();
      }
    } else if (resume) {
      this.#requestResponse(this.#pendingResponse ?? encodeResponseCreate());
    } else {
      this.#flushPendingResponse();
    }
    this.#maybeGreet();
  }

  /** Forgets the per-session response state (the new session starts idle). */
  #resetSessionState(): void {
    if (this.#activeResponseId !== undefined) {
      remember(this.#interruptedResponses, this.#activeResponseId);
    }
    this.#activeResponseId = undefined;
    this.#responseRequested = false;
    this.#lastRequestedResponse = undefined;
    this.#callerSpeaking = false;
    this.#lastCommit = undefined;
    this.#sessionItems.clear();
    if (this.#openAudioItem !== undefined) {
      // No more audio will come for it: close its playback with a mark.
      this.#openAudioItem = undefined;
      if (this.#streamSid !== undefined && this.#ledger.sentMs > 0) {
        this.#sendMark(this.#ledger.markNow());
      }
    }
  }

  #closeSession(generation: number, reason: string): void {
    this.#out.push({ type: "close_openai", generation, code: 1000, reason });
  }

  #onOpenAIClosed(
    generation: number,
    input: { code: number; reason: string; opened: boolean },
  ): void {
    const details = { code: input.code, reason: input.reason, generation };
    if (generation === this.#pending?.generation) {
      this.#pending = undefined;
      if (this.#reconnect !== undefined) {
        this.#log("warning", "Reconnecting to OpenAI Realtime failed.", details);
        this.#scheduleReconnect();
      } else {
        this.#log(
          "warning",
          "The renewal session closed before the switch; retrying later.",
          details,
        );
        this.#cancelTimer("session_switch_wait");
        this.#scheduleRenewal(RENEW_RETRY_MS);
      }
      return;
    }
    if (generation !== this.#generation || this.#reconnect !== undefined) return; // an old session
    const wasOpen = this.#openaiOpen;
    this.#openaiOpen = false;
    const stage = this.#endCall?.stage;
    if (stage === "grace" || stage === "farewell_draining" || stage === "farewell_playing") {
      this.#log(
        "info",
        "OpenAI socket closed while the call is ending; finishing without it.",
        details,
      );
      this.#openAudioItem = undefined;
      if (stage === "farewell_playing") this.#farewellDone();
      return;
    }
    if (this.#options.reconnectWindowMs <= 0) {
      this.#log(
        "error",
        input.opened
          ? "OpenAI Realtime socket closed unexpectedly; ending the call with an apology."
          : "Could not connect to the OpenAI Realtime API; ending the call with an apology. Check OPENAI_API_KEY and OPENAI_REALTIME_URL.",
        details,
      );
      this.#finish("openai_error", `OpenAI socket closed (code ${input.code}).`, "close_stream");
      return;
    }
    this.#log(
      "warning",
      input.opened
        ? "OpenAI Realtime socket closed; reconnecting and replaying the conversation."
        : this.#everOpened
        ? "OpenAI Realtime socket failed; reconnecting."
        : "Could not connect to the OpenAI Realtime API; retrying. Check OPENAI_API_KEY and OPENAI_REALTIME_URL if this persists.",
      { ...details, windowMs: this.#options.reconnectWindowMs },
    );
    // A turn the model had not started answering: if its words are known, the replay carries
    // them and the new session is asked to answer; else its audio is sent again.
    const commit = wasOpen ? this.#lastCommit : undefined;
    const unanswered = commit !== undefined && !commit.answered;
    const resume = wasOpen &&
      (this.#activeResponseId !== undefined || this.#responseRequested ||
        (unanswered && commit.heard));
    const lost = unanswered && !commit.heard ? [...this.#turnAudio, ...this.#uncommitted] : [
      ...this.#uncommitted,
    ];
    if (wasOpen) this.#resetSessionState();
    // The caller's unfinished turn went down with the session: send it again, then what follows.
    this.#queuedFrames = [...lost, ...this.#queuedFrames].slice(-this.#options.maxQueuedFrames);
    this.#uncommitted = [];
    this.#turnAudio = [];
    this.#reconnect = { attempts: 0, resume };
    if (this.#pending?.open) {
      this.#switchSession("reconnect"); // a renewal session is ready: use it
      return;
    }
    this.#setTimer("reconnect_deadline", this.#options.reconnectWindowMs);
    if (this.#pending === undefined) this.#attemptReconnect();
  }

  #scheduleReconnect(): void {
    const reconnect = this.#reconnect;
    if (reconnect === undefined) return;
    if (reconnect.attempts >= MAX_RECONNECT_ATTEMPTS) {
      this.#log(
        "error",
        "Gave up reconnecting to OpenAI Realtime; ending the call with an apology.",
        {
          attempts: reconnect.attempts,
        },
      );
      this.#finish("openai_error", "OpenAI reconnect failed.", "close_stream");
      return;
    }
    this.#setTimer("reconnect_retry", reconnectDelayMs(reconnect.attempts + 1));
  }

  #attemptReconnect(): void {
    const reconnect = this.#reconnect;
    if (reconnect === undefined || this.#pending !== undefined) return;
    reconnect.attempts++;
    const generation = this.#openNewSession();
    this.#log("info", "Opening a new OpenAI Realtime session.", {
      generation,
      attempt: reconnect.attempts,
    });
  }

  // ---- drain --------------------------------------------------------------

  #onDrain(): void {
    if (this.#endCall !== undefined) return; // already saying goodbye
    if (this.#streamSid === undefined || !this.#openaiOpen) {
      this.#finish("drained", "The server is shutting down.", "hang_up");
      return;
    }
    this.#log("info", "The server is shutting down; saying goodbye to the caller.");
    this.#wrapUp({
      instructions: DRAIN_FAREWELL_INSTRUCTIONS,
      reason: "The server shut down.",
      outcome: "drained",
    });
  }

  // ---- timers and ending --------------------------------------------------

  #onTimer(name: TimerName): void {
    switch (name) {
      case "openai_connect":
        if (!this.#openaiOpen) {
          this.#observe({ kind: "openai_connect", ok: false });
          this.#log(
            "error",
            "OpenAI Realtime did not answer in time; ending the call with an apology.",
            {
              timeoutMs: this.#options.openaiConnectTimeoutMs,
            },
          );
          this.#finish("openai_error", "OpenAI connect timeout.", "close_stream");
        }
        return;
      case "end_call_watchdog":
        this.#log("warning", "Farewell audio did not start in time; hanging up anyway.", {
          watchdogMs: this.#options.endCallWatchdogMs,
        });
        this.#finishEnding("end_call watchdog.");
        return;
      case "farewell_playback":
        this.#log("warning", "Twilio did not confirm the end of the farewell; hanging up.");
        this.#finishEnding("Farewell playback timeout.");
        return;
      case "end_call_grace":
        this.#finishEnding(this.#endCall?.reason ?? "The assistant ended the call.");
        return;
      case "start_timeout":
        if (this.#streamSid === undefined) {
          this.#log("warning", "Twilio sent no start message in time; closing the stream.", {
            timeoutMs: this.#options.startTimeoutMs,
          });
          this.#finish("refused", "No start message.", "close_stream", {
            code: 1008,
            reason: "no start message",
          });
        }
        return;
      case "max_duration":
        if (this.#endCall !== undefined) return;
        this.#log("info", "The call reached its maximum duration; the assistant wraps up.", {
          maxCallMs: this.#options.maxCallMs,
        });
        this.#wrapUp({
          instructions: TIME_LIMIT_INSTRUCTIONS,
          reason: "Maximum call duration reached.",
          outcome: "assistant_ended",
        });
        return;
      case "caller_idle":
        this.#onIdleCheck();
        return;
      case "session_renew":
        this.#startRenewal();
        return;
      case "session_switch_wait":
        this.#onSwitchWait();
        return;
      case "reconnect_retry":
        this.#attemptReconnect();
        return;
      case "reconnect_deadline":
        this.#log(
          "error",
          "Could not get a working OpenAI Realtime session back in time; ending the call with an apology.",
          {
            windowMs: this.#options.reconnectWindowMs,
            attempts: this.#reconnect?.attempts ?? 0,
          },
        );
        this.#finish("openai_error", "OpenAI reconnect failed.", "close_stream");
        return;
    }
  }

  #onIdleCheck(): void {
    const idleMs = this.#options.callerIdleMs;
    if (this.#endCall !== undefined || idleMs <= 0) return;
    const assistantBusy = this.#activeResponseId !== undefined || this.#responseRequested ||
      this.#pendingToolCalls.size > 0;
    const dueAt = this.#quietSince + idleMs;
    if (assistantBusy || this.#now < dueAt) {
      this.#setTimer("caller_idle", assistantBusy ? idleMs : Math.ceil(dueAt - this.#now));
      return;
    }
    this.#log("info", "The caller has been silent too long; the assistant wraps up.", {
      idleMs,
    });
    this.#wrapUp({
      instructions: IDLE_INSTRUCTIONS,
      reason: "Caller idle timeout.",
      outcome: "assistant_ended",
    });
  }

  #onPeerStalled(peer: "twilio" | "openai", bufferedBytes: number): void {
    const twilio = peer === "twilio";
    this.#log(
      "error",
      twilio
        ? "Twilio stopped reading the media stream; hanging up instead of buffering without bound."
        : "OpenAI stopped reading the Realtime socket; ending the call with an apology instead of buffering without bound.",
      { bufferedBytes },
    );
    if (twilio) {
      this.#finish(
        "bridge_error",
        `Twilio media socket stalled (${bufferedBytes} bytes buffered).`,
        "hang_up",
      );
    } else {
      this.#finish(
        "openai_error",
        `OpenAI socket stalled (${bufferedBytes} bytes buffered).`,
        "close_stream",
      );
    }
  }

  #finish(
    outcome: CallOutcome,
    reason: string,
    action: "hang_up" | "close_stream" | "none",
    close?: { code: number; reason: string },
  ): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#queuedFrames = [];
    this.#queuedDeltas = [];
    this.#log("info", "Call finished.", { outcome, reason, ...this.#stats });
    this.#out.push(
      close === undefined
        ? { type: "finish", outcome, reason, action }
        : { type: "finish", outcome, reason, action, close },
    );
  }

  // ---- helpers ------------------------------------------------------------

  #sendToolOutput(callId: string, output: unknown): void {
    this.#conversation.functionCallOutput(callId, JSON.stringify(output), this.#now);
    this.#sendOpenAI(encodeFunctionCallOutput(callId, output));
  }

  #sendTwilio(data: string): void {
    this.#out.push({ type: "send_twilio", data });
  }

  #sendOpenAI(data: string): void {
    this.#out.push({ type: "send_openai", data, generation: this.#generation });
  }

  #setTimer(name: TimerName, delayMs: number): void {
    this.#out.push({ type: "set_timer", name, delayMs });
  }

  #cancelTimer(name: TimerName): void {
    this.#out.push({ type: "cancel_timer", name });
  }

  #logOnce(
    key: string,
    level: CoreLogLevel,
    message: string,
    properties?: Record<string, unknown>,
  ): void {
    if (this.#loggedOnce.has(key)) return;
    this.#loggedOnce.add(key);
    this.#log(level, message, properties);
  }

  #observe(event: CallObservation): void {
    if (this.#options.observations) this.#out.push({ type: "observe", event });
  }

  #log(level: CoreLogLevel, message: string, properties?: Record<string, unknown>): void {
    this.#out.push(
      properties === undefined
        ? { type: "log", level, message }
        : { type: "log", level, message, properties },
    );
  }
}

/**
 * Whether an OpenAI `error` answers a `conversation.item.truncate`: the only
 * event the bridge sends with `item_id`/`content_index`/`audio_end_ms`, and the
 * live API's wording for a truncate beyond the audio ("Audio content of … is
 * already shorter than …").
 */
function isTruncateError(event: Extract<ServerEvent, { type: "error" }>): boolean {
  return event.param === "audio_end_ms" || event.param === "item_id" ||
    event.param === "content_index" || /truncat|audio content/i.test(event.message);
}

function reasonOf(args: string): string | undefined {
  try {
    const parsed = JSON.parse(args);
    return typeof parsed?.reason === "string" ? parsed.reason.slice(0, 200) : undefined;
  } catch {
    return undefined;
  }
}
