/**
 * A fake of the parts of Twilio's REST API (2010-04-01) the project calls,
 * answering like Twilio: basic auth with the account SID and auth token
 * (error 20003 otherwise), JSON with Twilio's snake_case fields, Twilio's
 * error shape `{code, message, more_info, status}`. Listens on 127.0.0.1,
 * port 0; point `TWILIO_API_BASE_URL` at {@link FakeTwilioRest.url}.
 *
 * @module
 */

/** A request the fake received. */
export interface TwilioRestRequest {
  method: string;
  /** Path without the query. */
  path: string;
  query: URLSearchParams;
  /** The form-encoded body (empty for GET). */
  form: URLSearchParams;
  contentType: string | null;
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

/** Options of {@link FakeTwilioRest.start}. */
export interface FakeTwilioRestOptions {
  accountSid: string;
  authToken: string;
  /** The account's phone numbers. */
  numbers?: FakePhoneNumber[];
  /** CallSids of calls in progress (updates of other calls answer 20404). */
  calls?: string[];
}

function twilioError(status: number, code: number, message: string): Response {
  return Response.json({
    code,
    message,
    more_info: `https://www.twilio.com/docs/errors/${code}`,
    status,
  }, { status });
}

/** The fake Twilio REST server. */
export class FakeTwilioRest implements AsyncDisposable {
  readonly requests: TwilioRestRequest[] = [];
  /** The account's numbers; tests may change them. */
  numbers: FakePhoneNumber[];
  /** Calls in progress; a hang-up moves a call to {@link FakeTwilioRest.completed}. */
  readonly calls: Set<string>;
  readonly completed: string[] = [];
  readonly accountSid: string;
  #authToken: string;
  #server: Deno.HttpServer<Deno.NetAddr>;

  private constructor(options: FakeTwilioRestOptions) {
    this.accountSid = options.accountSid;
    this.#authToken = options.authToken;
    this.numbers = [...(options.numbers ?? [])];
    this.calls = new Set(options.calls ?? []);
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (request) => this.#handle(request),
    );
  }

  /** Starts the fake. */
  static start(options: FakeTwilioRestOptions): FakeTwilioRest {
    return new FakeTwilioRest(options);
  }

  /** Base URL, e.g. `http://127.0.0.1:PORT`. */
  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}`;
  }

  async #handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const expected = `Basic ${btoa(`${this.accountSid}:${this.#authToken}`)}`;
    const authorized = request.headers.get("authorization") === expected;
    const body = request.method === "GET" ? "" : await request.text();
    this.requests.push({
      method: request.method,
      path: url.pathname,
      query: url.searchParams,
      form: new URLSearchParams(body),
      contentType: request.headers.get("content-type"),
      authorized,
    });
    if (!authorized) return twilioError(401, 20003, "Authenticate");
    const prefix = `/2010-04-01/Accounts/${this.accountSid}`;
    const notFound = () =>
      twilioError(404, 20404, `The requested resource ${url.pathname} was not found`);
    if (!url.pathname.startsWith(prefix)) return notFound();
    const rest = url.pathname.slice(prefix.length);
    if (rest === ".json" && request.method === "GET") {
      return Response.json({
        sid: this.accountSid,
        friendly_name: "My first Twilio account",
        status: "active",
        type: "Full",
        uri: `${prefix}.json`,
      });
    }
    if (rest === "/IncomingPhoneNumbers.json" && request.method === "GET") {
      const wanted = url.searchParams.get("PhoneNumber");
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
    const call = /^\/Calls\/(CA[0-9a-fA-F]+)\.json$/.exec(rest);
    if (call !== null && request.method === "POST") {
      const sid = call[1];
      if (!this.calls.has(sid)) return notFound();
      const status = new URLSearchParams(body).get("Status");
      if (status !== null && status !== "completed" && status !== "canceled") {
        return twilioError(400, 21218, "Invalid 'Status' value");
      }
      if (status !== null) {
        this.calls.delete(sid);
        this.completed.push(sid);
      }
      return Response.json({ sid, account_sid: this.accountSid, status: status ?? "in-progress" });
    }
    return notFound();
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
