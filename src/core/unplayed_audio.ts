/**
 * The assistant audio sent to Twilio that the caller may not have heard yet,
 * kept by stream position so that after a `clear` for what turns out to be a
 * false interruption the rest of the answer can be sent again from the exact
 * byte the caller stopped hearing. Chunks are forgotten once Twilio's marks
 * show they played, and everything at a clear.
 *
 * Every chunk of every answer passes through here and is kept until a mark
 * says it played (a few hundred ms, longer when OpenAI is ahead of the
 * caller): long enough for V8 to move anything allocated per chunk to its old
 * generation, where it stays as garbage until the next full collection. So
 * the audio is kept as bytes in one buffer per call (decoded with V8's native
 * base64, encoded again only for the rare resend), the chunk lengths in a
 * typed array, and the rest in one record per run of chunks that continue
 * one another (same response and item): nothing per chunk outlives the frame.
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
import { MULAW_SILENCE } from "../audio/frames.js";
import { type Base64, decodeBase64Into, encodeBase64 } from "../audio/base64.ts";

/** One chunk of sent audio. */
export interface SentChunk {
  responseId: string;
  itemId: string;
  /** Offset of its first byte within its item. */
  itemStart: number;
  /** Stream position of its first byte (since the last clear). */
  start: number;
  /** Base64 μ-law, as sent. */
  delta: Base64;
  bytes: number;
}

/** Chunks that continue one another: same response and item, each starting where the last ended. */
interface Run {
  responseId: string;
  itemId: string;
  /** Item offset and stream position of the run's first byte kept. */
  itemStart: number;
  start: number;
  /** Bytes and chunks kept of the run. */
  bytes: number;
  chunks: number;
}

/** Half a second of audio: the buffer a call starts with (it doubles when an answer runs ahead). */
const INITIAL_BYTES = 4000;
/** A clear gives a buffer grown beyond this back (a long answer sent far ahead, then cut). */
const KEEP_BYTES = 64 * 1024;

/** Sent audio not known to be played yet. */
export class UnplayedAudio {
  /** Bytes kept, oldest first, from `#head` to `#end` (allocated with the first chunk). */
  #buffer: Uint8Array | undefined;
  #head = 0;
  #end = 0;
  /** Byte length of each chunk kept, oldest first, from `#lengthHead` to `#lengthEnd`. */
  #lengths = new Uint32Array(0);
  #lengthHead = 0;
  #lengthEnd = 0;
  #runs: Run[] = [];
  #itemBytes = new Map<string, number>();

  /** Audio of `itemId` (`bytes` long) sent at stream position `start`. */
  add(responseId: string, itemId: string, start: number, delta: string, bytes: number): void {
    const itemStart = this.#itemBytes.get(itemId) ?? 0;
    this.#itemBytes.set(itemId, itemStart + bytes);
    if (bytes <= 0) return;
    this.#keepBytes(delta, bytes);
    this.#keepLength(bytes);
    const last = this.#runs.length > 0 ? this.#runs[this.#runs.length - 1] : undefined;
    if (
      last !== undefined && last.responseId === responseId && last.itemId === itemId &&
      last.start + last.bytes === start && last.itemStart + last.bytes === itemStart
    ) {
      last.bytes += bytes;
      last.chunks++;
    } else {
      this.#runs.push({ responseId, itemId, itemStart, start, bytes, chunks: 1 });
    }
  }

  /** Twilio played up to stream position `position`: earlier chunks are forgotten. */
  played(position: number): void {
    while (this.#runs.length > 0) {
      const run = this.#runs[0];
      const length = this.#lengths[this.#lengthHead];
      if (run.start + length > position) return;
      this.#lengthHead++;
      this.#head += length;
      run.start += length;
      run.itemStart += length;
      run.bytes -= length;
      run.chunks--;
      if (run.chunks === 0) this.#runs.shift();
    }
  }

  /** The chunks from stream position `position` on, the first cut at that byte. */
  from(position: number): SentChunk[] {
    const rest: SentChunk[] = [];
    const buffer = this.#buffer;
    if (buffer === undefined) return rest;
    let at = this.#head;
    let chunk = this.#lengthHead;
    for (const run of this.#runs) {
      let offset = 0;
      for (let i = 0; i < run.chunks; i++, chunk++) {
        const length = this.#lengths[chunk];
        const start = run.start + offset;
        const skip = Math.max(0, position - start);
        if (skip < length) {
          rest.push({
            responseId: run.responseId,
            itemId: run.itemId,
            itemStart: run.itemStart + offset + skip,
            start: start + skip,
            delta: encodeBase64(buffer.subarray(at + skip, at + length)),
            bytes: length - skip,
          });
        }
        offset += length;
        at += length;
      }
    }
    return rest;
  }

  /** Forgets everything (a clear; item offsets start again from what the ledger says). */
  clear(): void {
    this.#head = 0;
    this.#end = 0;
    this.#lengthHead = 0;
    this.#lengthEnd = 0;
    this.#runs = [];
    if (this.#buffer !== undefined && this.#buffer.length > KEEP_BYTES) this.#buffer = undefined;
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

  /**
   * Appends the chunk's bytes: decoded in place, or `bytes` of silence when
   * the delta is not base64 of that length (so that positions stay right).
   */
  #keepBytes(delta: string, bytes: number): void {
    let buffer = this.#buffer ?? (this.#buffer = new Uint8Array(Math.max(INITIAL_BYTES, bytes)));
    if (this.#end + bytes > buffer.length) {
      const kept = this.#end - this.#head;
      if (kept + bytes > buffer.length) {
        let size = buffer.length * 2;
        while (size < kept + bytes) size *= 2;
        const grown = new Uint8Array(size);
        grown.set(buffer.subarray(this.#head, this.#end));
        buffer = this.#buffer = grown;
      } else {
        buffer.copyWithin(0, this.#head, this.#end);
      }
      this.#head = 0;
      this.#end = kept;
    }
    const slot = buffer.subarray(this.#end, this.#end + bytes);
    if (decodeBase64Into(delta, slot) !== bytes) slot.fill(MULAW_SILENCE);
    this.#end += bytes;
  }

  #keepLength(bytes: number): void {
    if (this.#lengthEnd === this.#lengths.length) {
      const kept = this.#lengthEnd - this.#lengthHead;
      if (kept * 2 >= this.#lengths.length) {
        // Half or more still unplayed (or none yet): double; otherwise move the rest to the front.
        const grown = new Uint32Array(Math.max(64, this.#lengths.length * 2));
        grown.set(this.#lengths.subarray(this.#lengthHead, this.#lengthEnd));
        this.#lengths = grown;
      } else {
        this.#lengths.copyWithin(0, this.#lengthHead, this.#lengthEnd);
      }
      this.#lengthHead = 0;
      this.#lengthEnd = kept;
    }
    this.#lengths[this.#lengthEnd++] = bytes;
  }
}
