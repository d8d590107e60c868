/**
 * G.711 μ-law encoding and decoding, as a plain ES module: the one codec of
 * the project, shared by the softphone page (served at `/audio/mulaw.js` by
 * `softphone/softphone_routes.ts`), the waiting sound, the offline demo's
 * stand-in Realtime server and the tests. The arithmetic is the classic
 * CCITT/Sun `g711.c` one that `sox` uses, so output is byte-exact with
 * `sox -e mu-law`.
 *
 * @example
 * ```ts
 * import { decodeMulaw, encodeMulaw } from "./mulaw.js";
 * const bytes = encodeMulaw(new Int16Array([0, 1000, -1000]));
 * const back = decodeMulaw(bytes);
 * if (Math.abs(back[1] - 1000) > 64) throw new Error("μ-law round trip is too lossy");
 * ```
 *
 * @module
 */

const BIAS = 0x84;
const CLIP = 8159;
const SEG_END = [0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff, 0x1fff];

/**
 * Encodes one signed 16-bit linear sample as a μ-law byte.
 *
 * @param {number} sample an integer from -32768 to 32767
 * @returns {number} the μ-law byte (0 to 255)
 */
export function linearToMulaw(sample) {
  // Like sox: round to 14 bits (SOX_SAMPLE_TO_SIGNED(14, …)), clipping at the top.
  let value = (sample + 2) >> 2;
  if (value > 8191) value = 8191;
  let mask;
  if (value < 0) {
    value = -value;
    mask = 0x7f;
  } else {
    mask = 0xff;
  }
  if (value > CLIP) value = CLIP;
  value += BIAS >> 2;
  let seg = 0;
  while (seg < 8 && value > SEG_END[seg]) seg++;
  if (seg >= 8) return 0x7f ^ mask;
  return ((seg << 4) | ((value >> (seg + 1)) & 0xf)) ^ mask;
}

/**
 * Decodes one μ-law byte to a signed 16-bit linear sample.
 *
 * @param {number} byte the μ-law byte (0 to 255)
 * @returns {number} the linear sample
 */
export function mulawToLinear(byte) {
  const u = ~byte & 0xff;
  let t = ((u & 0x0f) << 3) + BIAS;
  t <<= (u & 0x70) >> 4;
  return u & 0x80 ? BIAS - t : t - BIAS;
}

const DECODE_TABLE = new Int16Array(256);
for (let i = 0; i < 256; i++) DECODE_TABLE[i] = mulawToLinear(i);

/**
 * Encodes signed 16-bit samples as μ-law bytes.
 *
 * @param {Int16Array | number[]} samples linear samples
 * @returns {Uint8Array} one byte per sample
 */
export function encodeMulaw(samples) {
  const out = new Uint8Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = linearToMulaw(samples[i]);
  return out;
}

/**
 * Decodes μ-law bytes to signed 16-bit samples.
 *
 * @param {Uint8Array} bytes μ-law bytes
 * @returns {Int16Array} one sample per byte
 */
export function decodeMulaw(bytes) {
  const out = new Int16Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = DECODE_TABLE[bytes[i]];
  return out;
}

/**
 * Converts float samples (-1 to 1, as WebAudio gives them) to signed 16-bit
 * samples, rounding and clipping.
 *
 * @param {Float32Array | number[]} floats samples from -1 to 1
 * @returns {Int16Array} linear samples
 */
export function floatToInt16(floats) {
  const out = new Int16Array(floats.length);
  for (let i = 0; i < floats.length; i++) {
    const v = Math.round(floats[i] * 32768);
    out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
  }
  return out;
}

/**
 * Root-mean-square level of μ-law audio, from 0 to 1 (1 = full scale).
 *
 * @param {Uint8Array} bytes μ-law bytes
 * @returns {number} the RMS level
 */
export function mulawRms(bytes) {
  if (bytes.length === 0) return 0;
  let sum = 0;
  for (let i = 0; i < bytes.length; i++) {
    const v = DECODE_TABLE[bytes[i]] / 32768;
    sum += v * v;
  }
  return Math.sqrt(sum / bytes.length);
}
