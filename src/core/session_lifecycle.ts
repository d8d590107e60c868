/**
 * The lifecycle of a call's OpenAI Realtime sessions, as named states.
 *
 * A call starts `connecting` to its first session. Once open, the session can
 * be `renewing` (a second session is being opened before the first expires;
 * the call switches at a turn boundary) or, when its socket drops,
 * `reconnecting` (no session; attempts follow a back-off until one opens or the
 * window closes). Every socket has a generation number; inputs about an old
 * generation are recognised as stale. The moves are {@link SESSION_MOVES},
 * checked on each (`state_moves.ts`).
 *
 * Sending is only possible through a {@link LiveSession}, which only
 * {@link SessionLifecycle.live} and {@link SessionLifecycle.pendingLive} hand
 * out, and only for a socket that is open: the core cannot address a session
 * that is connecting, gone or replaced.
 *
 * ```mermaid
 * stateDiagram-v2
 *   [*] --> connecting
 *   connecting --> open: opened
 *   connecting --> reconnecting: failed
 *   open --> renewing: renew timer
 *   renewing --> open: switched / renewal failed
 *   open --> reconnecting: dropped
 *   renewing --> reconnecting: dropped
 *   reconnecting --> open: new session opened
 *   open --> closed: dropped while the call ends
 *   connecting --> closed: dropped while the call ends
 *   renewing --> closed: dropped while the call ends
 * ```
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SessionLifecycle } from "./session_lifecycle.ts";
 * const sessions = new SessionLifecycle();
 * const first = sessions.begin();
 * assert.equal(sessions.live(), undefined); // nothing can be sent yet
 * assert.equal(sessions.opened(first), "current");
 * assert.equal(sessions.live()?.generation, first);
 * const next = sessions.startRenewal();
 * assert.equal(sessions.state.name, "renewing");
 * assert.equal(sessions.opened(next!), "pending");
 * assert.deepEqual(sessions.switchToPending(), { old: first, generation: next });
 * assert.equal(sessions.state.name, "open");
 * ```
 *
 * @module
 */

import { checkMove, type MoveTable } from "./state_moves.ts";

declare const liveBrand: unique symbol;

/** An open session the core may send to (only the lifecycle creates one). */
export type LiveSession = { readonly generation: number; readonly [liveBrand]: true };

/** A second session being opened (renewal) or sought (reconnect). */
export interface PendingSession {
  generation: number;
  open: boolean;
}

/** Where the call's Realtime session stands. */
export type SessionState =
  /** The first socket is being opened. */
  | { name: "connecting"; generation: number }
  /** The call talks to session `generation`. */
  | { name: "open"; generation: number }
  /** The call talks to `generation` while `pending` is opened to replace it. */
  | { name: "renewing"; generation: number; pending: PendingSession }
  /**
   * The session is gone. `attempt` counts the sockets tried; `resume` says
   * whether the next session owes the caller an answer.
   */
  | { name: "reconnecting"; attempt: number; resume: boolean; pending: PendingSession | undefined }
  /** The session is gone and none is sought (the call is ending without it). */
  | { name: "closed" };

/** What {@link SessionLifecycle.closed} found. */
export type ClosedSocket =
  /** The call's own session (connecting, open or renewing) is gone. */
  | { kind: "current"; wasOpen: boolean }
  /** The renewal's socket closed before the switch; the call keeps its session. */
  | { kind: "renewal_failed" }
  /** A reconnect attempt failed. */
  | { kind: "reconnect_failed"; attempt: number }
  /** A socket the call no longer uses. */
  | { kind: "stale" };

function live(generation: number): LiveSession {
  return { generation } as LiveSession;
}

/** The allowed moves between the states of {@link SessionState} (the diagram above). */
export const SESSION_MOVES: MoveTable<SessionState["name"]> = {
  connecting: ["open", "reconnecting", "closed"],
  open: ["renewing", "reconnecting", "closed"],
  renewing: ["open", "reconnecting", "closed"],
  reconnecting: ["open"],
  closed: [],
};

/** The session lifecycle of one call. */
export class SessionLifecycle {
  #state: SessionState = { name: "connecting", generation: 0 };
  #lastGeneration = 0;
  #everOpened = false;

  #move(to: SessionState): void {
    checkMove("session lifecycle", SESSION_MOVES, this.#state.name, to.name);
    this.#state = to;
  }

  /** The current state (read-only). */
  get state(): Readonly<SessionState> {
    return this.#state;
  }

  /** Whether any session of this call ever opened. */
  get everOpened(): boolean {
    return this.#everOpened;
  }

  /** The session the call talks to, when it is open. */
  live(): LiveSession | undefined {
    const s = this.#state;
    return s.name === "open" || s.name === "renewing" ? live(s.generation) : undefined;
  }

  /** The session being opened to replace the current one, once its socket is open. */
  pendingLive(): LiveSession | undefined {
    const s = this.#state;
    if (s.name !== "renewing" && s.name !== "reconnecting") return undefined;
    return s.pending?.open ? live(s.pending.generation) : undefined;
  }

  /** Whether a pending session is open and ready to switch to. */
  get pendingReady(): boolean {
    return this.pendingLive() !== undefined;
  }

  /**
   * The call begins: returns the generation of the first socket to open.
   * This is the diagram's start (`[*]`), not a move: a repeated `begin` input
   * starts over from any state, as it always did.
   */
  begin(): number {
    const generation = ++this.#lastGeneration;
    this.#state = { name: "connecting", generation };
    return generation;
  }

  /** The socket of `generation` opened. */
  opened(generation: number): "current" | "pending" | "stale" {
    const s = this.#state;
    if (s.name === "connecting" && s.generation === generation) {
      this.#move({ name: "open", generation });
      this.#everOpened = true;
      return "current";
    }
    if (
      (s.name === "renewing" || s.name === "reconnecting") && s.pending?.generation === generation
    ) {
      s.pending.open = true;
      return "pending";
    }
    return "stale";
  }

  /** The socket of `generation` closed (or never opened). */
  closed(generation: number): ClosedSocket {
    const s = this.#state;
    if (s.name === "closed") return { kind: "stale" };
    if (s.name === "renewing" && s.pending.generation === generation) {
      this.#move({ name: "open", generation: s.generation });
      return { kind: "renewal_failed" };
    }
    if (s.name === "reconnecting") {
      if (s.pending?.generation !== generation) return { kind: "stale" };
      s.pending = undefined;
      return { kind: "reconnect_failed", attempt: s.attempt };
    }
    if (s.generation !== generation) return { kind: "stale" };
    return { kind: "current", wasOpen: s.name !== "connecting" };
  }

  /**
   * After the current session was lost: seek a new one. A renewal socket
   * already on its way is waited for before the first attempt.
   */
  startReconnect(resume: boolean): void {
    const s = this.#state;
    const pending = s.name === "renewing" ? s.pending : undefined;
    this.#move({ name: "reconnecting", attempt: 0, resume, pending });
  }

  /** The session is gone and the call goes on (and ends) without one. */
  close(): void {
    this.#move({ name: "closed" });
  }

  /** Opens the next reconnect attempt: its generation, or undefined when one is on its way. */
  attemptReconnect(): number | undefined {
    const s = this.#state;
    if (s.name !== "reconnecting" || s.pending !== undefined) return undefined;
    s.attempt++;
    s.pending = { generation: ++this.#lastGeneration, open: false };
    return s.pending.generation;
  }

  /** Reconnect attempts made in the current outage (0 when not reconnecting). */
  get attempts(): number {
    return this.#state.name === "reconnecting" ? this.#state.attempt : 0;
  }

  /** Starts a renewal from an open session: the new socket's generation, or undefined. */
  startRenewal(): number | undefined {
    const s = this.#state;
    if (s.name !== "open") return undefined;
    const generation = ++this.#lastGeneration;
    this.#move({
      name: "renewing",
      generation: s.generation,
      pending: { generation, open: false },
    });
    return generation;
  }

  /** Gives up a renewal in progress: the pending socket's generation, to close. */
  abandonRenewal(): number | undefined {
    const s = this.#state;
    if (s.name !== "renewing") return undefined;
    this.#move({ name: "open", generation: s.generation });
    return s.pending.generation;
  }

  /**
   * Makes the open pending session the call's session. `old` is the replaced
   * session when it was still open (to be closed), `resume` whether a
   * reconnect owes the caller an answer.
   */
  switchToPending(): { old: number | undefined; generation: number; resume?: boolean } | undefined {
    const s = this.#state;
    if (s.name !== "renewing" && s.name !== "reconnecting") return undefined;
    if (s.pending === undefined || !s.pending.open) return undefined;
    const generation = s.pending.generation;
    this.#move({ name: "open", generation });
    this.#everOpened = true;
    return s.name === "renewing"
      ? { old: s.generation, generation }
      : { old: undefined, generation, resume: s.resume };
  }
}
