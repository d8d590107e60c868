/**
 * Signed references in the URLs Twilio calls back during a transfer, so that
 * no raw call reference (the caller's CallSid, a conference name) appears in
 * a URL and a forged or altered reference is refused before anything
 * happens. Twilio's own signature (checked on every transfer route) covers
 * the URL, token included; the token binds what the route acts on:
 *
 * - a warm transfer's person leg: the transfer's random id and the
 *   destination's index (`w1.<id>.<leg>.<mac>`);
 * - a cold transfer's `<Dial action>`: the caller's CallSid (checked against
 *   the callback's `CallSid`), the agent and the destination's index
 *   (`c1.<index>.<agent>.<mac>`).
 *
 * HMAC-SHA256 keyed with the server secret (`STREAM_TOKEN_SECRET`, else a
 * random key of this process), compared in constant time.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TransferTokens } from "./transfer_token.ts";
 * const tokens = new TransferTokens("a long shared secret");
 * const warm = tokens.warm("k3Yq0x", 1);
 * assert.deepEqual(tokens.openWarm(warm), { id: "k3Yq0x", leg: 1 });
 * assert.equal(tokens.openWarm(warm.replace(".1.", ".2.")), undefined);
 * const cold = tokens.cold("CA1", "sales", 0);
 * assert.deepEqual(tokens.openCold(cold, "CA1"), { agent: "sales", index: 0 });
 * assert.equal(tokens.openCold(cold, "CA2"), undefined); // another call
 * ```
 *
 * @module
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";

const WARM = /^w1\.([A-Za-z0-9_-]{6,64})\.(\d{1,2})\.([A-Za-z0-9_-]{43})$/;
const COLD = /^c1\.(\d{1,2})\.([0-9a-f]{0,256})\.([A-Za-z0-9_-]{43})$/;

/** Signs and opens transfer tokens. */
export class TransferTokens {
  #key: Uint8Array;

  /** `secret`: the server secret shared by every instance (default: random for this process). */
  constructor(secret?: string) {
    this.#key = secret === undefined
      ? randomBytes(32)
      : createHash("sha256").update(`transfer-token\0${secret}`).digest();
  }

  /** The token of leg `leg` of warm transfer `id`. */
  warm(id: string, leg: number): string {
    return `w1.${id}.${leg}.${this.#mac(`warm\0${id}\0${leg}`)}`;
  }

  /** The transfer id and leg of a warm token, or undefined when it is not one of ours. */
  openWarm(token: string | null): { id: string; leg: number } | undefined {
    const match = token === null ? null : WARM.exec(token);
    if (match === null) return undefined;
    const [, id, leg] = match;
    return this.#same(match[3], `warm\0${id}\0${leg}`) ? { id, leg: Number(leg) } : undefined;
  }

  /** The token of a cold transfer's `<Dial action>` for destination `index` of `agent`'s tool. */
  cold(callSid: string, agent: string | undefined, index: number): string {
    const name = agent === undefined ? "" : encodeName(agent);
    return `c1.${index}.${name}.${this.#mac(`cold\0${callSid}\0${name}\0${index}`)}`;
  }

  /** The agent and index of a cold token issued for `callSid`, or undefined. */
  openCold(
    token: string | null,
    callSid: string,
  ): { agent: string | undefined; index: number } | undefined {
    const match = token === null ? null : COLD.exec(token);
    if (match === null) return undefined;
    const [, index, name] = match;
    if (!this.#same(match[3], `cold\0${callSid}\0${name}\0${index}`)) return undefined;
    return { agent: name === "" ? undefined : decodeName(name), index: Number(index) };
  }

  #mac(text: string): string {
    return createHmac("sha256", this.#key).update(text).digest("base64url");
  }

  #same(given: string, text: string): boolean {
    const expected = new TextEncoder().encode(this.#mac(text));
    const actual = new TextEncoder().encode(given);
    return expected.length === actual.length && timingSafeEqual(expected, actual);
  }
}

/** A new transfer id: 128 random bits, URL-safe (also not guessable as a conference name). */
export function newTransferId(): string {
  return randomBytes(16).toString("base64url");
}

function encodeName(name: string): string {
  return new TextEncoder().encode(name).reduce(
    (text, byte) => text + byte.toString(16).padStart(2, "0"),
    "",
  );
}

function decodeName(hex: string): string | undefined {
  if (hex.length % 2 !== 0 || !/^[0-9a-f]*$/.test(hex)) return undefined;
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return new TextDecoder().decode(bytes);
}
