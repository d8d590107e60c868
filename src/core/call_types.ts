/**
 * The call core's vocabulary: the inputs it accepts and the commands it
 * returns. The core does no I/O; adapters turn commands into socket writes,
 * timers and REST calls, and feed what happens back in as inputs.
 *
 * @module
 */
import type { TwilioInbound } from "../twilio/media_stream_messages.ts";
import type { ServerEvent } from "../openai/server_events.ts";

/** Timers the core asks the adapter to run. Setting a timer again replaces it. */
export type TimerName =
  | "openai_connect"
  | "end_call_watchdog"
  | "farewell_playback"
  | "end_call_grace";

/** How a call ended. */
export type CallOutcome =
  | "caller_hung_up"
  | "assistant_ended"
  | "openai_error"
  | "bridge_error";

/** Something that happened to the call. */
export type CallInput =
  /** The Twilio media socket is open (the call begins). */
  | { type: "begin" }
  | { type: "twilio_message"; message: TwilioInbound }
  /** The Twilio socket closed (abruptly or after `stop`). */
  | { type: "twilio_closed"; code: number }
  | { type: "openai_open" }
  | { type: "openai_event"; event: ServerEvent }
  /** The OpenAI socket closed or could not be opened. */
  | { type: "openai_closed"; code: number; reason: string; opened: boolean }
  | { type: "timer"; name: TimerName }
  /** A custom tool finished (its output, or an error object). */
  | { type: "tool_result"; callId: string; output: unknown }
  /**
   * A peer stopped reading: more than the adapter's bound of sent data is
   * still buffered for its socket. The call ends rather than grow memory.
   */
  | { type: "peer_stalled"; peer: "twilio" | "openai"; bufferedBytes: number };

/** Log levels the core uses. */
export type CoreLogLevel = "debug" | "info" | "warning" | "error";

/** What the core asks its adapters to do, in order. */
export type CallCommand =
  | { type: "send_twilio"; data: string }
  | { type: "send_openai"; data: string }
  | { type: "set_timer"; name: TimerName; delayMs: number }
  | { type: "cancel_timer"; name: TimerName }
  | { type: "run_tool"; callId: string; name: string; arguments: string }
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
  }
  | {
    type: "log";
    level: CoreLogLevel;
    message: string;
    properties?: Record<string, unknown>;
  };
