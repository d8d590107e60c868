/**
 * Campaign contact lists from CSV or JSON, checked line by line.
 *
 * - CSV: a header row with a `to` column (E.164 numbers), optionally
 *   `timezone` (IANA name); every other column goes into the contact's
 *   `context` (`name,to,timezone` → `{ name }`). Quoted fields (`"a, b"`,
 *   `""` for a quote) are supported.
 * - JSON: an array of `{ to, context?, timezone? }`.
 *
 * Problems name the line (CSV) or index (JSON) and the field. Numbers seen
 * twice are kept once (a campaign never calls one number twice at a time).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseContactsCsv } from "./campaign_input.ts";
 * const result = parseContactsCsv('to,name,timezone\n+15551234567,"Lovelace, Ada",America/New_York\n');
 * assert.deepEqual(result, {
 *   ok: true,
 *   contacts: [{ to: "+15551234567", timezone: "America/New_York", context: { name: "Lovelace, Ada" } }],
 * });
 * ```
 *
 * @module
 */
import { checkContext, checkTo } from "./place_call_request.ts";
import { isTimeZone } from "./calling_window.ts";

/** One contact to call. */
export interface ContactInput {
  to: string;
  timezone?: string;
  context: Record<string, unknown>;
}

/** Result of the parsers: the contacts, or every problem found. */
export type ContactsResult = { ok: true; contacts: ContactInput[] } | {
  ok: false;
  problems: string[];
};

/** Most contacts in one campaign. */
export const MAX_CONTACTS = 10_000;

/** Splits CSV text into rows of fields (RFC 4180 quoting; CRLF or LF). */
export function parseCsvRows(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === "") quoted = true;
    else if (c === ",") {
      row.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
    } else field += c;
  }
  if (field !== "" || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => !(r.length === 1 && r[0].trim() === ""));
}

/** Contacts from CSV text (see the module doc). */
export function parseContactsCsv(text: string): ContactsResult {
  const rows = parseCsvRows(text.replace(/^\uFEFF/, ""));
  if (rows.length === 0) return { ok: false, problems: ["The CSV is empty."] };
  const header = rows[0].map((h) => h.trim());
  const toAt = header.findIndex((h) => h.toLowerCase() === "to");
  if (toAt < 0) {
    return {
      ok: false,
      problems: [
        `line 1: the header has no "to" column (got ${
          header.join(",")
        }); name the phone-number column "to".`,
      ],
    };
  }
  const tzAt = header.findIndex((h) => h.toLowerCase() === "timezone");
  const items = rows.slice(1).map((row) => {
    const context: Record<string, unknown> = {};
    header.forEach((name, i) => {
      if (i !== toAt && i !== tzAt && name !== "" && row[i] !== undefined && row[i] !== "") {
        context[name] = row[i];
      }
    });
    return {
      to: row[toAt]?.trim(),
      ...(tzAt >= 0 && row[tzAt]?.trim() ? { timezone: row[tzAt].trim() } : {}),
      context,
    };
  });
  return checkContacts(items, (i) => `line ${i + 2}`);
}

/** Contacts from a decoded JSON array (see the module doc). */
export function parseContactsJson(value: unknown): ContactsResult {
  if (!Array.isArray(value)) {
    return {
      ok: false,
      problems: [
        'contacts must be a JSON array of {"to": "+1…", "context": {…}, "timezone": "…"}.',
      ],
    };
  }
  return checkContacts(value, (i) => `contacts[${i}]`);
}

function checkContacts(items: unknown[], where: (i: number) => string): ContactsResult {
  const problems: string[] = [];
  const contacts: ContactInput[] = [];
  const seen = new Set<string>();
  if (items.length === 0) problems.push("The campaign has no contacts.");
  if (items.length > MAX_CONTACTS) {
    problems.push(
      `The campaign has ${items.length} contacts; at most ${MAX_CONTACTS} are accepted.`,
    );
    return { ok: false, problems };
  }
  items.forEach((item, i) => {
    if (typeof item !== "object" || item === null || Array.isArray(item)) {
      problems.push(`${where(i)}: must be an object with "to".`);
      return;
    }
    const it = item as Record<string, unknown>;
    const to = checkTo(it.to);
    if (typeof to !== "string") {
      problems.push(`${where(i)}: ${to.error}`);
      return;
    }
    if (
      it.timezone !== undefined && (typeof it.timezone !== "string" || !isTimeZone(it.timezone))
    ) {
      problems.push(
        `${where(i)}: timezone must be an IANA time zone such as America/New_York, got ${
          JSON.stringify(it.timezone)
        }.`,
      );
      return;
    }
    const context = checkContext(it.context);
    if (!("value" in context)) {
      problems.push(`${where(i)}: ${context.error}`);
      return;
    }
    if (seen.has(to)) return;
    seen.add(to);
    contacts.push({
      to,
      ...(typeof it.timezone === "string" ? { timezone: it.timezone } : {}),
      context: context.value,
    });
  });
  return problems.length > 0 ? { ok: false, problems } : { ok: true, contacts };
}
