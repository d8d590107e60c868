/**
 * How an outbound call opens. The bridge placed the call, so nobody should
 * be greeted before Twilio's answering-machine detection (AMD) says who
 * answered: until then the session listens (`create_response: false` on its
 * turn detection, so the callee's "Hello?" or a voicemail greeting gets no
 * answer). Then:
 *
 * - a person (`human`, or `unknown`) → the session talks again
 *   (`create_response: true`) and the agent opens: its outbound greeting word
 *   for word, or a first response of its own;
 * - an answering machine (`machine_end_*`, `machine_start`) → the voicemail
 *   message, said once, then the call ends; no message → hang up;
 * - a fax → hang up.
 *
 * Inbound calls never enter this state machine.
 *
 * ```mermaid
 * stateDiagram-v2
 *   [*] --> inbound
 *   [*] --> listening: outbound_call
 *   listening --> talking: human / unknown
 *   listening --> voicemail: machine, message set
 *   listening --> hung_up: machine without message, fax
 * ```
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { OutboundOpening } from "./outbound_opening.ts";
 * const opening = new OutboundOpening({
 *   type: "session.update",
 *   session: { type: "realtime", audio: { input: { turn_detection: { type: "server_vad", create_response: true } } } },
 * });
 * opening.outboundCall({ voicemail: "Please call us back." });
 * assert.equal(opening.listening, true);
 * assert.deepEqual(opening.sessionOverride?.session, {
 *   type: "realtime", audio: { input: { turn_detection: { type: "server_vad", create_response: false } } },
 * });
 * assert.deepEqual(opening.answeredBy("machine_end_beep"), { kind: "voicemail", message: "Please call us back." });
 * assert.equal(opening.answeredBy("human").kind, "ignored"); // decided once
 * ```
 *
 * @module
 */
import type { ClientEvent } from "../openai/client_events.ts";
import type { ConversationEntry } from "./conversation_log.ts";
import { buildReplayEvents } from "./session_replay.ts";

/** Where the opening stands. */
export type OpeningStage = "inbound" | "listening" | "talking" | "voicemail" | "hung_up";

/** What to do once AMD has spoken. */
export type OpeningDecision =
  | { kind: "greet"; greeting: string | undefined }
  | { kind: "voicemail"; message: string }
  | { kind: "hang_up"; reason: string }
  | { kind: "ignored"; reason: string };

type SessionUpdate = Extract<ClientEvent, { type: "session.update" }>;

/** The opening of one call. */
export class OutboundOpening {
  #stage: OpeningStage = "inbound";
  #greeting: string | undefined;
  #voicemail: string | undefined;
  #turnDetection: Record<string, unknown> | undefined;
  #answeredBy: string | undefined;
  /** A resumed call whose conversation no session has heard yet. */
  #replayPending = false;

  /** `sessionUpdate` is the call's usual session.update (its turn detection is reused). */
  constructor(sessionUpdate: SessionUpdate) {
    const audio = sessionUpdate.session.audio as Record<string, unknown> | undefined;
    const input = audio?.input as Record<string, unknown> | undefined;
    const td = input?.turn_detection;
    this.#turnDetection = typeof td === "object" && td !== null
      ? td as Record<string, unknown>
      : undefined;
  }

  /** The AMD result the opening was decided by, if any. */
  get answeredByResult(): string | undefined {
    return this.#answeredBy;
  }

  /** The current stage. */
  get stage(): OpeningStage {
    return this.#stage;
  }

  /** True while an outbound call waits for the AMD result (no greeting, no answers). */
  get listening(): boolean {
    return this.#stage === "listening";
  }

  /**
   * The session.update every new session needs after the usual one, or
   * undefined: while listening, turn detection without automatic responses.
   */
  get sessionOverride(): SessionUpdate | undefined {
    return this.listening ? this.#withCreateResponse(false) : undefined;
  }

  /** The stream is an outbound call: listen until {@link answeredBy}. */
  outboundCall(settings: { greeting?: string; voicemail?: string }): void {
    if (this.#stage !== "inbound") return;
    this.#stage = "listening";
    this.#greeting = settings.greeting === "" ? undefined : settings.greeting;
    this.#voicemail = settings.voicemail?.trim() ? settings.voicemail : undefined;
  }

  /**
   * The call goes on from an earlier media stream (after keypad tones): it
   * talks at once, and the first session gets the conversation replayed.
   */
  resumed(): void {
    if (this.#stage !== "inbound") return;
    this.#stage = "talking";
    this.#replayPending = true;
  }

  /**
   * What the call's first session gets after its usual session.update: the
   * listening override, or the replayed conversation of a resumed call
   * (once; later sessions are replayed by the session switch).
   */
  firstSessionEvents(entries: readonly ConversationEntry[]): ClientEvent[] {
    const override = this.sessionOverride;
    if (override !== undefined) return [override];
    if (!this.#replayPending) return [];
    this.#replayPending = false;
    return buildReplayEvents(entries);
  }

  /** A session switch replays the conversation itself: nothing left to replay. */
  switchedSession(): SessionUpdate | undefined {
    this.#replayPending = false;
    return this.sessionOverride;
  }

  /** The session.update that lets the session answer again (after a person answered). */
  talkingUpdate(): SessionUpdate | undefined {
    return this.#withCreateResponse(true);
  }

  /** The AMD result (`AnsweredBy`); decided once. */
  answeredBy(result: string): OpeningDecision {
    if (this.#stage === "inbound") {
      return { kind: "ignored", reason: "not an outbound call" };
    }
    if (this.#stage !== "listening") {
      return { kind: "ignored", reason: "the opening was already decided" };
    }
    this.#answeredBy = result.slice(0, 32);
    if (result === "fax") {
      this.#stage = "hung_up";
      return { kind: "hang_up", reason: "A fax machine answered." };
    }
    if (result.startsWith("machine_")) {
      if (this.#voicemail === undefined) {
        this.#stage = "hung_up";
        return { kind: "hang_up", reason: "An answering machine answered; no voicemail message." };
      }
      this.#stage = "voicemail";
      return { kind: "voicemail", message: this.#voicemail };
    }
    this.#stage = "talking";
    return { kind: "greet", greeting: this.#greeting };
  }

  #withCreateResponse(createResponse: boolean): SessionUpdate | undefined {
    if (this.#turnDetection === undefined) return undefined;
    return {
      type: "session.update",
      session: {
        type: "realtime",
        audio: {
          input: { turn_detection: { ...this.#turnDetection, create_response: createResponse } },
        },
      },
    };
  }
}
