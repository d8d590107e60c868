/**
 * A fake of the parts of Twilio's REST API (2010-04-01) the project calls,
 * answering like Twilio, on 127.0.0.1 port 0 (point `TWILIO_API_BASE_URL` at
 * {@link FakeTwilioRest.baseUrl}). It records every request.
 *
 * - Basic auth with the account SID and auth token; 401/20003 otherwise.
 * - `GET /Accounts/{AccountSid}.json`: the account.
 * - `GET …/IncomingPhoneNumbers.json[?PhoneNumber=]`: the account's numbers.
 * - `POST …/Calls.json`: places a call → 201 with the call (`sid` `CA…`,
 *   `status` `queued`); 400/21201 without `To`/`From`, 400/21205 without
 *   `Url`/`Twiml`, 400/21211 for a `To` that is not E.164.
 * - `GET …/Calls/{CallSid}.json`: the call (`status`, `answered_by`); 404/20404 for an
 *   unknown call.
 * - `POST …/Calls/{CallSid}.json`: `Status=completed|canceled` ends the call
 *   (recorded in {@link FakeTwilioRest.completed}), `Twiml`/`Url` redirects
 *   it; 400/21218 otherwise, 404/20404 for an unknown call.
 *
 * Errors have Twilio's shape `{code, message, more_info, status}`.
 *
 * @module
 */

/** A request the fake received. */
export interface TwilioRestRequest {
  method: string;
  /** Path without the query. */
  path: string;
  query: URLSearchParams;
  /** The form-encoded body (empty for GET); a repeated name keeps every value. */
  form: URLSearchParams;
  /** The form as an object (the last value of a repeated name). */
  params: Record<string, string>;
  contentType: string | null;
  /** The basic-auth user (account SID), or undefined. */
  user: string | undefined;
  /** Whether the basic auth matched the account. */
  authorized: boolean;
}

/** A phone number of the fake account (as `IncomingPhoneNumbers` lists it). */
export interface FakePhoneNumber {
  phoneNumber: string;
  voiceUrl: string | null;
  voiceMethod?: string;
  voiceApplicationSid?: string | null;
}

/** A call the fake knows. */
export interface FakeRestCall {
  sid: string;
  to: string;
  from: string;
  /** Tests set a final status (and `answeredBy`) to play a call that ended unseen. */
  status: string;
  /** Twilio's `answered_by` (null in answers when unset). */
  answeredBy?: string;
}

/** Options of {@link FakeTwilioRest.start}. */
export interface FakeTwilioRestOptions {
  accountSid: string;
  authToken: string;
  /** The account's phone numbers. */
  numbers?: FakePhoneNumber[];
  /** CallSids of calls already in progress (e.g. inbound calls to hang up). */
  calls?: string[];
}

/** A Twilio error answer a test asks for. */
export interface FakeRestFailure {
  status: number;
  code: number;
  message: string;
}

const E164 = /^\+[1-9]\d{6,14}$/;

function twilioError(status: number, code: number, message: string): Response {
  return Response.json({
    code,
    message,
    more_info: `https://www.twilio.com/docs/errors/${code}`,
    status,
  }, { status });
}

/** The fake Twilio REST server. Always `await close()` (or `await using`). */
export class FakeTwilioRest implements AsyncDisposable {
  readonly requests: TwilioRestRequest[] = [];
  /** The account's numbers; tests may change them. */
  numbers: FakePhoneNumber[];
  /** Calls placed through the fake or added as in progress. */
  readonly calls = new Map<string, FakeRestCall>();
  /** CallSids ended through the API, in order. */
  readonly completed: string[] = [];
  /** The next create answers with this error instead (once). */
  failNextCreate: FakeRestFailure | undefined;
  /** The next look-up of a call answers with this error instead (once). */
  failNextGet: FakeRestFailure | undefined;
  /** Called with each call the fake creates, before it answers (tests check invariants here). */
  onCreate: ((call: FakeRestCall) => void) | undefined;
  readonly accountSid: string;
  #authToken: string;
  #server: Deno.HttpServer<Deno.NetAddr>;
  #seq = 0;

  private constructor(options: FakeTwilioRestOptions) {
    this.accountSid = options.accountSid;
    this.#authToken = options.authToken;
    this.numbers = [...(options.numbers ?? [])];
    for (const sid of options.calls ?? []) this.addCall(sid);
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (request) => this.#handle(request),
    );
  }

  /** Starts the fake. */
  static start(options: FakeTwilioRestOptions): FakeTwilioRest {
    return new FakeTwilioRest(options);
  }

  /** `http://127.0.0.1:PORT` (the `TWILIO_API_BASE_URL` to use). */
  get baseUrl(): string {
    return `http://127.0.0.1:${this.#server.addr.port}`;
  }

  /** A call in progress that the fake did not place (an inbound call). */
  addCall(sid: string): void {
    this.calls.set(sid, { sid, to: "", from: "", status: "in-progress" });
  }

  /** The create-call requests, in order. */
  get creates(): TwilioRestRequest[] {
    return this.requests.filter((r) => r.path.endsWith("/Calls.json"));
  }

  /** The update requests of one call, in order. */
  updatesOf(callSid: string): TwilioRestRequest[] {
    return this.requests.filter((r) =>
      r.method === "POST" && r.path.endsWith(`/Calls/${callSid}.json`)
    );
  }

  async #handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const form = new URLSearchParams(request.method === "GET" ? "" : await request.text());
    const auth = request.headers.get("authorization") ?? "";
    let user: string | undefined;
    let password: string | undefined;
    if (auth.startsWith("Basic ")) {
      const decoded = atob(auth.slice(6));
      const colon = decoded.indexOf(":");
      user = decoded.slice(0, colon);
      password = decoded.slice(colon + 1);
    }
    const authorized = user === this.accountSid && password === this.#authToken;
    this.requests.push({
      method: request.method,
      path: url.pathname,
      query: url.searchParams,
      form,
      params: Object.fromEntries(form),
      contentType: request.headers.get("content-type"),
      user,
      authorized,
    });
    if (!authorized) return twilioError(401, 20003, "Authenticate");
    const prefix = `/2010-04-01/Accounts/${this.accountSid}`;
    const notFound = () =>
      twilioError(404, 20404, `The requested resource ${url.pathname} was not found`);
    if (!url.pathname.startsWith(prefix)) return notFound();
    const rest = url.pathname.slice(prefix.length);
    const callSid = /^\/Calls\/(CA[0-9a-fA-F]{32})\.json$/.exec(rest)?.[1];
    if (request.method === "GET") {
      if (rest === ".json") return this.#account(prefix);
      if (rest === "/IncomingPhoneNumbers.json") return this.#numbers(prefix, url.searchParams);
      if (callSid === undefined) return notFound();
      const failure = this.failNextGet;
      this.failNextGet = undefined;
      if (failure !== undefined) return twilioError(failure.status, failure.code, failure.message);
      const call = this.calls.get(callSid);
      return call === undefined ? notFound() : Response.json(this.#resource(call));
    }
    if (request.method !== "POST") return twilioError(405, 20004, "Method not allowed");
    if (rest === "/Calls.json") return this.#create(form);
    if (callSid !== undefined) return this.#update(callSid, form);
    return notFound();
  }

  #account(prefix: string): Response {
    return Response.json({
      sid: this.accountSid,
      friendly_name: "My first Twilio account",
      status: "active",
      type: "Full",
      uri: `${prefix}.json`,
    });
  }

  #numbers(prefix: string, query: URLSearchParams): Response {
    const wanted = query.get("PhoneNumber");
    const numbers = this.numbers.filter((n) => wanted === null || n.phoneNumber === wanted);
    return Response.json({
      incoming_phone_numbers: numbers.map((n, i) => ({
        sid: `PN${String(i).padStart(32, "0")}`,
        account_sid: this.accountSid,
        phone_number: n.phoneNumber,
        friendly_name: n.phoneNumber,
        voice_url: n.voiceUrl,
        voice_method: n.voiceMethod ?? "POST",
        voice_application_sid: n.voiceApplicationSid ?? null,
        status: "in-use",
      })),
      page: 0,
      page_size: 50,
      start: 0,
      end: Math.max(numbers.length - 1, 0),
      first_page_uri: `${prefix}/IncomingPhoneNumbers.json?PageSize=50&Page=0`,
      next_page_uri: null,
      previous_page_uri: null,
      uri: `${prefix}/IncomingPhoneNumbers.json?PageSize=50&Page=0`,
    });
  }

  #create(form: URLSearchParams): Response {
    for (const name of ["To", "From"]) {
      if (!form.get(name)) return twilioError(400, 21201, `No '${name}' number is specified`);
    }
    if (!form.get("Url") && !form.get("Twiml")) {
      return twilioError(400, 21205, "Url parameter is required.");
    }
    if (!E164.test(form.get("To") ?? "")) {
      return twilioError(400, 21211, `Invalid 'To' Phone Number: ${form.get("To")}`);
    }
    const failure = this.failNextCreate;
    this.failNextCreate = undefined;
    if (failure !== undefined) return twilioError(failure.status, failure.code, failure.message);
    const sid = `CA${(++this.#seq).toString(16).padStart(32, "0")}`;
    const call = { sid, to: form.get("To")!, from: form.get("From")!, status: "queued" };
    this.calls.set(sid, call);
    this.onCreate?.(call);
    return Response.json(this.#resource(call), { status: 201 });
  }

  #update(sid: string, form: URLSearchParams): Response {
    const call = this.calls.get(sid);
    if (call === undefined) {
      return twilioError(404, 20404, `The requested resource /Calls/${sid}.json was not found`);
    }
    const status = form.get("Status");
    if (status !== null) {
      if (status !== "completed" && status !== "canceled") {
        return twilioError(400, 21218, "Invalid 'Status' value");
      }
      call.status = status;
      this.completed.push(sid);
    } else if (!form.get("Twiml") && !form.get("Url")) {
      return twilioError(400, 21218, "Invalid ApplicationSid / Url / Twiml");
    }
    return Response.json(this.#resource(call));
  }

  #resource(call: FakeRestCall): Record<string, unknown> {
    return {
      sid: call.sid,
      account_sid: this.accountSid,
      to: call.to,
      from: call.from,
      status: call.status,
      answered_by: call.answeredBy ?? null,
      direction: "outbound-api",
      api_version: "2010-04-01",
      uri: `/2010-04-01/Accounts/${this.accountSid}/Calls/${call.sid}.json`,
    };
  }

  /** Stops the server. */
  async close(): Promise<void> {
    await this.#server.shutdown();
  }

  /** Same as {@link FakeTwilioRest.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
