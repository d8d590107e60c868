/**
 * The preamble every Twilio webhook route shares: the public base URL
 * Twilio used (`PUBLIC_URL`, else the request's Host), the form (a POST
 * body capped at {@link MAX_WEBHOOK_BODY_BYTES}, or a GET's query), and
 * Twilio's signature over both. The route gets the checked form, or the
 * answer to send: 400 for a malformed Host, 413 for a body over the cap,
 * 403 for a refused signature (each refusal reported to `refused`, which
 * logs and counts it the route's way).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseConfig } from "../config/mod.ts";
 * import { CallAdmission } from "../security/call_admission.ts";
 * import { readSignedWebhook } from "./signed_webhook.ts";
 * const admission = new CallAdmission(parseConfig({
 *   OPENAI_API_KEY: "sk-test-0123456789abcdefghij", TWILIO_AUTH_TOKEN: "secret",
 * }));
 * const refused: string[] = [];
 * const unsigned = new Request("https://voice.example.com/incoming-call", { method: "POST", body: "CallSid=CA1" });
 * const answer = await readSignedWebhook(unsigned, { admission, publicUrl: undefined, refused: (r) => refused.push(r) });
 * assert.ok(answer instanceof Response && answer.status === 403);
 * assert.deepEqual(refused, ["missing_signature"]);
 * ```
 *
 * @module
 */
import type { CallAdmission, Refusal } from "../security/call_admission.ts";
import { MAX_WEBHOOK_BODY_BYTES, readCappedText } from "../security/limits.ts";
import { publicBase } from "./public_base.ts";
import { text } from "./plain_responses.ts";

/** The answer to a request Twilio did not sign. */
const FORBIDDEN = "Forbidden: this endpoint only accepts requests signed by Twilio.\n";

/** A webhook request Twilio signed: its form and the public base URLs it was sent to. */
export interface SignedWebhook {
  form: URLSearchParams;
  base: { http: string; ws: string };
}

/** Options of {@link readSignedWebhook}. */
export interface SignedWebhookOptions {
  /** Checks Twilio's signature. */
  admission: CallAdmission;
  /** `PUBLIC_URL`, or undefined to use the request's Host. */
  publicUrl: string | undefined;
  /** Told of each refusal (a body over the cap, a bad signature). */
  refused?: (kind: Refusal | "too_large") => void;
}

/** The signed webhook's form and base, or the answer that refuses it. */
export async function readSignedWebhook(
  request: Request,
  options: SignedWebhookOptions,
): Promise<SignedWebhook | Response> {
  const base = publicBase(request, options.publicUrl);
  if (base === undefined) return text("Bad Host header.\n", 400);
  let form: URLSearchParams;
  if (request.method === "POST") {
    const body = await readCappedText(request, MAX_WEBHOOK_BODY_BYTES);
    if (!body.ok) {
      options.refused?.("too_large");
      return text("Request body too large.\n", 413);
    }
    form = new URLSearchParams(body.text);
  } else {
    form = new URL(request.url).searchParams;
  }
  const refusal = options.admission.checkWebhook(request, form, base.http);
  if (refusal !== undefined) {
    options.refused?.(refusal);
    return text(FORBIDDEN, 403);
  }
  return { form, base };
}
