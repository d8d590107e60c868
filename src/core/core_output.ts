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
  /**
   * The first command of the list, and the others: most inputs (a frame)
   * give one command, which then costs one array of its size instead of an
   * array grown to 17 slots by its first `push`.
   */
  #first: CallCommand | undefined;
  #more: CallCommand[] | undefined;
  #observations: boolean;
  /** Keys of lines already logged once (hostile input must not flood logs). */
  #loggedOnce = new Set<string>();

  /** Creates an empty output; `observations` turns `observe` commands on. */
  constructor(options: { observations: boolean }) {
    this.#observations = options.observations;
  }

  /** Returns the commands collected so far and starts a new list. */
  take(): CallCommand[] {
    const first = this.#first;
    if (first === undefined) return [];
    const more = this.#more;
    this.#first = undefined;
    this.#more = undefined;
    return more === undefined ? [first] : [first, ...more];
  }

  #add(command: CallCommand): void {
    if (this.#first === undefined) this.#first = command;
    else (this.#more ??= []).push(command);
  }

  /** Sends a message to Twilio. */
  toTwilio(message: TwilioOutbound): void {
    this.#add({ type: "to_twilio", message });
  }

  /** Sends a client event to an open session. */
  toOpenAI(session: LiveSession, event: ClientEvent): void {
    this.#add({ type: "to_openai", event, generation: session.generation });
  }

  /** Opens a new OpenAI socket of `generation`. */
  openSession(generation: number): void {
    this.#add({ type: "open_openai", generation });
  }

  /** Closes the OpenAI socket of `generation`. */
  closeSession(generation: number, reason: string): void {
    this.#add({ type: "close_openai", generation, code: 1000, reason });
  }

  /** Sets (or resets) timer `name`. */
  setTimer(name: TimerName, delayMs: number): void {
    this.#add({ type: "set_timer", name, delayMs });
  }

  /** Cancels timer `name`. */
  cancelTimer(name: TimerName): void {
    this.#add({ type: "cancel_timer", name });
  }

  /** Asks the runner to execute a custom tool. */
  runTool(callId: string, name: string, args: string): void {
    this.#add({ type: "run_tool", callId, name, arguments: args });
  }

  /** Appends a command as it is (`finish`). */
  push(command: CallCommand): void {
    this.#add(command);
  }

  /** Logs a line. */
  log(level: CoreLogLevel, message: string, properties?: Record<string, unknown>): void {
    this.#add(
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
    if (this.#observations) this.#add({ type: "observe", event });
  }
}
