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
 * - `POST …/Calls/{CallSid}/Recordings.json`: starts recording a call in
 *   progress → 201 with the Recording (`sid` `RE…`, `status` `in-progress`,
 *   `channels`, `source` `StartCallRecordingAPI`); `RecordingChannels` is
 *   `mono` (default) or `dual` (400/21208 otherwise), and
 *   `RecordingStatusCallbackEvent` a space-separated list of `in-progress`,
 *   `completed`, `absent` (default `completed`); 404/20404 for an unknown call.
 * - `POST …/Calls/{CallSid}/Recordings/{Sid|Twilio.CURRENT}.json`: `Status`
 *   `paused` (with `PauseBehavior` `skip` or `silence`, the default),
 *   `in-progress` or `stopped`; 400/21218 otherwise. Every change is kept in
 *   {@link FakeRecording.history} with its time.
 * - {@link FakeTwilioRest.finishRecording} plays the end of the call: the
 *   recording is `completed` and, when asked for, its `RecordingStatusCallback`
 *   is posted, signed (`AccountSid`, `CallSid`, `RecordingSid`, `RecordingUrl`,
 *   `RecordingStatus`, `RecordingDuration` (the seconds not skipped by pauses),
 *   `RecordingChannels`, `RecordingStartTime`, `RecordingSource`,
 *   `RecordingTrack`, `ErrorCode`).
 *
 * Errors have Twilio's shape `{code, message, more_info, status}`.
 *
 * It also plays the far end of the calls it placed, posting Twilio's
 * callbacks to the bridge (signed with the auth token over the public URL
 * the bridge gave, delivered to {@link FakeTwilioRest.callbacksTo}):
 * {@link FakeTwilioRest.ring}, {@link FakeTwilioRest.answer} (the
 * `answered` status callback, then the call's `Url` for its TwiML),
 * {@link FakeTwilioRest.press} (the `<Gather>` action with `Digits`, or
 * none with `actionOnEmptyResult`), {@link FakeTwilioRest.amd} (the
 * `AsyncAmdStatusCallback`) and {@link FakeTwilioRest.end} (the final
 * status callback). TwiML with `<Dial><Conference>NAME` (answered to a call,
 * or sent with `Twiml` in an update) puts the call in conference NAME (and
 * posts `participant-join` to the conference's `statusCallback` when it asks
 * for `join`);
 * {@link FakeTwilioRest.moves} records who was in it when a call was moved
 * there. Ending a placed call through the API posts its final status
 * callback (`canceled` or `completed`), as Twilio does.
 *
 * Twilio's details, read 2026-12-07 through the stored-docs search:
 * Calls resource parameters (`To` may be a SIP URI, `Timeout`,
 * `StatusCallbackEvent`, `MachineDetection`, `AsyncAmd`,
 * `AsyncAmdStatusCallback`): https://www.twilio.com/docs/voice/api/call-resource;
 * the AMD callback's `CallSid`, `AccountSid`, `AnsweredBy` (with `Enable`:
 * `human`, `machine_start`, `fax`, `unknown`) and `MachineDetectionDuration`:
 * https://www.twilio.com/docs/voice/answering-machine-detection; `<Gather>`'s
 * `numDigits`, `timeout` (default 5 s) and `actionOnEmptyResult` (default
 * false: without it an empty result goes on to the next verb):
 * https://www.twilio.com/docs/voice/twiml/gather; `<Conference>`:
 * https://www.twilio.com/docs/voice/twiml/conference; Recordings (create with
 * `RecordingChannels`, `RecordingStatusCallback`, `RecordingStatusCallbackEvent`,
 * `RecordingStatusCallbackMethod`; update with `Status` and `PauseBehavior`, the
 * `Twilio.CURRENT` alias; the RecordingStatusCallback parameters):
 * https://www.twilio.com/docs/voice/api/recording (as quoted by the twilio-oai
 * derived pages of metacpan's Twilio::Rest::Api::V2010::Account::Call::Recording
 * and bump.sh's UpdateCallRecording). The error codes of a bad channel value
 * (21208) is this fake's choice: the stored pages did not name it.
 *
 * @module
 */
import { twilioSignature } from "./fake_twilio.ts";

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
/** A recording the fake holds. */
export interface FakeRecording {
  sid: string;
  callSid: string;
  status: "in-progress" | "paused" | "stopped" | "completed";
  channels: 1 | 2;
  params: Record<string, string>;
  /** Each status with the time it was set (performance.now()) and the pause behavior. */
  history: { status: string; at: number; pauseBehavior?: string }[];
}

export interface FakeRestCall {
  sid: string;
  to: string;
  from: string;
  /** Tests set a final status (and `answeredBy`) to play a call that ended unseen. */
  status: string;
  /** Twilio's `answered_by` (null in answers when unset). */
  answeredBy?: string;
  /** The create request's parameters (`Url`, `StatusCallback`, …) of a call the fake placed. */
  params?: Record<string, string>;
  /** The TwiML the call runs now (answered by its `Url`, a `<Gather>` action or an update). */
  twiml?: string;
  /** The conference the call is in, if any. */
  conference?: string;
}

/** A call moved into a conference by a REST update, and who was already in it. */
export interface ConferenceMove {
  callSid: string;
  conference: string;
  /** CallSids in the conference at that moment (besides the call moved). */
  alreadyIn: string[];
  /** `performance.now()` of the update. */
  at: number;
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
const SIP = /^sips?:[^\s@]+@\S+$/;

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
  /** Conferences by name: the CallSids in each. */
  readonly conferences = new Map<string, Set<string>>();
  /** Calls moved into a conference by a REST update, in order. */
  readonly moves: ConferenceMove[] = [];
  /** Recordings by SID, in creation order. */
  readonly recordings = new Map<string, FakeRecording>();
  /** Callbacks the fake posted: path, form and the bridge's HTTP status. */
  readonly callbacks: { url: string; params: Record<string, string>; status: number }[] = [];
  #callbacksTo: string | undefined;
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
    const recordingPath =
      /^\/Calls\/(CA[0-9a-fA-F]{32})\/Recordings(?:\/(RE[0-9a-fA-F]{32}|Twilio\.CURRENT))?\.json$/
        .exec(rest);
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
    if (recordingPath !== null) return this.#recording(recordingPath[1], recordingPath[2], form);
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
    const to = form.get("To") ?? "";
    if (!E164.test(to) && !SIP.test(to)) {
      return twilioError(400, 21211, `Invalid 'To' Phone Number: ${form.get("To")}`);
    }
    const failure = this.failNextCreate;
    this.failNextCreate = undefined;
    if (failure !== undefined) return twilioError(failure.status, failure.code, failure.message);
    const sid = `CA${(++this.#seq).toString(16).padStart(32, "0")}`;
    const call: FakeRestCall = {
      sid,
      to: form.get("To")!,
      from: form.get("From")!,
      status: "queued",
      params: Object.fromEntries(form),
    };
    this.calls.set(sid, call);
    this.onCreate?.(call);
    return Response.json(this.#resource(call), { status: 201 });
  }

  async #update(sid: string, form: URLSearchParams): Promise<Response> {
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
      this.#leave(call);
      // Twilio reports the end of a call it placed to the call's StatusCallback.
      if (call.params?.StatusCallback !== undefined && this.#callbacksTo !== undefined) {
        await this.#post(call.params.StatusCallback, { CallSid: sid, CallStatus: status });
      }
    } else if (!form.get("Twiml") && !form.get("Url")) {
      return twilioError(400, 21218, "Invalid ApplicationSid / Url / Twiml");
    } else if (form.get("Twiml")) {
      const conference = conferenceOf(form.get("Twiml")!);
      if (conference !== undefined) {
        this.moves.push({
          callSid: sid,
          conference,
          alreadyIn: [...(this.conferences.get(conference) ?? [])].filter((c) => c !== sid),
          at: performance.now(),
        });
      }
      this.#run(call, form.get("Twiml")!);
    }
    return Response.json(this.#resource(call));
  }

  #recording(callSid: string, sid: string | undefined, form: URLSearchParams): Response {
    const call = this.calls.get(callSid);
    if (call === undefined || call.status !== "in-progress") {
      return twilioError(
        404,
        20404,
        `The requested resource /Calls/${callSid}/Recordings.json was not found`,
      );
    }
    if (sid === undefined) {
      const channels = form.get("RecordingChannels") ?? "mono";
      if (channels !== "mono" && channels !== "dual") {
        return twilioError(400, 21208, "Invalid RecordingChannels");
      }
      const recording: FakeRecording = {
        sid: `RE${(++this.#seq).toString(16).padStart(32, "0")}`,
        callSid,
        status: "in-progress",
        channels: channels === "dual" ? 2 : 1,
        params: Object.fromEntries(form),
        history: [{ status: "in-progress", at: performance.now() }],
      };
      this.recordings.set(recording.sid, recording);
      return Response.json(this.#recordingResource(recording), { status: 201 });
    }
    const recording = sid === "Twilio.CURRENT"
      ? [...this.recordings.values()].findLast((r) =>
        r.callSid === callSid && r.status !== "completed"
      )
      : this.recordings.get(sid);
    if (recording === undefined || recording.callSid !== callSid) {
      return twilioError(
        404,
        20404,
        `The requested resource /Recordings/${sid}.json was not found`,
      );
    }
    const status = form.get("Status");
    if (status !== "paused" && status !== "in-progress" && status !== "stopped") {
      return twilioError(400, 21218, "Invalid 'Status' value");
    }
    const pauseBehavior = form.get("PauseBehavior") ?? undefined;
    if (
      pauseBehavior !== undefined &&
      (status !== "paused" || !["skip", "silence"].includes(pauseBehavior))
    ) {
      return twilioError(400, 21218, "Invalid 'PauseBehavior' value");
    }
    recording.status = status;
    recording.history.push({
      status,
      at: performance.now(),
      ...(status === "paused" ? { pauseBehavior: pauseBehavior ?? "silence" } : {}),
    });
    return Response.json(this.#recordingResource(recording));
  }

  #recordingResource(recording: FakeRecording): Record<string, unknown> {
    const prefix = `/2010-04-01/Accounts/${this.accountSid}`;
    return {
      sid: recording.sid,
      account_sid: this.accountSid,
      call_sid: recording.callSid,
      conference_sid: null,
      api_version: "2010-04-01",
      status: recording.status,
      channels: recording.channels,
      source: "StartCallRecordingAPI",
      track: "both",
      error_code: null,
      start_time: new Date().toUTCString(),
      duration: recording.status === "completed" ? String(this.#recordedSeconds(recording)) : null,
      uri: `${prefix}/Calls/${recording.callSid}/Recordings/${recording.sid}.json`,
    };
  }

  /** Seconds recorded: in-progress time, less the pauses (skipped) — rounded. */
  #recordedSeconds(recording: FakeRecording): number {
    let ms = 0;
    for (const [i, step] of recording.history.entries()) {
      const next = recording.history[i + 1]?.at ?? performance.now();
      if (step.status === "in-progress") ms += next - step.at;
    }
    return Math.round(ms / 1000);
  }

  /**
   * The call's recording ends with the call: `completed`, and its status
   * callback posted (signed) when it asked for `completed`. Returns the bridge's status.
   */
  async finishRecording(callSid: string): Promise<number | undefined> {
    const recording = [...this.recordings.values()].findLast((r) => r.callSid === callSid);
    if (recording === undefined) throw new Error(`No recording of ${callSid}.`);
    const duration = this.#recordedSeconds(recording);
    recording.status = "completed";
    recording.history.push({ status: "completed", at: performance.now() });
    const events = (recording.params.RecordingStatusCallbackEvent ?? "completed").split(/\s+/);
    const url = recording.params.RecordingStatusCallback;
    if (url === undefined || !events.includes("completed")) return undefined;
    return await this.#post(url, {
      AccountSid: this.accountSid,
      CallSid: callSid,
      RecordingSid: recording.sid,
      RecordingUrl:
        `https://api.twilio.com/2010-04-01/Accounts/${this.accountSid}/Recordings/${recording.sid}`,
      RecordingStatus: "completed",
      RecordingDuration: String(duration),
      RecordingChannels: String(recording.channels),
      RecordingStartTime: new Date().toUTCString(),
      RecordingSource: "StartCallRecordingAPI",
      RecordingTrack: "both",
      ErrorCode: "0",
    });
  }

  // ---- the far end of placed calls ----------------------------------------------------------

  /** Where the fake posts callbacks: the bridge's local origin (`http://127.0.0.1:PORT`). */
  callbacksTo(origin: string): void {
    this.#callbacksTo = origin;
  }

  /** The placed call whose create request matches `match` (the last one by default). */
  placed(match: (call: FakeRestCall) => boolean = () => true): FakeRestCall | undefined {
    return [...this.calls.values()].filter((c) => c.params !== undefined && match(c)).at(-1);
  }

  /** The phone rings: the `ringing` status callback. */
  async ring(sid: string): Promise<number> {
    const call = this.#placedCall(sid);
    call.status = "ringing";
    return await this.#post(call.params!.StatusCallback, { CallSid: sid, CallStatus: "ringing" });
  }

  /**
   * Someone answers: the `answered` status callback (`in-progress`), then
   * Twilio fetches the call's `Url`; resolves with the TwiML it got.
   */
  async answer(sid: string): Promise<string> {
    const call = this.#placedCall(sid);
    call.status = "in-progress";
    await this.#post(call.params!.StatusCallback, { CallSid: sid, CallStatus: "in-progress" });
    const { text } = await this.#fetchTwiml(call.params!.Url, {
      CallSid: sid,
      AccountSid: this.accountSid,
      CallStatus: "in-progress",
      Direction: "outbound-api",
    });
    this.#run(call, text);
    return text;
  }

  /**
   * The person presses `digits` during the call's `<Gather>` (undefined: no
   * key before its timeout, posted because of `actionOnEmptyResult="true"`);
   * resolves with the TwiML the action answered.
   */
  async press(sid: string, digits: string | undefined): Promise<string> {
    const call = this.#placedCall(sid);
    const gather = /<Gather ([^>]*)>/.exec(call.twiml ?? "");
    if (gather === null) throw new Error(`Call ${sid} runs no <Gather>: ${call.twiml}`);
    const action = attribute(gather[1], "action");
    if (action === undefined) throw new Error("The <Gather> has no action.");
    if (digits === undefined && attribute(gather[1], "actionOnEmptyResult") !== "true") {
      throw new Error(
        "No key pressed and no actionOnEmptyResult: Twilio would not post the action.",
      );
    }
    const params: Record<string, string> = {
      CallSid: sid,
      AccountSid: this.accountSid,
      CallStatus: "in-progress",
      ...(digits !== undefined ? { Digits: digits, FinishedOnKey: "" } : {}),
    };
    const { text } = await this.#fetchTwiml(action, params);
    this.#run(call, text);
    await this.#reportJoin(call, text);
    return text;
  }

  /**
   * A `<Conference statusCallback statusCallbackEvent="join">` the call just
   * entered: Twilio posts `participant-join` (with `ConferenceSid`,
   * `FriendlyName`, `CallSid`, `StatusCallbackEvent`).
   */
  async #reportJoin(call: FakeRestCall, twiml: string): Promise<void> {
    const conference = /<Conference ([^>]*)>/.exec(twiml)?.[1];
    const callback = conference === undefined ? undefined : attribute(conference, "statusCallback");
    const events = conference === undefined ? "" : attribute(conference, "statusCallbackEvent");
    if (callback === undefined || !(events ?? "").split(" ").includes("join")) return;
    await this.#post(callback, {
      AccountSid: this.accountSid,
      ConferenceSid: `CF${"0".repeat(31)}1`,
      FriendlyName: call.conference ?? "",
      CallSid: call.sid,
      StatusCallbackEvent: "participant-join",
    });
  }

  /** The async AMD result of a placed call. */
  async amd(sid: string, answeredBy: string): Promise<number> {
    const call = this.#placedCall(sid);
    call.answeredBy = answeredBy;
    return await this.#post(call.params!.AsyncAmdStatusCallback, {
      CallSid: sid,
      AccountSid: this.accountSid,
      AnsweredBy: answeredBy,
      MachineDetectionDuration: "2100",
    });
  }

  /** The call ends with `status` (busy, no-answer, failed, completed, …): its final status callback. */
  async end(sid: string, status: string): Promise<number> {
    const call = this.#placedCall(sid);
    call.status = status;
    this.#leave(call);
    return await this.#post(call.params!.StatusCallback, { CallSid: sid, CallStatus: status });
  }

  #placedCall(sid: string): FakeRestCall {
    const call = this.calls.get(sid);
    if (call?.params === undefined) throw new Error(`The fake did not place call ${sid}.`);
    return call;
  }

  /** The call runs `twiml`: a `<Dial><Conference>` puts it in that conference. */
  #run(call: FakeRestCall, twiml: string): void {
    call.twiml = twiml;
    this.#leave(call);
    const conference = conferenceOf(twiml);
    if (conference === undefined) return;
    call.conference = conference;
    const members = this.conferences.get(conference) ?? new Set<string>();
    members.add(call.sid);
    this.conferences.set(conference, members);
  }

  #leave(call: FakeRestCall): void {
    if (call.conference === undefined) return;
    this.conferences.get(call.conference)?.delete(call.sid);
    call.conference = undefined;
  }

  /** Posts a signed callback to the bridge; the HTTP status it answered. */
  async #post(url: string | undefined, params: Record<string, string>): Promise<number> {
    if (url === undefined) throw new Error("The call has no such callback URL.");
    return (await this.#fetchTwiml(url, params)).status;
  }

  async #fetchTwiml(
    url: string,
    params: Record<string, string>,
  ): Promise<{ status: number; text: string }> {
    if (this.#callbacksTo === undefined) throw new Error("Call callbacksTo(bridge origin) first.");
    const target = new URL(url);
    const response = await fetch(`${this.#callbacksTo}${target.pathname}${target.search}`, {
      method: "POST",
      body: new URLSearchParams(params),
      headers: { "x-twilio-signature": await twilioSignature(this.#authToken, url, params) },
    });
    const text = await response.text();
    this.callbacks.push({ url, params, status: response.status });
    return { status: response.status, text };
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

/** The conference name of `<Dial><Conference …>NAME</Conference>`, if any. */
export function conferenceOf(twiml: string): string | undefined {
  return /<Dial[^>]*>\s*<Conference[^>]*>([^<]+)<\/Conference>/.exec(twiml)?.[1];
}

/** An XML attribute's value (entities `&amp;` decoded). */
function attribute(attributes: string, name: string): string | undefined {
  return new RegExp(`(?:^|\\s)${name}="([^"]*)"`).exec(attributes)?.[1]?.replaceAll("&amp;", "&");
}
