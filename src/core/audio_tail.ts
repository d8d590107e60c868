/**
 * The most recent caller frames, kept as bytes in one buffer per call.
 *
 * The core keeps the caller's last frames so that a new session can hear them
 * again after a drop ({@link CallerTurn}). Kept as the base64 strings they
 * arrive in, every frame outlives a few young-generation collections and is
 * copied into V8's old generation, where it becomes garbage a second later:
 * at 200 calls that was ≈ 2 MB per second of old-space garbage, most of the
 * bridge's memory per call and of its scavenge time (`docs/performance.md`).
 * Here a frame is decoded into a ring of bytes that is allocated once (and
 * grown once when the caller starts a turn), so keeping audio allocates
 * nothing per frame; the strings are made again only when a session needs
 * them.
 *
 * Limits are in frames and in bytes (both must hold); the oldest whole frames
 * go first. Frames keep their boundaries: {@link AudioTail.frames} gives back
 * the base64 of each frame, equal to the input for canonical base64 (Twilio's
 * and every encoder's).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AudioTail } from "./audio_tail.ts";
 * const tail = new AudioTail({ frames: 2, bytes: 1000 });
 * tail.push("AAAA"); // 3 bytes
 * tail.push("/w=="); // 1 byte
 * tail.push("f/8="); // 2 bytes: the oldest frame goes
 * assert.deepEqual(tail.frames(), ["/w==", "f/8="]);
 * tail.grow({ frames: 3, bytes: 1000 });
 * tail.push("AAAA");
 * assert.deepEqual(tail.frames(), ["/w==", "f/8=", "AAAA"]);
 * ```
 *
 * @module
 */
import { type Base64, base64ByteLength, decodeBase64Into, encodeBase64 } from "../audio/base64.ts";

/** How much an {@link AudioTail} keeps. */
export interface TailLimit {
  /** Frames kept at most. */
  frames: number;
  /** Bytes of audio kept at most (a longer frame keeps its last bytes). */
  bytes: number;
}

/** Decoded frames pass through here (one buffer for every tail: the core is single-threaded). */
let scratch = new Uint8Array(1024);

/** The last frames of caller audio, in a ring of bytes. */
export class AudioTail {
  #limit: TailLimit;
  #ring: Uint8Array;
  /** Index in `#ring` of the oldest byte kept. */
  #start = 0;
  /** Bytes kept. */
  #size = 0;
  /** Byte length of each frame kept, oldest first, in a ring of `#limit.frames` slots. */
  #lengths: Uint32Array;
  #first = 0;
  #count = 0;

  /** Creates an empty tail that keeps at most `limit`. */
  constructor(limit: TailLimit) {
    this.#limit = { frames: Math.max(1, limit.frames), bytes: Math.max(1, limit.bytes) };
    this.#ring = new Uint8Array(this.#limit.bytes);
    this.#lengths = new Uint32Array(this.#limit.frames);
  }

  /** Frames kept. */
  get length(): number {
    return this.#count;
  }

  /**
   * Keeps one frame (base64), dropping the oldest ones beyond the limit. Text
   * that is not base64 keeps nothing (the media-stream parser refuses it
   * before it gets here).
   */
  push(base64: string): void {
    const most = base64ByteLength(base64);
    if (scratch.length < most) scratch = new Uint8Array(most);
    const decoded = decodeBase64Into(base64, scratch);
    if (decoded === undefined) return;
    const capacity = this.#ring.length;
    // A frame longer than the whole buffer keeps its last bytes.
    const skip = decoded > capacity ? decoded - capacity : 0;
    const bytes = decoded - skip;
    while (
      this.#count > 0 && (this.#count >= this.#limit.frames || this.#size + bytes > capacity)
    ) {
      this.#dropOldest();
    }
    const at = (this.#start + this.#size) % capacity;
    const first = Math.min(bytes, capacity - at);
    this.#ring.set(scratch.subarray(skip, skip + first), at);
    if (first < bytes) this.#ring.set(scratch.subarray(skip + first, skip + bytes), 0);
    this.#lengths[(this.#first + this.#count) % this.#lengths.length] = bytes;
    this.#count++;
    this.#size += bytes;
  }

  /** Keeps more from now on (what is kept stays); a smaller limit changes nothing. */
  grow(limit: TailLimit): void {
    if (limit.frames <= this.#limit.frames && limit.bytes <= this.#limit.bytes) return;
    const frames = this.#orderedLengths();
    const bytes = this.#orderedBytes();
    this.#limit = {
      frames: Math.max(limit.frames, this.#limit.frames),
      bytes: Math.max(limit.bytes, this.#limit.bytes),
    };
    this.#ring = new Uint8Array(this.#limit.bytes);
    this.#ring.set(bytes);
    this.#lengths = new Uint32Array(this.#limit.frames);
    this.#lengths.set(frames);
    this.#start = 0;
    this.#first = 0;
  }

  /** The frames kept, oldest first, as base64. */
  frames(): Base64[] {
    const bytes = this.#orderedBytes();
    const out: Base64[] = [];
    let at = 0;
    for (const n of this.#orderedLengths()) {
      out.push(encodeBase64(bytes.subarray(at, at + n)));
      at += n;
    }
    return out;
  }

  #dropOldest(): void {
    const n = this.#lengths[this.#first];
    this.#first = (this.#first + 1) % this.#lengths.length;
    this.#count--;
    this.#start = (this.#start + n) % this.#ring.length;
    this.#size -= n;
  }

  #orderedLengths(): Uint32Array {
    const out = new Uint32Array(this.#count);
    for (let k = 0; k < this.#count; k++) {
      out[k] = this.#lengths[(this.#first + k) % this.#lengths.length];
    }
    return out;
  }

  #orderedBytes(): Uint8Array {
    const out = new Uint8Array(this.#size);
    const tail = Math.min(this.#size, this.#ring.length - this.#start);
    out.set(this.#ring.subarray(this.#start, this.#start + tail));
    out.set(this.#ring.subarray(0, this.#size - tail), tail);
    return out;
  }
}
