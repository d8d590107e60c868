/**
 * Short-lived tokens that let the browser softphone open `/media-stream`
 * without a Twilio signature.
 *
 * The server issues a token to its own page (`POST /softphone/token`); the
 * page offers it as a WebSocket subprotocol when it opens the media stream:
 * `new WebSocket(url, ["softphone", "softphone-token.<token>"])`. A token is
 * `sp1.<callSid>.<expiresAtMs>.<hmac>`: HMAC-SHA256 under a random per-process
 * secret, valid for {@link SOFTPHONE_TOKEN_TTL_MS} and for one call only. It
 * contains only `[A-Za-z0-9._-]`, so it is a valid subprotocol token and never
 * appears in a URL (and so never in an access log).
 *
 * @example
 * ```ts
 * import { SoftphoneTokens } from "./softphone_token.ts";
 * const tokens = new SoftphoneTokens();
 * const { token, callSid } = tokens.issue();
 * const check = tokens.verify(token);
 * if (!check.ok || check.callSid !== callSid) throw new Error("a fresh token is valid");
 * if (tokens.verify(token).ok) throw new Error("a token works once");
 * if (!tokens.peek(token).ok) throw new Error("peeking checks without using up");
 * ```
 *
 * @module
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/** How long an issued token stays valid, in ms. */
export const SOFTPHONE_TOKEN_TTL_MS = 60_000;

/** The subprotocol the server answers a softphone upgrade with. */
export const SOFTPHONE_PROTOCOL = "softphone";

/** Prefix of the subprotocol value that carries the token. */
export const SOFTPHONE_TOKEN_PROTOCOL_PREFIX = "softphone-token.";

const TOKEN = /^sp1\.(SP[0-9a-f]{32})\.(\d{13})\.([A-Za-z0-9_-]{43})$/;
const MAX_REMEMBERED = 10_000;

/** Options of {@link SoftphoneTokens}. */
export interface SoftphoneTokensOptions {
  /** HMAC secret (at least 32 bytes). Default: 32 random bytes, so tokens die with the process. */
  secret?: Uint8Array;
  /** Token lifetime in ms. Default {@link SOFTPHONE_TOKEN_TTL_MS}. */
  ttlMs?: number;
  /** Wall clock in epoch ms. Default `Date.now`. */
  now?: () => number;
}

/** A token issued to the page. */
export interface IssuedSoftphoneToken {
  /** The token to offer as `softphone-token.<token>`. */
  token: string;
  /** The call SID the page must use in its `start` message (`SP` + 32 hex digits). */
  callSid: string;
  /** A stream SID for the page's `start` message (`MZ` + 32 hex digits). */
  streamSid: string;
  /** Expiry, epoch ms. */
  expiresAt: number;
}

/** Result of {@link SoftphoneTokens.verify}. */
export type SoftphoneTokenCheck =
  | { ok: true; callSid: string }
  | { ok: false; reason: "malformed" | "bad_signature" | "expired" | "used" };

/** Issues and checks softphone tokens. */
export class SoftphoneTokens {
  #secret: Uint8Array;
  #ttlMs: number;
  #now: () => number;
  /** Call SIDs whose token was used, with their expiry (single use). */
  #used = new Map<string, number>();

  /** Creates an issuer with a fresh random secret unless one is given. */
  constructor(options: SoftphoneTokensOptions = {}) {
    if (options.secret !== undefined && options.secret.length < 32) {
      throw new RangeError("The softphone token secret must be at least 32 bytes long.");
    }
    this.#secret = options.secret ?? new Uint8Array(randomBytes(32));
    this.#ttlMs = options.ttlMs ?? SOFTPHONE_TOKEN_TTL_MS;
    this.#now = options.now ?? Date.now;
  }

  /** Issues a token for one new softphone call. */
  issue(): IssuedSoftphoneToken {
    const callSid = `SP${randomBytes(16).toString("hex")}`;
    const streamSid = `MZ${randomBytes(16).toString("hex")}`;
    const expiresAt = Math.floor(this.#now() + this.#ttlMs);
    const body = `sp1.${callSid}.${expiresAt}`;
    return { token: `${body}.${this.#sign(body)}`, callSid, streamSid, expiresAt };
  }

  /**
   * Checks a token and, when it is valid, uses it up: a token opens one call.
   * Never throws.
   */
  verify(token: string): SoftphoneTokenCheck {
    const check = this.#check(token);
    if (!check.ok) return check;
    const now = this.#now();
    this.#prune(now);
    if (this.#used.has(check.callSid)) return { ok: false, reason: "used" };
    this.#used.set(check.callSid, check.expiresAt);
    return { ok: true, callSid: check.callSid };
  }

  /**
   * Checks a token's signature and expiry without using it up (whether its
   * call has started does not matter): the live view of the token's call
   * (`/softphone/events`) is authorized this way. Never throws.
   */
  peek(token: string): SoftphoneTokenCheck {
    const check = this.#check(token);
    return check.ok ? { ok: true, callSid: check.callSid } : check;
  }

  #check(
    token: string,
  ):
    | { ok: true; callSid: string; expiresAt: number }
    | { ok: false; reason: "malformed" | "bad_signature" | "expired" } {
    const match = TOKEN.exec(token);
    if (match === null) return { ok: false, reason: "malformed" };
    const [, callSid, expires, signature] = match;
    const expected = new TextEncoder().encode(this.#sign(`sp1.${callSid}.${expires}`));
    const given = new TextEncoder().encode(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return { ok: false, reason: "bad_signature" };
    }
    const now = this.#now();
    const expiresAt = Number(expires);
    if (now > expiresAt) return { ok: false, reason: "expired" };
    return { ok: true, callSid, expiresAt };
  }

  /**
   * Finds the token among a request's offered WebSocket subprotocols.
   * Returns undefined when the request offers none.
   */
  static fromRequest(request: Request): string | undefined {
    const header = request.headers.get("sec-websocket-protocol");
    if (header === null) return undefined;
    for (const value of header.split(",")) {
      const protocol = value.trim();
      if (protocol.startsWith(SOFTPHONE_TOKEN_PROTOCOL_PREFIX)) {
        return protocol.slice(SOFTPHONE_TOKEN_PROTOCOL_PREFIX.length);
      }
    }
    return undefined;
  }

  #sign(body: string): string {
    return createHmac("sha256", this.#secret).update(body).digest("base64url");
  }

  #prune(now: number): void {
    for (const [sid, expiresAt] of this.#used) {
      if (expiresAt < now) this.#used.delete(sid);
    }
    // Tokens live a minute, so this only trims a flood.
    while (this.#used.size >= MAX_REMEMBERED) {
      const oldest = this.#used.keys().next().value;
      if (oldest === undefined) break;
      this.#used.delete(oldest);
    }
  }
}
