/**
 * Call tickets: the agent, context and campaign of an outbound call, sealed
 * into one opaque string that travels in the TwiML URL Twilio fetches and in
 * the media stream's `<Parameter>`s, so any instance sharing the secret can
 * serve the call and nothing readable (a callee's name, an order number)
 * shows up in Twilio's logs.
 *
 * Same idea as the stream tokens (`security/stream_token.ts`), but the
 * payload is encrypted as well as authenticated: AES-256-GCM with a key
 * derived from the server secret (`STREAM_TOKEN_SECRET`), a random 96-bit IV
 * per ticket, and an expiry inside the sealed payload.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CallTickets } from "./call_ticket.ts";
 * const tickets = new CallTickets({ secret: "a long shared secret", now: () => 0 });
 * const ticket = tickets.seal({ agent: "listings", context: { name: "Ada" } });
 * assert.ok(!ticket.includes("Ada"));
 * assert.deepEqual(tickets.open(ticket), { ok: true, value: { agent: "listings", context: { name: "Ada" } } });
 * const tampered = ticket.slice(0, 10) + (ticket[10] === "A" ? "B" : "A") + ticket.slice(11);
 * assert.deepEqual(tickets.open(tampered), { ok: false, reason: "bad_seal" });
 * ```
 *
 * @module
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { Buffer } from "node:buffer";

/** What a ticket carries. */
export interface CallTicket {
  /** Agent profile name. */
  agent: string;
  /** Caller context (JSON object) for the agent's instructions. */
  context: Record<string, unknown>;
  /** Campaign and contact of the attempt, when placed by a campaign. */
  campaignId?: string;
  contactId?: string;
}

/** Result of {@link CallTickets.open}. */
export type TicketCheck =
  | { ok: true; value: CallTicket }
  | { ok: false; reason: "missing" | "malformed" | "bad_seal" | "expired" };

/** Options of {@link CallTickets}. */
export interface CallTicketsOptions {
  /** Server secret; every instance needs the same. Default: random for this process. */
  secret?: string;
  /** Lifetime in ms (a queued call may wait before Twilio fetches its TwiML). Default 1 h. */
  ttlMs?: number;
  /** Wall clock in ms. Default `Date.now`. */
  now?: () => number;
}

const PREFIX = "o1.";
const IV_BYTES = 12;
const TAG_BYTES = 16;
const TICKET = /^o1\.([A-Za-z0-9_-]{40,8000})$/;

/** Seals and opens call tickets. */
export class CallTickets {
  #key: Buffer;
  #ttlMs: number;
  #now: () => number;

  /** Creates a sealer/opener. */
  constructor(options: CallTicketsOptions = {}) {
    this.#key = options.secret === undefined
      ? randomBytes(32)
      : createHash("sha256").update(`outbound-call-ticket\0${options.secret}`).digest();
    this.#ttlMs = options.ttlMs ?? 3_600_000;
    this.#now = options.now ?? Date.now;
  }

  /** A new sealed ticket for `value`. */
  seal(value: CallTicket): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.#key, iv);
    const plain = JSON.stringify({ ...value, exp: this.#now() + this.#ttlMs });
    const sealed = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
    return PREFIX + Buffer.concat([iv, sealed, cipher.getAuthTag()]).toString("base64url");
  }

  /** Opens `ticket`. Never throws. */
  open(ticket: string | null | undefined): TicketCheck {
    if (ticket === null || ticket === undefined || ticket === "") {
      return { ok: false, reason: "missing" };
    }
    const match = TICKET.exec(ticket);
    if (match === null) return { ok: false, reason: "malformed" };
    const bytes = Buffer.from(match[1], "base64url");
    if (bytes.length < IV_BYTES + TAG_BYTES + 2) return { ok: false, reason: "malformed" };
    let parsed: unknown;
    try {
      const decipher = createDecipheriv("aes-256-gcm", this.#key, bytes.subarray(0, IV_BYTES));
      decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
      const plain = Buffer.concat([
        decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)),
        decipher.final(),
      ]).toString("utf8");
      parsed = JSON.parse(plain);
    } catch {
      return { ok: false, reason: "bad_seal" };
    }
    const p = parsed as Record<string, unknown>;
    if (typeof p.exp !== "number" || typeof p.agent !== "string" || !isObject(p.context)) {
      return { ok: false, reason: "malformed" };
    }
    if (p.exp < this.#now()) return { ok: false, reason: "expired" };
    const value: CallTicket = { agent: p.agent, context: p.context };
    if (typeof p.campaignId === "string") value.campaignId = p.campaignId;
    if (typeof p.contactId === "string") value.contactId = p.contactId;
    return { ok: true, value };
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
