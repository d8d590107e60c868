/**
 * The HTTP side of the bridge: routes, TwiML answers and the media-stream
 * upgrade. The handler is a plain `(Request, info) => Response` function, so
 * every route except the WebSocket upgrade is testable without a port.
 *
 * @module
 */
import { getLogger, type Logger } from "@logtape/logtape";
import type { Config } from "../config_types.ts";
import { CallOutcomes } from "../bridge/call_outcomes.ts";
import { CallRunner, type CallSummary, type SocketFactory } from "../bridge/call_runner.ts";
import { buildSessionUpdate } from "../openai/session_config.ts";
import type { ToolDefinition } from "../tools/tool_registry.ts";
import { createTwilioHangUp, type HangUp } from "../twilio/rest_hang_up.ts";
import { connectStreamTwiml, streamEndedTwiml } from "../twilio/twiml.ts";

/** The paths the server answers. */
export const ROUTES = {
  status: "/",
  incomingCall: "/incoming-call",
  callEnded: "/call-ended",
  mediaStream: "/media-stream",
} as const;

/** Dependencies of {@link createApp}; tests inject fakes. */
export interface AppOptions {
  config: Config;
  /** Opens the OpenAI socket. Default: native `WebSocket`. */
  openSocket?: SocketFactory;
  /** Twilio REST hang-up. Default: from `config.twilio` when set. */
  hangUp?: HangUp;
  /** Custom tools besides `end_call`. */
  tools?: readonly ToolDefinition[];
  /** Monotonic clock in ms. */
  now?: () => number;
  /** Root logger. Default: LogTape category `["bridge"]`. */
  logger?: Logger;
  /** Called when a call is over. */
  onCallFinished?: (summary: CallSummary) => void;
  /** Unsent bytes per socket before a call ends because its peer stopped reading (default 1 MiB). */
  maxBufferedBytes?: number;
}

/** The bridge application: an HTTP handler plus its live calls. */
export interface App {
  /** Handles one HTTP request (including the media-stream upgrade). */
  handler: (request: Request) => Response | Promise<Response>;
  /** Calls in progress. */
  readonly calls: ReadonlySet<CallRunner>;
  /** How recent streams ended (for `/call-ended`). */
  readonly outcomes: CallOutcomes;
}

const HOST = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/;
const MAX_FORM_BYTES = 64 * 1024;

function text(body: string, status: number, headers: Record<string, string> = {}): Response {
  return new Response(body, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", ...headers },
  });
}

function xml(body: string): Response {
  return new Response(body, { headers: { "content-type": "text/xml; charset=utf-8" } });
}

/**
 * The public base URLs Twilio uses to reach this server: from `PUBLIC_URL`
 * when set, else from the request's `Host` and `X-Forwarded-Proto`.
 * Returns undefined for a malformed Host.
 */
export function publicBase(
  request: Request,
  publicUrl: string | undefined,
): { http: string; ws: string } | undefined {
  if (publicUrl !== undefined) {
    return { http: publicUrl, ws: publicUrl.replace(/^http/, "ws") };
  }
  const url = new URL(request.url);
  const host = request.headers.get("host") ?? url.host;
  if (!HOST.test(host)) return undefined;
  const forwarded = request.headers.get("x-forwarded-proto")?.split(",")[0].trim().toLowerCase();
  const proto = forwarded === "https" || forwarded === "http"
    ? forwarded
    : url.protocol.replace(":", "");
  return {
    http: `${proto}://${host}`,
    ws: `${proto === "https" ? "wss" : "ws"}://${host}`,
  };
}

async function readForm(request: Request): Promise<URLSearchParams> {
  const body = await request.arrayBuffer();
  if (body.byteLength > MAX_FORM_BYTES) return new URLSearchParams();
  return new URLSearchParams(new TextDecoder().decode(body));
}

/**
 * Creates the bridge application.
 *
 * @example
 * ```ts ignore
 * import { createApp } from "./app.ts";
 * const app = createApp({ config });
 * Deno.serve({ port: 5050 }, app.handler);
 * ```
 */
export function createApp(options: AppOptions): App {
  const { config } = options;
  const log = options.logger ?? getLogger(["bridge"]);
  const httpLog = log.getChild("http");
  const callLog = log.getChild("call");
  const calls = new Set<CallRunner>();
  const outcomes = new CallOutcomes();
  const hangUp = options.hangUp ??
    (config.twilio !== undefined ? createTwilioHangUp(config.twilio) : undefined);
  const sessionUpdate = JSON.stringify(buildSessionUpdate(config, options.tools ?? []));
  const openaiUrl = `${config.openaiRealtimeUrl}${
    config.openaiRealtimeUrl.includes("?") ? "&" : "?"
  }model=${encodeURIComponent(config.openaiModel)}`;
  let connectionSeq = 0;

  function incomingCall(request: Request): Promise<Response> | Response {
    const base = publicBase(request, config.publicUrl);
    if (base === undefined) return text("Bad Host header.\n", 400);
    return readForm(request).then((form) => {
      httpLog.info("Incoming call; answering with a media stream.", {
        callSid: form.get("CallSid") ?? undefined,
      });
      return xml(connectStreamTwiml({
        streamUrl: `${base.ws}${ROUTES.mediaStream}`,
        actionUrl: `${base.http}${ROUTES.callEnded}`,
      }));
    });
  }

  async function callEnded(request: Request): Promise<Response> {
    const form = request.method === "POST"
      ? await readForm(request)
      : new URL(request.url).searchParams;
    const callSid = form.get("CallSid") ?? "";
    const outcome = outcomes.get(callSid);
    // Unknown outcome: something went wrong (e.g. the stream never reached us); apologize.
    const apologize = outcome === undefined || outcome === "openai_error" ||
      outcome === "bridge_error";
    httpLog.info("Media stream ended; answering the next TwiML.", {
      callSid: callSid || undefined,
      outcome: outcome ?? "unknown",
      apologize,
    });
    return xml(streamEndedTwiml({ apologize }));
  }

  function mediaStream(request: Request): Response {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return text("This endpoint expects a WebSocket upgrade from Twilio Media Streams.\n", 426, {
        upgrade: "websocket",
      });
    }
    const { socket, response } = Deno.upgradeWebSocket(request);
    const runner = new CallRunner(socket, {
      core: {
        sessionUpdate,
        greeting: config.greeting,
        interruptResponse: config.turnDetection.interruptResponse,
        endCallGraceMs: config.endCallGraceSeconds * 1000,
        endCallWatchdogMs: config.endCallWatchdogSeconds * 1000,
        showTimingMath: config.showTimingMath,
      },
      openaiUrl,
      openaiApiKey: config.openaiApiKey,
      ...(options.openSocket ? { openSocket: options.openSocket } : {}),
      ...(options.now ? { now: options.now } : {}),
      logger: callLog.with({ connection: ++connectionSeq }),
      hangUp,
      tools: options.tools ?? [],
      ...(options.maxBufferedBytes ? { maxBufferedBytes: options.maxBufferedBytes } : {}),
      onOutcome: (callSid, outcome) => {
        if (callSid !== undefined) outcomes.record(callSid, outcome);
      },
      onFinished: (summary) => {
        calls.delete(runner);
        options.onCallFinished?.(summary);
      },
    });
    calls.add(runner);
    return response;
  }

  function status(): Response {
    return text(
      `Phone voice-agent bridge is running.\nActive calls: ${calls.size}\n` +
        `Point your Twilio number's voice webhook (HTTP POST) at ${ROUTES.incomingCall}.\n`,
      200,
    );
  }

  function handler(request: Request): Response | Promise<Response> {
    const path = new URL(request.url).pathname;
    try {
      switch (path) {
        case ROUTES.status:
          return request.method === "GET" || request.method === "HEAD"
            ? status()
            : text("Method not allowed.\n", 405, { allow: "GET, HEAD" });
        case ROUTES.incomingCall:
          return request.method === "POST"
            ? incomingCall(request)
            : text("Method not allowed: Twilio calls this webhook with POST.\n", 405, {
              allow: "POST",
            });
        case ROUTES.callEnded:
          return request.method === "POST" || request.method === "GET"
            ? callEnded(request)
            : text("Method not allowed.\n", 405, { allow: "GET, POST" });
        case ROUTES.mediaStream:
          return request.method === "GET"
            ? mediaStream(request)
            : text("Method not allowed.\n", 405, { allow: "GET" });
        default:
          return text("Not found.\n", 404);
      }
    } catch (error) {
      httpLog.error("Request failed: {error}", {
        path,
        error: error instanceof Error ? error.message : String(error),
      });
      return text("Internal error.\n", 500);
    }
  }

  return { handler, calls, outcomes };
}
