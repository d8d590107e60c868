/**
 * A small client of Twilio's REST API (2010-04-01): every Twilio REST call of
 * the project (hang-up, `deno task doctor`, outbound calls) goes through it,
 * to `TWILIO_API_BASE_URL` (default `https://api.twilio.com`; a regional edge
 * such as `https://api.dublin.ie1.twilio.com`, or a local fake in tests).
 *
 * Requests use HTTP basic auth with the account SID and auth token and send
 * parameters form-encoded, as Twilio expects. Twilio's JSON errors
 * (`{code, message, more_info, status}`) become a {@link TwilioRestError}
 * whose message names the HTTP status and Twilio's error code; it never
 * contains the auth token, a query string or a whole phone number.
 *
 * @module
 */

import { DEFAULT_TWILIO_API_BASE_URL } from "../config/mod.ts";
import { maskPhoneNumbersIn } from "../security/phone_numbers.ts";
import { readCappedText } from "../security/limits.ts";

/** Largest Twilio REST answer read, in bytes (a call's JSON is ~2 KB). */
const MAX_TWILIO_ANSWER_BYTES = 256 * 1024;

/** Options of {@link TwilioRestClient}. */
export interface TwilioRestClientOptions {
  /** `AC…` */
  accountSid: string;
  /** The auth token (secret). */
  authToken: string;
  /** Default `https://api.twilio.com`; no trailing slash needed. */
  baseUrl?: string;
  /** Default the global `fetch`. */
  fetch?: typeof fetch;
  /** Ms one request may take. Default 10000. */
  timeoutMs?: number;
}

/** A failed Twilio REST request. */
export class TwilioRestError extends Error {
  /** HTTP status; 0 when Twilio could not be reached. */
  readonly status: number;
  /** Twilio's error code (e.g. 20003 for bad credentials), when it sent one. */
  readonly code: number | undefined;
  /** Twilio's link to the error's documentation, when it sent one. */
  readonly moreInfo: string | undefined;

  /** See the fields. */
  constructor(message: string, status: number, code?: number, moreInfo?: string) {
    super(message);
    this.name = "TwilioRestError";
    this.status = status;
    this.code = code;
    this.moreInfo = moreInfo;
  }
}

/** One page of a Twilio list resource (only the fields this project reads). */
export interface IncomingPhoneNumber {
  sid: string;
  phone_number: string;
  voice_url: string | null;
  voice_method: string | null;
  voice_application_sid: string | null;
  [key: string]: unknown;
}

/**
 * Talks to Twilio's REST API for one account.
 *
 * @example
 * ```ts
 * import { TwilioRestClient, TwilioRestError } from "./rest_client.ts";
 * // A stand-in for Twilio that refuses the credentials, as Twilio does.
 * const fetch = () =>
 *   Promise.resolve(Response.json({
 *     code: 20003,
 *     message: "Authenticate",
 *     more_info: "https://www.twilio.com/docs/errors/20003",
 *     status: 401,
 *   }, { status: 401 }));
 * const client = new TwilioRestClient({
 *   accountSid: "AC00000000000000000000000000000000",
 *   authToken: "wrong",
 *   fetch,
 * });
 * try {
 *   await client.fetchAccount();
 * } catch (error) {
 *   if (!(error instanceof TwilioRestError) || error.code !== 20003) throw error;
 * }
 * ```
 */
export class TwilioRestClient {
  readonly accountSid: string;
  readonly baseUrl: string;
  #authorization: string;
  #authToken: string;
  #fetch: typeof fetch;
  #timeoutMs: number;

  /** A client of `options.accountSid`. */
  constructor(options: TwilioRestClientOptions) {
    this.accountSid = options.accountSid;
    this.baseUrl = (options.baseUrl ?? DEFAULT_TWILIO_API_BASE_URL).replace(/\/+$/, "");
    this.#authToken = options.authToken;
    this.#authorization = `Basic ${btoa(`${options.accountSid}:${options.authToken}`)}`;
    this.#fetch = options.fetch ?? fetch;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** `GET /2010-04-01/Accounts/{sid}.json`: the account (checks the credentials). */
  fetchAccount(): Promise<{ sid: string; status: string; [key: string]: unknown }> {
    return this.request("GET", ".json");
  }

  /** `POST …/Calls/{callSid}.json` with `params` (e.g. `{Status: "completed"}` hangs up). */
  updateCall(
    callSid: string,
    params: Record<string, string>,
  ): Promise<{ sid: string; status: string; [key: string]: unknown }> {
    return this.request("POST", `/Calls/${encodeURIComponent(callSid)}.json`, params);
  }

  /** The account's number `phoneNumber` (E.164), or undefined when the account has none such. */
  async findIncomingPhoneNumber(phoneNumber: string): Promise<IncomingPhoneNumber | undefined> {
    const page = await this.request<{ incoming_phone_numbers?: IncomingPhoneNumber[] }>(
      "GET",
      "/IncomingPhoneNumbers.json",
      { PhoneNumber: phoneNumber },
    );
    return page.incoming_phone_numbers?.find((n) => n.phone_number === phoneNumber);
  }

  /**
   * Sends one request to `/2010-04-01/Accounts/{sid}{path}`: `params` go in
   * the query for GET and DELETE, form-encoded in the body otherwise.
   * Resolves with the parsed JSON (undefined for an empty body).
   *
   * @throws {TwilioRestError} for an error answer, or when Twilio cannot be reached.
   */
  async request<T>(
    method: "GET" | "POST" | "DELETE",
    path: string,
    params: Record<string, string> | URLSearchParams = {},
  ): Promise<T> {
    const resource = `/2010-04-01/Accounts/${encodeURIComponent(this.accountSid)}${path}`;
    const url = new URL(`${this.baseUrl}${resource}`);
    const form = new URLSearchParams(params);
    const headers: Record<string, string> = {
      authorization: this.#authorization,
      accept: "application/json",
    };
    let body: string | undefined;
    if (method === "POST") {
      headers["content-type"] = "application/x-www-form-urlencoded";
      body = form.toString();
    } else {
      for (const [name, value] of form) url.searchParams.append(name, value);
    }
    const what = `Twilio REST ${method} ${resource}`;
    let response: Response;
    try {
      response = await this.#fetch(url, {
        method,
        headers,
        body,
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (error) {
      const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      throw new TwilioRestError(
        `${what} failed: could not reach ${this.baseUrl} (${this.#clean(reason)}). ` +
          "Check TWILIO_API_BASE_URL and the network.",
        0,
      );
    }
    // Twilio's answers are a few KB: a bigger one is refused unread, never buffered whole.
    const read = await readCappedText(response, MAX_TWILIO_ANSWER_BYTES);
    if (!read.ok) {
      throw new TwilioRestError(
        `${what}: the answer was over ${MAX_TWILIO_ANSWER_BYTES} bytes; check TWILIO_API_BASE_URL.`,
        response.status,
      );
    }
    const text = read.text;
    let json: unknown;
    try {
      json = text === "" ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (response.ok) {
      if (text !== "" && json === undefined) {
        throw new TwilioRestError(`${what}: the answer was not JSON.`, response.status);
      }
      return json as T;
    }
    const error = typeof json === "object" && json !== null
      ? json as { code?: unknown; message?: unknown; more_info?: unknown }
      : {};
    const code = typeof error.code === "number" ? error.code : undefined;
    const message = typeof error.message === "string" ? this.#clean(error.message) : undefined;
    const moreInfo = typeof error.more_info === "string" ? error.more_info : undefined;
    const detail = code === undefined
      ? "not a Twilio JSON error"
      : `Twilio error ${code}${message === undefined ? "" : `: ${message}`}`;
    throw new TwilioRestError(
      `${what} failed: HTTP ${response.status}, ${detail}${
        moreInfo === undefined ? "" : ` (see ${moreInfo})`
      }.`,
      response.status,
      code,
      moreInfo,
    );
  }

  /** Removes the auth token and whole phone numbers from a text for messages. */
  #clean(text: string): string {
    const safe = this.#authToken === "" ? text : text.replaceAll(this.#authToken, "(auth token)");
    return maskPhoneNumbersIn(safe).slice(0, 300);
  }
}
