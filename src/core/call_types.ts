/**
 * The call core's vocabulary: the inputs it accepts and the commands it
 * returns. The core does no I/O; adapters turn commands into socket writes,
 * timers and REST calls, and feed what happens back in as inputs.
 *
 * @module
 */
import type { TwilioInbound, TwilioOutbound } from "../twilio/media_stream_messages.ts";
import type { ServerEvent } from "../openai/server_events.ts";
import type { ClientEvent } from "../openai/client_events.ts";
import type { TokenUsage } from "./conversation_log.ts";

/** Timers of the call's ending (`wrap_up.ts` handles them). */
export type EndingTimer =
  /** No farewell audio in time after an ending began. */
  | "end_call_watchdog"
  /** Twilio never echoed the farewell's last mark. */
  | "farewell_playback"
  /** The farewell played: hang up now. */
  | "end_call_grace"
  /** No `start` from Twilio in time. */
  | "start_timeout"
  /** `MAX_CALL_SECONDS` reached: wrap up. */
  | "max_duration"
  /** Checks whether the caller has been silent too long. */
  | "caller_idle"
  /** Checks whether Twilio has sent nothing for too long (a dead stream). */
  | "stream_silence";

/** Timers of the call's Realtime sessions (`session_handover.ts` handles them). */
export type SessionTimer =
  /** The first session did not open in time. */
  | "openai_connect"
  /** Time to open a new Realtime session before the current one expires. */
  | "session_renew"
  /** Bounded wait for a turn boundary before switching sessions anyway. */
  | "session_switch_wait"
  /** Next attempt to reconnect after the OpenAI socket dropped. */
  | "reconnect_retry"
  /** The reconnect window is over: apologize and end the call. */
  | "reconnect_deadline"
  /** No session yet (or again): play the next bit of the waiting sound. */
  | "waiting_sound";

/** Timers of the call's conversation (the core and its other parts handle them). */
export type CallTimer =
  /** No key for a while: the keys pressed so far go to the model. */
  | "keypad"
  /** No answering-machine result in time: treat the callee as a person. */
  | "answer_wait"
  /** A tool has run for a while: the caller hears a short filler. */
  | "tool_filler"
  /** The interruption decision's bound: still speaking, or the words are late. */
  | "interruption"
  /** No briefing from the model in time: the warm transfer goes on with the tool's reason. */
  | "transfer_briefing";

/**
 * Timers the core asks the adapter to run, each owned by one part of the
 * core by its type. Setting a timer again replaces it.
 */
export type TimerName = EndingTimer | SessionTimer | CallTimer;

/** Who handles each timer (the core dispatches on it). */
const TIMER_OWNERS: { readonly [T in TimerName]: "ending" | "session" | "call" } = {
  end_call_watchdog: "ending",
  farewell_playback: "ending",
  end_call_grace: "ending",
  start_timeout: "ending",
  max_duration: "ending",
  caller_idle: "ending",
  stream_silence: "ending",
  openai_connect: "session",
  session_renew: "session",
  session_switch_wait: "session",
  reconnect_retry: "session",
  reconnect_deadline: "session",
  waiting_sound: "session",
  keypad: "call",
  answer_wait: "call",
  tool_filler: "call",
  interruption: "call",
  transfer_briefing: "call",
};

/** Whether the ending owns `name`. */
export function isEndingTimer(name: TimerName): name is EndingTimer {
  return TIMER_OWNERS[name] === "ending";
}

/** Whether the session handover owns `name`. */
export function isSessionTimer(name: TimerName): name is SessionTimer {
  return TIMER_OWNERS[name] === "session";
}

/** How a call ended. */
export type CallOutcome =
  | "caller_hung_up"
  | "assistant_ended"
  | "openai_error"
  | "bridge_error"
  /** The stream was refused (bad token, hostile or broken input, no `start`). */
  | "refused"
  /** The server shut down (drain) and said goodbye. */
  | "drained"
  /**
   * The server shut down (`DRAIN_MODE=handover`) and closed the stream at a
   * turn boundary: the call goes on in a new stream on another instance.
   */
  | "handed_over"
  /**
   * Twilio's media socket closed without `stop`: the stream was lost (a
   * network cut, a proxy, Twilio's side), not hung up. The call is not over:
   * Twilio fetches the `<Connect action>` and the call resumes in a new stream.
   */
  | "stream_lost"
  /**
   * The assistant handed the call to a person: cold (`<Dial>` after the
   * stream) or warm (a person accepted and the caller was moved to them).
   */
  | "transferred"
  /** An outbound call reached a voicemail and left the message. */
  | "voicemail"
  /** An outbound call reached a machine or a fax and hung up without a message. */
  | "machine";

/** Something that happened to the call. */
export type CallInput =
  /** The Twilio media socket is open (the call begins). */
  | { type: "begin" }
  | { type: "twilio_message"; message: TwilioInbound }
  /** The Twilio socket closed (abruptly or after `stop`). */
  | { type: "twilio_closed"; code: number }
  /** An OpenAI socket opened. `generation` names the socket (from `open_openai`). */
  | { type: "openai_open"; generation: number }
  | { type: "openai_event"; event: ServerEvent; generation: number }
  /**
   * The session of `generation` announced when it ends (GPT-Live's
   * `session.started.expires_at`): it is renewed ahead of that, at a turn
   * boundary, instead of being lost mid-call.
   */
  | { type: "openai_deadline"; generation: number; expiresInMs: number }
  /**
   * The OpenAI socket of `generation` closed or could not be opened.
   * `failure: "auth"`: OpenAI refused the API key (HTTP 401/403 on the
   * upgrade); retrying cannot help.
   */
  | {
    type: "openai_closed";
    code: number;
    reason: string;
    opened: boolean;
    generation: number;
    failure?: "auth";
  }
  /**
   * The server is shutting down: say a short goodbye and hang up, or with
   * `immediate` hang up now.
   */
  | { type: "drain"; immediate?: boolean }
  /**
   * The server is shutting down and hands the call over: close the stream at
   * the next turn boundary (`immediate`: now), so Twilio asks the `<Connect
   * action>` URL of another instance, which resumes the call.
   */
  | { type: "hand_over"; immediate?: boolean }
  | { type: "timer"; name: TimerName }
  /**
   * Twilio's answering-machine detection result for an outbound call
   * (`AnsweredBy`: human, machine_end_beep, machine_end_silence,
   * machine_end_other, fax, unknown).
   */
  | { type: "answered_by"; answeredBy: string }
  /** A custom tool finished (its output, or an error object). */
  | { type: "tool_result"; callId: string; output: unknown }
  /**
   * A warm transfer's outcome: `accepted` (a person pressed 1; the caller is
   * being moved to them, so the next `stop` is the hand-over) or `failed`
   * (every destination declined, was busy, did not answer or was a machine).
   */
  | { type: "transfer_result"; result: "accepted" | "failed" }
  /** The adapter refuses the stream (bad token, oversized or binary frames, a flood). */
  | { type: "refuse"; code: number; reason: string }
  /**
   * A peer stopped reading: more than the adapter's bound of sent data is
   * still buffered for its socket. The call ends rather than grow memory.
   */
  | { type: "peer_stalled"; peer: "twilio" | "openai"; bufferedBytes: number };

/** Log levels the core uses. */
export type CoreLogLevel = "debug" | "info" | "warning" | "error";

/**
 * What the core asks its adapters to do, in order. Messages are objects; the
 * runner encodes them (`encodeTwilioMessage`, `encodeClientEvent`).
 */
export type CallCommand =
  /** Send one message to Twilio on the media stream. */
  | { type: "to_twilio"; message: TwilioOutbound }
  /**
   * Send one client event to the OpenAI session `generation`. The core only
   * emits this for a session that is open.
   */
  | { type: "to_openai"; event: ClientEvent; generation: number }
  /** Open a new OpenAI Realtime socket, known as `generation` in later inputs. */
  | { type: "open_openai"; generation: number }
  /** Close the OpenAI socket of `generation` (an old session after a switch). */
  | { type: "close_openai"; generation: number; code: number; reason: string }
  | { type: "set_timer"; name: TimerName; delayMs: number }
  | { type: "cancel_timer"; name: TimerName }
  | { type: "run_tool"; callId: string; name: string; arguments: string }
  /**
   * Warm transfer: call the transfer destinations in order and brief whoever
   * answers with `briefing`; report back with a `transfer_result` input.
   */
  | { type: "place_transfer"; briefing: string }
  /**
   * The caller is typing keys of a sensitive keypad collection (`typing`
   * true at a burst's first key, false once the keys went to the model or
   * were dropped): the call's recording pauses meanwhile.
   */
  | { type: "sensitive_keys"; typing: boolean }
  /**
   * The call is over. `hang_up` ends the phone call (Twilio REST when
   * configured, else closing the media socket); `close_stream` closes the
   * media socket so Twilio continues with the TwiML after `<Connect>` (the
   * apology for errors); `none` when Twilio is already gone. The adapter also
   * closes the OpenAI socket and cancels all timers.
   */
  | {
    type: "finish";
    outcome: CallOutcome;
    reason: string;
    action: "hang_up" | "close_stream" | "none";
    /** Close code and reason for `close_stream` (default 1011, "assistant unavailable"). */
    close?: { code: number; reason: string };
  }
  | {
    type: "log";
    level: CoreLogLevel;
    message: string;
    properties?: Record<string, unknown>;
  }
  /** Something worth measuring happened (only with `observations: true`); no action needed. */
  | { type: "observe"; event: CallObservation };

/**
 * What the core reports for metrics and traces (see `CallCoreOptions.observations`).
 * `openai_reconnected` and `session_renewed` are reported when a session
 * switch completes after a reconnect or a renewal.
 */
export type CallObservation =
  /** An OpenAI connection attempt succeeded or failed (refused, dropped or timed out). */
  | { kind: "openai_connect"; ok: boolean }
  | { kind: "response_started"; responseId: string }
  /** The first audio of an assistant item went to the caller. */
  | { kind: "assistant_audio_started"; responseId: string; itemId: string }
  /** OpenAI's VAD saw the caller stop speaking (`input_audio_buffer.speech_stopped`). */
  | { kind: "caller_speech_stopped" }
  /** The caller interrupted playing audio; `truncates` items were truncated. */
  | { kind: "barge_in"; truncates: number }
  | { kind: "response_done"; responseId: string; status: string; usage: TokenUsage }
  /** OpenAI sent an `error`; `truncateRejected` when it refused a `conversation.item.truncate`. */
  | { kind: "openai_error"; code: string; truncateRejected: boolean }
  /** The model called tool `name` (call `callId`) with JSON `arguments`. */
  | { kind: "tool_call"; name: string; callId: string; arguments: string }
  /**
   * The core answered tool call `callId` itself, no tool run: a built-in ending
   * (`end_call`, the transfer), a warm transfer, or an unknown tool (`failed`,
   * as is a refused transfer). `output` is the JSON sent to the model. (A custom
   * tool's result is the runner's `toolFinished`.)
   */
  | { kind: "tool_answered"; name: string; callId: string; output: string; failed: boolean }
  /** The caller's turn `itemId` was transcribed (input transcription on). */
  | {
    kind: "caller_transcript";
    itemId: string;
    /** The words ("" when the transcription heard none). */
    text: string;
    /** Ms of audio transcribed, when the transcription reports its duration. */
    speechMs?: number;
  }
  /** The full output transcript of assistant item `itemId` arrived (what was sent, not heard). */
  | { kind: "assistant_transcript"; itemId: string; responseId: string; text: string }
  /**
   * A barge-in cut assistant item `itemId`: the caller heard `heardMs` of the
   * `sentMs` of audio sent (the rest of its transcript went unheard).
   */
  | { kind: "assistant_truncated"; itemId: string; heardMs: number; sentMs: number }
  /**
   * Caller speech over the assistant was decided (bridge-decided
   * interruptions): `real`, `false` (too short or no words) or `backchannel`.
   */
  | {
    kind: "interruption";
    verdict: "real" | "false" | "backchannel";
    speechMs: number;
    /** Over uninterruptible speech (nothing was stopped). */
    protected: boolean;
  }
  /**
   * A false interruption: the assistant went on from `resumedAtMs` of
   * `resumedItemId` (when its audio had been stopped).
   */
  | {
    kind: "false_interruption";
    itemId: string;
    verdict: "false" | "backchannel";
    speechMs: number;
    text?: string;
    resumedItemId?: string;
    resumedAtMs?: number;
  }
  | { kind: "openai_reconnected" }
  | { kind: "session_renewed" };
