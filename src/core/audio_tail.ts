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
import { encodeBase64 } from "../protocol/base64.ts";

/** How much an {@link AudioTail} keeps. */
export interface TailLimit {
  /** Frames kept at most. */
  frames: number;
  /** Bytes of audio kept at most (a longer frame keeps its last bytes). */
  bytes: number;
}

/** Base64 alphabet value of each character code; 255 for characters that carry no bits. */
const VALUES = (() => {
  const table = new Uint8Array(128).fill(255);
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (let i = 0; i < alphabet.length; i++) table[alphabet.charCodeAt(i)] = i;
  return table;
})();

/** Bytes encoded by base64 text of `length` characters ending in `padding` "=" signs. */
function decodedLength(text: string): number {
  const n = text.length;
  const padding = n === 0
    ? 0
    : text.charCodeAt(n - 1) !== 61
    ? 0
    : text.charCodeAt(n - 2) === 61
    ? 2
    : 1;
  return Math.max(0, Math.floor(n / 4) * 3 - padding);
}

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

  /** Keeps one frame (standard base64), dropping the oldest ones beyond the limit. */
  push(base64: string): void {
    let bytes = decodedLength(base64);
    const capacity = this.#ring.length;
    // A frame longer than the whole buffer keeps its last bytes.
    const skip = bytes > capacity ? bytes - capacity : 0;
    bytes -= skip;
    while (
      this.#count > 0 && (this.#count >= this.#limit.frames || this.#size + bytes > capacity)
    ) {
      this.#dropOldest();
    }
    this.#decodeInto(base64, skip, bytes);
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
  frames(): string[] {
    const bytes = this.#orderedBytes();
    const out: string[] = [];
    let at = 0;
    for (const n of this.#orderedLengths()) {
      out.push(encodeBase64(bytes.subarray(at, at + n)));
      at += n;
    }
    return out;
  }

  /** Forgets every frame (the buffer stays). */
  clear(): void {
    this.#start = 0;
    this.#size = 0;
    this.#first = 0;
    this.#count = 0;
  }

  #dropOldest(): void {
    const n = this.#lengths[this.#first];
    this.#first = (this.#first + 1) % this.#lengths.length;
    this.#count--;
    this.#start = (this.#start + n) % this.#ring.length;
    this.#size -= n;
  }

  /** Decodes `bytes` bytes of `base64`, after skipping its first `skip`, to the end of the ring. */
  #decodeInto(base64: string, skip: number, bytes: number): void {
    const ring = this.#ring;
    const capacity = ring.length;
    let at = (this.#start + this.#size) % capacity;
    let index = 0; // bytes decoded so far, including skipped ones
    const end = skip + bytes;
    let bits = 0;
    let held = 0;
    for (let i = 0; i < base64.length && index < end; i++) {
      const code = base64.charCodeAt(i);
      const value = code < 128 ? VALUES[code] : 255;
      if (value === 255) continue; // "=" padding (the parser refused anything else)
      bits = (bits << 6) | value;
      held += 6;
      if (held >= 8) {
        held -= 8;
        if (index >= skip) {
          ring[at] = (bits >> held) & 0xff;
          if (++at === capacity) at = 0;
        }
        index++;
        bits &= (1 << held) - 1;
      }
    }
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
