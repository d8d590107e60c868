/**
 * The context webhook: before the greeting, the bridge POSTs
 * `{from, to, callSid}` to the agent's `context_webhook.url` and uses the
 * JSON object it answers to fill `{{caller.*}}` templates.
 *
 * It never holds a call up for long and never fails one: a timeout, an
 * HTTP error or an answer that is not a JSON object is logged (without the
 * URL, its headers or the caller's number) and the call goes on without
 * context.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fetchCallerContext } from "./context_webhook.ts";
 * const context = await fetchCallerContext(
 *   { url: "https://crm.example.com/caller", timeoutMs: 2000, headers: {} },
 *   { from: "+15551230000", to: "+15005550001", callSid: "CA1" },
 *   { fetch: async (_url, init) => Response.json({ name: "Ada", asked: JSON.parse(String(init?.body)).to }) },
 * );
 * assert.deepEqual(context, { ok: true, caller: { name: "Ada", asked: "+15005550001" } });
 * ```
 *
 * @module
 */
import { readCappedText } from "../security/limits.ts";
import { createSecretRedactor, headerSecrets, redactDeep } from "../security/secret_redaction.ts";
import type { ContextWebhookSpec } from "./agent_profile.ts";

/** Largest answer read from the webhook, in bytes. */
export const MAX_CONTEXT_BYTES = 16 * 1024;

/** What the webhook is told about the call. */
export interface CallParties {
  /** The caller's number as Twilio gave it (may be a client id or "anonymous"). */
  from: string;
  /** The called number. */
  to: string;
  callSid: string;
}

/** The caller's context, or why there is none (safe to log). */
export type CallerContextResult =
  | { ok: true; caller: Record<string, unknown> }
  | { ok: false; reason: string };

/** Dependencies of {@link fetchCallerContext}. */
export interface ContextWebhookOptions {
  /** Default: the global `fetch`. */
  fetch?: typeof fetch;
  /** Aborts the request (e.g. the call ended). */
  signal?: AbortSignal;
}

/** Asks the webhook about the caller. Never throws. */
export async function fetchCallerContext(
  spec: ContextWebhookSpec,
  parties: CallParties,
  options: ContextWebhookOptions = {},
): Promise<CallerContextResult> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, spec.timeoutMs);
  const onAbort = () => controller.abort();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const response = await (options.fetch ?? fetch)(spec.url, {
      method: "POST",
      headers: { ...spec.headers, "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(parties),
      signal: controller.signal,
      redirect: "error",
    });
    if (!response.ok) {
      await response.body?.cancel().catch(() => {});
      return { ok: false, reason: `the webhook answered HTTP ${response.status}` };
    }
    // Never more than the cap in memory: a huge answer is refused unread.
    const read = await readCappedText(response, MAX_CONTEXT_BYTES);
    if (!read.ok) return { ok: false, reason: `the answer is over ${MAX_CONTEXT_BYTES} bytes` };
    const text = read.text;
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      return { ok: false, reason: "the answer is not JSON" };
    }
    if (typeof data !== "object" || data === null || Array.isArray(data)) {
      return { ok: false, reason: "the answer is not a JSON object" };
    }
    // A webhook echoing its request never puts its own headers in the instructions sent to OpenAI.
    const redact = createSecretRedactor(headerSecrets(spec.headers));
    return { ok: true, caller: redactDeep(data, redact) as Record<string, unknown> };
  } catch {
    if (timedOut) return { ok: false, reason: `no answer within ${spec.timeoutMs} ms` };
    if (options.signal?.aborted) return { ok: false, reason: "the call ended" };
    return { ok: false, reason: "the webhook could not be reached" };
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
  }
}
