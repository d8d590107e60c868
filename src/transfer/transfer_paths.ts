/**
 * The paths Twilio calls during transfers: a warm transfer's person leg
 * (briefing, `<Gather>` action, status and AMD callbacks, the conference's
 * join callback) and a cold transfer's `<Dial action>`.
 *
 * @module
 */

/** The transfer routes. */
export const TRANSFER_ROUTES = {
  briefing: "/transfer/briefing",
  answer: "/transfer/answer",
  status: "/transfer/status",
  amd: "/transfer/amd",
  conference: "/transfer/conference",
  dialEnded: "/transfer/dial-ended",
} as const;
