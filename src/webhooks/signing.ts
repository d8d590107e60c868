/**
 * Standard Webhooks signatures (spec 1.0.0, github.com/standard-webhooks/standard-webhooks,
 * `spec/standard-webhooks.md`, read 2026-12-07): the signed content is
 * `webhook-id.webhook-timestamp.body`, the signature HMAC-SHA256 keyed with
 * the secret's bytes, sent as `webhook-signature: v1,<base64>`; a secret is
 * written `whsec_<base64>` and holds 24 to 64 random bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseWebhookSecret, signDelivery } from "./signing.ts";
 *
 * const key = parseWebhookSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
 * assert.ok(key instanceof Uint8Array);
 * // The example of the reference libraries' tests.
 * assert.equal(
 *   await signDelivery(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, '{"test": 2432232314}'),
 *   "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
 * );
 * assert.equal(typeof parseWebhookSecret("whsec_short"), "string", "a problem, not a key");
 * ```
 *
 * @module
 */
import { decodeBase64, encodeBase64 } from "../audio/base64.ts";

/** The secret's prefix. */
const SECRET_PREFIX = "whsec_";
const MIN_KEY_BYTES = 24;
const MAX_KEY_BYTES = 64;

/** How to make a secret, for messages and docs. */
export const MAKE_SECRET_HINT = 'e.g. `echo "whsec_$(openssl rand -base64 32)"`';

/**
 * The key bytes of a `whsec_<base64>` secret, or a problem (in words, never
 * showing the value) when it is not one.
 */
export function parseWebhookSecret(secret: string): Uint8Array | string {
  if (!secret.startsWith(SECRET_PREFIX)) {
    return `must be written ${SECRET_PREFIX}<base64> (${MAKE_SECRET_HINT})`;
  }
  const key = decodeBase64(secret.slice(SECRET_PREFIX.length));
  if (key === undefined) {
    return `must be ${SECRET_PREFIX} followed by standard base64 (${MAKE_SECRET_HINT})`;
  }
  if (key.length < MIN_KEY_BYTES || key.length > MAX_KEY_BYTES) {
    return `must hold ${MIN_KEY_BYTES} to ${MAX_KEY_BYTES} bytes after ${SECRET_PREFIX}, got ${key.length} (${MAKE_SECRET_HINT})`;
  }
  return key;
}

/** The key of a legacy `CALL_RECORD_WEBHOOK_SECRET`: its UTF-8 bytes. */
export function legacyKey(secret: string): Uint8Array {
  return new TextEncoder().encode(secret);
}

async function hmac(key: Uint8Array, content: string): Promise<Uint8Array> {
  const cryptoKey = await crypto.subtle.importKey(
    "raw",
    key as Uint8Array<ArrayBuffer>,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return new Uint8Array(
    await crypto.subtle.sign("HMAC", cryptoKey, new TextEncoder().encode(content)),
  );
}

/** `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, the `webhook-signature` value. */
export async function signDelivery(
  key: Uint8Array,
  id: string,
  timestampSeconds: number,
  body: string,
): Promise<string> {
  return `v1,${encodeBase64(await hmac(key, `${id}.${timestampSeconds}.${body}`))}`;
}

/**
 * The header the legacy `CALL_RECORD_WEBHOOK_*` receivers check:
 * `X-Signature-256: sha256=<hex HMAC-SHA256 of the body>`.
 */
export async function legacySignature(key: Uint8Array, body: string): Promise<string> {
  const mac = await hmac(key, body);
  return `sha256=${Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** A new `webhook-id`: `msg_` and 32 hex digits (never a `.`, as the spec asks). */
export function newWebhookId(): string {
  return `msg_${crypto.randomUUID().replaceAll("-", "")}`;
}
