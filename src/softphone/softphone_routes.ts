/**
 * The softphone's HTTP routes: the page at `GET /`, its scripts under
 * `/softphone/` and its μ-law codec at `/audio/mulaw.js` (each at its path
 * under `src/`), `POST /softphone/token?agent=<name>`, which issues the
 * short-lived token the page needs to open a media stream (see
 * `softphone_token.ts`) and the stream path of the agent picked
 * (`http/stream_path.ts`), `GET /softphone/agents`, the agents the page
 * lets the developer pick, and
 * `GET /softphone/events?token=…`, the live view of the token's call as
 * Server-Sent Events (see `live_calls.ts`; the token is checked, not used up).
 *
 * With the softphone on, every one of these (and a softphone media stream)
 * is only served to a loopback `Host` or `PUBLIC_URL`'s (see
 * `softphone_host.ts`); any other gets a 403 naming both.
 *
 * The page and scripts are imported as text, so they are part of the module
 * graph: `deno compile` embeds them and Deno Deploy ships them.
 *
 * @module
 */
import page from "./page.html" with { type: "text" };
import softphoneJs from "./softphone.js" with { type: "text" };
import mulawJs from "../audio/mulaw.js" with { type: "text" };
import framesJs from "../audio/frames.js" with { type: "text" };
import resampleJs from "./resample.js" with { type: "text" };
import liveViewJs from "./live_view.js" with { type: "text" };
import {
  type IssuedSoftphoneToken,
  type SoftphoneTokenCheck,
  SoftphoneTokens,
} from "./softphone_token.ts";
import type { LiveCalls } from "./live_calls.ts";
import { softphoneHostAllowed } from "./softphone_host.ts";
import type { RefusalLog } from "../security/refusal_log.ts";
import { formatStreamPath } from "../http/stream_path.ts";

/** Paths of the softphone. */
const SOFTPHONE_ROUTES = {
  page: "/",
  token: "/softphone/token",
  agents: "/softphone/agents",
  events: "/softphone/events",
  /** The page's icon, at the path browsers ask for by themselves (an SVG, linked from the page). */
  icon: "/favicon.ico",
} as const;

/** The page's icon: a green dot, the softphone's accent colour. */
const ICON =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><circle cx="16" cy="16" r="14" fill="#1f7a4d"/></svg>';

/** Options of {@link createSoftphoneRoutes}. */
export interface SoftphoneRoutesOptions {
  /** The agents' names, the default one first-class (read at each request, so a reload shows). */
  agents?: () => { names: readonly string[]; defaultName: string };
  /** The live call view's channels; without them `/softphone/events` is not served. */
  live?: LiveCalls;
  /** `PUBLIC_URL`: its host is served besides loopback ones. */
  publicUrl?: string | undefined;
  /** The app's log of refused requests (a foreign `Host` is one). */
  refusals?: RefusalLog;
  /** A note for the page (sent with the agents), shown above its buttons. */
  notice?: string;
}

/** Result of {@link SoftphoneRoutes.admit}: the token's check, or a refused `Host`. */
export type SoftphoneAdmission = SoftphoneTokenCheck | { ok: false; reason: "foreign_host" };

/**
 * The page's scripts, each served at its path under `src/`, so the relative
 * imports between them resolve alike in the browser and on disk (the page's
 * `../audio/mulaw.js` and `../audio/frames.js` are the codec and the frame
 * size every TypeScript user imports too).
 */
const ASSETS: Record<string, string> = {
  "/softphone/softphone.js": softphoneJs,
  "/audio/mulaw.js": mulawJs,
  "/audio/frames.js": framesJs,
  "/softphone/resample.js": resampleJs,
  "/softphone/live_view.js": liveViewJs,
};

const SECURITY_HEADERS = {
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

const PAGE_HEADERS = {
  ...SECURITY_HEADERS,
  "content-type": "text/html; charset=utf-8",
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; " +
    "media-src 'self' blob:; img-src 'self' data:; base-uri 'none'; form-action 'none'; " +
    "frame-ancestors 'none'",
  "x-frame-options": "DENY",
};

function plain(body: string, status: number, headers: Record<string, string> = {}): Response {
  return new Response(body, {
    status,
    headers: { ...SECURITY_HEADERS, "content-type": "text/plain; charset=utf-8", ...headers },
  });
}

/** The softphone's routes, given the token issuer. */
export interface SoftphoneRoutes {
  /** The token issuer (shared with the media-stream check). */
  readonly tokens: SoftphoneTokens;
  /**
   * Answers a softphone request, or returns undefined when `path` is not a
   * softphone route (the app then routes it as usual).
   */
  handle(request: Request, path: string): Response | undefined;
  /**
   * Checks (and uses up) the softphone token a media-stream upgrade offers;
   * undefined when it offers none (a Twilio stream). A request to a `Host`
   * the softphone does not answer is refused before its token is looked at.
   */
  admit(request: Request): SoftphoneAdmission | undefined;
}

/**
 * Creates the softphone routes.
 *
 * @example
 * ```ts
 * import { createSoftphoneRoutes } from "./softphone_routes.ts";
 * const routes = createSoftphoneRoutes();
 * const res = routes.handle(new Request("http://localhost:5050/"), "/");
 * if (res?.status !== 200) throw new Error("the page is served");
 * ```
 */
export function createSoftphoneRoutes(
  tokens = new SoftphoneTokens(),
  options: SoftphoneRoutesOptions = {},
): SoftphoneRoutes {
  function agents(request: Request): Response {
    if (request.method !== "GET") {
      return plain("Method not allowed.\n", 405, { allow: "GET" });
    }
    const list = options.agents?.() ?? { names: [], defaultName: "" };
    return new Response(
      JSON.stringify({
        agents: list.names,
        default: list.defaultName,
        ...(options.notice !== undefined ? { notice: options.notice } : {}),
      }),
      { headers: { ...SECURITY_HEADERS, "content-type": "application/json" } },
    );
  }

  function token(request: Request): Response {
    if (request.method !== "POST") {
      return plain("Method not allowed: ask for a softphone token with POST.\n", 405, {
        allow: "POST",
      });
    }
    // Browsers send Origin on POST: refuse other sites (they could not read the answer anyway).
    const origin = request.headers.get("origin");
    const host = request.headers.get("host") ?? new URL(request.url).host;
    if (origin !== null && origin !== "null") {
      let originHost: string | undefined;
      try {
        originHost = new URL(origin).host;
      } catch {
        originHost = undefined;
      }
      if (originHost !== host) {
        return plain("Forbidden: softphone tokens are only issued to this server's page.\n", 403);
      }
    }
    const issued: IssuedSoftphoneToken = tokens.issue();
    // The stream path of the agent the page picked (`?agent=`; none or unknown: the default).
    const agent = new URL(request.url).searchParams.get("agent");
    const known = agent !== null && (options.agents?.().names.includes(agent) ?? false);
    const streamPath = formatStreamPath(known ? { kind: "agent", agent } : { kind: "plain" });
    return new Response(JSON.stringify({ ...issued, streamPath }), {
      headers: { ...SECURITY_HEADERS, "content-type": "application/json" },
    });
  }

  function events(request: Request, live: LiveCalls): Response {
    if (request.method !== "GET") {
      return plain("Method not allowed.\n", 405, { allow: "GET" });
    }
    const token = new URL(request.url).searchParams.get("token") ?? "";
    const check = tokens.peek(token);
    if (!check.ok) {
      return plain(
        `The live view needs this call's softphone token (it is ${check.reason}); reload the page.\n`,
        401,
      );
    }
    const stream = live.subscribe(check.callSid);
    if (stream === undefined) {
      return plain("Too many live views are open; close one and reload the page.\n", 503, {
        "retry-after": "10",
      });
    }
    return new Response(stream, {
      headers: {
        ...SECURITY_HEADERS,
        "content-type": "text/event-stream; charset=utf-8",
        "x-accel-buffering": "no",
      },
    });
  }

  function served(path: string): boolean {
    return path === SOFTPHONE_ROUTES.page || path === SOFTPHONE_ROUTES.token ||
      path === SOFTPHONE_ROUTES.agents || path === SOFTPHONE_ROUTES.icon ||
      ASSETS[path] !== undefined ||
      (path === SOFTPHONE_ROUTES.events && options.live !== undefined);
  }

  function foreignHost(request: Request, path: string): Response {
    options.refusals?.refused("foreign_host", path);
    const host = request.headers.get("host") ?? new URL(request.url).host;
    return plain(
      `Forbidden: the softphone only answers requests addressed to localhost (127.0.0.1, [::1])${
        options.publicUrl ? ` or ${new URL(options.publicUrl).host}` : ""
      }, not ${
        JSON.stringify(host)
      }. Open it at http://localhost:<PORT>/, or set PUBLIC_URL to the address you use.\n`,
      403,
    );
  }

  return {
    tokens,
    admit(request) {
      const token = SoftphoneTokens.fromRequest(request);
      if (token === undefined) return undefined;
      if (!softphoneHostAllowed(request, options.publicUrl)) {
        return { ok: false, reason: "foreign_host" };
      }
      return tokens.verify(token);
    },
    handle(request, path) {
      if (!served(path)) return undefined;
      const read = request.method === "GET" || request.method === "HEAD";
      if ((path === SOFTPHONE_ROUTES.page || path === SOFTPHONE_ROUTES.icon) && !read) {
        return undefined;
      }
      if (!softphoneHostAllowed(request, options.publicUrl)) return foreignHost(request, path);
      if (path === SOFTPHONE_ROUTES.page) {
        return new Response(request.method === "HEAD" ? null : page, { headers: PAGE_HEADERS });
      }
      if (path === SOFTPHONE_ROUTES.token) return token(request);
      if (path === SOFTPHONE_ROUTES.agents) return agents(request);
      if (path === SOFTPHONE_ROUTES.icon) {
        return new Response(request.method === "HEAD" ? null : ICON, {
          headers: { ...SECURITY_HEADERS, "content-type": "image/svg+xml" },
        });
      }
      if (path === SOFTPHONE_ROUTES.events && options.live !== undefined) {
        return events(request, options.live);
      }
      const asset = ASSETS[path];
      if (!read) {
        return plain("Method not allowed.\n", 405, { allow: "GET, HEAD" });
      }
      return new Response(request.method === "HEAD" ? null : asset, {
        headers: { ...SECURITY_HEADERS, "content-type": "text/javascript; charset=utf-8" },
      });
    },
  };
}
