/**
 * Strict standard base64 (with padding) for audio payloads: Twilio media and
 * OpenAI audio events carry μ-law bytes this way, and the fakes reject
 * anything else as the real services would.
 *
 * @example
 * ```ts
 * import { decodeBase64, encodeBase64, isBase64 } from "./base64.ts";
 *
 * const text = encodeBase64(new Uint8Array([0xff, 0x7f, 0x00]));
 * if (text !== "/38A" || !isBase64(text) || decodeBase64(text)?.[0] !== 0xff) throw new Error();
 * if (decodeBase64("not base64!") !== undefined) throw new Error();
 * ```
 *
 * @module
 */

const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Standard base64 (with padding) of `bytes`. */
export function encodeBase64(bytes: Uint8Array): string {
  let binary = "";
  const step = 0x8000;
  for (let i = 0; i < bytes.length; i += step) {
    binary += String.fromCharCode(...bytes.subarray(i, i + step));
  }
  return btoa(binary);
}

/**
 * Decodes standard padded base64.
 *
 * @returns undefined when `text` is not valid standard base64.
 */
export function decodeBase64(text: string): Uint8Array | undefined {
  if (!BASE64_RE.test(text)) return undefined;
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** True when `text` is valid standard padded base64. */
export function isBase64(text: string): boolean {
  return BASE64_RE.test(text);
}
