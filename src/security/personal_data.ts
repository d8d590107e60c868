/**
 * Redaction of personal data in text the server keeps or sends: stored
 * transcripts, webhook bodies and log lines (`REDACT=on`, the default).
 *
 * - Card numbers: 13 to 19 digits, alone or in groups split by spaces or
 *   dashes, that pass the Luhn check, become `[card]` (a run that fails it is
 *   left, so order numbers and timestamps survive).
 * - E-mail addresses become `[email]`.
 * - Phone numbers are masked as everywhere else (`phone_numbers.ts`: the
 *   first two and last two digits stay), also when written in groups
 *   (`415-555-0123`, `(415) 555 0123`, `+44 20 7946 0000`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { luhnValid, redactPersonalData } from "./personal_data.ts";
 *
 * assert.equal(luhnValid("4111111111111111"), true);
 * assert.equal(
 *   redactPersonalData("Card 4111 1111 1111 1111, mail ana.b@example.co.uk, phone 415-555-0123."),
 *   "Card [card], mail [email], phone 41•-•••-••23.",
 * );
 * assert.equal(redactPersonalData("Order 4111 1111 1111 1112 is late."), "Order 4111 1111 1111 1112 is late.");
 * assert.equal(redactPersonalData("ratio 0.12345678901234"), "ratio 0.12345678901234");
 * ```
 *
 * @module
 */
import { maskPhoneNumber, maskPhoneNumbersIn } from "./phone_numbers.ts";

/** What a card number becomes. */
const CARD = "[card]";
/** What an e-mail address becomes. */
const EMAIL = "[email]";

/** 13–19 digits, grouped by single spaces or dashes, not inside a longer number or word. */
const CARD_CANDIDATE = /(?<![\w.+-])\d(?:[ -]?\d){12,18}(?![\w]|[.,]\d)/g;
const EMAIL_ADDRESS = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;
/** A phone number written in groups: optional +, then digits with spaces, dots, dashes or brackets. */
const GROUPED_PHONE = /(?<![\w.])(?:\+|\()?\d[\d ().-]{6,20}\d(?![\w]|\.\d)/g;

/** Whether `digits` passes the Luhn check. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/** `text` with card numbers (Luhn-checked) and e-mail addresses redacted. */
export function redactCardsAndEmails(text: string): string {
  return text.replace(CARD_CANDIDATE, (match) => {
    const digits = match.replace(/[ -]/g, "");
    return luhnValid(digits) ? CARD : match;
  }).replace(EMAIL_ADDRESS, EMAIL);
}

/** `text` with phone numbers written in groups (`415-555-0123`) masked. */
export function maskGroupedPhoneNumbers(text: string): string {
  return text.replace(GROUPED_PHONE, (match) => {
    if (!/[ ().-]/.test(match)) return match; // a bare run: maskPhoneNumbersIn decides
    if (/^\d+\.\d+$/.test(match)) return match; // a decimal
    const digits = match.replace(/\D/g, "").length;
    const international = match.startsWith("+");
    return digits >= (international ? 7 : 10) && digits <= 15 ? maskPhoneNumber(match) : match;
  });
}

/** `text` with card numbers, e-mail addresses and phone numbers redacted. */
export function redactPersonalData(text: string): string {
  return maskPhoneNumbersIn(maskGroupedPhoneNumbers(redactCardsAndEmails(text)));
}
