/**
 * Twilio's Calls REST resource, as the outbound side uses it: create a call
 * with asynchronous answering-machine detection, fetch its status, update a
 * live call with new TwiML, end a call. Plain `fetch` with basic auth against an injected base
 * URL (`TWILIO_API_BASE_URL`, default `https://api.twilio.com`), so tests
 * point it at a fake; requests go through `twilio/rest_client.ts`.
 *
 * Parameter names are Twilio's (form-encoded, PascalCase): `To`, `From`,
 * `Url`, `StatusCallback`, `StatusCallbackEvent` (repeated), `MachineDetection`,
 * `AsyncAmd`, `AsyncAmdStatusCallback`; updates send `Twiml` or `Status`.
 * Errors come back as Twilio's JSON (`code`, `message`, `more_info`,
 * `status`) and are thrown as {@link TwilioRestError}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createCallForm } from "./twilio_calls.ts";
 * const form = createCallForm({
 *   to: "+15551234567",
 *   from: "+15005550006",
 *   url: "https://voice.example.com/outbound/twiml?t=abc",
 *   statusCallback: "https://voice.example.com/outbound/status",
 *   asyncAmdStatusCallback: "https://voice.example.com/outbound/amd",
 * });
 * assert.equal(form.get("MachineDetection"), "DetectMessageEnd");
 * assert.equal(form.get("AsyncAmd"), "true");
 * assert.deepEqual(form.getAll("StatusCallbackEvent"), ["initiated", "ringing", "answered", "completed"]);
 * ```
 *
 * @module
 */
import {
  TwilioRestClient,
  type TwilioRestClientOptions,
  TwilioRestError,
} from "../twilio/rest_client.ts";

/** The call progress events the status callback asks for. */
const STATUS_CALLBACK_EVENTS = ["initiated", "ringing", "answered", "completed"] as const;

/** What {@link createCallForm} needs. */
export interface CreateCallParams {
  /** Callee, E.164. */
  to: string;
  /** Caller id: a Twilio number (or verified caller id) of the account, E.164. */
  from: string;
  /** Where Twilio fetches the call's TwiML when it is answered (POST). */
  url: string;
  /** Where Twilio posts the call's progress events. */
  statusCallback: string;
  /** Where Twilio posts the answering-machine result (`AnsweredBy`). */
  asyncAmdStatusCallback: string;
  /** Seconds to let it ring before `no-answer` (Twilio's `Timeout`, default 60 when unset). */
  timeoutSeconds?: number;
  /**
   * `DetectMessageEnd` (default: wait for a voicemail's beep, to leave a
   * message) or `Enable` (answer as soon as Twilio knows: a transfer's person leg).
   */
  machineDetection?: "Enable" | "DetectMessageEnd";
}

/** The form body of a create-call request (Twilio's parameter names). */
export function createCallForm(params: CreateCallParams): URLSearchParams {
  const form = new URLSearchParams();
  form.set("To", params.to);
  form.set("From", params.from);
  form.set("Url", params.url);
  form.set("Method", "POST");
  form.set("StatusCallback", params.statusCallback);
  form.set("StatusCallbackMethod", "POST");
  for (const event of STATUS_CALLBACK_EVENTS) form.append("StatusCallbackEvent", event);
  form.set("MachineDetection", params.machineDetection ?? "DetectMessageEnd");
  form.set("AsyncAmd", "true");
  form.set("AsyncAmdStatusCallback", params.asyncAmdStatusCallback);
  form.set("AsyncAmdStatusCallbackMethod", "POST");
  if (params.timeoutSeconds !== undefined) form.set("Timeout", String(params.timeoutSeconds));
  return form;
}

/** A call as Twilio's REST API describes it (the fields used here). */
export interface TwilioCall {
  /** `CA…` */
  sid: string;
  /** `queued`, `ringing`, `in-progress`, `completed`, `busy`, `no-answer`, `failed`, `canceled`. */
  status: string;
  /** Twilio's `answered_by` (the answering-machine result), when the answer carries one. */
  answeredBy?: string;
}

export { TwilioRestError };

/**
 * The Calls resource of one Twilio account, over the project's REST client
 * (`twilio/rest_client.ts`: basic auth, `TWILIO_API_BASE_URL`, Twilio's
 * errors as {@link TwilioRestError} without secrets or whole numbers).
 *
 * @example
 * ```ts ignore
 * const calls = new TwilioCalls({ accountSid, authToken, baseUrl });
 * const call = await calls.create({ to, from, url, statusCallback, asyncAmdStatusCallback });
 * await calls.end(call.sid);
 * ```
 */
export class TwilioCalls {
  #client: TwilioRestClient;

  /** Creates a client. */
  constructor(options: TwilioRestClientOptions) {
    this.#client = new TwilioRestClient(options);
  }

  /** Places a call (`POST /2010-04-01/Accounts/{AccountSid}/Calls.json`). */
  async create(params: CreateCallParams): Promise<TwilioCall> {
    return callOf(await this.#client.request("POST", "/Calls.json", createCallForm(params)));
  }

  /** The call as Twilio knows it now (`GET …/Calls/{CallSid}.json`): its status and `answered_by`. */
  async fetch(callSid: string): Promise<TwilioCall> {
    return callOf(await this.#client.request("GET", `/Calls/${encodeURIComponent(callSid)}.json`));
  }

  /** Replaces the TwiML of a live call (e.g. play digits, then reconnect the stream). */
  async updateTwiml(callSid: string, twiml: string): Promise<TwilioCall> {
    return callOf(await this.#client.updateCall(callSid, { Twiml: twiml }));
  }

  /** Ends a call: `Status=completed` (in progress) or `Status=canceled` (queued or ringing). */
  async end(callSid: string, status: "completed" | "canceled" = "completed"): Promise<TwilioCall> {
    return callOf(await this.#client.updateCall(callSid, { Status: status }));
  }
}

function callOf(body: unknown): TwilioCall {
  const record = typeof body === "object" && body !== null ? body as Record<string, unknown> : {};
  if (typeof record.sid !== "string" || typeof record.status !== "string") {
    throw new TwilioRestError("Twilio REST: the answer has no call sid or status.", 200);
  }
  return {
    sid: record.sid,
    status: record.status,
    ...(typeof record.answered_by === "string" ? { answeredBy: record.answered_by } : {}),
  };
}
