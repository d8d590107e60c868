/**
 * The offline demo's own tool backend: a tiny in-memory table of property
 * listings served at `GET /demo/listings/<id>` (and the whole table at
 * `GET /demo/listings`) by the demo's server, so the `lookup_listing` HTTP tool
 * of `demo_agents.yaml` runs for real without any network. It counts the
 * lookups it answered, so tests (and the curious) can see the tool reached it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DemoListings, LISTINGS_PATH } from "./demo_listings.ts";
 * const listings = new DemoListings();
 * const found = listings.handle(new Request(`http://demo${LISTINGS_PATH}/L-1001`), `${LISTINGS_PATH}/L-1001`);
 * assert.equal(found?.status, 200);
 * assert.equal((await found!.json()).city, "Springfield");
 * const missing = listings.handle(new Request(`http://demo${LISTINGS_PATH}/L-9`), `${LISTINGS_PATH}/L-9`);
 * assert.equal(missing?.status, 404);
 * assert.equal(listings.handle(new Request("http://demo/other"), "/other"), undefined);
 * assert.deepEqual(listings.lookups, ["L-1001", "L-9"]);
 * ```
 *
 * @module
 */

/** Where the demo serves its listings. */
export const LISTINGS_PATH = "/demo/listings";

/** One listing of the demo table. */
export interface DemoListing {
  id: string;
  address: string;
  city: string;
  bedrooms: number;
  price_usd: number;
  status: "available" | "under offer" | "sold";
}

/** The demo table. */
const DEMO_LISTINGS: readonly DemoListing[] = [
  {
    id: "L-1001",
    address: "12 Elm Street",
    city: "Springfield",
    bedrooms: 3,
    price_usd: 425_000,
    status: "available",
  },
  {
    id: "L-1002",
    address: "4 Harbor View, apt 7",
    city: "Shelbyville",
    bedrooms: 2,
    price_usd: 310_000,
    status: "under offer",
  },
  {
    id: "L-1003",
    address: "88 Orchard Lane",
    city: "Springfield",
    bedrooms: 4,
    price_usd: 615_000,
    status: "sold",
  },
];

function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

/** The listings route of the demo server (a handler of `AppOptions.routes`). */
export class DemoListings {
  /** Ids asked for at `/demo/listings/<id>`, in order (found or not). */
  readonly lookups: string[] = [];
  #byId: Map<string, DemoListing>;

  /** Serves `listings` (default {@link DEMO_LISTINGS}). */
  constructor(listings: readonly DemoListing[] = DEMO_LISTINGS) {
    this.#byId = new Map(listings.map((l) => [l.id.toUpperCase(), l]));
  }

  /** The response for `path`, or undefined when the path is not the listings'. */
  handle(request: Request, path: string): Response | undefined {
    if (path !== LISTINGS_PATH && !path.startsWith(`${LISTINGS_PATH}/`)) return undefined;
    if (request.method !== "GET") {
      return json({ error: "Use GET." }, 405, { allow: "GET" });
    }
    if (path === LISTINGS_PATH || path === `${LISTINGS_PATH}/`) {
      return json({ listings: [...this.#byId.values()] });
    }
    let id: string;
    try {
      id = decodeURIComponent(path.slice(LISTINGS_PATH.length + 1)).trim();
    } catch {
      return json({ error: "The listing id is not valid URL encoding." }, 400);
    }
    this.lookups.push(id.slice(0, 64));
    const listing = this.#byId.get(id.toUpperCase());
    if (listing === undefined) {
      return json({
        error: `No listing ${id.slice(0, 64)}; known ids: ${[...this.#byId.keys()].join(", ")}.`,
      }, 404);
    }
    return json(listing);
  }
}
