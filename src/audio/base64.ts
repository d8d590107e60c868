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

const ALPHABET_THEN_PADDING = /^[A-Za-z0-9+/]*={0,2}$/;

/** Whether `text` is standard base64: the alphabet, at most two `=` at the end, whole quads. */
export function isBase64(text: string): boolean {
  return text.length % 4 === 0 && ALPHABET_THEN_PADDING.test(text);
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
