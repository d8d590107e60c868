/**
 * Hanging up a call through Twilio's REST API.
 *
 * @module
 */
import { TwilioRestClient, type TwilioRestClientOptions } from "./rest_client.ts";

/** Ends the phone call with the given CallSid. */
export type HangUp = (callSid: string) => Promise<void>;

/**
 * Creates a {@link HangUp} that updates the call to `Status=completed`
 * (`POST /2010-04-01/Accounts/{sid}/Calls/{callSid}.json`) at `baseUrl`
 * (`TWILIO_API_BASE_URL`, default `https://api.twilio.com`).
 *
 * @example
 * ```ts
 * import { createTwilioHangUp } from "./rest_hang_up.ts";
 * const seen: string[] = [];
 * const hangUp = createTwilioHangUp({
 *   accountSid: "AC00000000000000000000000000000000",
 *   authToken: "token",
 *   fetch: async (url, init) => {
 *     seen.push(`${init?.method} ${new URL(String(url)).pathname} ${init?.body}`);
 *     return Response.json({ sid: "CA1", status: "completed" });
 *   },
 * });
 * await hangUp("CA1");
 * if (seen[0] !== "POST /2010-04-01/Accounts/AC00000000000000000000000000000000/Calls/CA1.json Status=completed") {
 *   throw new Error(seen[0]);
 * }
 * ```
 */
export function createTwilioHangUp(options: TwilioRestClientOptions): HangUp {
  const client = new TwilioRestClient(options);
  return async (callSid: string) => {
    await client.updateCall(callSid, { Status: "completed" });
  };
}
