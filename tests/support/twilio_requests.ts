/**
 * What Twilio sends to a bridge that tests reach on loopback while Twilio
 * signs for its public URL: signed webhooks, and the media stream a TwiML
 * answer names (signed upgrade, the `<Parameter>`s in `start`).
 *
 * @module
 */
import assert from "node:assert/strict";
import { TEST_TWILIO_TOKEN } from "./bridge_harness.ts";
import { FakeTwilioCall, twilioSignature } from "./fake_twilio.ts";
import type { FakeTwilioRest, TwilioRestRequest } from "./fake_twilio_rest.ts";

/**
 * Posts `form` to the public `url` (path and query) on the server at `localBase`,
 * signed for `url` with `authToken` as Twilio does.
 */
export async function signedTwilioPost(
  localBase: string,
  url: string,
  form: Record<string, string>,
  authToken = TEST_TWILIO_TOKEN,
): Promise<Response> {
  const u = new URL(url);
  return await fetch(`${localBase}${u.pathname}${u.search}`, {
    method: "POST",
    body: new URLSearchParams(form),
    headers: { "x-twilio-signature": await twilioSignature(authToken, url, form) },
  });
}

/** The `<Stream>` of a TwiML answer: its URL (XML-decoded; undefined without one) and `<Parameter>`s. */
export function twimlStream(
  twiml: string,
): { url: string | undefined; parameters: Record<string, string> } {
  const parameters: Record<string, string> = {};
  for (const m of twiml.matchAll(/<Parameter name="([^"]*)" value="([^"]*)"\/>/g)) {
    parameters[m[1]] = m[2];
  }
  const url = /<Stream url="([^"]*)"/.exec(twiml)?.[1]?.replaceAll("&amp;", "&");
  return { url, parameters };
}

/**
 * Twilio opens the stream `twiml` names on the server at `localBase` (the load
 * balancer's pick): plain ws:// on loopback, the upgrade signed for the TwiML's
 * wss:// URL, the `<Parameter>`s in `start`.
 */
export async function connectTwimlStream(
  localBase: string,
  callSid: string,
  twiml: string,
  authToken = TEST_TWILIO_TOKEN,
): Promise<FakeTwilioCall> {
  const { url, parameters } = twimlStream(twiml);
  if (url === undefined) throw new Error(`no <Stream> in ${twiml}`);
  return await FakeTwilioCall.connect({
    url: `${localBase.replace("http", "ws")}${new URL(url).pathname}`,
    callSid,
    customParameters: parameters,
    headers: { "x-twilio-signature": await twilioSignature(authToken, url) },
  });
}

/**
 * The request Twilio sends to the public `url` with `form`, signed with
 * `authToken`, addressed to an in-process handler (host `bridge.local`).
 */
export async function signedTwilioRequest(
  url: string,
  form: Record<string, string>,
  authToken = TEST_TWILIO_TOKEN,
): Promise<Request> {
  const u = new URL(url);
  return new Request(`http://bridge.local${u.pathname}${u.search}`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      "x-twilio-signature": await twilioSignature(authToken, url, form),
    },
    body: new URLSearchParams(form),
  });
}

/**
 * Places a call through the control API (`POST /calls` with `body`, bearer
 * `apiToken`) of the server at `localBase`, asserting 201; then the callee
 * answers: Twilio fetches the TwiML from the `Url` it was given (fake REST
 * `rest`), signed, as an answered outbound call of `accountSid`.
 */
export async function placeAnsweredCall(
  localBase: string,
  rest: FakeTwilioRest,
  apiToken: string,
  accountSid: string,
  body: Record<string, unknown>,
): Promise<{ callSid: string; create: TwilioRestRequest; twiml: string }> {
  const placed = await fetch(`${localBase}/calls`, {
    method: "POST",
    headers: { authorization: `Bearer ${apiToken}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  assert.equal(placed.status, 201);
  const { callSid } = await placed.json();
  const create = rest.creates.at(-1)!;
  const twiml = await (await signedTwilioPost(localBase, create.params.Url, {
    CallSid: callSid,
    AccountSid: accountSid,
    From: create.params.From,
    To: create.params.To,
    CallStatus: "in-progress",
    Direction: "outbound-api",
  })).text();
  return { callSid, create, twiml };
}
