/**
 * Per-call stream tokens: bind each media stream to the webhook that asked
 * for it.
 *
 * The webhook puts a short-lived token in a `<Parameter>` of the TwiML
 * `<Stream>`; Twilio sends it back in the `start` message's
 * `customParameters`. The token is an HMAC-SHA256, keyed with a server
 * secret, over the CallSid and an expiry time, so it is stateless: any
 * instance sharing the secret can check it. Each token is accepted once
 * (used tokens are remembered until they expire, in a bounded set).
 *
 * A token may also bind the name of the agent chosen at the webhook (sent in
 * its own `<Parameter>`, {@link AGENT_PARAMETER}): such a token (`v2`) only
 * verifies with that same name, so a stream cannot switch agents.
 *
 * @module
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/** The `<Parameter>` name that carries the token. */
export const STREAM_TOKEN_PARAMETER = "streamToken";

/** The `<Parameter>` name that carries the agent's name (bound by a `v2` token). */
export const AGENT_PARAMETER = "agent";

/** Default lifetime of a token, in ms (Twilio opens the stream within seconds). */
const DEFAULT_STREAM_TOKEN_TTL_MS = 60_000;

const ENCODER = new TextEncoder();
const TOKEN = /^(v1|v2)\.(\d{1,15})\.([A-Za-z0-9_-]{43})$/;

/** Options of {@link StreamTokens}. */
export interface StreamTokensOptions {
  /**
   * The HMAC key. Every instance behind a load balancer needs the same one.
   * Default: 32 random bytes, fresh for this process.
   */
  secret?: string;
  /** Token lifetime in ms. Default {@link DEFAULT_STREAM_TOKEN_TTL_MS}. */
  ttlMs?: number;
  /** At most this many used tokens are remembered. Default 10000. */
  maxRemembered?: number;
  /** Wall clock in ms (tokens carry absolute expiry times). Default `Date.now`. */
  now?: () => number;
}

/** Result of {@link StreamTokens.verify}: ok, or why the token was refused. */
export type StreamTokenCheck =
  | { ok: true }
  | { ok: false; reason: "missing" | "malformed" | "bad_signature" | "expired" | "reused" };

/**
 * Issues and checks per-call stream tokens.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { StreamTokens } from "./stream_token.ts";
 * const tokens = new StreamTokens({ secret: "a long shared secret" });
 * const token = tokens.issue("CA123");
 * assert.deepEqual(tokens.verify("CA123", token), { ok: true });
 * assert.deepEqual(tokens.verify("CA123", token), { ok: false, reason: "reused" });
 * assert.deepEqual(tokens.verify("CA999", tokens.issue("CA123")), { ok: false, reason: "bad_signature" });
 * assert.notEqual(tokens.issue("CA7"), tokens.issue("CA7")); // a second stream of one call
 * const bound = tokens.issue("CA123", "listings");
 * assert.deepEqual(tokens.verify("CA123", bound, "front-desk"), { ok: false, reason: "bad_signature" });
 * assert.deepEqual(tokens.verify("CA123", bound, "listings"), { ok: true });
 * ```
 */
export class StreamTokens {
  #secret: Uint8Array | string;
  #ttlMs: number;
  #max: number;
  #now: () => number;
  /** Used tokens (their MAC) → expiry, in insertion order. */
  #used = new Map<string, number>();
  /** The last expiry issued per CallSid, so a second token for a call differs from the first. */
  #lastIssued = new Map<string, number>();

  /** Creates an issuer/checker. */
  constructor(options: StreamTokensOptions = {}) {
    this.#secret = options.secret ?? randomBytes(32);
    this.#ttlMs = options.ttlMs ?? DEFAULT_STREAM_TOKEN_TTL_MS;
    this.#max = options.maxRemembered ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  /**
   * A new token for `callSid`, valid for the configured lifetime; with
   * `agent`, it binds that agent's name too. A call may get several (an
   * outbound call reconnects its stream after keypad tones): each differs
   * from the last, so none is refused as reused.
   */
  issue(callSid: string, agent?: string): string {
    let expiry = Math.ceil((this.#now() + this.#ttlMs) / 1000);
    const last = this.#lastIssued.get(callSid);
    if (last !== undefined && expiry <= last) expiry = last + 1;
    this.#lastIssued.delete(callSid);
    this.#lastIssued.set(callSid, expiry);
    if (this.#lastIssued.size > this.#max) {
      this.#lastIssued.delete(this.#lastIssued.keys().next().value!);
    }
    const version = agent === undefined ? "v1" : "v2";
    return `${version}.${expiry}.${this.#mac(version, callSid, expiry, agent)}`;
  }

  /**
   * Checks `token` for `callSid` (and the `agent` name the stream claims) and,
   * when valid, marks it used. Never throws.
   */
  verify(callSid: string, token: string | undefined, agent?: string): StreamTokenCheck {
    if (token === undefined || token === "") return { ok: false, reason: "missing" };
    const match = TOKEN.exec(token);
    if (match === null) return { ok: false, reason: "malformed" };
    const version = match[1] as "v1" | "v2";
    // An agent name is only trusted when the token binds it.
    if ((version === "v2") !== (agent !== undefined)) return { ok: false, reason: "bad_signature" };
    const expiry = Number(match[2]);
    const expected = ENCODER.encode(this.#mac(version, callSid, expiry, agent));
    const given = ENCODER.encode(match[3]);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
      return { ok: false, reason: "bad_signature" };
    }
    const now = this.#now();
    if (expiry * 1000 < now) return { ok: false, reason: "expired" };
    this.#forgetExpired(now);
    if (this.#used.has(match[3])) return { ok: false, reason: "reused" };
    this.#used.set(match[3], expiry * 1000);
    while (this.#used.size > this.#max) {
      const oldest = this.#used.keys().next().value;
      if (oldest === undefined) break;
      this.#used.delete(oldest);
    }
    return { ok: true };
  }

  /** How many used tokens are remembered (for tests and metrics). */
  get rememberedCount(): number {
    return this.#used.size;
  }

  #mac(version: "v1" | "v2", callSid: string, expiry: number, agent: string | undefined): string {
    return createHmac("sha256", this.#secret)
      .update(
        version === "v1"
          ? `v1.${callSid}.${expiry}`
          : JSON.stringify(["v2", callSid, expiry, agent ?? ""]),
      )
      .digest("base64url");
  }

  #forgetExpired(now: number): void {
    // Entries are in insertion order and all share one lifetime, so the oldest expire first.
    for (const [mac, expiresAt] of this.#used) {
      if (expiresAt >= now) break;
      this.#used.delete(mac);
    }
  }
}
