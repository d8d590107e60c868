/**
 * The commands one input of the call core produces, collected in order: the
 * one place the core and its collaborators write to. Messages for OpenAI
 * need a {@link LiveSession}, so nothing is ever addressed to a session that
 * is not open.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CoreOutput } from "./core_output.ts";
 * const out = new CoreOutput({ observations: false });
 * out.setTimer("caller_idle", 5000);
 * out.logOnce("k", "debug", "Only once.");
 * out.logOnce("k", "debug", "Only once.");
 * assert.deepEqual(out.take().map((c) => c.type), ["set_timer", "log"]);
 * assert.deepEqual(out.take(), []);
 * ```
 *
 * @module
 */
import type { ClientEvent } from "../openai/client_events.ts";
import type { TwilioOutbound } from "../twilio/media_stream_messages.ts";
import type { CallCommand, CallObservation, CoreLogLevel, TimerName } from "./call_types.ts";
import type { LiveSession } from "./session_lifecycle.ts";

/** The command list of one call core. */
export class CoreOutput {
  #commands: CallCommand[] = [];
  #observations: boolean;
  /** Keys of lines already logged once (hostile input must not flood logs). */
  #loggedOnce = new Set<string>();

  /** Creates an empty output; `observations` turns `observe` commands on. */
  constructor(options: { observations: boolean }) {
    this.#observations = options.observations;
  }

  /** Returns the commands collected so far and starts a new list. */
  take(): CallCommand[] {
    const commands = this.#commands;
    this.#commands = [];
    return commands;
  }

  /** Sends a message to Twilio. */
  toTwilio(message: TwilioOutbound): void {
    this.#commands.push({ type: "to_twilio", message });
  }

  /** Sends a client event to an open session. */
  toOpenAI(session: LiveSession, event: ClientEvent): void {
    this.#commands.push({ type: "to_openai", event, generation: session.generation });
  }

  /** Opens a new OpenAI socket of `generation`. */
  openSession(generation: number): void {
    this.#commands.push({ type: "open_openai", generation });
  }

  /** Closes the OpenAI socket of `generation`. */
  closeSession(generation: number, reason: string): void {
    this.#commands.push({ type: "close_openai", generation, code: 1000, reason });
  }

  /** Sets (or resets) timer `name`. */
  setTimer(name: TimerName, delayMs: number): void {
    this.#commands.push({ type: "set_timer", name, delayMs });
  }

  /** Cancels timer `name`. */
  cancelTimer(name: TimerName): void {
    this.#commands.push({ type: "cancel_timer", name });
  }

  /** Asks the runner to execute a custom tool. */
  runTool(callId: string, name: string, args: string): void {
    this.#commands.push({ type: "run_tool", callId, name, arguments: args });
  }

  /** Appends a command as it is (`finish`). */
  push(command: CallCommand): void {
    this.#commands.push(command);
  }

  /** Logs a line. */
  log(level: CoreLogLevel, message: string, properties?: Record<string, unknown>): void {
    this.#commands.push(
      properties === undefined
        ? { type: "log", level, message }
        : { type: "log", level, message, properties },
    );
  }

  /** Logs a line once per call under `key`. */
  logOnce(
    key: string,
    level: CoreLogLevel,
    message: string,
    properties?: Record<string, unknown>,
  ): void {
    if (this.#loggedOnce.has(key)) return;
    this.#loggedOnce.add(key);
    this.log(level, message, properties);
  }

  /** Reports an observation for metrics and traces (when turned on). */
  observe(event: CallObservation): void {
    if (this.#observations) this.#commands.push({ type: "observe", event });
  }
}
