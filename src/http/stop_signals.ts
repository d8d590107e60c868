/**
 * What a stop signal (SIGINT, SIGTERM) means to a draining server.
 *
 * The first one starts the drain. A signal sent to a whole process group
 * (systemd's default `KillMode=control-group`, Ctrl-C in a terminal, a shell
 * entry point in a container) reaches both `deno task` and the server, and
 * `deno task` forwards its copy to the server a few ms later: that copy, the
 * same signal within {@link REPEAT_WINDOW_MS} of the first, is ignored. A
 * later signal, a different one, or a third one means "exit now".
 *
 * @module
 */

/** Ms after the first signal in which the same signal counts as a copy of it. */
export const REPEAT_WINDOW_MS = 2000;

/** What to do with a signal: start draining, ignore a forwarded copy, or exit at once. */
export type StopAction = "drain" | "ignore" | "exit";

/**
 * Decides what each stop signal means (sans-IO: the caller passes the time).
 *
 * @example
 * ```ts
 * import { StopSignals } from "./stop_signals.ts";
 * const signals = new StopSignals();
 * if (signals.receive("SIGTERM", 0) !== "drain") throw new Error("first: drain");
 * if (signals.receive("SIGTERM", 15) !== "ignore") throw new Error("the forwarded copy");
 * if (signals.receive("SIGTERM", 5000) !== "exit") throw new Error("a later one: exit");
 * ```
 */
export class StopSignals {
  #windowMs: number;
  #first: { signal: string; at: number } | undefined;
  #ignored = false;

  /** `windowMs`: how long after the first signal the same one counts as a copy. */
  constructor(options: { windowMs?: number } = {}) {
    this.#windowMs = options.windowMs ?? REPEAT_WINDOW_MS;
  }

  /** Whether a drain has started. */
  get stopping(): boolean {
    return this.#first !== undefined;
  }

  /** The action for `signal` received at `now` (ms, any monotonic clock). */
  receive(signal: string, now: number): StopAction {
    if (this.#first === undefined) {
      this.#first = { signal, at: now };
      return "drain";
    }
    const copy = !this.#ignored && signal === this.#first.signal &&
      now - this.#first.at <= this.#windowMs;
    if (copy) {
      this.#ignored = true;
      return "ignore";
    }
    return "exit";
  }
}
