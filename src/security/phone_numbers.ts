/**
 * How phone numbers are masked, everywhere: call records, `deno task calls`,
 * campaign progress, the TwiML's caller parameter, log lines, Twilio's error
 * messages and the doctor. One format, so a number can be recognised across
 * them without being revealed: the first two digits (the country code,
 * mostly) and the last two stay, every other digit becomes `•`, separators
 * stay where they were.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { maskPhoneNumber, maskPhoneNumbersIn } from "./phone_numbers.ts";
 * assert.equal(maskPhoneNumber("+14155550123"), "+14•••••••23");
 * assert.equal(
 *   maskPhoneNumbersIn("From=%2B14155550123 called 4155550123 (CA0123456789abcdef)"),
 *   "From=%2B14•••••••23 called 41••••••23 (CA0123456789abcdef)",
 * );
 * ```
 *
 * @module
 */

const DIGIT = /\d/g;
/** E.164, also URL-encoded (`%2B`) as in Twilio's form bodies. */
const E164_PHONE = /(\+|%2[Bb])(\d{7,15})(?!\d)/g;
/** 10–15 bare digits that are not part of a word, a SID, a decimal or a longer number. */
const BARE_PHONE = /(?<![A-Za-z0-9_.])\d{10,15}(?![A-Za-z0-9_]|\.\d)/g;

/**
 * Masks one phone number: `+14155550123` → `+14•••••••23`, `+44 20 7946
 * 0000` → `+44 •• •••• ••00`; a text without digits (`anonymous`) → `•••`.
 * Numbers of four digits or fewer are not masked (nothing to hide).
 */
export function maskPhoneNumber(number: string): string {
  const digits = number.match(DIGIT)?.length ?? 0;
  if (digits === 0) return "•••";
  let seen = 0;
  return number.slice(0, 40).replace(DIGIT, (d) => {
    seen++;
    return seen <= 2 || seen > digits - 2 ? d : "•";
  });
}

/**
 * `text` with every phone number in it masked: E.164 numbers (`+` or `%2B`
 * and 7–15 digits) and bare runs of 10–15 digits (11-digit ones starting with
 * 1 as North American numbers; other runs starting with 1 are left, they are
 * timestamps). SIDs, ids and decimals are left alone.
 */
export function maskPhoneNumbersIn(text: string): string {
  return text
    .replace(
      E164_PHONE,
      (_match, prefix: string, digits: string) => prefix + maskPhoneNumber(digits),
    )
    .replace(BARE_PHONE, (digits) => {
      if (digits.startsWith("1") && digits.length !== 11) return digits;
      return maskPhoneNumber(digits);
    });
}
