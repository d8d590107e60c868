/**
 * The audio of a phone call as both peers send it: 8 kHz G.711 μ-law, one
 * byte a sample, so 8 bytes a millisecond, in 20 ms frames of 160 bytes
 * (Twilio Media Streams' `media` messages; the Realtime API's
 * `audio/pcmu`). Every module that measures or cuts call audio takes these
 * numbers from here, and so does the softphone page: a plain ES module, served
 * at `/audio/frames.js` like the codec.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BYTES_PER_MS, FRAME_BYTES, FRAME_MS } from "./frames.js";
 * assert.equal(FRAME_BYTES, FRAME_MS * BYTES_PER_MS);
 * ```
 *
 * @module
 */

/** μ-law bytes per millisecond of audio (8 kHz, one byte a sample). */
export const BYTES_PER_MS = 8;

/** Milliseconds of one media-stream frame. */
export const FRAME_MS = 20;

/** Bytes of one 20 ms frame. */
export const FRAME_BYTES = FRAME_MS * BYTES_PER_MS;

/** The μ-law byte of silence. */
export const MULAW_SILENCE = 0xff;
