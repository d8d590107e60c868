/**
 * Who may start a call: the security policy the HTTP app applies to Twilio's
 * webhooks, to the media-stream upgrade and to the stream's `start` message.
 *
 * - Webhooks and the upgrade must carry a valid `X-Twilio-Signature` over the
 *   public URL Twilio used (see `twilio_signature.ts`).
 * - Each stream must present, in `start.customParameters`, the per-call token
 *   the webhook put in the TwiML, for the same CallSid, once
 *   (see `stream_token.ts`).
 * - Without `TWILIO_AUTH_TOKEN` every call is refused, unless
 *   `TWILIO_SIGNATURE_CHECK=off`, which turns off signatures *and* stream
 *   tokens (the webhook then issues no token: anyone could fetch one).
 *
 * @module
 */
import type { Config } from "../config/mod.ts";
import type { TwilioStart } from "../twilio/media_stream_messages.ts";
import { AGENT_PARAMETER, STREAM_TOKEN_PARAMETER, StreamTokens } from "./stream_token.ts";
import {
  formParams,
  isValidTwilioSignature,
  SIGNATURE_HEADER,
  webhookUrl,
} from "./twilio_signature.ts";

/** Why a request was refused (for the log line; never sent to the client). */
export type Refusal = "signature_check_unconfigured" | "missing_signature" | "invalid_signature";

/** Options of {@link CallAdmission}. */
export interface CallAdmissionOptions {
  /** Wall clock in ms for token expiry. Default `Date.now`. */
  now?: () => number;
  /** Stream token lifetime in ms. Default 60 s. */
  tokenTtlMs?: number;
}

/**
 * Start-up warnings about the security settings, to log once.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseConfig } from "../config/mod.ts";
 * import { securityWarnings } from "./call_admission.ts";
 * const config = parseConfig({ OPENAI_API_KEY: "sk-test-0123456789abcdef", TWILIO_SIGNATURE_CHECK: "off" });
 * assert.match(securityWarnings(config)[0], /TWILIO_SIGNATURE_CHECK=off/);
 * ```
 */
export function securityWarnings(config: Config): string[] {
  if (!config.twilioSignatureCheck) {
    return [
      "TWILIO_SIGNATURE_CHECK=off: Twilio signatures and stream tokens are NOT checked, so anyone who finds this server can start calls on your OpenAI key. Use this only for local tests; set TWILIO_AUTH_TOKEN and remove TWILIO_SIGNATURE_CHECK in production.",
    ];
  }
  if (config.twilioAuthToken === undefined) {
    return [
      "TWILIO_AUTH_TOKEN is not set, so every call is refused: the server cannot check that requests come from Twilio. Set TWILIO_AUTH_TOKEN (https://console.twilio.com), or set TWILIO_SIGNATURE_CHECK=off for local tests only." +
      (config.softphone ? " Browser softphone calls are not affected." : ""),
    ];
  }
  return [];
}

/**
 * The call-admission policy of one server.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseConfig } from "../config/mod.ts";
 * import { CallAdmission } from "./call_admission.ts";
 * const admission = new CallAdmission(parseConfig({ OPENAI_API_KEY: "sk-test-0123456789abcdef", TWILIO_AUTH_TOKEN: "12345" }));
 * const request = new Request("http://x/media-stream", { headers: { "x-twilio-signature": "XFfwGS2Ev7f9qAP9MmRoMS7C724=" } });
 * assert.equal(admission.checkUpgrade(request, "wss://example.com/media-stream"), undefined);
 * ```
 */
export class CallAdmission {
  #authToken: string | undefined;
  #enforced: boolean;
  #tokens: StreamTokens;

  /** Creates the policy from the configuration. */
  constructor(config: Config, options: CallAdmissionOptions = {}) {
    this.#authToken = config.twilioAuthToken;
    this.#enforced = config.twilioSignatureCheck;
    this.#tokens = new StreamTokens({
      ...(config.streamTokenSecret !== undefined ? { secret: config.streamTokenSecret } : {}),
      ...(options.tokenTtlMs !== undefined ? { ttlMs: options.tokenTtlMs } : {}),
      ...(options.now !== undefined ? { now: options.now } : {}),
    });
  }

  /** Whether signatures and stream tokens are required. */
  get enforced(): boolean {
    return this.#enforced;
  }

  /**
   * Checks a webhook request whose form body (for POST) is `form`, given the
   * public HTTP base URL. Returns undefined when admitted, else why not.
   */
  checkWebhook(
    request: Request,
    form: URLSearchParams,
    publicHttpBase: string,
  ): Refusal | undefined {
    const url = webhookUrl(request, publicHttpBase);
    return this.#check(request, url, request.method === "POST" ? formParams(form) : {});
  }

  /**
   * Checks the media-stream upgrade request against the exact `wss://` URL
   * of the TwiML (Twilio signs it with no parameters).
   */
  checkUpgrade(request: Request, streamUrl: string): Refusal | undefined {
    return this.#check(request, streamUrl, {});
  }

  /**
   * The `<Parameter>`s to put in the TwiML `<Stream>` of `callSid`; with
   * `agent`, the agent's name too, bound by the token.
   */
  streamParameters(callSid: string | null, agent?: string): Record<string, string> {
    const named: Record<string, string> = agent === undefined ? {} : { [AGENT_PARAMETER]: agent };
    if (!this.#enforced || callSid === null || callSid === "") return named;
    return { ...named, [STREAM_TOKEN_PARAMETER]: this.#tokens.issue(callSid, agent) };
  }

  /**
   * Checks a stream's `start` message. Returns undefined when admitted, else
   * a short reason (safe to log and to send as a close reason).
   */
  admitStart(start: TwilioStart): string | undefined {
    if (!this.#enforced) return undefined;
    const check = this.#tokens.verify(
      start.callSid,
      start.customParameters[STREAM_TOKEN_PARAMETER],
      start.customParameters[AGENT_PARAMETER],
    );
    return check.ok ? undefined : `stream token ${check.reason.replace("_", " ")}`;
  }

  #check(
    request: Request,
    url: string,
    params: Record<string, string | string[]>,
  ): Refusal | undefined {
    if (!this.#enforced) return undefined;
    if (this.#authToken === undefined) return "signature_check_unconfigured";
    const signature = request.headers.get(SIGNATURE_HEADER);
    if (signature === null || signature === "") return "missing_signature";
    return isValidTwilioSignature({ authToken: this.#authToken, signature, url, params })
      ? undefined
      : "invalid_signature";
  }
}
