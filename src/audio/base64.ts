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

/** What {@link isBase64} decodes a frame into (one buffer: the checks never overlap). */
const probe = new Uint8Array(1024);

/**
 * Whether `text` is standard base64: the alphabet, at most two `=` at the
 * end, whole quads (`/^[A-Za-z0-9+/]*={0,2}$/` on a length that is a multiple
 * of 4). It runs on every caller frame, so V8's native decoder checks it
 * (about a third of the regular expression's time): the decoder refuses any
 * other character and misplaced padding, and skips ASCII whitespace, which
 * the byte count then gives away (fewer bytes than the length promises).
 */
export function isBase64(text: string): boolean {
  const length = text.length;
  if (length % 4 !== 0) return false;
  const most = (length / 4) * 3;
  // A frame fits the shared buffer; anything larger (rare, bounded by the stream guard) gets its own.
  const into = most <= probe.length ? probe : new Uint8Array(most);
  let written: number;
  try {
    written = into.setFromBase64(text).written;
  } catch {
    return false;
  }
  const padding = length > 0 && text.charCodeAt(length - 1) === 61
    ? text.charCodeAt(length - 2) === 61 ? 2 : 1
    : 0;
  return written === most - padding;
}

/** Encodes bytes as standard base64. */
export function encodeBase64(bytes: Uint8Array): string {
  return bytes.toBase64();
}

/** Decodes standard base64; undefined when the text is not base64. */
export function decodeBase64(text: string): Uint8Array | undefined {
  if (!isBase64(text)) return undefined;
  try {
    return Uint8Array.fromBase64(text);
  } catch {
    return undefined;
  }
}
