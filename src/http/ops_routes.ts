/**
 * The operator endpoints: `/healthz` (the process is up), `/readyz` (it
 * accepts calls) and `/metrics` (Prometheus text, optionally behind a bearer
 * token).
 *
 * @module
 */
import { PROMETHEUS_CONTENT_TYPE } from "../observability/metrics.ts";

/** What `/metrics` serves. */
export interface MetricsEndpoint {
  /** The metrics in the Prometheus text format. */
  render: () => string;
  /** When set, requests need `Authorization: Bearer <token>`. */
  token?: string | undefined;
}

function plain(body: string, status: number, headers: Record<string, string> = {}): Response {
  return new Response(body, {
    status,
    headers: {
      "content-type": "text/plain; charset=utf-8",
      "cache-control": "no-store",
      ...headers,
    },
  });
}

/**
 * Compares two strings in time that depends only on their lengths.
 *
 * @example
 * ```ts
 * import { timingSafeEqual } from "./ops_routes.ts";
 * if (!timingSafeEqual("abc", "abc") || timingSafeEqual("abc", "abd")) throw new Error();
 * ```
 */
export function timingSafeEqual(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  const length = Math.max(x.length, y.length);
  let diff = x.length ^ y.length;
  for (let i = 0; i < length; i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/** `GET /healthz`: 200 while the process serves requests. */
export function healthz(): Response {
  return plain("ok\n", 200);
}

/**
 * `GET /readyz`: 200 when ready to take calls, else 503 with `reason` (when
 * known) in the body, e.g. `not ready: OpenAI rejected the API key …`.
 */
export function readyz(
  isReady: (() => boolean) | undefined,
  reason?: () => string | undefined,
): Response {
  let ready = true;
  try {
    ready = isReady?.() ?? true;
  } catch {
    ready = false;
  }
  if (ready) return plain("ready\n", 200);
  let why: string | undefined;
  try {
    why = reason?.();
  } catch {
    why = undefined;
  }
  return plain(why === undefined ? "not ready\n" : `not ready: ${why}\n`, 503, {
    "retry-after": "10",
  });
}

/** `GET /metrics`: the metrics, or 401 without the right bearer token. */
export function metricsResponse(request: Request, endpoint: MetricsEndpoint | undefined): Response {
  if (endpoint === undefined) return plain("Metrics are not enabled.\n", 404);
  if (endpoint.token !== undefined) {
    const header = request.headers.get("authorization") ?? "";
    const match = /^Bearer\s+(.+)$/i.exec(header.trim());
    if (match === null || !timingSafeEqual(match[1], endpoint.token)) {
      return plain("Unauthorized: send Authorization: Bearer <METRICS_TOKEN>.\n", 401, {
        "www-authenticate": 'Bearer realm="metrics"',
      });
    }
  }
  return new Response(endpoint.render(), {
    headers: { "content-type": PROMETHEUS_CONTENT_TYPE, "cache-control": "no-store" },
  });
}
