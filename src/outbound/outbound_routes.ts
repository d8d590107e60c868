/**
 * The HTTP routes of outbound calling, as one handler testable without a
 * port:
 *
 * - `POST /calls` (control API, `Authorization: Bearer $API_TOKEN`) places a
 *   call: `{to, agent?, context?}` → `201 {callSid, status}`; 401 without the
 *   right token (nothing reaches Twilio), 400 naming the bad field, 502 when
 *   Twilio refuses the call.
 * - `POST /outbound/twiml?t=TICKET` (Twilio, signed) answers the TwiML that
 *   connects the answered call to the same media stream as incoming calls,
 *   with a stream token and the ticket among the `<Parameter>`s.
 * - `POST /outbound/status` and `POST /outbound/amd` (Twilio, signed) take
 *   the call's progress and the answering-machine result.
 * - `/campaigns…` is passed to the campaign routes when given.
 *
 * The control API is off (404) unless `API_TOKEN` is set.
 *
 * @example
 * ```ts ignore
 * const routes = createOutboundRoutes({ apiToken, publicUrl, admission, dialer, agents, tickets });
 * const response = await routes(request, new URL(request.url).pathname);
 * ```
 *
 * @module
 */
import { getLogger, type Logger } from "@logtape/logtape";
import type { CallAdmission } from "../security/call_admission.ts";
import { RefusalLog } from "../security/refusal_log.ts";
import { readCappedText } from "../security/limits.ts";
import { timingSafeEqual } from "../http/ops_routes.ts";
import { connectStreamTwiml, streamEndedTwiml } from "../twilio/twiml.ts";
import type { AgentBook } from "../agents/agent_book.ts";
import type { CallTickets } from "./call_ticket.ts";
import { OUTBOUND_ROUTES, type OutboundDialer } from "./outbound_dialer.ts";
import { ownNumbers, parsePlaceCall } from "./place_call_request.ts";
import { type CallCap, CallRate } from "../security/call_rate.ts";
import { TwilioRestError } from "./twilio_calls.ts";
import type { RouteContext } from "../http/outbound_plug.ts";
import type { RouteHandler } from "../http/route_table.ts";
import { readSignedWebhook } from "../http/signed_webhook.ts";
import { maskPhoneNumbersIn } from "../security/phone_numbers.ts";
import { errorMessage } from "../observability/error_message.ts";

/** The `<Parameter>` of the outbound stream that carries the call ticket. */
const CALL_TICKET_PARAMETER = "callTicket";

/** The control API's route for placing one call. */
export const CALLS_ROUTE = "/calls";

/** Largest `POST /calls` body. */
const MAX_CALL_BODY_BYTES = 16 * 1024;

/** Options of {@link createOutboundRoutes}. */
export interface OutboundRoutesOptions {
  /** `API_TOKEN`; undefined turns the control API off. */
  apiToken: string | undefined;
  /** `PUBLIC_URL`, without trailing slash. */
  publicUrl: string;
  /** The app's admission policy (Twilio signatures, stream tokens). */
  admission: CallAdmission;
  /** The app's log of refused requests (one throttle for all routes); default: one of its own. */
  refusals?: RefusalLog;
  /** The stream path of a placed call, its context kept for the stream (the app's `callOut`). */
  callOut: RouteContext["callOut"];
  /** The recording consent line of an agent's calls (before the stream); undefined: none. */
  consent?: RouteContext["consent"];
  dialer: OutboundDialer;
  /** The current agents (read at each request: a reload applies to new calls). */
  agents: { readonly book: AgentBook };
  tickets: CallTickets;
  /** Routes under `/campaigns` (authorized here first). */
  campaigns?: (request: Request, path: string) => Promise<Response>;
  logger?: Logger;
  /** `TWILIO_PHONE_NUMBER`: never called (nor the agents' numbers). */
  ownNumber?: string | undefined;
  /** `MAX_CALLS_PER_MINUTE` for `POST /calls` (0: no cap). */
  maxCallsPerMinute?: number;
  /** How that cap is counted; default: in memory, for this instance. */
  rate?: CallCap;
  /** Wall clock in ms (the rate cap's). Default `Date.now`. */
  now?: () => number;
}

/** JSON answer. */
export function jsonResponse(body: unknown, status: number, headers: Record<string, string> = {}) {
  return new Response(JSON.stringify(body) + "\n", {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
  });
}

function xml(body: string): Response {
  return new Response(body, { headers: { "content-type": "text/xml; charset=utf-8" } });
}

/**
 * The bearer check of the control API: undefined when authorized, else the
 * 401 answer. Constant-time comparison.
 */
function checkBearer(request: Request, token: string): Response | undefined {
  const header = request.headers.get("authorization") ?? "";
  const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
  if (match !== null && timingSafeEqual(match[1], token)) return undefined;
  return jsonResponse(
    { error: "Unauthorized: send Authorization: Bearer <API_TOKEN>." },
    401,
    { "www-authenticate": 'Bearer realm="control"' },
  );
}

/** Creates the handler of the outbound routes. */
export function createOutboundRoutes(options: OutboundRoutesOptions): RouteHandler {
  const log = options.logger ?? getLogger(["bridge", "outbound"]);
  const { admission, publicUrl } = options;
  const rate = options.rate ?? new CallRate(options.maxCallsPerMinute ?? 0);
  const now = options.now ?? Date.now;
  const refusals = options.refusals ??
    new RefusalLog({ warn: (message, properties) => log.warn(message, properties) });
  const wsBase = publicUrl.replace(/^http/, "ws");

  async function signedForm(
    request: Request,
    path: string,
  ): Promise<URLSearchParams | Response> {
    if (request.method !== "POST") {
      return new Response("Method not allowed: Twilio calls this route with POST.\n", {
        status: 405,
        headers: { allow: "POST" },
      });
    }
    const signed = await readSignedWebhook(request, {
      admission,
      publicUrl,
      refused: (refusal) => refusals.refused(refusal, path),
    });
    return signed instanceof Response ? signed : signed.form;
  }

  async function placeCall(request: Request): Promise<Response> {
    if (request.method !== "POST") {
      return jsonResponse({ error: "Method not allowed: use POST." }, 405, { allow: "POST" });
    }
    const denied = checkBearer(request, options.apiToken!);
    if (denied !== undefined) return denied;
    const body = await readCappedText(request, MAX_CALL_BODY_BYTES);
    if (!body.ok) {
      return jsonResponse({ error: "The body is too large.", field: "body" }, 413);
    }
    let json: unknown;
    try {
      json = JSON.parse(body.text);
    } catch {
      return jsonResponse({
        error: 'The body is not JSON. Send {"to": "+15551234567", "agent": "…", "context": {…}}.',
        field: "body",
      }, 400);
    }
    const book = options.agents.book;
    const check = parsePlaceCall(json, book, ownNumbers(book, options.ownNumber));
    if (!check.ok) return jsonResponse({ error: check.error, field: check.field }, 400);
    const allowed = await rate.take(now());
    if (!allowed.ok) {
      const seconds = Math.ceil(allowed.retryAfterMs / 1000);
      log.warn("Refused a call over MAX_CALLS_PER_MINUTE.", { limit: options.maxCallsPerMinute });
      return jsonResponse(
        {
          error:
            `More than ${options.maxCallsPerMinute} calls per minute (MAX_CALLS_PER_MINUTE); try again in ${seconds} s.`,
          field: "rate",
        },
        429,
        { "retry-after": String(seconds) },
      );
    }
    try {
      const call = await options.dialer.place(check.value);
      return jsonResponse({ callSid: call.sid, status: call.status }, 201);
    } catch (error) {
      return placeFailure(error, log);
    }
  }

  async function outboundTwiml(request: Request, path: string): Promise<Response> {
    const form = await signedForm(request, path);
    if (form instanceof Response) return form;
    const ticket = new URL(request.url).searchParams.get("t");
    const opened = options.tickets.open(ticket);
    const callSid = form.get("CallSid");
    if (!opened.ok) {
      log.warn("Outbound TwiML requested with a {reason} call ticket; hanging up.", {
        reason: opened.reason,
        callSid: callSid ?? undefined,
      });
      return xml(streamEndedTwiml({ apologize: false }));
    }
    const streamPath = await options.callOut({
      callSid,
      from: form.get("From"),
      to: form.get("To"),
      agent: opened.value.agent,
      context: opened.value.context,
    });
    // An agent that records its calls: the consent line is the first thing the callee hears.
    const consent = options.consent?.(opened.value.agent);
    return xml(connectStreamTwiml({
      streamUrl: `${wsBase}${streamPath}`,
      actionUrl: `${publicUrl}/call-ended`,
      ...(consent !== undefined ? { say: consent } : {}),
      parameters: {
        ...admission.streamParameters(callSid),
        [CALL_TICKET_PARAMETER]: ticket!,
      },
    }));
  }

  async function callback(
    request: Request,
    path: string,
    take: (form: URLSearchParams, query: URLSearchParams) => Promise<void>,
  ): Promise<Response> {
    const form = await signedForm(request, path);
    if (form instanceof Response) return form;
    await take(form, new URL(request.url).searchParams);
    return new Response(null, { status: 204 });
  }

  const route: RouteHandler = (request, path) => {
    switch (path) {
      case OUTBOUND_ROUTES.twiml:
        return outboundTwiml(request, path);
      case OUTBOUND_ROUTES.status:
        return callback(request, path, (f, q) => options.dialer.onStatus(f, q));
      case OUTBOUND_ROUTES.amd:
        return callback(request, path, (f, q) => options.dialer.onAnsweredBy(f, q));
    }
    const isCampaign = path === "/campaigns" || path.startsWith("/campaigns/");
    if (path !== CALLS_ROUTE && !isCampaign) return undefined;
    if (options.apiToken === undefined) {
      return jsonResponse({ error: "The control API is off: set API_TOKEN to turn it on." }, 404);
    }
    if (path === CALLS_ROUTE) return placeCall(request);
    if (options.campaigns === undefined) {
      return jsonResponse({ error: "Campaigns need a call store (CALL_STORE_PATH)." }, 404);
    }
    const denied = checkBearer(request, options.apiToken);
    if (denied !== undefined) return denied;
    return options.campaigns(request, path);
  };

  return (request, path) => {
    const response = route(request, path);
    if (!(response instanceof Promise)) return response;
    return response.catch((error) => {
      log.error("Outbound request failed: {error}", {
        path,
        error: maskPhoneNumbersIn(errorMessage(error)),
      });
      return jsonResponse({ error: "Internal error." }, 500);
    });
  };
}

/** The answer when Twilio (or the set-up) refused to place a call. */
function placeFailure(error: unknown, log: Logger): Response {
  if (error instanceof TwilioRestError) {
    log.warn("Twilio refused an outbound call: {error}", {
      error: maskPhoneNumbersIn(error.message),
    });
    return jsonResponse({
      error: `Twilio refused the call: ${error.message}`,
      ...(error.code !== undefined ? { twilioCode: error.code } : {}),
    }, 502);
  }
  const message = errorMessage(error);
  log.error("Placing an outbound call failed: {error}", { error: maskPhoneNumbersIn(message) });
  return jsonResponse({ error: `Placing the call failed: ${message}` }, 502);
}
