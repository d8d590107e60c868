/**
 * A model of Twilio's play-out of what a Media Streams server sends, sans-IO
 * (time is passed in, in ms): outbound `media` audio is queued and played in
 * real time at 8 μ-law bytes per ms, one chunk after the other without gaps;
 * a `mark` is echoed when play-out reaches it (at once when nothing is
 * queued); `clear` drops the audio not played yet and echoes every pending
 * mark at once. See `../shared/protocol.md` §3.2–3.4.
 *
 * Shared by the core tests' play-out driver, the end-to-end fake Twilio call
 * and the benchmark's load generator. It is not the bridge's own estimate of
 * what the caller heard (`src/core/playback_ledger.ts`): it is the other side.
 *
 * @example
 * ```ts
 * import { TwilioPlayout } from "./twilio_playout.ts";
 * const playout = new TwilioPlayout();
 * playout.media(new Uint8Array(800).fill(0x11), 0); // 100 ms, queued at t=0
 * playout.mark("a", 0);
 * playout.media(new Uint8Array(800).fill(0x22), 0); // 100 ms more
 * playout.mark("b", 0);
 * if (playout.due(99).length !== 0) throw new Error("'a' is due at 100 ms");
 * if (playout.due(100)[0].name !== "a") throw new Error("'a' echoes at 100 ms");
 * const cleared = playout.clear(150); // the caller barged in
 * if (cleared[0].name !== "b" || !cleared[0].cleared) throw new Error("clear echoes 'b'");
 * if (playout.playedMs(1000, 0x22) !== 50) throw new Error("50 ms of the second chunk played");
 * ```
 *
 * @module
 */
import { BYTES_PER_MS } from "../audio/frames.js";

/** A mark echoed by the model. */
export interface PlayoutMarkEcho {
  /** The mark's name. */
  name: string;
  /** When the server's mark was queued. */
  receivedAt: number;
  /** When the audio queued before it finished playing (or would have, for a cleared mark). */
  dueAt: number;
  /** True when echoed because of a `clear`. */
  cleared: boolean;
}

/** Options of {@link TwilioPlayout}. */
export interface TwilioPlayoutOptions {
  /**
   * Keep every chunk so {@link TwilioPlayout.playedBytes} can say what was
   * played (default true). Off (the load generator), only marks are tracked.
   */
  keepAudio?: boolean;
}

interface Chunk {
  bytes: Uint8Array | undefined;
  length: number;
  start: number;
  /** End of play-out (cut short by a clear). */
  end: number;
}

interface PendingMark {
  name: string;
  receivedAt: number;
  dueAt: number;
}

/** One call's play-out queue. */
export class TwilioPlayout {
  #keepAudio: boolean;
  #chunks: Chunk[] = [];
  #queueEnd = -Infinity;
  #marks: PendingMark[] = [];
  #receivedBytes = 0;

  constructor(options: TwilioPlayoutOptions = {}) {
    this.#keepAudio = options.keepAudio ?? true;
  }

  /** Queues outbound audio (the bytes, or only their count when audio is not kept) at `now`. */
  media(audio: Uint8Array | number, now: number): void {
    const length = typeof audio === "number" ? audio : audio.length;
    const start = Math.max(now, this.#queueEnd);
    const end = start + length / BYTES_PER_MS;
    this.#queueEnd = end;
    this.#receivedBytes += length;
    if (this.#keepAudio) {
      this.#chunks.push({
        bytes: typeof audio === "number" ? undefined : audio,
        length,
        start,
        end,
      });
    }
  }

  /** Queues a mark at `now`; it is due when the audio queued before it has played. */
  mark(name: string, now: number): void {
    this.#marks.push({ name, receivedAt: now, dueAt: Math.max(now, this.#queueEnd) });
  }

  /** Removes and returns the marks whose audio has played by `now`, in order. */
  due(now: number): PlayoutMarkEcho[] {
    let n = 0;
    while (n < this.#marks.length && this.#marks[n].dueAt <= now) n++;
    if (n === 0) return [];
    return this.#marks.splice(0, n).map((m) => ({ ...m, cleared: false }));
  }

  /** When the next pending mark is due, or undefined when none is pending. */
  nextDueAt(): number | undefined {
    return this.#marks[0]?.dueAt;
  }

  /** Twilio's `clear` at `now`: drops unplayed audio, returns every pending mark (in order). */
  clear(now: number): PlayoutMarkEcho[] {
    for (const chunk of this.#chunks) {
      if (chunk.end > now) chunk.end = Math.max(chunk.start, now);
    }
    this.#queueEnd = Math.min(this.#queueEnd, now);
    return this.#marks.splice(0).map((m) => ({ ...m, cleared: true }));
  }

  /** Names of marks queued and not echoed yet. */
  pendingMarks(): string[] {
    return this.#marks.map((m) => m.name);
  }

  /** Ms of queued audio not played yet at `now` (0 when idle). */
  pendingMs(now: number): number {
    return Math.max(0, this.#queueEnd - now);
  }

  /** When the queued audio ends (−∞ before any audio). */
  get queueEnd(): number {
    return this.#queueEnd;
  }

  /**
   * Bytes played by `now` (only bytes equal to `value` when given; a chunk
   * being played counts its played part). Needs `keepAudio`.
   */
  playedBytes(now: number, value?: number): number {
    let total = 0;
    for (const chunk of this.#chunks) {
      const ms = Math.min(now, chunk.end) - chunk.start;
      if (ms <= 0) continue;
      const count = Math.min(chunk.length, Math.floor(ms * BYTES_PER_MS + 1e-6));
      if (value === undefined) total += count;
      else if (chunk.bytes !== undefined) {
        const bytes = chunk.bytes;
        for (let i = 0; i < count; i++) if (bytes[i] === value) total++;
      }
    }
    return total;
  }

  /** {@link playedBytes} ÷ 8: ms played by `now`. */
  playedMs(now: number, value?: number): number {
    return this.playedBytes(now, value) / BYTES_PER_MS;
  }

  /** Bytes of audio queued in all (only bytes equal to `value` when given; needs `keepAudio`). */
  receivedBytes(value?: number): number {
    if (value === undefined) return this.#receivedBytes;
    let total = 0;
    for (const chunk of this.#chunks) {
      if (chunk.bytes === undefined) continue;
      for (const b of chunk.bytes) if (b === value) total++;
    }
    return total;
  }
}
