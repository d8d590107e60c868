/**
 * Responses and tool calls in flight on the current Realtime session.
 *
 * The model answers in responses; the bridge asks for one with
 * `response.create`. Only one response may be active at a time, so a request
 * waits ({@link Responses.request}) until the active response is done and
 * every tool call of it has its output: then exactly one `response.create`
 * goes out ({@link Responses.next}). A request that loses a race with a
 * response the server created itself is retried after it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Responses } from "./responses.ts";
 * const responses = new Responses();
 * responses.created("resp_1");
 * responses.toolStarted("call_a");
 * responses.toolStarted("call_b"); // two function calls in one response
 * responses.request({});
 * responses.done("resp_1");
 * assert.equal(responses.next(), undefined); // call_b has no output yet
 * responses.toolFinished("call_a");
 * responses.toolFinished("call_b");
 * assert.deepEqual(responses.next(), { type: "response.create" });
 * assert.equal(responses.next(), undefined); // exactly one
 * ```
 *
 * @module
 */
import { type ClientEvent, responseCreate, type ResponseOptions } from "../openai/client_events.ts";

/** Response and tool-call bookkeeping of one session. */
export class Responses {
  #active: string | undefined;
  #requested = false;
  #pending: ResponseOptions | undefined;
  #lastRequested: ResponseOptions | undefined;
  #tools = new Set<string>();
  /** The waiting request, and the one sent last, may not be interrupted. */
  #pendingProtected = false;
  #sentProtected = false;
  #uninterruptible = new Set<string>();

  /** The response being generated, if any. */
  get active(): string | undefined {
    return this.#active;
  }

  /** Whether a response is being generated or was asked for and not yet created. */
  get inFlight(): boolean {
    return this.#active !== undefined || this.#requested;
  }

  /** Whether the assistant is busy: a response in flight or a tool running. */
  get busy(): boolean {
    return this.inFlight || this.#tools.size > 0;
  }

  /** Nothing in flight, nothing waiting, no tool running. */
  get idle(): boolean {
    return !this.busy && this.#pending === undefined;
  }

  /** The server created response `id`. */
  created(id: string): void {
    if (this.#requested && this.#sentProtected) {
      this.#uninterruptible.add(id);
      if (this.#uninterruptible.size > 16) {
        this.#uninterruptible.delete(this.#uninterruptible.values().next().value as string);
      }
    }
    this.#sentProtected = false;
    this.#active = id;
    this.#requested = false;
  }

  /**
   * The bridge sent `response.cancel` for the active response: the server
   * handles events in order, so the next `response.create` may go at once.
   */
  cancelled(): void {
    this.#active = undefined;
  }

  /** Response `id` is done. */
  done(id: string): void {
    if (this.#active === id) this.#active = undefined;
  }

  /** A tool call the runner executes began. */
  toolStarted(callId: string): void {
    this.#tools.add(callId);
  }

  /** A tool call finished; false when it was not running (late or unknown). */
  toolFinished(callId: string): boolean {
    return this.#tools.delete(callId);
  }

  /**
   * Asks for a response (it replaces one still waiting); `uninterruptible`:
   * the caller cannot interrupt it (what they say meanwhile is answered after).
   */
  request(options: ResponseOptions, flags: { uninterruptible?: boolean } = {}): void {
    this.#pending = options;
    this.#pendingProtected = flags.uninterruptible === true;
  }

  /** Whether response `id` was asked for as uninterruptible. */
  uninterruptible(id: string): boolean {
    return this.#uninterruptible.has(id);
  }

  /** Asks for a plain response unless one already waits. */
  requestIfNone(): void {
    this.#pending ??= {};
  }

  /** Drops a waiting request. */
  cancelRequest(): void {
    this.#pending = undefined;
  }

  /** The `response.create` to send now, when one waits and nothing is in flight. */
  next(): ClientEvent | undefined {
    if (this.#pending === undefined || this.#tools.size > 0 || this.inFlight) return undefined;
    this.#lastRequested = this.#pending;
    this.#pending = undefined;
    this.#sentProtected = this.#pendingProtected;
    this.#pendingProtected = false;
    this.#requested = true;
    return responseCreate(this.#lastRequested);
  }

  /**
   * An out-of-band response (e.g. a filler while a tool runs) may go now even
   * though tool outputs are pending: the event, or undefined when a response
   * is in flight. The next regular response waits until it is done.
   */
  outOfBand(options: ResponseOptions): ClientEvent | undefined {
    if (this.inFlight) return undefined;
    this.#requested = true;
    return responseCreate({ ...options, conversation: "none" });
  }

  /** Whether a custom tool is running. */
  get toolsRunning(): boolean {
    return this.#tools.size > 0;
  }

  /**
   * OpenAI refused our last `response.create` because a response it created
   * itself is active: ask again after that one.
   */
  conflict(): void {
    if (this.#lastRequested === undefined) return;
    this.#requested = false;
    this.#pending ??= this.#lastRequested;
    this.#lastRequested = undefined;
  }

  /** A new session starts idle: returns the response that was active, to drop its audio. */
  forgetSession(): string | undefined {
    const active = this.#active;
    this.#active = undefined;
    this.#requested = false;
    this.#lastRequested = undefined;
    return active;
  }
}
