/**
 * Standard base64 (with padding), the one definition the project uses: Twilio
 * media payloads and Realtime audio carry μ-law bytes this way. The
 * media-stream parser checks payloads with {@link isBase64}, the Realtime
 * server kit and the waiting sound encode and decode with these, and the
 * tests' fakes refuse what the real services would.
 *
 * @example
 * ```ts
 * import { decodeBase64, encodeBase64, isBase64 } from "./base64.ts";
 * const text = encodeBase64(new Uint8Array([0x7f, 0xff]));
 * if (text !== "f/8=" || !isBase64(text) || decodeBase64(text)?.[1] !== 0xff) throw new Error();
 * if (decodeBase64("not base64!") !== undefined || isBase64("AAA")) throw new Error("must be refused");
 * ```
 *
 * @module
 */

/**
 * Text known to be standard base64: checked by {@link isBase64} or made by
 * {@link encodeBase64}. Its characters need no escaping in a JSON string, so
 * the encoders of the hot messages (Twilio `media`, Realtime
 * `input_audio_buffer.append`) write it as it is.
 */
export type Base64 = string & { readonly [base64Brand]: true };
declare const base64Brand: unique symbol;

/** What {@link isBase64} decodes a frame into (one buffer: the checks never overlap). */
const probe = new Uint8Array(1024);

/**
 * Bytes of audio in a base64 string, from its length and padding, without
 * decoding it (exact for standard base64).
 */
export function base64ByteLength(text: string): number {
  const length = text.length;
  if (length === 0) return 0;
  const padding = text.endsWith("==") ? 2 : text.endsWith("=") ? 1 : 0;
  return Math.floor(length / 4) * 3 - padding;
}

/**
 * Decodes standard base64 into the start of `target` with V8's native
 * decoder: the bytes written, or undefined when `text` is not standard base64
 * (see {@link isBase64}) or does not fit. The decoder refuses any other
 * character and misplaced padding, and skips ASCII whitespace, which the byte
 * count then gives away (fewer bytes than the length promises).
 */
export function decodeBase64Into(text: string, target: Uint8Array): number | undefined {
  if (text.length % 4 !== 0) return undefined;
  const bytes = base64ByteLength(text);
  if (bytes > target.length) return undefined;
  let written: number;
  try {
    written = target.setFromBase64(text).written;
  } catch {
    return undefined;
  }
  return written === bytes ? bytes : undefined;
}

/**
 * Whether `text` is standard base64: the alphabet, at most two `=` at the
 * end, whole quads (`/^[A-Za-z0-9+/]*={0,2}$/` on a length that is a multiple
 * of 4). It runs on every caller frame, so V8's native decoder checks it
 * ({@link decodeBase64Into}: about a third of the regular expression's time).
 */
export function isBase64(text: string): text is Base64 {
  // A frame fits the shared buffer; anything larger (rare, bounded by the stream guard) gets its own.
  const bytes = base64ByteLength(text);
  return decodeBase64Into(text, bytes <= probe.length ? probe : new Uint8Array(bytes)) !==
    undefined;
}

/** Encodes bytes as standard base64. */
export function encodeBase64(bytes: Uint8Array): Base64 {
  return bytes.toBase64() as Base64;
}

/** Decodes standard base64; undefined when the text is not base64. */
export function decodeBase64(text: string): Uint8Array | undefined {
  const bytes = new Uint8Array(Math.max(0, base64ByteLength(text)));
  return decodeBase64Into(text, bytes) === undefined ? undefined : bytes;
}
