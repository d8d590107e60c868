/**
 * The campaign routes of the control API (authorized by the caller, see
 * `outbound_routes.ts`):
 *
 * - `POST /campaigns`: JSON `{agent?, contacts: [{to, context?, timezone?}],
 *   concurrency?, window?: "09:00-18:00", timezone?, maxAttempts?,
 *   retryBackoffSeconds?}`, or a CSV body (`content-type: text/csv`) with the
 *   same settings as query parameters → `201` with the campaign's progress.
 * - `GET /campaigns/:id` → its progress (counts, outcomes, contacts masked).
 * - `POST /campaigns/:id/pause`, `/resume`, `/cancel`.
 * - `DELETE /campaigns/:id` erases the campaign and its contacts.
 *
 * @example
 * ```ts ignore
 * const handle = createCampaignRoutes({ dispatcher, agents });
 * const response = await handle(request, "/campaigns");
 * ```
 *
 * @module
 */
import { readCappedText } from "../security/limits.ts";
import type { AgentBook } from "../agents/agent_book.ts";
import { checkAgent, ownNumbers } from "./place_call_request.ts";
import type { CampaignDispatcher, NewCampaign } from "./campaign_dispatcher.ts";
import { type ContactsResult, parseContactsCsv, parseContactsJson } from "./campaign_input.ts";
import { isTimeZone, parseWindow } from "./calling_window.ts";
import { jsonResponse } from "./outbound_routes.ts";

/** Largest campaign body (10 000 contacts with a little context each). */
const MAX_CAMPAIGN_BODY_BYTES = 4 * 1024 * 1024;

/** Options of {@link createCampaignRoutes}. */
export interface CampaignRoutesOptions {
  dispatcher: CampaignDispatcher;
  /** The current agents (read at each request: a reload applies to new campaigns). */
  agents: { readonly book: AgentBook };
  /** `TWILIO_PHONE_NUMBER`: never called (nor the agents' numbers). */
  ownNumber?: string | undefined;
}

type Settings = Omit<NewCampaign, "contacts">;

/** Checks the campaign settings (from JSON fields or query parameters). */
function parseCampaignSettings(
  get: (name: string) => unknown,
  agents: AgentBook,
): { ok: true; value: Settings } | { ok: false; field: string; error: string } {
  const agent = checkAgent(get("agent"), agents);
  if (typeof agent !== "string") return agent;
  const value: Settings = { agent };
  const int = (name: string, min: number, max: number) => {
    const raw = get(name);
    if (raw === undefined) return undefined;
    const n = typeof raw === "string" ? Number(raw) : raw;
    return typeof n === "number" && Number.isInteger(n) && n >= min && n <= max ? n : null;
  };
  const concurrency = int("concurrency", 1, 100);
  if (concurrency === null) {
    return {
      ok: false,
      field: "concurrency",
      error: "concurrency must be an integer from 1 to 100.",
    };
  }
  if (concurrency !== undefined) value.concurrency = concurrency;
  const maxAttempts = int("maxAttempts", 1, 10);
  if (maxAttempts === null) {
    return {
      ok: false,
      field: "maxAttempts",
      error: "maxAttempts must be an integer from 1 to 10.",
    };
  }
  if (maxAttempts !== undefined) value.maxAttempts = maxAttempts;
  const backoff = int("retryBackoffSeconds", 1, 86_400);
  if (backoff === null) {
    return {
      ok: false,
      field: "retryBackoffSeconds",
      error: "retryBackoffSeconds must be an integer from 1 to 86400.",
    };
  }
  if (backoff !== undefined) value.retryBackoffMs = backoff * 1000;
  const window = get("window");
  if (window !== undefined) {
    const parsed = typeof window === "string"
      ? parseWindow(window)
      : { error: "window must be a string such as 09:00-18:00." };
    if ("error" in parsed) return { ok: false, field: "window", error: parsed.error };
    value.window = parsed;
  }
  const timezone = get("timezone");
  if (timezone !== undefined) {
    if (typeof timezone !== "string" || !isTimeZone(timezone)) {
      return {
        ok: false,
        field: "timezone",
        error: "timezone must be an IANA time zone such as America/New_York.",
      };
    }
    value.timezone = timezone;
  }
  return { ok: true, value };
}

/** Creates the handler of `/campaigns…`. */
export function createCampaignRoutes(options: CampaignRoutesOptions) {
  const { dispatcher, agents } = options;

  async function create(request: Request): Promise<Response> {
    const body = await readCappedText(request, MAX_CAMPAIGN_BODY_BYTES);
    if (!body.ok) return jsonResponse({ error: "The body is too large.", field: "body" }, 413);
    const isCsv = (request.headers.get("content-type") ?? "").toLowerCase().includes("csv");
    let get: (name: string) => unknown;
    let contacts: ContactsResult;
    if (isCsv) {
      const query = new URL(request.url).searchParams;
      get = (name) => query.get(name) ?? undefined;
      contacts = parseContactsCsv(body.text, ownNumbers(agents.book, options.ownNumber));
    } else {
      let json: unknown;
      try {
        json = JSON.parse(body.text);
      } catch {
        return jsonResponse({
          error: "The body is neither JSON nor CSV (send content-type: text/csv for CSV).",
          field: "body",
        }, 400);
      }
      if (typeof json !== "object" || json === null || Array.isArray(json)) {
        return jsonResponse({
          error:
            'The body must be a JSON object such as {"agent": "…", "contacts": [{"to": "+1…"}]}.',
          field: "body",
        }, 400);
      }
      const fields = json as Record<string, unknown>;
      get = (name) => fields[name] ?? undefined;
      contacts = parseContactsJson(fields.contacts, ownNumbers(agents.book, options.ownNumber));
    }
    const settings = parseCampaignSettings(get, agents.book);
    if (!settings.ok) return jsonResponse({ error: settings.error, field: settings.field }, 400);
    if (!contacts.ok) {
      return jsonResponse({
        error: `The contacts have ${contacts.problems.length} problem(s).`,
        field: "contacts",
        problems: contacts.problems.slice(0, 100),
      }, 400);
    }
    const campaign = await dispatcher.create({ ...settings.value, contacts: contacts.contacts });
    return jsonResponse(await dispatcher.progress(campaign.id), 201, {
      location: `/campaigns/${campaign.id}`,
    });
  }

  return async (request: Request, path: string): Promise<Response> => {
    if (path === "/campaigns") {
      return request.method === "POST"
        ? await create(request)
        : jsonResponse({ error: "Method not allowed: use POST." }, 405, { allow: "POST" });
    }
    const match = /^\/campaigns\/([A-Za-z0-9_]{1,64})(?:\/(pause|resume|cancel))?$/.exec(path);
    if (match === null) return jsonResponse({ error: "Not found." }, 404);
    const [, id, action] = match;
    if (action === undefined) {
      if (request.method === "DELETE") {
        const erased = await dispatcher.erase(id);
        return erased === undefined
          ? jsonResponse({ error: `No campaign ${id}.` }, 404)
          : jsonResponse({ deleted: id, contacts: erased.contacts }, 200);
      }
      if (request.method !== "GET") {
        return jsonResponse({ error: "Method not allowed: use GET or DELETE." }, 405, {
          allow: "GET, DELETE",
        });
      }
      const progress = await dispatcher.progress(id);
      return progress === undefined
        ? jsonResponse({ error: `No campaign ${id}.` }, 404)
        : jsonResponse(progress, 200);
    }
    if (request.method !== "POST") {
      return jsonResponse({ error: "Method not allowed: use POST." }, 405, { allow: "POST" });
    }
    const campaign = await dispatcher.control(id, action as "pause" | "resume" | "cancel");
    return campaign === undefined
      ? jsonResponse({ error: `No campaign ${id}.` }, 404)
      : jsonResponse(await dispatcher.progress(id), 200);
  };
}
