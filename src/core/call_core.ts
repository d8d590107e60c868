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
import { END_CALL_TOOL } from "../tools/tool_registry.ts";
import {
  encodeTwilioClear,
  encodeTwilioMark,
  encodeTwilioMedia,
  type TwilioInbound,
} from "../twilio/media_stream_messages.ts";
import type { CallCommand, CallInput, CallOutcome, CoreLogLevel, TimerName } from "./call_types.ts";
import { PlaybackLedger } from "./playback_ledger.ts";

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
}

type EndCallStage =
  | "awaiting_tool_response_done"
  | "farewell_requested"
  | "farewell_playing"
  | "farewell_draining"
  | "grace";

const FAREWELL_INSTRUCTIONS =
  "The caller is ending the call. Say one short, warm goodbye sentence, then stop. Do not ask any question.";
const MAX_REMEMBERED_IDS = 64;

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
 * import { CallCore } from "./call_core.ts";
 * const core = new CallCore({ sessionUpdate: '{"type":"session.update","session":{"type":"realtime"}}' });
 * core.handle({ type: "begin" }, 0);
 * const commands = core.handle({ type: "openai_open" }, 5);
 * if (commands[0].type !== "send_openai") throw new Error("session.update goes first");
 * ```
 */
export class CallCore {
  #options: Required<Omit<CallCoreOptions, "greeting">> & { greeting: string | undefined };
  #out: CallCommand[] = [];
  #now = 0;
  #ledger: PlaybackLedger;

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

  #endCall:
    | { stage: EndCallStage; toolResponseId: string; farewellResponseId?: string }
    | undefined;
  #farewellMark: string | undefined;
  #finished = false;
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
        this.#setTimer("openai_connect", this.#options.openaiConnectTimeoutMs);
        break;
      case "twilio_message":
        this.#onTwilio(input.message);
        break;
      case "twilio_closed":
        this.#finish("caller_hung_up", `Twilio media socket closed (code ${input.code}).`, "none");
        break;
      case "openai_open":
        this.#onOpenAIOpen();
        break;
      case "openai_event":
        this.#onOpenAI(input.event);
        break;
      case "openai_closed":
        this.#log(
          "error",
          input.opened
            ? "OpenAI Realtime socket closed unexpectedly; ending the call with an apology."
            : "Could not connect to the OpenAI Realtime API; ending the call with an apology. Check OPENAI_API_KEY and OPENAI_REALTIME_URL.",
          { code: input.code, reason: input.reason },
        );
        this.#finish("openai_error", `OpenAI socket closed (code ${input.code}).`, "close_stream");
        break;
      case "timer":
        this.#onTimer(input.name);
        break;
      case "tool_result":
        this.#onToolResult(input.callId, input.output);
        break;
      case "peer_stalled":
        this.#onPeerStalled(input.peer, input.bufferedBytes);
        break;
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
          this.#log("warning", "Ignored a second Twilio start message.");
          return;
        }
        this.#streamSid = message.streamSid;
        this.#callSid = message.callSid;
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
        for (const d of this.#queuedDeltas) this.#forwardAudio(d.itemId, d.delta);
        this.#queuedDeltas = [];
        this.#maybeGreet();
        return;
      default:
        break;
    }
    if (this.#streamSid === undefined) {
      this.#log("debug", `Ignored Twilio ${message.event} before start.`);
      return;
    }
    if (message.streamSid !== this.#streamSid) {
      this.#log("debug", `Ignored Twilio ${message.event} for another stream.`);
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
    this.#sendOpenAI(encodeAppend(payload));
  }

  #onMark(name: string): void {
    const position = this.#ledger.onMark(name, this.#now);
    if (position === undefined) {
      this.#log("debug", "Ignored a mark that is stale or was not sent by this call.", {
        mark: name,
      });
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
    this.#cancelTimer("openai_connect");
    this.#sendOpenAI(this.#options.sessionUpdate);
    for (const payload of this.#queuedFrames) this.#sendOpenAI(encodeAppend(payload));
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
        this.#activeResponseId = event.responseId;
        this.#responseRequested = false;
        this.#stats.responses++;
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
        this.#onSpeechStarted();
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
    if (this.#streamSid === undefined) {
      this.#queuedDeltas.push({ itemId, responseId, delta });
      return;
    }
    this.#openAudioItem = itemId;
    this.#forwardAudio(itemId, delta);
  }

  #forwardAudio(itemId: string, delta: string): void {
    const streamSid = this.#streamSid as string;
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
    }
    this.#flushPendingResponse();
  }

  #onFunctionCall(responseId: string, callId: string, name: string, args: string): void {
    this.#stats.toolCalls++;
    if (name === END_CALL_TOOL) {
      if (this.#endCall !== undefined) {
        this.#sendOpenAI(encodeFunctionCallOutput(callId, { ok: true, note: "already ending" }));
        return;
      }
      this.#log("info", "The assistant is ending the call.", { reason: reasonOf(args) });
      this.#endCall = { stage: "awaiting_tool_response_done", toolResponseId: responseId };
      this.#sendOpenAI(encodeFunctionCallOutput(callId, { ok: true }));
      // Stop feeding caller audio so voice activity cannot cancel the farewell.
      this.#sendOpenAI(encodeInputClear());
      this.#setTimer("end_call_watchdog", this.#options.endCallWatchdogMs);
      if (this.#activeResponseId !== responseId) this.#requestFarewell();
      return;
    }
    if (!this.#options.customTools.includes(name)) {
      this.#log("warning", "The model called an unknown tool.", { tool: name });
      this.#sendOpenAI(encodeFunctionCallOutput(callId, {
        error: `Unknown tool "${name}". Do not call it again.`,
      }));
      this.#requestResponse(encodeResponseCreate());
      return;
    }
    this.#pendingToolCalls.add(callId);
    this.#out.push({ type: "run_tool", callId, name, arguments: args });
  }

  #onToolResult(callId: string, output: unknown): void {
    if (!this.#pendingToolCalls.delete(callId)) return;
    this.#sendOpenAI(encodeFunctionCallOutput(callId, output));
    if (this.#endCall === undefined) this.#requestResponse(encodeResponseCreate());
  }

  #requestFarewell(): void {
    if (this.#endCall === undefined) return;
    this.#endCall.stage = "farewell_requested";
    this.#requestResponse(
      encodeResponseCreate({ instructions: FAREWELL_INSTRUCTIONS, toolChoice: "none" }),
    );
  }

  /** Sends `response.create` now, or after the active response is done. */
  #requestResponse(encoded: string): void {
    this.#pendingResponse = encoded;
    this.#flushPendingResponse();
  }

  #flushPendingResponse(): void {
    if (this.#pendingResponse === undefined || this.#pendingToolCalls.size > 0) return;
    if (this.#activeResponseId !== undefined || this.#responseRequested) return;
    this.#lastRequestedResponse = this.#pendingResponse;
    this.#pendingResponse = undefined;
    this.#responseRequested = true;
    this.#sendOpenAI(this.#lastRequestedResponse);
  }

  #onSpeechStarted(): void {
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
    for (const item of truncates) {
      remember(this.#droppedItems, item.itemId);
      if (item === current && !currentOpen && item.audioEndMs >= Math.floor(item.sentMs)) continue;
      this.#stats.truncates++;
      this.#sendOpenAI(
        encodeTruncate(item.itemId, Math.min(item.audioEndMs, Math.floor(item.sentMs))),
      );
    }
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

  // ---- timers and ending --------------------------------------------------

  #onTimer(name: TimerName): void {
    switch (name) {
      case "openai_connect":
        if (!this.#openaiOpen) {
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
        this.#finish("assistant_ended", "end_call watchdog.", "hang_up");
        return;
      case "farewell_playback":
        this.#log("warning", "Twilio did not confirm the end of the farewell; hanging up.");
        this.#finish("assistant_ended", "Farewell playback timeout.", "hang_up");
        return;
      case "end_call_grace":
        this.#finish("assistant_ended", "The assistant ended the call.", "hang_up");
        return;
    }
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

  #finish(outcome: CallOutcome, reason: string, action: "hang_up" | "close_stream" | "none"): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#queuedFrames = [];
    this.#queuedDeltas = [];
    this.#log("info", "Call finished.", { outcome, reason, ...this.#stats });
    this.#out.push({ type: "finish", outcome, reason, action });
  }

  // ---- helpers ------------------------------------------------------------

  #sendTwilio(data: string): void {
    this.#out.push({ type: "send_twilio", data });
  }

  #sendOpenAI(data: string): void {
    this.#out.push({ type: "send_openai", data });
  }

  #setTimer(name: TimerName, delayMs: number): void {
    this.#out.push({ type: "set_timer", name, delayMs });
  }

  #cancelTimer(name: TimerName): void {
    this.#out.push({ type: "cancel_timer", name });
  }

  #log(level: CoreLogLevel, message: string, properties?: Record<string, unknown>): void {
    this.#out.push(
      properties === undefined
        ? { type: "log", level, message }
        : { type: "log", level, message, properties },
    );
  }
}

function reasonOf(args: string): string | undefined {
  try {
    const parsed = JSON.parse(args);
    return typeof parsed?.reason === "string" ? parsed.reason.slice(0, 200) : undefined;
  } catch {
    return undefined;
  }
}
