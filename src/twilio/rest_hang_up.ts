/**
 * Hanging up a call through Twilio's REST API.
 *
 * @module
 */

/** Ends the phone call with the given CallSid. */
export type HangUp = (callSid: string) => Promise<void>;

/**
 * Creates a {@link HangUp} that calls `calls(sid).update({status: "completed"})`
 * with the Twilio SDK. The SDK is loaded on first use, so servers without
 * Twilio credentials never pay for it.
 */
export function createTwilioHangUp(credentials: { accountSid: string; authToken: string }): HangUp {
  // deno-lint-ignore no-explicit-any
  let client: Promise<any> | undefined;
  return async (callSid: string) => {
    client ??= import("twilio/lib/rest/Twilio.js").then(({ default: Twilio }) =>
      new Twilio(credentials.accountSid, credentials.authToken)
    );
    const twilio = await client;
    await twilio.calls(callSid).update({ status: "completed" });
  };
}
