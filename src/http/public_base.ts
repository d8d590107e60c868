/**
 * The public base URLs Twilio uses to reach this server, for the TwiML it is
 * answered and for checking its signatures.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { publicBase } from "./public_base.ts";
 * // Behind a proxy that does not send X-Forwarded-Proto: the stream URL is still wss://.
 * const base = publicBase(new Request("http://bridge.example.com/incoming-call"), undefined);
 * assert.deepEqual(base, { http: "http://bridge.example.com", ws: "wss://bridge.example.com" });
 * ```
 *
 * @module
 */

const HOST = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/;

/**
 * The public base URLs Twilio uses to reach this server: from `PUBLIC_URL`
 * when set, else from the request's `Host` (and `X-Forwarded-Proto` for the
 * webhook URLs). The media-stream URL is always `wss://`: Twilio only
 * connects media streams over TLS, and a proxy that does not send
 * `X-Forwarded-Proto` still terminates TLS in front of us. Twilio signs the
 * upgrade with the `wss://` URL of the TwiML, so the check uses it too.
 * Returns undefined for a malformed Host.
 */
export function publicBase(
  request: Request,
  publicUrl: string | undefined,
): { http: string; ws: string } | undefined {
  if (publicUrl !== undefined) {
    return { http: publicUrl, ws: publicUrl.replace(/^https?:/, "wss:") };
  }
  const url = new URL(request.url);
  const host = request.headers.get("host") ?? url.host;
  if (!HOST.test(host)) return undefined;
  const forwarded = request.headers.get("x-forwarded-proto")?.split(",")[0].trim().toLowerCase();
  const proto = forwarded === "https" || forwarded === "http"
    ? forwarded
    : url.protocol.replace(":", "");
  return { http: `${proto}://${host}`, ws: `wss://${host}` };
}
