/**
 * The cost of reading a campaign CSV on the event loop (issue 18: a 4 MiB
 * CSV stalled every call's audio): a 4 MiB body of ~280 000 rows (refused
 * after the 10 000-contact limit, the rest unread) and 10 000 rows of
 * ~400 bytes (a full campaign, accepted). Run with
 * `deno bench bench/campaign_csv_bench.ts`.
 *
 * @module
 */
import { parseContactsCsv } from "../src/outbound/campaign_input.ts";

const FOUR_MIB = 4 * 1024 * 1024;

function manyRows(): string {
  const rows = ["to,name"];
  let bytes = 0;
  for (let n = 0; bytes < FOUR_MIB - 100; n++) {
    const row = `+1555${String(1_000_000 + n).slice(-7)},x`;
    rows.push(row);
    bytes += row.length + 1;
  }
  return rows.join("\n");
}

function fullCampaign(): string {
  const rows = ["to,name,timezone"];
  for (let n = 0; n < 10_000; n++) {
    rows.push(`+1555${String(1_000_000 + n).slice(-7)},${"x".repeat(380)},America/New_York`);
  }
  return rows.join("\n");
}

const many = manyRows();
const full = fullCampaign();

Deno.bench("campaign CSV: 4 MiB of short rows (refused at 10 000 contacts)", () => {
  if (parseContactsCsv(many).ok) throw new Error("a CSV over the limit must be refused");
});

Deno.bench("campaign CSV: 10 000 rows of 400 B (accepted)", () => {
  if (!parseContactsCsv(full).ok) throw new Error("a full campaign must be accepted");
});
