/**
 * The rules of moving a call from one OpenAI Realtime session to another,
 * over the {@link SessionLifecycle} states: renewal before a session expires
 * (switch at a turn boundary, or after a bounded wait), reconnects after a
 * socket dropped (back-off within a window, then the apology), and what a new
 * session gets: `session.update`, the conversation replayed as items, the
 * caller audio it missed, and the answer or farewell the caller is owed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createCallParts } from "./call_parts.ts";
 * import { SessionHandover } from "./session_handover.ts";
 * const parts = createCallParts({ sessionUpdate: { type: "session.update", session: {} } });
 * const handover = new SessionHandover(parts, {
 *   requestFarewell: () => {}, farewellComplete: () => {},
 *   maybeGreet: () => {}, finish: () => {},
 * });
 * parts.out.openSession(parts.sessions.begin());
 * handover.onSocketOpen(1);
 * assert.deepEqual(parts.out.take().map((c) => c.type), ["open_openai", "cancel_timer", "to_openai"]);
 * // The socket drops: the call seeks a new session at once.
 * handover.onSocketClosed({ type: "openai_closed", code: 1006, reason: "", opened: true, generation: 1 });
 * assert.equal(parts.sessions.state.name, "reconnecting");
 * assert.ok(parts.out.take().some((c) => c.type === "open_openai" && c.generation === 2));
 * ```
 *
 * @module
 */
import { appendAudio } from "../openai/client_events.ts";
import type { Base64 } from "../audio/base64.ts";
import type { CallParts } from "./call_parts.ts";
import type { CallInput, CallOutcome, SessionTimer } from "./call_types.ts";
import type { LiveSession } from "./session_lifecycle.ts";
import { flushResponse } from "./response_requests.ts";
import { buildReplayEvents, MAX_RECONNECT_ATTEMPTS, reconnectDelayMs } from "./session_replay.ts";

/** At most this long before a session's announced deadline, its renewal starts. */
const DEADLINE_LEAD_MS = 60_000;
/** Ms before trying a renewal again after one failed. */
const RENEW_RETRY_MS = 30_000;
/** Frames of the waiting sound sent per tick (200 ms: Twilio's queue stays short). */
const WAITING_FRAMES_PER_TICK = 10;

type Closed = Extract<CallInput, { type: "openai_closed" }>;

/** What the handover needs from the rest of the core. */
export interface HandoverHooks {
  /** Asks for the farewell again (the new session never said it). */
  requestFarewell(): void;
  /** The farewell's audio is all there (its session ended mid-farewell). */
  farewellComplete(): void;
  /** Greets the caller when the greeting is still due. */
  maybeGreet(): void;
  /** Ends the call. */
  finish(outcome: CallOutcome, reason: string, action: "close_stream"): void;
}

/** Session renewal and reconnects of one call. */
export class SessionHandover {
  #p: CallParts;
  #hooks: HandoverHooks;
  /** Position in the waiting sound's loop. */
  #waitingAt = 0;
  /** Announced deadlines of sessions, by generation (the core's clock). */
  #deadlines = new Map<number, number>();

  /** Creates the rules over `parts`. */
  constructor(parts: CallParts, hooks: HandoverHooks) {
    this.#p = parts;
    this.#hooks = hooks;
  }

  /** Handles the session timers (connect, renewal, switch, reconnects, waiting sound). */
  onTimer(name: SessionTimer): void {
    const p = this.#p;
    switch (name) {
      case "openai_connect":
        if (p.sessions.live() !== undefined) return;
        p.out.observe({ kind: "openai_connect", ok: false });
        p.out.log(
          "error",
          "OpenAI Realtime did not answer in time; ending the call with an apology.",
          { timeoutMs: p.options.openaiConnectTimeoutMs },
        );
        this.#hooks.finish("openai_error", "OpenAI connect timeout.", "close_stream");
        return;
      case "session_renew":
        this.startRenewal();
        return;
      case "session_switch_wait":
        this.onSwitchWait();
        return;
      case "reconnect_retry":
        this.attemptReconnect();
        return;
      case "reconnect_deadline":
        this.reconnectDeadline();
        return;
      case "waiting_sound":
        this.waitingTick();
        return;
      default: {
        const unhandled: never = name;
        throw new Error(`no handler for the timer ${unhandled}`);
      }
    }
  }

  /** Sends one caller frame to `session`, as part of the turn in progress. */
  sendCallerAudio(session: LiveSession, payload: Base64): void {
    this.#p.out.toOpenAI(session, appendAudio(payload));
    this.#p.turn.sent(payload);
  }

  /**
   * No session is there (Twilio's stream started before OpenAI answered, or
   * the session dropped): the waiting sound starts if that lasts.
   */
  startWaiting(): void {
    const p = this.#p;
    if (p.options.waitingSound.length === 0 || p.streamSid === undefined) return;
    if (p.sessions.live() !== undefined) return;
    p.out.setTimer("waiting_sound", p.options.waitingSoundAfterMs);
  }

  /** The waiting-sound timer fired: play the next 200 ms while there is still no session. */
  waitingTick(): void {
    const p = this.#p;
    const frames = p.options.waitingSound;
    if (p.sessions.live() !== undefined || p.ending.ending || frames.length === 0) return;
    if (this.#waitingAt === 0) {
      p.out.log("info", "OpenAI is not there yet; the caller hears the waiting sound.", {
        state: p.sessions.state.name,
      });
    }
    const chunk: Base64[] = [];
    for (let i = 0; i < WAITING_FRAMES_PER_TICK; i++) {
      chunk.push(frames[this.#waitingAt++ % frames.length]);
    }
    p.audio.waitingSound(chunk, p.now);
    p.out.setTimer("waiting_sound", WAITING_FRAMES_PER_TICK * 20);
  }

  /** The socket of `generation` opened. */
  onSocketOpen(generation: number): void {
    const p = this.#p;
    const opened = p.sessions.opened(generation);
    if (opened === "current") {
      const session = p.sessions.live() as LiveSession;
      p.out.cancelTimer("openai_connect");
      this.#stopWaiting();
      this.#scheduleRenewal(p.options.renewAfterMs);
      p.out.toOpenAI(session, p.options.sessionUpdate);
      // A call resumed in a new media stream: the first session hears the conversation so far.
      if (p.options.resume !== undefined) {
        for (const event of buildReplayEvents(p.conversation.entries)) {
          p.out.toOpenAI(session, event);
        }
      }
      p.out.observe({ kind: "openai_connect", ok: true });
      const queued = p.turn.takeQueued();
      for (const payload of queued) this.sendCallerAudio(session, payload);
      if (queued.length > 0) {
        p.out.log("debug", "Sent caller audio queued while OpenAI was connecting.", {
          frames: queued.length,
        });
      }
      this.#hooks.maybeGreet();
      flushResponse(this.#p); // e.g. a voicemail message asked for before the session was there
    } else if (opened === "pending") {
      p.out.toOpenAI(p.sessions.pendingLive() as LiveSession, p.options.sessionUpdate);
      if (p.sessions.state.name === "reconnecting") this.switchSession("reconnect");
      // A renewal switches at the next turn boundary (see CallCore.handle).
    }
  }

  /** A renewal session is ready and the call is at a turn boundary: switch now. */
  switchIfReady(atTurnBoundary: () => boolean): void {
    const sessions = this.#p.sessions;
    if (sessions.state.name === "renewing" && sessions.pendingReady && atTurnBoundary()) {
      this.switchSession("renewal");
    }
  }

  /**
   * The session of `generation` ends in `expiresInMs`: renew it ahead (half
   * the time left, at most a minute before), so the switch happens at a turn
   * boundary rather than when the session is gone.
   */
  onDeadline(generation: number, expiresInMs: number): void {
    // A renewal session announces its deadline before the switch: kept until it is the call's.
    this.#deadlines.set(generation, this.#p.now + expiresInMs);
    this.#armDeadline(generation);
  }

  /** Schedules the renewal of `generation` ahead of its deadline, if it is the call's session. */
  #armDeadline(generation: number): void {
    const p = this.#p;
    const at = this.#deadlines.get(generation);
    if (at === undefined || p.sessions.live()?.generation !== generation || p.ending.ending) return;
    for (const old of this.#deadlines.keys()) if (old < generation) this.#deadlines.delete(old);
    const expiresInMs = Math.max(0, at - p.now);
    const renewInMs = Math.max(0, expiresInMs - Math.min(DEADLINE_LEAD_MS, expiresInMs / 2));
    p.out.setTimer("session_renew", renewInMs);
    p.out.log("info", "The session ends in {expiresInS} s; renewing it in {renewInS} s.", {
      generation,
      expiresInS: Math.round(expiresInMs / 1000),
      renewInS: Math.round(renewInMs / 1000),
    });
  }

  #scheduleRenewal(delayMs: number): void {
    if (this.#p.options.renewAfterMs > 0) this.#p.out.setTimer("session_renew", delayMs);
  }

  /** The renewal timer fired: open the next session. */
  startRenewal(): void {
    const p = this.#p;
    if (p.ending.ending) return; // the call is ending anyway
    const generation = p.sessions.startRenewal();
    if (generation === undefined) return;
    p.out.openSession(generation);
    p.out.log("info", "Renewing the OpenAI Realtime session before it expires.", {
      generation,
      switchWaitMs: p.options.switchWaitMs,
    });
    p.out.setTimer("session_switch_wait", p.options.switchWaitMs);
  }

  /** The call is ending: no renewal (a reconnect still may bring the goodbye). */
  abandonRenewal(): void {
    const p = this.#p;
    p.out.cancelTimer("session_renew");
    const pending = p.sessions.abandonRenewal();
    if (pending === undefined) return;
    p.out.cancelTimer("session_switch_wait");
    p.out.closeSession(pending, "call ending");
  }

  /** No turn boundary came in time: switch anyway, or retry the renewal later. */
  onSwitchWait(): void {
    const p = this.#p;
    if (p.sessions.state.name !== "renewing") return;
    if (p.sessions.pendingReady) {
      p.out.log("warning", "No turn boundary in time; switching Realtime sessions now.", {
        switchWaitMs: p.options.switchWaitMs,
      });
      this.switchSession("renewal");
      return;
    }
    const pending = p.sessions.abandonRenewal();
    p.out.log("warning", "The new Realtime session did not open in time; renewal retried later.", {
      generation: pending,
      retryMs: RENEW_RETRY_MS,
    });
    if (pending !== undefined) p.out.closeSession(pending, "renewal timed out");
    this.#scheduleRenewal(RENEW_RETRY_MS);
  }

  /** Makes the pending session the call's session: replay, queued audio, resume. */
  switchSession(reason: "renewal" | "reconnect"): void {
    const p = this.#p;
    const inFlight = p.responses.inFlight;
    const speaking = p.turn.speaking;
    const switched = p.sessions.switchToPending();
    if (switched === undefined) return;
    const oldAlive = switched.old !== undefined;
    const resume = switched.resume === true || (oldAlive && inFlight);
    for (
      const timer of [
        "session_switch_wait",
        "reconnect_retry",
        "reconnect_deadline",
        "openai_connect",
      ] as const
    ) p.out.cancelTimer(timer);
    if (switched.old !== undefined) p.out.closeSession(switched.old, "session renewed");
    this.#stopWaiting();
    // Forced switch mid-turn: the new session hears the whole turn.
    p.turn.carryOver({ wholeTurn: oldAlive && speaking });
    this.#forgetSession();
    const session = p.sessions.live() as LiveSession;
    const replay = buildReplayEvents(p.conversation.entries);
    for (const event of replay) p.out.toOpenAI(session, event);
    const queued = p.turn.takeQueued();
    for (const payload of queued) this.sendCallerAudio(session, payload);
    p.counts[reason === "renewal" ? "sessionRenewals" : "reconnects"]++;
    p.out.observe({ kind: reason === "renewal" ? "session_renewed" : "openai_reconnected" });
    p.out.log("info", "Switched to a new OpenAI Realtime session.", {
      reason,
      generation: session.generation,
      replayedItems: replay.length,
      queuedFrames: queued.length,
    });
    this.#scheduleRenewal(p.options.renewAfterMs);
    this.#armDeadline(session.generation);
    if (p.ending.ending) {
      if (p.ending.farewellOwed) {
        p.responses.cancelRequest();
        this.#hooks.requestFarewell();
      }
    } else {
      if (resume) p.responses.requestIfNone();
      flushResponse(this.#p);
    }
    this.#hooks.maybeGreet();
  }

  #stopWaiting(): void {
    if (this.#p.options.waitingSound.length === 0) return;
    this.#p.out.cancelTimer("waiting_sound");
    this.#waitingAt = 0;
  }

  /** The session in use is replaced: its responses and items are forgotten. */
  #forgetSession(): void {
    const active = this.#p.responses.forgetSession();
    if (active !== undefined) this.#p.audio.dropResponse(active);
    this.#p.audio.forgetSession();
  }

  /** An OpenAI socket closed (or could not be opened). */
  onSocketClosed(input: Closed): void {
    const p = this.#p;
    const details = { code: input.code, reason: input.reason, generation: input.generation };
    const closed = p.sessions.closed(input.generation);
    switch (closed.kind) {
      case "stale":
        return;
      case "renewal_failed":
        p.out.log(
          "warning",
          "The renewal session closed before the switch; retrying later.",
          details,
        );
        p.out.cancelTimer("session_switch_wait");
        this.#scheduleRenewal(RENEW_RETRY_MS);
        return;
      case "reconnect_failed":
        if (input.failure === "auth") {
          this.#keyRejected(details);
          return;
        }
        p.out.log("warning", "Reconnecting to OpenAI Realtime failed.", details);
        this.#scheduleReconnect();
        return;
      case "current":
        this.#onSessionLost(input, closed.wasOpen, details);
        return;
    }
  }

  #onSessionLost(input: Closed, wasOpen: boolean, details: Record<string, unknown>): void {
    const p = this.#p;
    const stage = p.ending.state.stage;
    if (stage === "grace" || stage === "farewell_playing") {
      p.out.log(
        "info",
        "OpenAI Realtime socket closed while the call is ending; finishing without it.",
        details,
      );
      p.sessions.close();
      p.audio.stopStreaming();
      if (p.ending.farewellOwed) this.#hooks.farewellComplete();
      return;
    }
    if (input.failure === "auth") {
      this.#keyRejected(details);
      return;
    }
    if (p.options.reconnectWindowMs <= 0) {
      p.out.log(
        "error",
        input.opened
          ? "OpenAI Realtime socket closed unexpectedly; ending the call with an apology."
          : "Could not connect to the OpenAI Realtime API; ending the call with an apology. Check OPENAI_API_KEY and OPENAI_REALTIME_URL.",
        details,
      );
      this.#hooks.finish(
        "openai_error",
        `OpenAI socket closed (code ${input.code}).`,
        "close_stream",
      );
      return;
    }
    p.out.log(
      "warning",
      input.opened
        ? "OpenAI Realtime socket closed; reconnecting and replaying the conversation."
        : p.sessions.everOpened
        ? "OpenAI Realtime socket failed; reconnecting."
        : "Could not connect to the OpenAI Realtime API; retrying. Check OPENAI_API_KEY and OPENAI_REALTIME_URL if this persists.",
      { ...details, windowMs: p.options.reconnectWindowMs },
    );
    // The caller's unfinished turn went down with the session: it goes again to the next one.
    // A turn the model had not started answering: if its words are known, the replay carries
    // them and the new session is asked to answer; else its audio is sent again.
    const inFlight = p.responses.inFlight;
    const carried = p.turn.carryOver({ wholeTurn: true, sessionLost: wasOpen });
    const resume = wasOpen && (inFlight || carried.answerOwed);
    if (wasOpen) this.#forgetSession();
    p.sessions.startReconnect(resume);
    if (p.sessions.pendingReady) {
      this.switchSession("reconnect"); // a renewal session is ready: use it
      return;
    }
    p.out.setTimer("reconnect_deadline", p.options.reconnectWindowMs);
    this.startWaiting();
    this.attemptReconnect();
  }

  /** OpenAI refused the API key: retrying cannot help, the caller hears the apology now. */
  #keyRejected(details: Record<string, unknown>): void {
    this.#p.out.log(
      "error",
      "OpenAI rejected the API key (HTTP 401/403); ending the call with an apology. Check OPENAI_API_KEY.",
      details,
    );
    this.#hooks.finish("openai_error", "OpenAI rejected the API key.", "close_stream");
  }

  #scheduleReconnect(): void {
    const attempts = this.#p.sessions.attempts;
    if (attempts >= MAX_RECONNECT_ATTEMPTS) {
      this.#p.out.log(
        "error",
        "Gave up reconnecting to OpenAI Realtime; ending the call with an apology.",
        { attempts },
      );
      this.#hooks.finish("openai_error", "OpenAI reconnect failed.", "close_stream");
      return;
    }
    this.#p.out.setTimer("reconnect_retry", reconnectDelayMs(attempts + 1));
  }

  /** Opens the next reconnect attempt (the retry timer fired). */
  attemptReconnect(): void {
    const generation = this.#p.sessions.attemptReconnect();
    if (generation === undefined) return;
    this.#p.out.openSession(generation);
    this.#p.out.log("info", "Opening a new OpenAI Realtime session.", {
      generation,
      attempt: this.#p.sessions.attempts,
    });
  }

  /** The reconnect window is over. */
  reconnectDeadline(): void {
    this.#p.out.log(
      "error",
      "Could not get a working OpenAI Realtime session back in time; ending the call with an apology.",
      { windowMs: this.#p.options.reconnectWindowMs, attempts: this.#p.sessions.attempts },
    );
    this.#hooks.finish("openai_error", "OpenAI reconnect failed.", "close_stream");
  }
}
