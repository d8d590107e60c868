/**
 * The rules of ending a call, over the {@link CallEnding} state: every polite
 * ending (`end_call`, `transfer_call`, the time limit, the idle caller, the
 * drain) asks the assistant for one last sentence, waits for Twilio to play
 * it, then hangs up (or, for a transfer, hands the call to `<Dial>`); every
 * other ending goes straight to {@link WrapUp.finish}, the one place a
 * `finish` command is issued.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createCallParts } from "./call_parts.ts";
 * import { WrapUp } from "./wrap_up.ts";
 * const parts = createCallParts({ sessionUpdate: { type: "session.update", session: {} } });
 * const wrapUp = new WrapUp(parts, { abandonRenewal: () => {} });
 * wrapUp.finish("caller_hung_up", "Twilio sent stop.", "none");
 * assert.equal(parts.ending.done, true);
 * assert.equal(parts.out.take().at(-1)?.type, "finish");
 * ```
 *
 * @module
 */
import { clearInput } from "../openai/client_events.ts";
import { requestResponse } from "./response_requests.ts";
import type { Ending } from "./call_ending.ts";
import { type CallParts, callStats } from "./call_parts.ts";
import type { CallOutcome, EndingTimer } from "./call_types.ts";

/** What the wrap-up needs from the rest of the core. */
export interface WrapUpHooks {
  /** Gives up a session renewal in progress. */
  abandonRenewal(): void;
}

/** The longest wait for the echo of the silence check's mark beyond the audio queued before it. */
const PROBE_ANSWER_MS = 5000;

/** The ending rules of one call. */
export class WrapUp {
  #p: CallParts;
  #hooks: WrapUpHooks;
  /** When the silence check sent its mark, while no message has come since. */
  #probedAt: number | undefined;

  /** Creates the rules over `parts`. */
  constructor(parts: CallParts, hooks: WrapUpHooks) {
    this.#p = parts;
    this.#hooks = hooks;
  }

  /**
   * Ends the call politely: the assistant says one last sentence, then the
   * call ends once Twilio has played it. After a tool call
   * (`afterResponseId`), the farewell waits for the tool's response.
   */
  begin(ending: Ending, afterResponseId?: string): void {
    const p = this.#p;
    const wait = afterResponseId !== undefined && p.responses.active === afterResponseId;
    const begun = p.ending.begin(ending, wait ? afterResponseId : undefined);
    if (begun === "ignored") return;
    this.#hooks.abandonRenewal();
    // Stop feeding caller audio so voice activity cannot cancel the farewell.
    p.turn.forgetTurnInProgress();
    const session = p.sessions.live();
    if (session !== undefined) p.out.toOpenAI(session, clearInput());
    p.out.setTimer("end_call_watchdog", p.options.endCallWatchdogMs);
    if (begun === "request_farewell") this.requestFarewell();
  }

  /** Asks the model for the farewell (again, after a session switch). */
  requestFarewell(): void {
    const instructions = this.#p.ending.requestFarewell();
    if (instructions !== undefined) {
      requestResponse(this.#p, { instructions, toolChoice: "none" });
    }
  }

  /** Response `responseId` is done: the farewell may be due or complete. */
  responseDone(responseId: string): void {
    const next = this.#p.ending.responseDone(responseId);
    if (next === "request_farewell") this.requestFarewell();
    else if (next === "farewell_complete") this.farewellComplete();
  }

  /** The farewell's audio is all there: wait for it to play, then hang up. */
  farewellComplete(): void {
    const p = this.#p;
    p.out.cancelTimer("end_call_watchdog");
    const mark = p.audio.sentMs > 0 ? p.audio.markNow() : undefined;
    if (mark !== undefined) {
      p.ending.waitForMark(mark);
      // If Twilio never echoes the final mark, do not wait forever.
      p.out.setTimer("farewell_playback", Math.ceil(p.audio.pendingMs(p.now)) + 5000);
    } else {
      this.#startGrace();
    }
  }

  /** Twilio echoed mark `name`: when it ends the farewell, the grace period starts. */
  onMark(name: string): void {
    if (!this.#p.ending.isFinalMark(name)) return;
    this.#p.out.cancelTimer("farewell_playback");
    this.#p.out.log("info", "Farewell finished playing; hanging up after the grace period.", {
      graceMs: this.#p.options.endCallGraceMs,
    });
    this.#startGrace();
  }

  #startGrace(): void {
    this.#p.ending.startGrace();
    this.#p.out.setTimer("end_call_grace", this.#p.options.endCallGraceMs);
  }

  /** Ends the call after its farewell (or when the farewell cannot be confirmed). */
  finishEnding(reason: string): void {
    const outcome = this.#p.ending.current?.outcome ?? "assistant_ended";
    if (outcome === "transferred") {
      // Twilio goes on to the <Connect action> URL, which answers <Dial> to the transfer number.
      this.finish(outcome, reason, "close_stream", { code: 1000, reason: "transferring the call" });
    } else {
      this.finish(outcome, reason, "hang_up");
    }
  }

  /** The server is shutting down: a short goodbye, or hang up when there is no one to say it. */
  drain(): void {
    const p = this.#p;
    if (p.ending.ending) return; // already saying goodbye
    if (p.streamSid === undefined || p.sessions.live() === undefined) {
      this.finish("drained", "The server is shutting down.", "hang_up");
      return;
    }
    p.out.log("info", "The server is shutting down; saying goodbye to the caller.");
    this.begin({
      instructions: p.options.prompts.drain,
      reason: "The server shut down.",
      outcome: "drained",
    });
  }

  /** `MAX_CALL_SECONDS` reached. */
  timeLimit(): void {
    const p = this.#p;
    if (p.ending.ending) return;
    p.out.log("info", "The call reached its maximum duration; the assistant wraps up.", {
      maxCallMs: p.options.maxCallMs,
    });
    this.begin({
      instructions: p.options.prompts.timeLimit,
      reason: "Maximum call duration reached.",
      outcome: "assistant_ended",
    });
  }

  /** The idle timer fired at `quietSince + idle`: wrap up, or check again later. */
  idleCheck(quietSince: number): void {
    const p = this.#p;
    const idleMs = p.options.callerIdleMs;
    if (p.ending.ending || idleMs <= 0) return;
    const busy = p.responses.busy;
    const dueAt = quietSince + idleMs;
    if (busy || p.now < dueAt) {
      p.out.setTimer("caller_idle", busy ? idleMs : Math.ceil(dueAt - p.now));
      return;
    }
    p.out.log("info", "The caller has been silent too long; the assistant wraps up.", { idleMs });
    this.begin({
      instructions: p.options.prompts.idle,
      reason: "Caller idle timeout.",
      outcome: "assistant_ended",
    });
  }

  /**
   * An outbound call reached a machine: leave the voicemail message once (the
   * farewell path: said, played, then hung up), or hang up when there is no
   * message (or a fax answered).
   */
  answeringMachine(answeredBy: string, kind: "machine" | "fax"): void {
    const p = this.#p;
    const message = p.options.awaitAnswer?.voicemail;
    if (kind === "machine" && message !== undefined && message !== "") {
      p.out.log("info", "A voicemail answered; the assistant leaves the message.", { answeredBy });
      this.begin({
        instructions: p.options.prompts.voicemail(message),
        reason: "Left a voicemail message.",
        outcome: "voicemail",
      });
      return;
    }
    p.out.log("info", "A machine answered; hanging up without a message.", { answeredBy });
    this.finish("machine", `Answered by ${answeredBy}.`, "hang_up");
  }

  /** A peer stopped reading: end the call rather than buffer without bound. */
  peerStalled(peer: "twilio" | "openai", bufferedBytes: number): void {
    const out = this.#p.out;
    if (peer === "twilio") {
      out.log(
        "error",
        "Twilio stopped reading the media stream; hanging up instead of buffering without bound.",
        { bufferedBytes },
      );
      const reason = `Twilio media socket stalled (${bufferedBytes} bytes buffered).`;
      this.finish("bridge_error", reason, "hang_up");
    } else {
      out.log(
        "error",
        "OpenAI stopped reading the Realtime socket; ending the call with an apology instead of buffering without bound.",
        { bufferedBytes },
      );
      const reason = `OpenAI socket stalled (${bufferedBytes} bytes buffered).`;
      this.finish("openai_error", reason, "close_stream");
    }
  }

  /**
   * The silence timer fired. Twilio normally sends the caller's audio every
   * 20 ms, silence included, but not on every call (some legs suppress
   * silence), so a quiet stream is asked before it is given up: after
   * `STREAM_SILENCE_SECONDS` without a message the bridge sends a mark, which
   * Twilio echoes once the audio queued before it has played. Any message
   * since (the echo, audio, a key) means the stream is alive and the check
   * starts again from it; none by the time the echo was due (the queued
   * audio, then as long again as the bound, at most 5 s) means the connection
   * is gone without a close: the call is `stream_lost`, which another
   * instance may resume.
   */
  silenceCheck(heardAt: number): void {
    const p = this.#p;
    const silenceMs = p.options.streamSilenceMs;
    if (silenceMs <= 0) return;
    const dueAt = heardAt + silenceMs;
    if (p.now < dueAt) {
      this.#probedAt = undefined;
      p.out.setTimer("stream_silence", Math.ceil(dueAt - p.now));
      return;
    }
    if (this.#probedAt === undefined || this.#probedAt < heardAt) {
      this.#probedAt = p.now;
      p.audio.markNow();
      const answerMs = Math.ceil(p.audio.pendingMs(p.now)) + Math.min(silenceMs, PROBE_ANSWER_MS);
      p.out.setTimer("stream_silence", answerMs);
      return;
    }
    p.out.log(
      "warning",
      "Twilio sent nothing on the media stream and did not answer a mark; the stream is lost.",
      { silenceMs },
    );
    this.finish(
      "stream_lost",
      `No message from Twilio for ${
        Math.round((p.now - heardAt) / 1000)
      } s, nor the echo of a mark.`,
      "close_stream",
      { code: 1001, reason: "media stream silent" },
    );
  }

  /** Handles the ending's timers (watchdog, play-out, grace, start, time limit, idle caller, dead stream). */
  onTimer(name: EndingTimer, since: { quietSince: number; heardAt: number }): void {
    const p = this.#p;
    switch (name) {
      case "end_call_watchdog":
        p.out.log("warning", "Farewell audio did not start in time; hanging up anyway.", {
          watchdogMs: p.options.endCallWatchdogMs,
        });
        this.finishEnding("end_call watchdog.");
        return;
      case "farewell_playback":
        p.out.log("warning", "Twilio did not confirm the end of the farewell; hanging up.");
        this.finishEnding("Farewell playback timeout.");
        return;
      case "end_call_grace":
        this.finishEnding(p.ending.current?.reason ?? "The assistant ended the call.");
        return;
      case "start_timeout":
        if (p.streamSid !== undefined) return;
        p.out.log("warning", "Twilio sent no start message in time; closing the stream.", {
          timeoutMs: p.options.startTimeoutMs,
        });
        this.finish("refused", "No start message.", "close_stream", {
          code: 1008,
          reason: "no start message",
        });
        return;
      case "max_duration":
        this.timeLimit();
        return;
      case "caller_idle":
        this.idleCheck(since.quietSince);
        return;
      case "stream_silence":
        this.silenceCheck(since.heardAt);
        return;
      default: {
        const unhandled: never = name;
        throw new Error(`no handler for the timer ${unhandled}`);
      }
    }
  }

  /** The call is over: the one `finish` command (later calls do nothing). */
  finish(
    outcome: CallOutcome,
    reason: string,
    action: "hang_up" | "close_stream" | "none",
    close?: { code: number; reason: string },
  ): void {
    const p = this.#p;
    if (!p.ending.finish(outcome, reason)) return;
    p.turn.clear();
    p.audio.clear();
    p.out.log("info", "Call finished.", { outcome, reason, ...callStats(p) });
    p.out.push(
      close === undefined
        ? { type: "finish", outcome, reason, action }
        : { type: "finish", outcome, reason, action, close },
    );
  }
}
