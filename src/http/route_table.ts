/**
 * Routes as a table, as fresh's router keeps them: each route names its
 * path (exact, a prefix, or a test), the methods it answers and its
 * handler. A request whose path a route takes but whose method it does not
 * gets `405 Method Not Allowed` with an `Allow` header derived from the
 * table, so no handler checks its own method. A handler may decline a
 * request (return undefined): the next route is tried.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type Route, routeRequest } from "./route_table.ts";
 * const routes: Route[] = [
 *   { path: "/", methods: ["GET", "HEAD"], handle: () => new Response("home") },
 *   { prefix: "/files/", methods: ["GET"], handle: (_r, path) => new Response(path.slice(7)) },
 * ];
 * const answer = (method: string, path: string) =>
 *   routeRequest(routes, new Request(`http://x${path}`, { method }), path) as Response | undefined;
 * assert.equal(answer("GET", "/files/a.txt")?.status, 200);
 * assert.equal(answer("POST", "/")?.status, 405);
 * assert.equal(answer("POST", "/")?.headers.get("allow"), "GET, HEAD");
 * assert.equal(answer("GET", "/nope"), undefined);
 * ```
 *
 * @module
 */
import { text } from "./plain_responses.ts";

/** A handler: a response, or undefined to decline the request (the next route is tried). */
export type RouteHandler = (
  request: Request,
  path: string,
) => Response | Promise<Response> | undefined;

/** Which paths a route takes. */
export type RoutePath =
  /** Exactly this path. */
  | { path: string }
  /** Every path that starts with this. */
  | { prefix: string }
  /** Every path this test accepts. */
  | { test: (path: string) => boolean };

/** One row of the table. */
export type Route = RoutePath & {
  /** The methods it answers, or `"any"` (the handler sorts them out). */
  methods: readonly string[] | "any";
  /** Said in the 405 answer after "Method not allowed", e.g. "Twilio calls this webhook with POST." */
  hint?: string;
  handle: RouteHandler;
};

function takes(route: RoutePath, path: string): boolean {
  if ("path" in route) return route.path === path;
  if ("prefix" in route) return path.startsWith(route.prefix);
  return route.test(path);
}

/**
 * The answer of the first route that takes `path` and `request.method`; 405
 * with `Allow` when routes take the path but none the method; undefined when
 * no route takes the path (or every one declined).
 */
export function routeRequest(
  routes: readonly Route[],
  request: Request,
  path: string,
): Response | Promise<Response> | undefined {
  const allowed: string[] = [];
  let hint: string | undefined;
  for (const route of routes) {
    if (!takes(route, path)) continue;
    if (route.methods !== "any" && !route.methods.includes(request.method)) {
      allowed.push(...route.methods);
      hint ??= route.hint;
      continue;
    }
    const response = route.handle(request, path);
    if (response !== undefined) return response;
  }
  if (allowed.length === 0) return undefined;
  return text(`Method not allowed${hint === undefined ? "." : `: ${hint}`}\n`, 405, {
    allow: [...new Set(allowed)].join(", "),
  });
}
