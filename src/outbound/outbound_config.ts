/**
 * The settings outbound calling needs, checked together: `API_TOKEN` turns
 * the control API (`POST /calls`, `/campaigns`) on; placing calls then also
 * needs `PUBLIC_URL` (Twilio must reach the TwiML and callbacks), the Twilio
 * account (`TWILIO_ACCOUNT_SID`, `TWILIO_AUTH_TOKEN`) and a caller id
 * (`TWILIO_PHONE_NUMBER`). `TWILIO_API_BASE_URL` points the REST client
 * elsewhere (tests, regional edges).
 *
 * {@link readOutboundSettings} reads the raw variables; {@link
 * outboundProblems} lists what is missing, one start-up message per problem,
 * so the configuration table can run it as a cross-field check.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { outboundProblems, readOutboundSettings } from "./outbound_config.ts";
 * const settings = readOutboundSettings({ API_TOKEN: "x".repeat(40) });
 * const problems = outboundProblems(settings, { publicUrl: undefined, twilio: undefined });
 * assert.equal(problems.length, 3);
 * assert.match(problems[0], /PUBLIC_URL/);
 * ```
 *
 * @module
 */
import { DEFAULT_TWILIO_API_BASE_URL } from "./twilio_calls.ts";

/** Shortest accepted `API_TOKEN`. */
export const MIN_API_TOKEN_LENGTH = 32;

const E164 = /^\+[1-9][0-9]{6,14}$/;

/** The outbound settings, as `Config` carries them. */
export interface OutboundSettings {
  /** Bearer token of the control API (secret), or undefined: control API off. */
  apiToken: string | undefined;
  /** Caller id of outbound calls (E.164), or undefined. */
  twilioPhoneNumber: string | undefined;
  /** Base URL of Twilio's REST API, without trailing slash. */
  twilioApiBaseUrl: string;
  /** Problems found in the values themselves (format, length). */
  problems: string[];
}

/** Reads `API_TOKEN`, `TWILIO_PHONE_NUMBER` and `TWILIO_API_BASE_URL` (empty = unset). */
export function readOutboundSettings(env: Record<string, string | undefined>): OutboundSettings {
  const get = (name: string) => {
    const value = env[name]?.trim();
    return value === undefined || value === "" ? undefined : value;
  };
  const problems: string[] = [];
  let apiToken = get("API_TOKEN");
  if (apiToken !== undefined && (apiToken.length < MIN_API_TOKEN_LENGTH || /\s/.test(apiToken))) {
    apiToken = undefined;
    problems.push(
      `API_TOKEN must be at least ${MIN_API_TOKEN_LENGTH} characters without spaces (value not shown), e.g. the output of \`openssl rand -hex 32\`.`,
    );
  }
  const twilioPhoneNumber = get("TWILIO_PHONE_NUMBER");
  if (twilioPhoneNumber !== undefined && !E164.test(twilioPhoneNumber)) {
    problems.push(
      "TWILIO_PHONE_NUMBER must be a phone number in E.164 form, e.g. +14155550123 (value not shown).",
    );
  }
  let twilioApiBaseUrl = get("TWILIO_API_BASE_URL") ?? DEFAULT_TWILIO_API_BASE_URL;
  try {
    const url = new URL(twilioApiBaseUrl);
    if (url.protocol !== "https:" && url.protocol !== "http:") throw new Error();
    twilioApiBaseUrl = twilioApiBaseUrl.replace(/\/+$/, "");
  } catch {
    problems.push(
      `TWILIO_API_BASE_URL must be an absolute http(s) URL such as ${DEFAULT_TWILIO_API_BASE_URL}, got ${
        JSON.stringify(twilioApiBaseUrl)
      }.`,
    );
    twilioApiBaseUrl = DEFAULT_TWILIO_API_BASE_URL;
  }
  return {
    apiToken,
    twilioPhoneNumber,
    twilioApiBaseUrl,
    problems,
  };
}

/**
 * What outbound calling still needs when `API_TOKEN` is set: one message
 * per missing setting, naming it and saying how to set it. Empty when the
 * control API is off or everything is there.
 */
export function outboundProblems(
  settings: Pick<OutboundSettings, "apiToken" | "twilioPhoneNumber">,
  config: { publicUrl: string | undefined; twilio: { accountSid: string } | undefined },
): string[] {
  if (settings.apiToken === undefined) return [];
  const problems: string[] = [];
  if (config.publicUrl === undefined) {
    problems.push(
      "API_TOKEN is set (outbound calls on) but PUBLIC_URL is not: Twilio fetches the TwiML and posts the call's progress to this server's public https URL. Set PUBLIC_URL (e.g. https://example.ngrok.app), or unset API_TOKEN.",
    );
  }
  if (config.twilio === undefined) {
    problems.push(
      "API_TOKEN is set (outbound calls on) but TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are not both set: calls are placed through Twilio's REST API with them (https://console.twilio.com).",
    );
  }
  if (settings.twilioPhoneNumber === undefined) {
    problems.push(
      "API_TOKEN is set (outbound calls on) but TWILIO_PHONE_NUMBER is not: set it to the Twilio number calls come from, in E.164 form (e.g. +14155550123).",
    );
  }
  return problems;
}
