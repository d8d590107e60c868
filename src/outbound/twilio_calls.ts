/**
 * Twilio's Calls REST resource, as the outbound side uses it: create a call
 * with asynchronous answering-machine detection, update a live call with new
 * TwiML, end a call. Plain `fetch` with basic auth against an injected base
 * URL (`TWILIO_API_BASE_URL`, default `https://api.twilio.com`), so tests
 * point it at a fake.
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

/** Default base URL of Twilio's REST API. */
export const DEFAULT_TWILIO_API_BASE_URL = "https://api.twilio.com";

/** The call progress events the status callback asks for. */
export const STATUS_CALLBACK_EVENTS = ["initiated", "ringing", "answered", "completed"] as const;

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
  form.set("MachineDetection", "DetectMessageEnd");
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
}

/** An error answer of Twilio's REST API. */
export class TwilioRestError extends Error {
  /** HTTP status. */
  readonly status: number;
  /** Twilio error code (e.g. 21211 invalid To), or undefined when the body had none. */
  readonly code: number | undefined;
  /** Twilio's link to the error's page. */
  readonly moreInfo: string | undefined;

  /** Creates the error from the answer's parts. */
  constructor(status: number, code: number | undefined, message: string, moreInfo?: string) {
    super(
      `Twilio REST API answered ${status}${
        code !== undefined ? ` (error ${code})` : ""
      }: ${message}`,
    );
    this.name = "TwilioRestError";
    this.status = status;
    this.code = code;
    this.moreInfo = moreInfo;
  }
}

/** Options of {@link TwilioCalls}. */
export interface TwilioCallsOptions {
  accountSid: string;
  authToken: string;
  /** Base URL without trailing slash. Default {@link DEFAULT_TWILIO_API_BASE_URL}. */
  baseUrl?: string;
  /** Default `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** Ms one request may take. Default 10 000. */
  timeoutMs?: number;
}

/**
 * The Calls resource of one Twilio account.
 *
 * @example
 * ```ts ignore
 * const calls = new TwilioCalls({ accountSid, authToken });
 * const call = await calls.create({ to, from, url, statusCallback, asyncAmdStatusCallback });
 * await calls.hangUp(call.sid);
 * ```
 */
export class TwilioCalls {
  #base: string;
  #auth: string;
  #fetch: typeof fetch;
  #timeoutMs: number;
  #accountSid: string;

  /** Creates a client. */
  constructor(options: TwilioCallsOptions) {
    this.#base = (options.baseUrl ?? DEFAULT_TWILIO_API_BASE_URL).replace(/\/+$/, "");
    this.#accountSid = options.accountSid;
    this.#auth = `Basic ${btoa(`${options.accountSid}:${options.authToken}`)}`;
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** Places a call (`POST /2010-04-01/Accounts/{AccountSid}/Calls.json`). */
  create(params: CreateCallParams): Promise<TwilioCall> {
    return this.#post(`Calls.json`, createCallForm(params));
  }

  /** Replaces the TwiML of a live call (e.g. play digits, then reconnect the stream). */
  updateTwiml(callSid: string, twiml: string): Promise<TwilioCall> {
    return this.#post(
      `Calls/${encodeURIComponent(callSid)}.json`,
      new URLSearchParams({
        Twiml: twiml,
      }),
    );
  }

  /** Ends a call: `Status=completed` (in progress) or `Status=canceled` (queued or ringing). */
  end(callSid: string, status: "completed" | "canceled" = "completed"): Promise<TwilioCall> {
    return this.#post(
      `Calls/${encodeURIComponent(callSid)}.json`,
      new URLSearchParams({
        Status: status,
      }),
    );
  }

  async #post(path: string, form: URLSearchParams): Promise<TwilioCall> {
    const url = `${this.#base}/2010-04-01/Accounts/${encodeURIComponent(this.#accountSid)}/${path}`;
    const signal = AbortSignal.timeout(this.#timeoutMs);
    const response = await this.#fetch(url, {
      method: "POST",
      headers: {
        authorization: this.#auth,
        "content-type": "application/x-www-form-urlencoded",
        accept: "application/json",
      },
      body: form,
      signal,
    });
    const text = await response.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    const record = typeof body === "object" && body !== null ? body as Record<string, unknown> : {};
    if (!response.ok) {
      throw new TwilioRestError(
        response.status,
        typeof record.code === "number" ? record.code : undefined,
        typeof record.message === "string" ? record.message : text.slice(0, 200),
        typeof record.more_info === "string" ? record.more_info : undefined,
      );
    }
    if (typeof record.sid !== "string" || typeof record.status !== "string") {
      throw new TwilioRestError(response.status, undefined, "the answer has no call sid or status");
    }
    return { sid: record.sid, status: record.status };
  }
}
