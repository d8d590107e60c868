/**
 * The assistant audio sent to Twilio that the caller may not have heard yet,
 * kept by stream position so that after a `clear` for what turns out to be a
 * false interruption the rest of the answer can be sent again from the exact
 * byte the caller stopped hearing. Chunks are forgotten once Twilio's marks
 * show they played, and everything at a clear.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { UnplayedAudio } from "./unplayed_audio.ts";
 * const kept = new UnplayedAudio();
 * kept.add("resp_1", "item_a", 0, btoa("abcdefgh"), 8); // 8 bytes at stream position 0
 * kept.add("resp_1", "item_a", 8, btoa("ijkl"), 4);
 * const rest = kept.from(6); // the caller heard 6 bytes
 * assert.deepEqual(rest.map((c) => [atob(c.delta), c.itemStart]), [["gh", 6], ["ijkl", 8]]);
 * ```
 *
 * @module
 */
import { decodeBase64, encodeBase64 } from "../audio/base64.ts";

/** One chunk of sent audio. */
export interface SentChunk {
  responseId: string;
  itemId: string;
  /** Offset of its first byte within its item. */
  itemStart: number;
  /** Stream position of its first byte (since the last clear). */
  start: number;
  /** Base64 μ-law, as sent. */
  delta: string;
  bytes: number;
}

/** Sent audio not known to be played yet. */
export class UnplayedAudio {
  #chunks: SentChunk[] = [];
  #itemBytes = new Map<string, number>();

  /** Audio of `itemId` (`bytes` long) sent at stream position `start`. */
  add(responseId: string, itemId: string, start: number, delta: string, bytes: number): void {
    const itemStart = this.#itemBytes.get(itemId) ?? 0;
    this.#itemBytes.set(itemId, itemStart + bytes);
    this.#chunks.push({ responseId, itemId, itemStart, start, delta, bytes });
  }

  /** Twilio played up to stream position `position`: earlier chunks are forgotten. */
  played(position: number): void {
    let drop = 0;
    while (
      drop < this.#chunks.length && this.#chunks[drop].start + this.#chunks[drop].bytes <= position
    ) {
      drop++;
    }
    if (drop > 0) this.#chunks.splice(0, drop);
  }

  /** The chunks from stream position `position` on, the first cut at that byte. */
  from(position: number): SentChunk[] {
    const rest: SentChunk[] = [];
    for (const chunk of this.#chunks) {
      const skip = position - chunk.start;
      if (skip >= chunk.bytes) continue;
      if (skip <= 0) {
        rest.push(chunk);
        continue;
      }
      const tail = decodeBase64(chunk.delta)?.subarray(skip);
      if (tail === undefined) continue;
      rest.push({
        ...chunk,
        itemStart: chunk.itemStart + skip,
        start: chunk.start + skip,
        delta: encodeBase64(tail),
        bytes: tail.length,
      });
    }
    return rest;
  }

  /** Forgets everything (a clear; item offsets start again from what the ledger says). */
  clear(): void {
    this.#chunks = [];
  }

  /** Sets where the next audio of `itemId` starts within its item. */
  rewindItem(itemId: string, bytes: number): void {
    if (bytes <= 0) this.#itemBytes.delete(itemId);
    else this.#itemBytes.set(itemId, bytes);
  }

  /** Forgets item offsets beyond the last 64 items. */
  trimItems(): void {
    while (this.#itemBytes.size > 64) {
      const oldest = this.#itemBytes.keys().next().value;
      if (oldest === undefined) break;
      this.#itemBytes.delete(oldest);
    }
  }
}
