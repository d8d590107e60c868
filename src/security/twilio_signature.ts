/**
 * Checks of Twilio's `X-Twilio-Signature` header on webhooks and on the
 * media-stream WebSocket upgrade, with the Twilio SDK's `validateRequest`
 * (loaded without the rest of the SDK).
 *
 * Twilio signs the exact public URL it requested (plus, for form POSTs, every
 * parameter name and value sorted by name). Behind a proxy or tunnel the URL
 * the server sees differs from the public one, so the URL is rebuilt from
 * `PUBLIC_URL` (or `Host` and `X-Forwarded-Proto`), the same way the TwiML
 * URLs are built.
 *
 * @module
 */
import { validateRequest } from "twilio/lib/webhooks/webhooks.js";

/** The request header Twilio signs its requests with. */
export const SIGNATURE_HEADER = "x-twilio-signature";

/**
 * Form parameters in the shape `validateRequest` expects: a repeated name
 * becomes an array of its values.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formParams } from "./twilio_signature.ts";
 * assert.deepEqual(formParams(new URLSearchParams("a=1&b=2&a=3")), { a: ["1", "3"], b: "2" });
 * ```
 */
export function formParams(form: URLSearchParams): Record<string, string | string[]> {
  const params: Record<string, string | string[]> = {};
  for (const [name, value] of form) {
    const previous = params[name];
    if (previous === undefined) params[name] = value;
    else if (Array.isArray(previous)) previous.push(value);
    else params[name] = [previous, value];
  }
  return params;
}

/**
 * Whether `signature` is Twilio's signature of `url` and `params` with
 * `authToken`. Never throws (a malformed URL or a missing signature is
 * simply invalid); compares in constant time.
 *
 * @example Twilio's published test vector
 * ```ts
 * import assert from "node:assert/strict";
 * import { isValidTwilioSignature } from "./twilio_signature.ts";
 * assert.ok(isValidTwilioSignature({
 *   authToken: "12345",
 *   signature: "0/KCTR6DLpKmkAf8muzZqo1nDgQ=",
 *   url: "https://mycompany.com/myapp.php?foo=1&bar=2",
 *   params: {
 *     CallSid: "CA1234567890ABCDE",
 *     Caller: "+12349013030",
 *     Digits: "1234",
 *     From: "+12349013030",
 *     To: "+18005551212",
 *   },
 * }));
 * ```
 */
export function isValidTwilioSignature(options: {
  authToken: string;
  signature: string | null | undefined;
  url: string;
  params?: Record<string, string | string[]>;
}): boolean {
  const { authToken, signature, url } = options;
  if (authToken === "" || signature === null || signature === undefined || signature === "") {
    return false;
  }
  // A base64 HMAC-SHA1 is 28 characters; anything much longer is not worth hashing.
  if (signature.length > 128) return false;
  try {
    return validateRequest(authToken, signature, url, options.params ?? {});
  } catch {
    return false;
  }
}

/**
 * The public URL Twilio requested for a webhook: the public base (from
 * `PUBLIC_URL`, or `Host` and `X-Forwarded-Proto`) followed by the request's
 * path and query string, exactly as received.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { webhookUrl } from "./twilio_signature.ts";
 * const request = new Request("http://10.0.0.5:5050/incoming-call?x=1", { method: "POST" });
 * assert.equal(webhookUrl(request, "https://voice.example.com"), "https://voice.example.com/incoming-call?x=1");
 * ```
 */
export function webhookUrl(request: Request, publicHttpBase: string): string {
  const url = new URL(request.url);
  return `${publicHttpBase}${url.pathname}${url.search}`;
}
