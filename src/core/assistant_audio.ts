/**
 * The assistant's audio on its way to the caller, and barge-in.
 *
 * Every `response.output_audio.delta` becomes a Twilio `media` message, in
 * order, item after item (a response may hold several audio items: a
 * reasoning model's preamble, then its answer). Marks go along at the
 * {@link PlaybackLedger}'s pace so the ledger knows what the caller has heard.
 * When the caller starts speaking over it, {@link AssistantAudio.bargeIn}
 * sends Twilio a `clear` and returns the truncate point of the item being
 * heard (whole ms of what was heard, never beyond what was sent) and of every
 * item queued after it (0 ms); later deltas of the interrupted response and
 * of those items are dropped.
 *
 * Audio that arrives before Twilio's `start` (no stream to play on yet) waits
 * and is forwarded by {@link AssistantAudio.attach}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AssistantAudio } from "./assistant_audio.ts";
 * import { encodeBase64 } from "../audio/base64.ts";
 * import type { TwilioSid } from "../twilio/media_stream_messages.ts";
 * const sent: unknown[] = [];
 * const audio = new AssistantAudio({ markIntervalMs: 100 }, { send: (m) => sent.push(m) });
 * audio.attach("MZ1" as TwilioSid, 0); // a SID as the parser checked it
 * audio.delta("resp_1", "item_a", encodeBase64(new Uint8Array(1600).fill(0x55)), 0); // 200 ms at t=0
 * const cut = audio.bargeIn(50); // the caller speaks 50 ms in
 * assert.deepEqual(cut.truncates?.map((t) => [t.itemId, t.truncateAtMs]), [["item_a", 50]]);
 * assert.deepEqual(sent.at(-1), { event: "clear", streamSid: "MZ1" });
 * ```
 *
 * @module
 */
import {
  twilioClear,
  twilioMark,
  twilioMedia,
  type TwilioOutbound,
  type TwilioSid,
} from "../twilio/media_stream_messages.ts";
import { type HeardItem, PlaybackLedger, type PlaybackLedgerOptions } from "./playback_ledger.ts";
import { BYTES_PER_MS } from "../audio/frames.js";
import { type Base64, base64ByteLength } from "../audio/base64.ts";
import { type SentChunk, UnplayedAudio } from "./unplayed_audio.ts";

const MAX_REMEMBERED_IDS = 64;
/** The ledger's item for the waiting sound: played and cleared like speech, never truncated. */
const WAITING_SOUND_ITEM = "~waiting_sound";

function remember(set: Set<string>, value: string): void {
  set.add(value);
  if (set.size > MAX_REMEMBERED_IDS) {
    const oldest = set.values().next().value;
    if (oldest !== undefined) set.delete(oldest);
  }
}

/** What happened to one delta. */
export type DeltaResult =
  /** Late audio of an interrupted response or truncated item: not played. */
  | "dropped"
  /** Kept until Twilio's `start`, or held while the caller may be interrupting. */
  | "queued"
  /** The first audio of a new item went to the caller. */
  | "new_item"
  /** More audio of the item already playing went to the caller. */
  | "forwarded";

/** One item to truncate after a barge-in. */
export interface Truncate extends HeardItem {
  /** The item belongs to the session in use (a previous session does not know it). */
  inSession: boolean;
  /** Whole ms to truncate at: what was heard, never beyond what was sent. */
  truncateAtMs: number;
}

/** What a barge-in did. */
export interface BargeIn {
  /** Items to truncate, the one being heard first. */
  truncates: Truncate[];
  /** The ledger's arithmetic, for the log. */
  math: Record<string, unknown>;
}

/** What a hold kept: the cut as a barge-in would make it, and the audio to play again. */
interface Held {
  cut: BargeIn;
  /** The unplayed audio at the clear, from the byte the caller stopped hearing. */
  kept: SentChunk[];
  /** Deltas and ends of items that arrived during the hold, in order. */
  later: ({ responseId: string; itemId: string; delta: Base64 } | { done: string })[];
}

/** Assistant audio of one call. */
export class AssistantAudio {
  #ledger: PlaybackLedger;
  #send: (message: TwilioOutbound) => void;
  #onFirstAudio: ((responseId: string, itemId: string) => void) | undefined;
  /** The last item whose first audio was reported. */
  #reportedItem: string | undefined;
  #streamSid: TwilioSid | undefined;
  #queued: { itemId: string; responseId: string; delta: Base64 }[] = [];
  /** The item whose audio is streaming (no `output_audio.done` yet). */
  #openItem: string | undefined;
  #interrupted = new Set<string>();
  #dropped = new Set<string>();
  /** Items of the session in use (only these can be truncated). */
  #sessionItems = new Set<string>();
  /**
   * The item and response of the last delta that passed the checks of
   * {@link delta} (not interrupted, not dropped, in `#sessionItems`): the next
   * deltas of that item, 50 a second, skip the three set lookups. Unset
   * whenever one of those sets changes.
   */
  #passedItem: string | undefined;
  #passedResponse: string | undefined;
  #framesOut = 0;
  #droppedLate = 0;
  #unplayed = new UnplayedAudio();
  /** Items the caller may not interrupt. */
  #protected = new Set<string>();
  #held: Held | undefined;

  /**
   * Creates the audio path: `send` receives each message for Twilio,
   * `onFirstAudio` hears when an item's first audio goes to the caller.
   */
  constructor(
    ledger: PlaybackLedgerOptions,
    sinks: {
      send: (message: TwilioOutbound) => void;
      onFirstAudio?: (responseId: string, itemId: string) => void;
    },
  ) {
    this.#ledger = new PlaybackLedger(ledger);
    this.#send = sinks.send;
    this.#onFirstAudio = sinks.onFirstAudio;
  }

  /** Media messages sent to Twilio. */
  get framesOut(): number {
    return this.#framesOut;
  }

  /** Deltas dropped because their response or item was interrupted. */
  get droppedLateDeltas(): number {
    return this.#droppedLate;
  }

  /** The item whose audio is still streaming, if any. */
  get openItem(): string | undefined {
    return this.#openItem;
  }

  /** Ms of assistant audio sent since the last clear. */
  get sentMs(): number {
    return this.#ledger.sentMs;
  }

  /** Ms of sent audio the caller has not heard yet at `now`. */
  pendingMs(now: number): number {
    return this.#ledger.snapshot(now).pendingMs;
  }

  /** Whether audio is playing, held or still streaming at `now`. */
  busy(now: number): boolean {
    return this.#held !== undefined || this.#openItem !== undefined || this.pendingMs(now) > 0;
  }

  /** Whether audio is held (cleared from Twilio, kept to resume). */
  get holding(): boolean {
    return this.#held !== undefined;
  }

  /** The item the caller is hearing at `now` and the whole ms heard of it, if audio is playing. */
  heardNow(now: number): { itemId: string; heardMs: number } | undefined {
    const snap = this.#ledger.snapshot(now);
    const current = snap.current;
    if (current === undefined || current.itemId === WAITING_SOUND_ITEM) return undefined;
    if (snap.pendingMs <= 0 && current.itemId !== this.#openItem) return undefined;
    return { itemId: current.itemId, heardMs: current.audioEndMs };
  }

  /** Item `itemId` may not be interrupted. */
  protect(itemId: string): void {
    remember(this.#protected, itemId);
  }

  /** Whether the item the caller is hearing at `now` may not be interrupted. */
  protectedPlaying(now: number): boolean {
    const snap = this.#ledger.snapshot(now);
    const item = snap.pendingMs > 0 ? snap.current?.itemId : this.#openItem;
    return item !== undefined && this.#protected.has(item);
  }

  /** Twilio's stream started: audio goes to `streamSid` from now on (queued audio first). */
  attach(streamSid: TwilioSid, now: number): void {
    this.#streamSid = streamSid;
    const queued = this.#queued;
    this.#queued = [];
    for (const d of queued) this.#forward(d.responseId, d.itemId, d.delta, now);
  }

  /** One audio delta of item `itemId` of response `responseId`. */
  delta(responseId: string, itemId: string, delta: Base64, now: number): DeltaResult {
    if (itemId !== this.#passedItem || responseId !== this.#passedResponse) {
      if (this.#interrupted.has(responseId) || this.#dropped.has(itemId)) {
        this.#droppedLate++;
        return "dropped";
      }
      this.#sessionItems.add(itemId);
      this.#passedItem = itemId;
      this.#passedResponse = responseId;
    }
    if (this.#held !== undefined) {
      const fresh = this.#openItem !== itemId;
      this.#openItem = itemId;
      this.#held.later.push({ responseId, itemId, delta });
      return fresh ? "new_item" : "queued";
    }
    if (this.#streamSid === undefined) {
      this.#queued.push({ itemId, responseId, delta });
      return "queued";
    }
    const fresh = this.#openItem !== itemId;
    this.#openItem = itemId;
    this.#forward(responseId, itemId, delta, now);
    return fresh ? "new_item" : "forwarded";
  }

  #forward(responseId: string, itemId: string, delta: Base64, now: number): void {
    const streamSid = this.#streamSid as TwilioSid;
    if (this.#reportedItem !== itemId && itemId !== WAITING_SOUND_ITEM) {
      this.#reportedItem = itemId;
      this.#onFirstAudio?.(responseId, itemId);
    }
    this.#send(twilioMedia(streamSid, delta));
    this.#framesOut++;
    const bytes = base64ByteLength(delta);
    if (itemId !== WAITING_SOUND_ITEM) {
      this.#unplayed.add(
        responseId,
        itemId,
        Math.round(this.#ledger.sentMs * BYTES_PER_MS),
        delta,
        bytes,
      );
    }
    const mark = this.#ledger.addAudio(itemId, bytes, now);
    if (mark !== undefined) this.#send(twilioMark(streamSid, mark));
  }

  /**
   * Plays frames of the waiting sound (no session is there to speak). They
   * queue behind any assistant audio still playing; a barge-in clears them
   * like speech but never truncates them.
   */
  waitingSound(frames: readonly Base64[], now: number): void {
    if (this.#streamSid === undefined) return;
    for (const frame of frames) this.#forward("", WAITING_SOUND_ITEM, frame, now);
  }

  /** Item `itemId` has all its audio: a mark closes its playback. */
  audioDone(itemId: string): void {
    if (this.#openItem !== itemId) return;
    if (this.#held !== undefined) {
      this.#openItem = undefined;
      this.#held.later.push({ done: itemId });
      return;
    }
    this.#openItem = undefined;
    if (this.#streamSid !== undefined && !this.#dropped.has(itemId)) this.markNow();
  }

  /**
   * Sends a mark at the end of the audio sent so far and returns its name
   * (undefined before `start`).
   */
  markNow(): string | undefined {
    if (this.#streamSid === undefined) return undefined;
    const name = this.#ledger.markNow();
    this.#send(twilioMark(this.#streamSid, name));
    return name;
  }

  /** Twilio echoed mark `name`: its position (ms), or undefined for a stale or foreign mark. */
  onMark(name: string, now: number): number | undefined {
    const at = this.#ledger.onMark(name, now);
    if (at !== undefined) this.#unplayed.played(Math.round(at * BYTES_PER_MS));
    return at;
  }

  /** Remembers an interrupted response or a dropped item (the next delta is checked again). */
  #remember(set: Set<string>, value: string): void {
    remember(set, value);
    this.#passedItem = undefined;
  }

  /** No more audio of response `responseId` is wanted (cancelled by the server or replaced). */
  dropResponse(responseId: string): void {
    this.#remember(this.#interrupted, responseId);
  }

  /**
   * The caller started speaking at `now`. When assistant audio is playing,
   * clears Twilio's queue and returns what to truncate; undefined (and the
   * arithmetic in `math`) when nothing is playing.
   */
  bargeIn(now: number): BargeIn | { truncates?: undefined; math: Record<string, unknown> } {
    const { snap, current, currentOpen, playing, math } = this.#playing(now);
    if (!playing || current === undefined || this.#streamSid === undefined) return { math };
    this.#send(twilioClear(this.#streamSid));
    this.#ledger.clear();
    this.#unplayed.clear();
    this.#openItem = undefined;
    const truncates = this.#truncates(current, currentOpen, snap.unheard);
    for (const item of truncates) this.#remember(this.#dropped, item.itemId);
    if (current.itemId !== WAITING_SOUND_ITEM) this.#remember(this.#dropped, current.itemId);
    return {
      truncates,
      math: { ...math, unheardItems: snap.unheard.map((u) => u.itemId) },
    };
  }

  /**
   * What the caller is hearing at `now` (an interruption's starting point):
   * the ledger's snapshot, the item heard, whether it is still streaming,
   * whether anything plays, and the arithmetic for the log.
   */
  #playing(now: number) {
    const snap = this.#ledger.snapshot(now);
    const current = snap.current;
    const currentOpen = current !== undefined && current.itemId === this.#openItem;
    const playing = snap.pendingMs > 0 || currentOpen;
    const math = {
      anchorMs: snap.anchorMs,
      sinceAnchorMs: Math.round(snap.sinceAnchorMs),
      pendingMs: Math.round(snap.pendingMs),
      itemId: current?.itemId,
      heardMs: current?.audioEndMs,
      sentMs: current?.sentMs,
    };
    return { snap, current, currentOpen, playing, math };
  }

  /** What to truncate of the item heard and the ones queued after it. */
  #truncates(current: HeardItem, currentOpen: boolean, unheard: HeardItem[]): Truncate[] {
    const truncates: Truncate[] = [];
    for (const item of [current, ...unheard]) {
      if (item.itemId === WAITING_SOUND_ITEM) continue;
      // Heard to its end and complete: nothing to cut.
      if (item === current && !currentOpen && item.audioEndMs >= Math.floor(item.sentMs)) continue;
      truncates.push({
        ...item,
        inSession: this.#sessionItems.has(item.itemId),
        truncateAtMs: Math.min(item.audioEndMs, Math.floor(item.sentMs)),
      });
    }
    return truncates;
  }

  /**
   * The caller may be interrupting at `now`: clears Twilio's queue like a
   * barge-in but keeps the unplayed audio, and holds the audio that comes
   * next, until {@link AssistantAudio.resume} (a false interruption) or
   * {@link AssistantAudio.commitHold} (a real one). False when nothing was
   * playing or streaming (nothing to hold).
   */
  hold(now: number): boolean {
    if (this.#held !== undefined || this.#streamSid === undefined) return false;
    const { snap, current, currentOpen, playing, math } = this.#playing(now);
    const playedAt = Math.round(this.#ledger.playedBytes(now));
    const kept = playing ? this.#unplayed.from(playedAt) : [];
    if (playing) this.#send(twilioClear(this.#streamSid));
    this.#ledger.clear();
    this.#unplayed.clear();
    const truncates = playing && current !== undefined
      ? this.#truncates(current, currentOpen, snap.unheard)
      : [];
    // The audio goes again from where the caller stopped hearing it: item offsets rewind.
    for (const chunk of [...kept].reverse()) {
      this.#ledger.rewindItem(chunk.itemId, chunk.itemStart);
      this.#unplayed.rewindItem(chunk.itemId, chunk.itemStart);
    }
    this.#held = {
      cut: { truncates, math },
      kept,
      later: [],
    };
    return true;
  }

  /** A false interruption: the held audio goes to the caller from where they stopped hearing it. */
  resume(now: number): { resumedMs: number } {
    const held = this.#held;
    if (held === undefined) return { resumedMs: 0 };
    this.#held = undefined;
    let bytes = 0;
    for (const chunk of held.kept) {
      this.#forward(chunk.responseId, chunk.itemId, chunk.delta, now);
      bytes += chunk.bytes;
    }
    for (const next of held.later) {
      if ("done" in next) {
        this.#openItem = next.done;
        this.audioDone(next.done);
        continue;
      }
      if (this.#interrupted.has(next.responseId) || this.#dropped.has(next.itemId)) continue;
      this.#openItem = next.itemId;
      this.#forward(next.responseId, next.itemId, next.delta, now);
      bytes += base64ByteLength(next.delta);
    }
    return { resumedMs: bytes / BYTES_PER_MS };
  }

  /**
   * A real interruption: the held audio is dropped and the cut made at the
   * hold is returned, with the items that only arrived during the hold
   * truncated at 0 (the caller heard none of them).
   */
  commitHold(): BargeIn | undefined {
    const held = this.#held;
    if (held === undefined) return undefined;
    this.#held = undefined;
    this.#openItem = undefined;
    const truncates = [...held.cut.truncates];
    const known = new Set(truncates.map((t) => t.itemId));
    for (const item of held.later) {
      if ("done" in item || known.has(item.itemId)) continue;
      known.add(item.itemId);
      truncates.push({
        itemId: item.itemId,
        audioEndMs: 0,
        sentMs: 0,
        inSession: this.#sessionItems.has(item.itemId),
        truncateAtMs: 0,
      });
    }
    for (const item of truncates) this.#remember(this.#dropped, item.itemId);
    return { truncates, math: held.cut.math };
  }

  /**
   * The session was replaced: its items can no longer be truncated, and an
   * item still streaming gets no more audio (a mark closes its playback).
   */
  forgetSession(): void {
    this.#sessionItems.clear();
    this.#passedItem = undefined;
    if (this.#openItem !== undefined) {
      this.#openItem = undefined;
      if (this.#ledger.sentMs > 0) this.markNow();
    }
  }

  /** No more audio will come for the item streaming (its session is gone). */
  stopStreaming(): void {
    this.#openItem = undefined;
  }

  /** The call is over: drop queued audio. */
  clear(): void {
    this.#queued = [];
  }
}
