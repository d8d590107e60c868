/**
 * The sans-IO call core: one phone call as a small coordinator over
 * collaborators that each own their state.
 *
 * - {@link SessionLifecycle} (`session_lifecycle.ts`): connecting, open,
 *   renewing, reconnecting — which OpenAI session the call talks to.
 * - {@link AssistantAudio} (`assistant_audio.ts`): assistant audio to the
 *   caller, marks and barge-in, over the playback ledger.
 * - {@link Responses} (`responses.ts`): responses and tool calls in flight.
 * - {@link CallEnding} (`call_ending.ts`): the farewell and hang-up of every
 *   ending.
 * - {@link CallerTurn} (`caller_turn.ts`): the caller's turn audio.
 *
 * The coordinator routes each input to them and holds the rules that span
 * several: a turn boundary (ending idle, responses idle, audio idle, turn
 * settled) lets a renewal switch sessions; a switch replays the conversation
 * and resumes what the caller is owed. Inputs carry the current time;
 * commands come out typed (`to_openai`, `to_twilio`, timers, …) for the call
 * runner to carry out.
 *
 * @module
 */
import { flushResponse, requestResponse } from "./response_requests.ts";
import { appendAudio } from "../openai/client_events.ts";
import type { Base64 } from "../audio/base64.ts";
import type { ServerEvent } from "../openai/server_events.ts";
import type { TwilioInbound } from "../twilio/media_stream_messages.ts";
import type { CallCoreOptions, CallStats } from "./call_core_options.ts";
import { type CallParts, callStats, createCallParts } from "./call_parts.ts";
import {
  type CallCommand,
  type CallInput,
  type CallTimer,
  isEndingTimer,
  isSessionTimer,
  type TimerName,
} from "./call_types.ts";
import type { ConversationLog } from "./conversation_log.ts";
import { parseUsage } from "./conversation_log.ts";
import { classifyAnsweredBy } from "./answering_machine.ts";
import { bargeIn } from "./barge_in.ts";
import { Interruptions } from "./interruptions.ts";
import { SessionHandover } from "./session_handover.ts";
import type { LiveSession, SessionState } from "./session_lifecycle.ts";
import type { EndingState } from "./call_ending.ts";
import { ToolCalls } from "./tool_calls.ts";
import { WrapUp } from "./wrap_up.ts";
import { CallerKeys } from "./caller_keys.ts";
import { BRIEFING_PURPOSE, WarmHandoff } from "./warm_handoff.ts";
import { TRANSFER_FALLBACK_PARAMETER } from "../twilio/media_stream_messages.ts";

const TRANSFERRED_REASON = "A person accepted the warm transfer; the caller was moved to them.";

/**
 * One call's state machine. Create one per Twilio media stream, feed it every
 * input with {@link CallCore.handle}, and carry out the returned commands in
 * order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CallCore } from "./call_core.ts";
 * const update = { type: "session.update", session: { type: "realtime" } } as const;
 * const core = new CallCore({ sessionUpdate: update });
 * // The stream opens: the core asks for an OpenAI socket at once.
 * const begin = core.handle({ type: "begin" }, 0);
 * const open = begin.find((c) => c.type === "open_openai");
 * assert.equal(open?.type, "open_openai");
 * // The socket is open: session.update is the first thing sent on it.
 * const first = core.handle({ type: "openai_open", generation: 1 }, 5)
 *   .find((c) => c.type === "to_openai");
 * assert.deepEqual(first, { type: "to_openai", event: update, generation: 1 });
 * ```
 */
export class CallCore {
  #p: CallParts;
  #wrapUp: WrapUp;
  #handover: SessionHandover;
  #tools: ToolCalls;
  #callSid: string | undefined;
  #greetingPending: boolean;
  /** The server hands the call over at the next turn boundary. */
  #handOverPending = false;
  /** An outbound call listening until the answering-machine result. */
  #awaitingAnswer: boolean;
  #keys: CallerKeys;
  /** Bridge-decided interruptions (`options.interruptions`), else the server's barge-in. */
  #interruptions: Interruptions | undefined;
  /** The session the interruption decision belongs to. */
  #decidingOn: number | undefined;
  #handoff: WarmHandoff;
  /** A cold transfer found nobody: this stream greets with the fallback line. */
  #greetWithFallback = false;
  /** When the caller last spoke or the assistant's audio is expected to end (ms). */
  #quietSince = 0;
  /** When Twilio last sent anything on the stream (the dead-stream check). */
  #heardAt = 0;

  /** Creates the core of one call. */
  constructor(options: CallCoreOptions) {
    const p = this.#p = createCallParts(options);
    // A resumed call says one short line about the gap instead of greeting again.
    this.#greetingPending = p.options.greeting !== undefined || p.options.acknowledgeResume;
    this.#awaitingAnswer = p.options.awaitAnswer !== undefined;
    this.#keys = new CallerKeys(p);
    this.#interruptions = p.options.interruptions === undefined ? undefined : new Interruptions(p);
    this.#wrapUp = new WrapUp(p, {
      abandonRenewal: () => this.#handover.abandonRenewal(),
    });
    this.#handoff = new WarmHandoff(p);
    this.#tools = new ToolCalls(p, {
      wrapUp: (ending, afterResponseId) => this.#wrapUp.begin(ending, afterResponseId),
      handoff: this.#handoff,
    });
    this.#handover = new SessionHandover(p, {
      requestFarewell: () => this.#wrapUp.requestFarewell(),
      farewellComplete: () => this.#wrapUp.farewellComplete(),
      maybeGreet: () => this.#maybeGreet(),
      finish: (outcome, reason, action) => this.#wrapUp.finish(outcome, reason, action),
    });
  }

  /** The Twilio CallSid, once `start` arrived. */
  get callSid(): string | undefined {
    return this.#callSid;
  }

  /** The Twilio StreamSid, once `start` arrived. */
  get streamSid(): string | undefined {
    return this.#p.streamSid;
  }

  /** Whether the call is over (a `finish` command was issued). */
  get finished(): boolean {
    return this.#p.ending.done;
  }

  /** The call's turns, transcripts and token usage so far. */
  get conversation(): ConversationLog {
    return this.#p.conversation;
  }

  /** Where the OpenAI session stands (read-only). */
  get session(): Readonly<SessionState> {
    return this.#p.sessions.state;
  }

  /** Where the ending stands (read-only). */
  get ending(): Readonly<EndingState> {
    return this.#p.ending.state;
  }

  /** A copy of the call's counters. */
  get stats(): CallStats {
    return callStats(this.#p);
  }

  /**
   * Handles one input at time `now` (ms, monotonic) and returns the commands
   * to carry out, in order.
   */
  handle(input: CallInput, now: number): CallCommand[] {
    this.#p.now = now;
    if (this.#p.ending.done) return []; // late inputs after the end are expected
    switch (input.type) {
      case "begin":
        this.#p.out.openSession(this.#p.sessions.begin());
        this.#p.out.setTimer("openai_connect", this.#p.options.openaiConnectTimeoutMs);
        this.#p.out.setTimer("start_timeout", this.#p.options.startTimeoutMs);
        break;
      case "twilio_message":
        this.#heardAt = now;
        this.#onTwilio(input.message);
        break;
      case "twilio_closed":
        if (this.#handoff.moving) {
          this.#wrapUp.finish("transferred", TRANSFERRED_REASON, "none");
          break;
        }
        // A hang-up comes with `stop` first; a socket closed without it is a lost stream.
        this.#wrapUp.finish(
          "stream_lost",
          `Twilio media socket closed without stop (code ${input.code}).`,
          "none",
        );
        break;
      case "openai_open":
        this.#handover.onSocketOpen(input.generation);
        break;
      case "openai_event": {
        const session = this.#p.sessions.live();
        if (session?.generation === input.generation) {
          this.#onOpenAI(session, input.event);
        } else if (input.event.type === "error") {
          this.#p.out.log("warning", "OpenAI reported an error on a session not in use.", {
            generation: input.generation,
            code: input.event.code,
            message: input.event.message.slice(0, 300),
          });
        }
        break;
      }
      case "openai_deadline":
        this.#handover.onDeadline(input.generation, input.expiresInMs);
        break;
      case "openai_closed":
        if (!input.opened) this.#p.out.observe({ kind: "openai_connect", ok: false });
        this.#handover.onSocketClosed(input);
        break;
      case "drain":
        if (input.immediate) this.#wrapUp.finish("drained", "The server shut down.", "hang_up");
        else this.#wrapUp.drain();
        break;
      case "hand_over":
        this.#handOverPending = true;
        if (input.immediate) this.#handOver();
        break;
      case "timer":
        this.#onTimer(input.name);
        break;
      case "answered_by":
        this.#onAnsweredBy(input.answeredBy);
        break;
      case "tool_result":
        this.#tools.finished(input.callId, input.output);
        break;
      case "transfer_result":
        this.#handoff.result(input.result);
        break;
      case "refuse":
        this.#p.out.log("warning", "Refused the media stream: {reason}.", {
          reason: input.reason,
          code: input.code,
        });
        this.#wrapUp.finish("refused", `Refused: ${input.reason}.`, "close_stream", {
          code: input.code,
          reason: input.reason,
        });
        break;
      case "peer_stalled":
        this.#wrapUp.peerStalled(input.peer, input.bufferedBytes);
        break;
    }
    if (!this.#p.ending.done) this.#handover.switchIfReady(this.#atTurnBoundary);
    if (this.#handOverPending && !this.#p.ending.done && this.#atTurnBoundary()) this.#handOver();
    this.#settleInterruption();
    return this.#p.out.take();
  }

  /**
   * Closes the stream for another instance to resume the call (its checkpoint
   * has the conversation). Twilio then asks the `<Connect action>` URL.
   */
  #handOver(): void {
    if (this.#p.ending.done) return;
    this.#p.out.log("info", "The server is shutting down; handing the call over.");
    this.#wrapUp.finish("handed_over", "The server handed the call over.", "close_stream", {
      code: 1000,
      reason: "call handed over",
    });
  }

  /**
   * The rule that spans every part: nothing playing or streaming, the caller
   * not speaking and their last turn answered and transcribed, no response or
   * tool in flight, no ending under way. (One closure, made once: it is handed
   * over after every input.)
   */
  #atTurnBoundary = (): boolean =>
    !this.#p.ending.ending && this.#p.responses.idle && !this.#p.audio.busy(this.#p.now) &&
    this.#p.turn.settled(this.#p.now);

  /**
   * Speech being decided belongs to one session and to a call that goes on:
   * when the session was replaced or the ending began, it counts as false
   * (a held answer goes on; nothing is owed upstream).
   */
  #settleInterruption(): void {
    const interruptions = this.#interruptions;
    if (interruptions === undefined || interruptions.decision.stage === "idle") return;
    const generation = this.#p.sessions.live()?.generation;
    if (this.#p.ending.ending || generation !== this.#decidingOn) interruptions.reset();
  }

  // ---- Twilio -------------------------------------------------------------

  #onTwilio(message: TwilioInbound): void {
    if (message.event === "connected") return;
    if (message.event === "start") {
      if (this.#p.streamSid !== undefined) {
        this.#p.out.logOnce("second_start", "warning", "Ignored a second Twilio start message.");
        return;
      }
      this.#onStart(message);
      return;
    }
    if (this.#p.streamSid === undefined) {
      this.#p.out.logOnce("before_start", "debug", `Ignored Twilio ${message.event} before start.`);
      return;
    }
    if (message.streamSid !== this.#p.streamSid) {
      this.#p.out.logOnce(
        "other_stream",
        "debug",
        `Ignored Twilio ${message.event} for another stream.`,
      );
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
        this.#keys.press(message.digit, this.#awaitingAnswer);
        return;
      case "stop":
        // After a warm transfer's accept, Twilio ends the stream because the caller was moved.
        if (this.#handoff.moving) this.#wrapUp.finish("transferred", TRANSFERRED_REASON, "none");
        else this.#wrapUp.finish("caller_hung_up", "Twilio sent stop.", "none");
        return;
    }
  }

  #onStart(message: Extract<TwilioInbound, { event: "start" }>): void {
    this.#p.streamSid = message.streamSid;
    this.#callSid = message.callSid;
    this.#p.out.cancelTimer("start_timeout");
    this.#quietSince = this.#p.now;
    if (this.#p.options.maxCallMs > 0) {
      this.#p.out.setTimer("max_duration", this.#p.options.maxCallMs);
    }
    if (this.#p.options.callerIdleMs > 0) {
      this.#p.out.setTimer("caller_idle", this.#p.options.callerIdleMs);
    }
    if (this.#p.options.streamSilenceMs > 0) {
      this.#p.out.setTimer("stream_silence", this.#p.options.streamSilenceMs);
    }
    const format = { encoding: message.encoding, sampleRate: message.sampleRate };
    this.#p.out.log("info", "Media stream started.", format);
    if (message.encoding !== "audio/x-mulaw" || message.sampleRate !== 8000) {
      this.#p.out.log(
        "warning",
        "Twilio announced an unexpected media format; audio is passed through as μ-law 8 kHz.",
        format,
      );
    }
    if (message.customParameters[TRANSFER_FALLBACK_PARAMETER] !== undefined) {
      // A cold transfer found nobody: the agent is back, with the fallback line.
      this.#greetWithFallback = true;
      this.#greetingPending = true;
    }
    this.#p.audio.attach(message.streamSid, this.#p.now);
    this.#handover.startWaiting();
    if (this.#awaitingAnswer) {
      this.#p.out.setTimer("answer_wait", this.#p.options.awaitAnswer?.timeoutMs ?? 10_000);
    }
    this.#maybeGreet();
  }

  #onCallerAudio(payload: Base64): void {
    this.#p.counts.framesIn++;
    if (this.#p.ending.ending) {
      // The farewell may not be interrupted; a session that needs the audio to go on still gets it.
      const session = this.#p.sessions.live();
      if (this.#p.options.continuousInput && session !== undefined) {
        this.#p.out.toOpenAI(session, appendAudio(payload));
      }
      return;
    }
    if (this.#awaitingAnswer) return; // a voicemail greeting must not get an answer
    const session = this.#p.sessions.live();
    if (session === undefined) this.#p.turn.queue(payload);
    else this.#handover.sendCallerAudio(session, payload);
  }

  #onMark(name: string): void {
    if (this.#p.audio.onMark(name, this.#p.now) === undefined) {
      this.#p.out.logOnce(
        "unknown_mark",
        "debug",
        "Ignored a mark that is stale or was not sent by this call (logged once per call).",
        { mark: name.slice(0, 64) },
      );
      return;
    }
    this.#wrapUp.onMark(name);
  }

  /** Twilio's answering-machine detection answered (outbound calls). */
  #onAnsweredBy(answeredBy: string): void {
    if (!this.#awaitingAnswer) return; // inbound, or a late second result
    this.#awaitingAnswer = false;
    this.#p.out.cancelTimer("answer_wait");
    const result = answeredBy.slice(0, 40);
    const kind = classifyAnsweredBy(result);
    this.#p.out.log("info", "Answering-machine detection: {answeredBy}.", {
      answeredBy: result,
      kind,
    });
    if (kind === "person") this.#maybeGreet();
    else this.#wrapUp.answeringMachine(result, kind);
  }

  // ---- OpenAI -------------------------------------------------------------

  #maybeGreet(): void {
    if (!this.#greetingPending || this.#p.streamSid === undefined || this.#awaitingAnswer) return;
    if (this.#p.sessions.live() === undefined) return;
    this.#greetingPending = false;
    const prompts = this.#p.options.prompts;
    requestResponse(this.#p, {
      instructions: this.#greetWithFallback
        ? prompts.transferFallback
        : this.#p.options.acknowledgeResume
        ? prompts.resumed
        : prompts.greeting(this.#p.options.greeting ?? ""),
      toolChoice: "none",
    }, { uninterruptible: !this.#p.options.greetingInterruptible });
  }

  #onOpenAI(session: LiveSession, event: ServerEvent): void {
    switch (event.type) {
      case "response.output_audio.delta": {
        const result = this.#p.audio.delta(
          event.responseId,
          event.itemId,
          event.delta,
          this.#p.now,
        );
        if (result === "dropped") return;
        // An item's first delta is never "forwarded" (that needs its audio streaming already): the
        // response's protection is looked up once per item, not 50 times a second.
        if (result !== "forwarded" && this.#p.responses.uninterruptible(event.responseId)) {
          this.#p.audio.protect(event.itemId);
        }
        if (this.#p.ending.audioStarted(event.responseId)) {
          this.#p.out.cancelTimer("end_call_watchdog");
        }
        if (result === "new_item") {
          this.#p.conversation.assistantItem(event.itemId, event.responseId, this.#p.now);
        }
        return;
      }
      case "response.output_audio.done":
        this.#p.audio.audioDone(event.itemId);
        return;
      case "response.created":
        if (event.purpose === BRIEFING_PURPOSE) return; // out of band: not the caller's
        this.#p.turn.answered();
        this.#p.responses.created(event.responseId);
        this.#p.counts.responses++;
        this.#p.out.observe({ kind: "response_started", responseId: event.responseId });
        this.#p.ending.responseCreated(event.responseId);
        return;
      case "response.done":
        this.#onResponseDone(event);
        return;
      case "response.function_call_arguments.done":
        this.#tools.called(event.responseId, event.callId, event.name, event.arguments);
        return;
      case "input_audio_buffer.speech_started":
        this.#p.turn.speechStarted();
        this.#quietSince = Math.max(this.#quietSince, this.#p.now);
        if (this.#interruptions === undefined) bargeIn(this.#p, session);
        else {
          this.#decidingOn = session.generation;
          this.#interruptions.speechStarted(session, event.itemId, event.audioStartMs);
        }
        return;
      case "input_audio_buffer.speech_stopped":
        this.#p.out.observe({ kind: "caller_speech_stopped" });
        this.#p.turn.speechStopped();
        this.#interruptions?.speechStopped(session, event.audioEndMs);
        return;
      case "input_audio_buffer.committed":
        this.#p.turn.committed(event.itemId, this.#p.now);
        this.#p.conversation.userItem(event.itemId, this.#p.now);
        this.#interruptions?.committed(session, event.itemId);
        return;
      case "conversation.item.input_audio_transcription.completed":
        this.#p.turn.transcribed(event.itemId);
        this.#p.conversation.userTranscript(event.itemId, event.transcript, event.audioMs);
        this.#interruptions?.words(session, event.itemId, event.transcript);
        this.#p.out.observe({
          kind: "caller_transcript",
          itemId: event.itemId,
          text: event.transcript.trim(),
          ...(event.audioMs !== undefined ? { speechMs: event.audioMs } : {}),
        });
        return;
      case "response.output_audio_transcript.done":
        this.#p.conversation.assistantItem(event.itemId, event.responseId, this.#p.now);
        this.#p.conversation.assistantTranscript(event.itemId, event.transcript);
        this.#p.out.observe({
          kind: "assistant_transcript",
          itemId: event.itemId,
          responseId: event.responseId,
          text: event.transcript.trim(),
        });
        return;
      case "conversation.item.truncated":
        this.#p.out.log("debug", "OpenAI confirmed the truncate.", {
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

  #onResponseDone(event: Extract<ServerEvent, { type: "response.done" }>): void {
    if (event.purpose === BRIEFING_PURPOSE) {
      this.#p.conversation.addUsage(event.usage);
      this.#handoff.briefingDone(event.status === "completed" ? event.text : undefined);
      return;
    }
    this.#p.responses.done(event.responseId);
    this.#p.conversation.addUsage(event.usage);
    this.#quietSince = Math.max(
      this.#quietSince,
      this.#p.now + this.#p.audio.pendingMs(this.#p.now),
    );
    this.#p.out.observe({
      kind: "response_done",
      responseId: event.responseId,
      status: event.status,
      usage: parseUsage(event.usage),
    });
    if (event.status === "failed") {
      this.#p.out.log("error", "OpenAI response failed.", {
        responseId: event.responseId,
        code: event.errorCode,
      });
    }
    this.#wrapUp.responseDone(event.responseId);
    flushResponse(this.#p);
  }

  #onOpenAIError(event: Extract<ServerEvent, { type: "error" }>): void {
    if (event.code === "response_cancel_not_active") {
      // The bridge cancelled a response the server had just finished (a race): nothing to do.
      this.#p.out.log("debug", "The response was already done when the bridge cancelled it.");
      return;
    }
    this.#p.counts.openaiErrors++;
    this.#p.out.observe({
      kind: "openai_error",
      code: event.code ?? "unknown",
      truncateRejected: this.#p.counts.truncates > 0 && isTruncateError(event),
    });
    this.#p.out.log("warning", "OpenAI reported an error.", {
      code: event.code,
      errorType: event.errorType,
      param: event.param,
      message: event.message.slice(0, 300),
    });
    // Our last response.create lost a race with a server-created response: retry after it.
    if (event.code === "conversation_already_has_active_response") this.#p.responses.conflict();
  }

  // ---- timers -------------------------------------------------------------

  /** A timer fired: its owner handles it (the type says which, so nothing falls through). */
  #onTimer(name: TimerName): void {
    if (isEndingTimer(name)) {
      return this.#wrapUp.onTimer(name, { quietSince: this.#quietSince, heardAt: this.#heardAt });
    }
    if (isSessionTimer(name)) return this.#handover.onTimer(name);
    this.#onCallTimer(name);
  }

  #onCallTimer(name: CallTimer): void {
    switch (name) {
      case "keypad":
        this.#keys.send();
        return;
      case "answer_wait":
        this.#p.out.log("info", "No answering-machine result in time; greeting the callee.");
        this.#onAnsweredBy("unknown");
        return;
      case "tool_filler":
        this.#tools.fillerDue();
        return;
      case "interruption": {
        const session = this.#p.sessions.live();
        if (session !== undefined) this.#interruptions?.timer(session);
        return;
      }
      case "transfer_briefing":
        this.#handoff.briefingTimedOut();
        return;
      default: {
        const unhandled: never = name;
        throw new Error(`no handler for the timer ${unhandled}`);
      }
    }
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
