import assert from "node:assert/strict";
import { MAX_CONTACTS, parseContactsCsv, parseCsvRows } from "../src/outbound/campaign_input.ts";

Deno.test("a CSV whose last row opens a quote and never closes it is refused, naming the line", () => {
  const result = parseContactsCsv('to,name\n+15551234567,Ada\n+15551234568,"Grace\n');
  assert.ok(!result.ok, "no contact is created from a half-read row");
  assert.deepEqual(result.problems.length, 1);
  assert.ok(
    result.problems[0].startsWith("line 3: a quoted field is never closed"),
    result.problems[0],
  );
});

Deno.test("CSV quoting: doubled quotes, commas and newlines inside quotes, CRLF, blank lines", () => {
  const rows = parseCsvRows('a,"b, ""c""",d\r\n\r\n"multi\nline",,\nlast');
  assert.deepEqual(rows, {
    ok: true,
    rows: [["a", 'b, "c"', "d"], ["multi\nline", "", ""], ["last"]],
  });
  assert.deepEqual(parseCsvRows('x,"open\n\nstill open'), {
    ok: false,
    problem:
      'line 1: a quoted field is never closed (a " opens it and no " ends it); close the quote or remove it.',
  });
});

Deno.test("CSV reading stops after the rows a campaign may hold: a huge body is refused without reading it all", () => {
  const lines = ["to"];
  for (let n = 0; n < MAX_CONTACTS * 3; n++) lines.push(`+1555${String(1_000_000 + n).slice(-7)}`);
  // An unclosed quote far past the limit is never reached.
  const text = lines.join("\n") + '\n"never read';
  assert.deepEqual(parseCsvRows(text, 5), {
    ok: true,
    rows: [["to"], ["+15551000000"], ["+15551000001"], ["+15551000002"], ["+15551000003"]],
  });
  const result = parseContactsCsv(text);
  assert.ok(!result.ok);
  assert.deepEqual(result.problems, [
    `The CSV has more than ${MAX_CONTACTS} contacts; at most ${MAX_CONTACTS} are accepted: split it into several campaigns.`,
  ]);
});
