/**
 * The settings outbound calling needs, checked together: `API_TOKEN` turns
 * the control API (`POST /calls`, `/campaigns`) on; placing calls then also
 * needs `PUBLIC_URL` (Twilio must reach the TwiML and callbacks), the Twilio
 * account (`TWILIO_ACCOUNT_SID`, `TWILIO_AUTH_TOKEN`) and a caller id
 * (`TWILIO_PHONE_NUMBER`). `TWILIO_API_BASE_URL` points the REST client
 * elsewhere (tests, regional edges).
 *
 * The configuration table (`src/config/spec.ts`) parses each variable;
 * {@link outboundProblems} lists what is missing, one start-up message per
 * problem, as a cross-field rule (`outboundRequirements` in
 * `src/config/rules.ts`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { outboundProblems } from "./outbound_config.ts";
 * const settings = { apiToken: "x".repeat(40), twilioPhoneNumber: undefined };
 * const problems = outboundProblems(settings, { publicUrl: undefined, twilio: undefined });
 * assert.equal(problems.length, 3);
 * assert.match(problems[0], /PUBLIC_URL/);
 * ```
 *
 * @module
 */
/**
 * What outbound calling still needs when `API_TOKEN` is set: one message
 * per missing setting, naming it and saying how to set it. Empty when the
 * control API is off or everything is there.
 */
export function outboundProblems(
  settings: { apiToken: string | undefined; twilioPhoneNumber: string | undefined },
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
