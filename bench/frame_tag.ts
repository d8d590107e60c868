/**
 * Tagged 20 ms μ-law frames for the load benchmark: the first three bytes of
 * each 160-byte frame carry a 24-bit sequence number, which are exactly the
 * first four base64 characters. The echo of a frame is matched to the time it
 * was sent by reading those four characters back, without decoding the rest.
 *
 * @module
 */

import { FRAME_BYTES } from "../src/audio/frames.js";
import type { Base64 } from "../src/audio/base64.ts";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const DECODE = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

/** Base64 of the 157 silence bytes (0xFF) after the tag; the tag is 3-byte aligned. */
const REST = btoa(String.fromCharCode(...new Array(FRAME_BYTES - 3).fill(0xff)));

/**
 * The base64 of one frame tagged with `seq` (0 ≤ seq < 2^24).
 *
 * @example
 * ```ts
 * import { readFrameTag, taggedFrame } from "./frame_tag.ts";
 * if (readFrameTag(taggedFrame(1234), 0) !== 1234) throw new Error("tag lost");
 * ```
 */
export function taggedFrame(seq: number): Base64 {
  const s = seq & 0xffffff;
  // Base64 by construction: four characters of the alphabet, then a whole number of quads.
  return (ALPHABET[s >>> 18] + ALPHABET[(s >>> 12) & 63] + ALPHABET[(s >>> 6) & 63] +
    ALPHABET[s & 63] + REST) as Base64;
}

/** Reads the tag of the frame whose base64 starts at `offset` in `text`; -1 when it is not one. */
export function readFrameTag(text: string, offset: number): number {
  if (offset + 4 > text.length) return -1;
  let seq = 0;
  for (let i = 0; i < 4; i++) {
    const c = text.charCodeAt(offset + i);
    const v = c < 128 ? DECODE[c] : -1;
    if (v < 0) return -1;
    seq = (seq << 6) | v;
  }
  return seq;
}
