/**
 * The caller's side of the conversation: audio frames waiting for a session,
 * the turn in progress (frames sent since the last commit), the last
 * committed turn until the model has answered it and its transcript is in,
 * and whether the caller is speaking.
 *
 * A session that drops takes the turn in progress with it; {@link
 * CallerTurn.carryOver} says what the next session must hear again and
 * whether it owes the caller an answer.
 *
 * The states are {@link TurnState}, their moves {@link TURN_MOVES}, checked
 * on each (`state_moves.ts`). While the caller speaks, the state of the
 * previous turn is kept under `speaking` and still moves (its answer, its
 * transcript); `speech_stopped` returns to it, a commit replaces it.
 *
 * ```mermaid
 * stateDiagram-v2
 *   [*] --> listening
 *   listening --> speaking: speech_started
 *   committed --> speaking: speech_started
 *   answered --> speaking: speech_started
 *   heard --> speaking: speech_started
 *   settled --> speaking: speech_started
 *   speaking --> committed: committed (item), or speech_stopped
 *   speaking --> listening: speech_stopped, or session replaced
 *   speaking --> answered: speech_stopped
 *   speaking --> heard: speech_stopped
 *   speaking --> settled: speech_stopped
 *   listening --> committed: committed (item)
 *   answered --> committed: committed (item)
 *   heard --> committed: committed (item)
 *   settled --> committed: committed (item)
 *   committed --> answered: response.created
 *   committed --> heard: transcript
 *   answered --> settled: transcript
 *   heard --> settled: response.created
 *   committed --> listening: session replaced
 *   answered --> listening: session replaced
 *   heard --> listening: session replaced
 *   settled --> listening: session replaced
 * ```
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CallerTurn } from "./caller_turn.ts";
 * const turn = new CallerTurn({ maxQueuedFrames: 500 });
 * turn.speechStarted();
 * turn.sent("AAAA");
 * turn.committed("item_1", 0);
 * assert.equal(turn.settled(100), false); // not answered, no transcript yet
 * // The session drops before the model answered: the turn's audio goes again.
 * const carried = turn.carryOver({ wholeTurn: true, sessionLost: true });
 * assert.deepEqual(carried, { frames: ["AAAA"], answerOwed: false });
 * ```
 *
 * @module
 */
import { AudioTail, type TailLimit } from "./audio_tail.ts";
import { checkMove, type MoveTable } from "./state_moves.ts";
import { FRAME_BYTES } from "../audio/frames.js";
import type { Base64 } from "../audio/base64.ts";

/** Caller audio of an unfinished turn re-sent after a reconnect: 5 s (250 frames). */
const TURN_TAIL: TailLimit = { frames: 250, bytes: 250 * FRAME_BYTES };
/**
 * Audio kept while no speech was heard since the last commit: 1 s (50 frames), which covers
 * the VAD's detection delay and its prefix padding if the session drops just as the caller
 * starts speaking. Re-sending more silence helps nobody. Both are kept as bytes
 * ({@link AudioTail}): kept as strings, every frame became old-generation garbage.
 */
const SILENT_TAIL: TailLimit = { frames: 50, bytes: 50 * FRAME_BYTES };
/** Ms a switch waits at most for the answer to and the transcript of the caller's last turn. */
const TURN_SETTLE_MS = 5000;

/** The caller's last committed turn. */
interface Commit {
  itemId: string;
  at: number;
}

/** Where the caller's side stands when the caller is not speaking. */
type TurnAtRest =
  /** Nothing owed: no turn yet, or the last one went over to a new session. */
  | { name: "listening" }
  /** The turn was committed; the model has neither answered nor transcribed it. */
  | { name: "committed"; commit: Commit }
  /** The model started answering it (`response.created`); its transcript is not in. */
  | { name: "answered"; commit: Commit }
  /** Its transcript is in (replayable as text); the model has not started answering. */
  | { name: "heard"; commit: Commit }
  /** It is answered and transcribed. */
  | { name: "settled" };

/** Where the caller's side stands (the diagram above). */
export type TurnState =
  | TurnAtRest
  /** OpenAI's VAD hears the caller; `turn` is the previous turn's state. */
  | { name: "speaking"; turn: TurnAtRest };

/** The allowed moves between the states of {@link TurnState} (the diagram above). */
export const TURN_MOVES: MoveTable<TurnState["name"]> = {
  listening: ["speaking", "committed"],
  speaking: ["committed", "listening", "answered", "heard", "settled"],
  committed: ["speaking", "answered", "heard", "listening"],
  answered: ["speaking", "committed", "settled", "listening"],
  heard: ["speaking", "committed", "settled", "listening"],
  settled: ["speaking", "committed", "listening"],
};

/** Options of {@link CallerTurn}. */
export interface CallerTurnOptions {
  /** Frames kept while no session is open (20 ms each). */
  maxQueuedFrames: number;
}

/** The caller's turn audio of one call. */
export class CallerTurn {
  #maxQueued: number;
  #queued: Base64[] = [];
  #uncommitted = new AudioTail(SILENT_TAIL);
  /** The audio of the last committed turn, until the model answers it. */
  #turnAudio: AudioTail | undefined;
  #state: TurnState = { name: "listening" };
  #dropped = 0;

  /** Creates the caller side of a call. */
  constructor(options: CallerTurnOptions) {
    this.#maxQueued = options.maxQueuedFrames;
  }

  /** Whether OpenAI's VAD hears the caller speaking. */
  get speaking(): boolean {
    return this.#state.name === "speaking";
  }

  /** The current state (read-only). */
  get state(): Readonly<TurnState> {
    return this.#state;
  }

  #move(to: TurnState): void {
    checkMove("caller turn", TURN_MOVES, this.#state.name, to.name);
    this.#state = to;
  }

  /** The last turn's state (under `speaking` while the caller speaks). */
  get #turn(): TurnAtRest {
    return this.#state.name === "speaking" ? this.#state.turn : this.#state;
  }

  /** The last turn moves on (under `speaking`, if the caller speaks). */
  #moveTurn(to: TurnAtRest): void {
    const s = this.#state;
    if (s.name !== "speaking") return this.#move(to);
    checkMove("caller turn", TURN_MOVES, s.turn.name, to.name);
    s.turn = to;
  }

  /** Frames dropped because the queue was full. */
  get droppedQueuedFrames(): number {
    return this.#dropped;
  }

  /** Keeps a frame until a session is open (the oldest go when the queue is full). */
  queue(payload: Base64): void {
    this.#queued.push(payload);
    if (this.#queued.length > this.#maxQueued) {
      this.#queued.shift();
      this.#dropped++;
    }
  }

  /** Takes the queued frames (to send them now). */
  takeQueued(): Base64[] {
    const frames = this.#queued;
    this.#queued = [];
    return frames;
  }

  /** A frame went to the session: it belongs to the turn in progress. */
  sent(payload: string): void {
    this.#uncommitted.push(payload);
  }

  /** OpenAI's VAD heard the caller start speaking. */
  speechStarted(): void {
    if (this.#state.name !== "speaking") this.#move({ name: "speaking", turn: this.#state });
    // Speech since the last commit: the turn in progress is worth keeping whole (up to 5 s).
    this.#uncommitted.grow(TURN_TAIL);
  }

  /** OpenAI's VAD heard the caller stop. */
  speechStopped(): void {
    if (this.#state.name === "speaking") this.#move(this.#state.turn);
  }

  /** The turn in progress was committed as conversation item `itemId`. */
  committed(itemId: string, now: number): void {
    this.#turnAudio = this.#uncommitted;
    this.#uncommitted = new AudioTail(SILENT_TAIL);
    this.#move({ name: "committed", commit: { itemId, at: now } });
  }

  /** The item of the last committed turn, while it is not settled. */
  get lastCommitted(): string | undefined {
    const turn = this.#turn;
    return "commit" in turn ? turn.commit.itemId : undefined;
  }

  /** The model started a response: the last turn is being answered. */
  answered(): void {
    const turn = this.#turn;
    if (turn.name === "committed") this.#moveTurn({ name: "answered", commit: turn.commit });
    else if (turn.name === "heard") this.#moveTurn({ name: "settled" });
    this.#turnAudio = undefined;
  }

  /** The transcript of item `itemId` is in. */
  transcribed(itemId: string): void {
    const turn = this.#turn;
    if (turn.name === "committed" && turn.commit.itemId === itemId) {
      this.#moveTurn({ name: "heard", commit: turn.commit });
    } else if (turn.name === "answered" && turn.commit.itemId === itemId) {
      this.#moveTurn({ name: "settled" });
    }
  }

  /**
   * Whether the caller's side is at rest: not speaking, and the last turn
   * answered and transcribed (or given up on after a few seconds).
   */
  settled(now: number): boolean {
    const turn = this.#turn;
    if ("commit" in turn && now - turn.commit.at < TURN_SETTLE_MS) return false;
    return !this.speaking;
  }

  /**
   * What the next session must get of the caller's unfinished business when
   * the current one is replaced: the frames to send again (before any queued
   * ones), and whether it owes the caller an answer (a turn the model had not
   * started answering, whose words the replay carries). `wholeTurn`: the turn
   * in progress went down with the session (or is cut by a forced switch).
   */
  carryOver(options: { wholeTurn: boolean; sessionLost?: boolean }): {
    frames: Base64[];
    answerOwed: boolean;
  } {
    const turn = this.#turn.name;
    const lost = options.sessionLost === true;
    const unanswered = lost && (turn === "committed" || turn === "heard");
    const frames = unanswered && turn === "committed"
      ? [...this.#turnAudio?.frames() ?? [], ...this.#uncommitted.frames()]
      : options.wholeTurn
      ? this.#uncommitted.frames()
      : [];
    const answerOwed = unanswered && turn === "heard";
    this.#queued = [...frames, ...this.#queued].slice(-this.#maxQueued);
    this.#uncommitted = new AudioTail(SILENT_TAIL);
    this.#turnAudio = undefined;
    this.#move({ name: "listening" });
    return { frames, answerOwed };
  }

  /** The call is ending: the turn in progress is no longer needed. */
  forgetTurnInProgress(): void {
    this.#uncommitted = new AudioTail(SILENT_TAIL);
  }

  /** The call is over: drop what is queued. */
  clear(): void {
    this.#queued = [];
  }
}
