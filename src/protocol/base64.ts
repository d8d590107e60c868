/**
 * Base64 helpers of the Realtime server kit (audio deltas and appends), with
 * no dependencies.
 *
 * @example
 * ```ts
 * import { decodeBase64, encodeBase64 } from "./base64.ts";
 * const text = encodeBase64(new Uint8Array([0x7f, 0xff]));
 * if (text !== "f/8=" || decodeBase64(text)?.[1] !== 0xff) throw new Error();
 * if (decodeBase64("not base64!") !== undefined) throw new Error("must be refused");
 * ```
 *
 * @module
 */

/** Encodes bytes as standard base64. */
export function encodeBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** Decodes standard base64; undefined when the text is not base64. */
export function decodeBase64(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return undefined;
  try {
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  } catch {
    return undefined;
  }
}
