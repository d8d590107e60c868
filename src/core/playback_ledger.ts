/**
 * The playback ledger: what assistant audio was sent to Twilio, and how much
 * of it the caller has heard at a given moment.
 *
 * Twilio plays queued audio in real time (8 μ-law bytes per ms) and echoes a
 * named `mark` once the audio queued before it has played. The ledger models
 * Twilio's play-out queue: a chunk starts playing when it arrives or when the
 * audio before it ends, whichever is later. Each echoed mark re-anchors the
 * model to a known (position, time), so the estimate stays exact between
 * sparse marks, whether OpenAI streams audio in one burst or in real time
 * with gaps.
 *
 * Positions are byte offsets in the stream since the last `clear`.
 *
 * @module
 */
import { BYTES_PER_MS } from "../audio/frames.js";

/** Ms Twilio's queue may run dry before the ledger counts a break in the audio. */
const BREAK_MS = 40;

interface Segment {
  itemId: string;
  /** Offset of the first byte within its item. */
  itemStart: number;
  /** Stream position of the first byte. */
  start: number;
  /** Stream position after the last byte. */
  end: number;
  /** When the chunk was sent to Twilio (ms, injected clock). */
  sentAt: number;
}

/** What the caller has heard of one assistant item. */
export interface HeardItem {
  itemId: string;
  /** Whole ms of the item's audio the caller has heard. */
  audioEndMs: number;
  /** Ms of this item's audio that was sent to Twilio. */
  sentMs: number;
}

/** The ledger's picture of the playback at one moment (for logs and barge-in). */
export interface PlaybackSnapshot {
  /** The item being heard (or heard last), if any audio was sent since the last clear. */
  current: HeardItem | undefined;
  /** Items queued after the current one that the caller has heard nothing of. */
  unheard: HeardItem[];
  /** Ms of audio sent but not yet played. */
  pendingMs: number;
  /** Stream position (ms) of the last echoed mark, or undefined before the first echo. */
  anchorMs: number | undefined;
  /** Ms elapsed since that echo (or since the first audio was sent). */
  sinceAnchorMs: number;
}

/** Options of {@link PlaybackLedger}. */
export interface PlaybackLedgerOptions {
  /** Send a mark once at least this many ms of audio were sent since the last one. */
  markIntervalMs?: number;
  /**
   * Let the interval double after each mark up to this many ms while audio
   * plays without a break; it falls back to `markIntervalMs` after a clear or
   * when Twilio's queue ran dry (the moments the estimate needs a fresh
   * anchor). Default: `markIntervalMs` (a fixed interval).
   */
  maxMarkIntervalMs?: number;
}

/**
 * Tracks assistant audio sent to Twilio and estimates what the caller heard.
 *
 * @example
 * ```ts
 * import { PlaybackLedger } from "./playback_ledger.ts";
 * const ledger = new PlaybackLedger({ markIntervalMs: 100 });
 * ledger.addAudio("item_1", 1600, 0); // 200 ms sent at t=0
 * const snap = ledger.snapshot(50);
 * if (snap.current?.audioEndMs !== 50 || snap.pendingMs !== 150) throw new Error();
 * ```
 */
export class PlaybackLedger {
  #segments: Segment[] = [];
  #total = 0;
  #itemBytes = new Map<string, number>();
  #anchorPos = 0;
  #anchorTime = Number.NEGATIVE_INFINITY;
  #marks = new Map<string, number>();
  #lastMarkPos = 0;
  #seq = 0;
  #minIntervalBytes: number;
  #maxIntervalBytes: number;
  #intervalBytes: number;
  /** When the audio sent so far ends playing if Twilio started each chunk on arrival. */
  #queueEnd = Number.NEGATIVE_INFINITY;
  /** When the audio sent so far ends playing by the model, anchors included. */
  #modelEnd = Number.NEGATIVE_INFINITY;

  /** Creates an empty ledger. */
  constructor(options: PlaybackLedgerOptions = {}) {
    const min = options.markIntervalMs ?? 100;
    this.#minIntervalBytes = Math.max(1, Math.round(min * BYTES_PER_MS));
    this.#maxIntervalBytes = Math.max(
      this.#minIntervalBytes,
      Math.round((options.maxMarkIntervalMs ?? min) * BYTES_PER_MS),
    );
    this.#intervalBytes = this.#minIntervalBytes;
  }

  /** Ms of audio sent since the last clear. */
  get sentMs(): number {
    return this.#total / BYTES_PER_MS;
  }

  /** Number of marks sent and not yet echoed. */
  get outstandingMarks(): number {
    return this.#marks.size;
  }

  /**
   * Records `bytes` of audio of `itemId` sent to Twilio at `now`.
   * Returns the name of a mark to send right after it when one is due.
   */
  addAudio(itemId: string, bytes: number, now: number): string | undefined {
    if (bytes <= 0) return undefined;
    // A break in the audio (Twilio's queue ran dry for longer than the jitter of audio
    // streamed in real time): the next marks come at the short interval again.
    if (now > this.#queueEnd + BREAK_MS) {
      this.#intervalBytes = this.#minIntervalBytes;
      this.#lastMarkPos = this.#total;
    }
    this.#queueEnd = Math.max(this.#queueEnd, now) + bytes / BYTES_PER_MS;
    const itemStart = this.#itemBytes.get(itemId) ?? 0;
    this.#itemBytes.set(itemId, itemStart + bytes);
    if (this.#itemBytes.size > 64) {
      const oldest = this.#itemBytes.keys().next().value;
      if (oldest !== undefined && oldest !== itemId) this.#itemBytes.delete(oldest);
    }
    // A chunk that continues the last segment's item joins it when it starts playing the moment
    // that segment ends: when it is sent while (by the model, anchors included) audio is still
    // queued, or just ends. Later anchors cannot change that (an echo handled later is later
    // than `now`), so the estimate is the same as with one segment per chunk, and audio
    // streamed in real time keeps one segment instead of one per 20 ms. `#modelEnd` is kept
    // here and at each anchor, so this costs nothing per chunk however many segments there are.
    const last = this.#segments[this.#segments.length - 1];
    const contiguous = now <= this.#modelEnd;
    this.#modelEnd = Math.max(this.#modelEnd, now) + bytes / BYTES_PER_MS;
    if (
      contiguous && last !== undefined && last.itemId === itemId &&
      last.itemStart + (last.end - last.start) === itemStart
    ) {
      last.end += bytes;
    } else {
      this.#segments.push({
        itemId,
        itemStart,
        start: this.#total,
        end: this.#total + bytes,
        sentAt: now,
      });
    }
    this.#total += bytes;
    if (this.#total - this.#lastMarkPos < this.#intervalBytes) return undefined;
    this.#intervalBytes = Math.min(this.#intervalBytes * 2, this.#maxIntervalBytes);
    return this.markNow();
  }

  /** Creates a mark at the current end of the sent audio and returns its name. */
  markNow(): string {
    const name = `m${++this.#seq}`;
    this.#marks.set(name, this.#total);
    this.#lastMarkPos = this.#total;
    return name;
  }

  /**
   * Handles a mark echoed by Twilio at `now`. Returns the stream position (ms)
   * the mark stood for, or undefined for a mark this ledger did not send or
   * that a clear made stale.
   */
  onMark(name: string, now: number): number | undefined {
    const pos = this.#marks.get(name);
    if (pos === undefined) return undefined;
    // Twilio echoes marks in the order they were sent: older ones are implied.
    for (const key of this.#marks.keys()) {
      this.#marks.delete(key);
      if (key === name) break;
    }
    this.#anchorPos = pos;
    this.#anchorTime = now;
    let drop = 0;
    while (drop < this.#segments.length - 1 && this.#segments[drop].end < pos) drop++;
    if (drop > 0) this.#segments.splice(0, drop);
    this.#modelEnd = this.#playedBy(Number.POSITIVE_INFINITY).time;
    return pos / BYTES_PER_MS;
  }

  /** Estimated stream position (bytes since the last clear) played by `now`. */
  playedBytes(now: number): number {
    return this.#playedPosition(now);
  }

  /**
   * Sets how many bytes of `itemId` count as sent (after a clear whose
   * unplayed audio will be sent again): its next audio starts at `bytes`.
   */
  rewindItem(itemId: string, bytes: number): void {
    if (bytes <= 0) this.#itemBytes.delete(itemId);
    else this.#itemBytes.set(itemId, bytes);
  }

  /** Estimated stream position (bytes) played by `now`. */
  #playedPosition(now: number): number {
    return this.#playedBy(now).pos;
  }

  /**
   * The model from the last anchor: the stream position played by `now`, and
   * the time it was reached (when everything sent has played, the time it ends).
   */
  #playedBy(now: number): { pos: number; time: number } {
    let pos = this.#anchorPos;
    let time = this.#anchorTime;
    for (const seg of this.#segments) {
      if (seg.end <= pos) continue;
      const from = Math.max(seg.start, pos);
      const startTime = Math.max(time, seg.sentAt);
      if (now <= startTime) return { pos: from, time: now };
      const available = seg.end - from;
      const played = (now - startTime) * BYTES_PER_MS;
      if (played < available) return { pos: from + played, time: now };
      pos = seg.end;
      time = startTime + available / BYTES_PER_MS;
    }
    return { pos, time };
  }

  /** What the caller has heard at `now`, item by item. */
  snapshot(now: number): PlaybackSnapshot {
    const played = this.#playedPosition(now);
    let current: HeardItem | undefined;
    const unheard: HeardItem[] = [];
    for (const seg of this.#segments) {
      const sentMs = (this.#itemBytes.get(seg.itemId) ?? seg.itemStart + seg.end - seg.start) /
        BYTES_PER_MS;
      if (current === undefined) {
        if (played < seg.end || seg === this.#segments[this.#segments.length - 1]) {
          const within = Math.min(Math.max(played - seg.start, 0), seg.end - seg.start);
          current = {
            itemId: seg.itemId,
            audioEndMs: Math.floor((seg.itemStart + within) / BYTES_PER_MS),
            sentMs,
          };
        }
      } else if (seg.itemId !== current.itemId && !unheard.some((u) => u.itemId === seg.itemId)) {
        unheard.push({
          itemId: seg.itemId,
          audioEndMs: Math.floor(seg.itemStart / BYTES_PER_MS),
          sentMs,
        });
      }
    }
    const anchored = this.#anchorTime !== Number.NEGATIVE_INFINITY;
    const firstSent = this.#segments[0]?.sentAt ?? now;
    return {
      current,
      unheard,
      pendingMs: (this.#total - played) / BYTES_PER_MS,
      anchorMs: anchored ? this.#anchorPos / BYTES_PER_MS : undefined,
      sinceAnchorMs: now - (anchored ? this.#anchorTime : firstSent),
    };
  }

  /**
   * Forgets all queued audio after a `clear` was sent to Twilio. Marks sent
   * before it become stale: their echoes (Twilio returns them at once) are
   * ignored.
   */
  clear(): void {
    this.#segments = [];
    this.#total = 0;
    this.#anchorPos = 0;
    this.#anchorTime = Number.NEGATIVE_INFINITY;
    this.#marks.clear();
    this.#lastMarkPos = 0;
    this.#intervalBytes = this.#minIntervalBytes;
    this.#queueEnd = Number.NEGATIVE_INFINITY;
    this.#modelEnd = Number.NEGATIVE_INFINITY;
  }
}
