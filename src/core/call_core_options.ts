/**
 * The settings of one call core ({@link CallCoreOptions}), their defaults,
 * and the counters a call keeps ({@link CallStats}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveCoreOptions } from "./call_core_options.ts";
 * const options = resolveCoreOptions({ sessionUpdate: { type: "session.update", session: {} } });
 * assert.equal(options.reconnectWindowMs, 5000);
 * assert.equal(options.maxMarkIntervalMs, 1000); // sparse marks by default
 * assert.match(options.prompts.farewell, /goodbye/);
 * ```
 *
 * @module
 */
import type { ClientEvent } from "../openai/client_events.ts";
import type { Base64 } from "../audio/base64.ts";
import { type CallPrompts, callPrompts } from "../prompts/mod.ts";
import { TRANSFER_CALL_TOOL } from "../tools/tool_registry.ts";
import type { AnswerWaitOptions } from "./answering_machine.ts";
import type { KeypadOptions } from "./keypad.ts";
import type { ConversationEntry } from "./conversation_log.ts";
import type { InterruptionSettings } from "./interruption_decision.ts";

/** Options of the call core. */
export interface CallCoreOptions {
  /** The `session.update` sent as soon as an OpenAI socket opens. */
  sessionUpdate: Extract<ClientEvent, { type: "session.update" }>;
  /** Text the assistant greets the caller with; undefined or "": no greeting. */
  greeting?: string | undefined;
  /** What the model is asked to say at each ending (default: English, see `src/prompts/mod.ts`). */
  prompts?: Partial<CallPrompts>;
  /** Whether caller speech interrupts the assistant (barge-in). Default true. */
  interruptResponse?: boolean;
  /**
   * The bridge decides interruptions (false ones resume, backchannels are
   * ignored): the session must run with `interrupt_response: false` and
   * `create_response: false`. Undefined (default): the server interrupts and
   * answers, and every speech over the assistant is a barge-in.
   */
  interruptions?: InterruptionSettings;
  /** Whether the caller can interrupt the greeting (bridge-decided interruptions only). Default true. */
  greetingInterruptible?: boolean;
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
  /** The name of the transfer tool (an agent may name it, e.g. `transfer_to_sales`). Default `transfer_call`. */
  transferToolName?: string;
  /**
   * `cold` (default): the transfer tool ends the stream and Twilio dials;
   * `warm`: the assistant stays on the line while the bridge briefs and
   * calls a person (`place_transfer`, then a `transfer_result` input).
   */
  transferMode?: "cold" | "warm";
  /** Ms after the stream opens within which Twilio must send `start`. Default 10000. */
  startTimeoutMs?: number;
  /** Ms after `start` at which the assistant wraps the call up; 0: no limit. Default 0. */
  maxCallMs?: number;
  /**
   * Ms of caller silence (no speech detected, no assistant speech) after which
   * the assistant wraps the call up; 0: off. Default 0.
   */
  callerIdleMs?: number;
  /**
   * Ms without any message from Twilio after which the stream counts as lost
   * (`stream_lost`, resumable); 0: off. Default 0.
   */
  streamSilenceMs?: number;
  /** Emit `observe` commands for metrics and traces. Default false. */
  observations?: boolean;
  /**
   * The session's timeline advances with the caller's audio (GPT-Live): keep
   * sending it while the call ends, or the farewell never plays out. Default
   * false (Realtime: the farewell may not be interrupted, so it is not sent).
   */
  continuousInput?: boolean;
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
  /**
   * Base64 20 ms μ-law frames the caller hears, looped, while no session is
   * there (connecting or reconnecting) for longer than `waitingSoundAfterMs`.
   * Empty or undefined: silence.
   */
  waitingSound?: readonly Base64[];
  /** Ms without a session before the waiting sound starts. Default 1000. */
  waitingSoundAfterMs?: number;
  /** How the caller's keypad tones are gathered for the model. */
  keypad?: KeypadOptions;
  /**
   * Keep the keys the caller pressed in the record and the live view;
   * default false: each shows as `•` (the model gets them either way).
   */
  recordKeypadDigits?: boolean;
  /**
   * An outbound call: listen until Twilio's answering-machine result
   * (`answered_by` input), then greet a person or leave the voicemail.
   */
  awaitAnswer?: AnswerWaitOptions;
  /**
   * The conversation of the call's previous media stream (an outbound call
   * reconnects its stream after keypad tones): the first session gets it
   * replayed, so the model goes on where it was.
   */
  resume?: readonly ConversationEntry[];
  /**
   * With `resume`: the call went on after its stream was lost (another
   * instance took it over), so the first response is one short line
   * acknowledging the gap (`prompts.resumed`) instead of a greeting.
   */
  acknowledgeResume?: boolean;
  /**
   * Ms a custom tool may run in silence before the model says a short filler
   * (an out-of-band response, see `prompts.toolFiller`); 0: never. Default 1000.
   */
  toolFillerAfterMs?: number;
}

/** {@link CallCoreOptions} with every default applied. */
export type ResolvedCoreOptions =
  & Required<
    Omit<CallCoreOptions, "greeting" | "prompts" | "awaitAnswer" | "resume" | "interruptions">
  >
  & {
    interruptions: InterruptionSettings | undefined;
    greeting: string | undefined;
    prompts: CallPrompts;
    awaitAnswer: AnswerWaitOptions | undefined;
    resume: readonly ConversationEntry[] | undefined;
  };

/** Applies the defaults of {@link CallCoreOptions}. */
export function resolveCoreOptions(options: CallCoreOptions): ResolvedCoreOptions {
  const markIntervalMs = options.markIntervalMs ?? 100;
  return {
    sessionUpdate: options.sessionUpdate,
    greeting: options.greeting === "" ? undefined : options.greeting,
    prompts: callPrompts(options.prompts),
    interruptResponse: options.interruptResponse ?? true,
    interruptions: options.interruptions,
    greetingInterruptible: options.greetingInterruptible ?? true,
    endCallGraceMs: options.endCallGraceMs ?? 3000,
    endCallWatchdogMs: options.endCallWatchdogMs ?? 4000,
    openaiConnectTimeoutMs: options.openaiConnectTimeoutMs ?? 10_000,
    markIntervalMs,
    maxMarkIntervalMs: Math.max(
      markIntervalMs,
      options.maxMarkIntervalMs ?? (options.markIntervalMs === undefined ? 1000 : markIntervalMs),
    ),
    maxQueuedFrames: options.maxQueuedFrames ?? 500,
    showTimingMath: options.showTimingMath ?? false,
    continuousInput: options.continuousInput ?? false,
    customTools: options.customTools ?? [],
    transferEnabled: options.transferEnabled ?? false,
    transferToolName: options.transferToolName ?? TRANSFER_CALL_TOOL,
    transferMode: options.transferMode ?? "cold",
    startTimeoutMs: options.startTimeoutMs ?? 10_000,
    maxCallMs: options.maxCallMs ?? 0,
    callerIdleMs: options.callerIdleMs ?? 0,
    streamSilenceMs: options.streamSilenceMs ?? 0,
    observations: options.observations ?? false,
    renewAfterMs: options.renewAfterMs ?? 0,
    switchWaitMs: options.switchWaitMs ?? 15_000,
    reconnectWindowMs: options.reconnectWindowMs ?? 5000,
    waitingSound: options.waitingSound ?? [],
    waitingSoundAfterMs: options.waitingSoundAfterMs ?? 1000,
    keypad: options.keypad ?? {},
    recordKeypadDigits: options.recordKeypadDigits ?? false,
    awaitAnswer: options.awaitAnswer,
    resume: options.resume,
    acknowledgeResume: options.acknowledgeResume ?? false,
    toolFillerAfterMs: options.toolFillerAfterMs ?? 1000,
  };
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
