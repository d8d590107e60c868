/**
 * Campaign contact lists from CSV or JSON, checked line by line.
 *
 * - CSV: a header row with a `to` column (E.164 numbers), optionally
 *   `timezone` (IANA name); every other column goes into the contact's
 *   `context` (`name,to,timezone` → `{ name }`). Quoted fields (`"a, b"`,
 *   `""` for a quote) are supported.
 * - JSON: an array of `{ to, context?, timezone? }`.
 *
 * Problems name the line (CSV) or index (JSON) and the field; the server's
 * own numbers are refused. Numbers seen twice are kept once (a campaign never calls one number twice at a time).
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

/** Rows of a CSV text, or why it cannot be read. */
export type CsvRows = { ok: true; rows: string[][] } | { ok: false; problem: string };

/**
 * Splits CSV text into rows of fields (RFC 4180 quoting; CRLF or LF). Stops
 * after `maxRows` non-empty rows, so a huge body costs no more than the
 * rows a campaign may hold. A quote still open
 * at the end is refused, naming the line where its field started.
 */
export function parseCsvRows(text: string, maxRows = Infinity): CsvRows {
  const rows: string[][] = [];
  const delimiter = /[,\r\n]/g;
  let row: string[] = [];
  let line = 1;
  let i = 0;
  while (i < text.length) {
    let field = "";
    if (text[i] === '"') {
      // A quoted field: up to the quote that is not doubled.
      const start = line;
      let from = i + 1;
      for (;;) {
        const quote = text.indexOf('"', from);
        if (quote < 0) {
          return {
            ok: false,
            problem:
              `line ${start}: a quoted field is never closed (a " opens it and no " ends it); close the quote or remove it.`,
          };
        }
        field += text.slice(from, quote);
        from = quote + 1;
        if (text[from] !== '"') break;
        field += '"';
        from++;
      }
      line += countNewlines(text, i, from);
      i = from;
    }
    delimiter.lastIndex = i;
    const stop = delimiter.exec(text)?.index ?? text.length;
    row.push(field + text.slice(i, stop));
    i = stop + 1;
    if (text[stop] === ",") {
      if (i === text.length) row.push("");
      continue;
    }
    if (text[stop] === "\r" && text[i] === "\n") i++;
    line++;
    if (!(row.length === 1 && row[0].trim() === "")) rows.push(row);
    row = [];
    if (rows.length >= maxRows) break;
  }
  if (row.length > 0) rows.push(row);
  return { ok: true, rows };
}

function countNewlines(text: string, from: number, to: number): number {
  let n = 0;
  for (let at = text.indexOf("\n", from); at >= 0 && at < to; at = text.indexOf("\n", at + 1)) n++;
  return n;
}

/** Contacts from CSV text (see the module doc). */
export function parseContactsCsv(
  text: string,
  own: ReadonlySet<string> = new Set(),
): ContactsResult {
  // The header, the most contacts a campaign holds, and one more to tell "too many".
  const parsed = parseCsvRows(text.replace(/^\uFEFF/, ""), MAX_CONTACTS + 2);
  if (!parsed.ok) return { ok: false, problems: [parsed.problem] };
  const { rows } = parsed;
  if (rows.length === 0) return { ok: false, problems: ["The CSV is empty."] };
  if (rows.length > MAX_CONTACTS + 1) {
    return {
      ok: false,
      problems: [
        `The CSV has more than ${MAX_CONTACTS} contacts; at most ${MAX_CONTACTS} are accepted: split it into several campaigns.`,
      ],
    };
  }
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
  return checkContacts(items, (i) => `line ${i + 2}`, own);
}

/** Contacts from a decoded JSON array (see the module doc). */
export function parseContactsJson(
  value: unknown,
  own: ReadonlySet<string> = new Set(),
): ContactsResult {
  if (!Array.isArray(value)) {
    return {
      ok: false,
      problems: [
        'contacts must be a JSON array of {"to": "+1…", "context": {…}, "timezone": "…"}.',
      ],
    };
  }
  return checkContacts(value, (i) => `contacts[${i}]`, own);
}

/** Checks contacts; numbers of `own` (the server's, see `ownNumbers`) are refused. */
function checkContacts(
  items: unknown[],
  where: (i: number) => string,
  own: ReadonlySet<string>,
): ContactsResult {
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
    const to = checkTo(it.to, own);
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
