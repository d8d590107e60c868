/**
 * A fake of Twilio's Calls REST resource on a local port, for tests of outbound calling.
 *
 * It records every request (path, basic-auth user, form parameters) and answers like Twilio:
 * `POST /2010-04-01/Accounts/{AccountSid}/Calls.json` → 201 with a call resource (`sid` `CA…`,
 * `status` `queued`); `POST …/Calls/{CallSid}.json` → 200 with the updated call; errors as
 * Twilio's JSON (`code`, `message`, `more_info`, `status`): 401/20003 for bad credentials,
 * 400/21201 for a missing parameter, 400/21211 for an invalid `To`, 404/20404 for an unknown call.
 *
 * @module
 */

/** One request the fake received. */
export interface RecordedRestRequest {
  method: string;
  path: string;
  /** The basic-auth user (account SID), or undefined. */
  user: string | undefined;
  /** The form parameters; a repeated name keeps every value in `all`. */
  params: Record<string, string>;
  all: URLSearchParams;
}

/** A call the fake knows. */
export interface FakeRestCall {
  sid: string;
  to: string;
  from: string;
  status: string;
}

/** Options of {@link FakeTwilioRest.start}. */
export interface FakeTwilioRestOptions {
  accountSid: string;
  authToken: string;
}

const E164 = /^\+[1-9]\d{6,14}$/;

function json(body: unknown, status: number): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });
}

function twilioError(status: number, code: number, message: string): Response {
  return json(
    { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status },
    status,
  );
}

/** The fake REST API. Always `await close()` (or `await using`). */
export class FakeTwilioRest implements AsyncDisposable {
  readonly requests: RecordedRestRequest[] = [];
  readonly calls = new Map<string, FakeRestCall>();
  /** The next create answers with this error instead (once). */
  failNextCreate: { status: number; code: number; message: string } | undefined;
  #server: Deno.HttpServer<Deno.NetAddr>;
  #options: FakeTwilioRestOptions;
  #seq = 0;

  private constructor(options: FakeTwilioRestOptions) {
    this.#options = options;
    this.#server = Deno.serve(
      { port: 0, hostname: "127.0.0.1", onListen: () => {} },
      (request) => this.#handle(request),
    );
  }

  /** Starts the fake on a free port. */
  static start(options: FakeTwilioRestOptions): FakeTwilioRest {
    return new FakeTwilioRest(options);
  }

  /** `http://127.0.0.1:PORT` (the `TWILIO_API_BASE_URL` to use). */
  get baseUrl(): string {
    return `http://127.0.0.1:${this.#server.addr.port}`;
  }

  /** The create-call requests, in order. */
  get creates(): RecordedRestRequest[] {
    return this.requests.filter((r) => r.path.endsWith("/Calls.json"));
  }

  /** The update requests of one call, in order. */
  updatesOf(callSid: string): RecordedRestRequest[] {
    return this.requests.filter((r) => r.path.endsWith(`/Calls/${callSid}.json`));
  }

  async #handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const all = new URLSearchParams(await request.text());
    const auth = request.headers.get("authorization") ?? "";
    let user: string | undefined;
    let password: string | undefined;
    if (auth.startsWith("Basic ")) {
      const decoded = atob(auth.slice(6));
      const colon = decoded.indexOf(":");
      user = decoded.slice(0, colon);
      password = decoded.slice(colon + 1);
    }
    this.requests.push({
      method: request.method,
      path: url.pathname,
      user,
      params: Object.fromEntries(all),
      all,
    });
    const { accountSid, authToken } = this.#options;
    if (user !== accountSid || password !== authToken) {
      return twilioError(401, 20003, "Authenticate");
    }
    const prefix = `/2010-04-01/Accounts/${accountSid}/Calls`;
    if (request.method !== "POST") return twilioError(405, 20004, "Method not allowed");
    if (url.pathname === `${prefix}.json`) return this.#create(all);
    const match = url.pathname.startsWith(`${prefix}/`) &&
      /^\/(CA[0-9a-f]{32})\.json$/.exec(url.pathname.slice(prefix.length));
    if (match) return this.#update(match[1], all);
    return twilioError(404, 20404, `The requested resource ${url.pathname} was not found`);
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
    if (this.failNextCreate !== undefined) {
      const { status, code, message } = this.failNextCreate;
      this.failNextCreate = undefined;
      return twilioError(status, code, message);
    }
    const sid = `CA${(++this.#seq).toString(16).padStart(32, "0")}`;
    const call = { sid, to: form.get("To")!, from: form.get("From")!, status: "queued" };
    this.calls.set(sid, call);
    return json(this.#resource(call), 201);
  }

  #update(sid: string, form: URLSearchParams): Response {
    const call = this.calls.get(sid);
    if (call === undefined) {
      return twilioError(404, 20404, `The requested resource /Calls/${sid}.json was not found`);
    }
    const status = form.get("Status");
    if (status === "completed" || status === "canceled") call.status = status;
    else if (!form.get("Twiml") && !form.get("Url")) {
      return twilioError(400, 21218, "Invalid ApplicationSid / Url / Twiml");
    }
    return json(this.#resource(call), 200);
  }

  #resource(call: FakeRestCall): Record<string, unknown> {
    return {
      sid: call.sid,
      account_sid: this.#options.accountSid,
      to: call.to,
      from: call.from,
      status: call.status,
      direction: "outbound-api",
      api_version: "2010-04-01",
      uri: `/2010-04-01/Accounts/${this.#options.accountSid}/Calls/${call.sid}.json`,
    };
  }

  /** Stops the server. */
  async close(): Promise<void> {
    await this.#server.shutdown();
  }

  /** Same as {@link close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
