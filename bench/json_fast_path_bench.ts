/**
 * Measures the "no JSON round trip" lever before adopting it: can a
 * hand-written scanner that picks `payload`/`streamSid` out of a Twilio media
 * message beat V8's `JSON.parse`? Two candidates, both with the checks a safe
 * fast path needs (no backslash or control character, no duplicate key):
 * an exact subset parser (objects of strings and numbers, as Twilio sends
 * them) and a plain `indexOf` extractor. On this machine both were slower than
 * `JSON.parse` (see docs/performance.md), so the bridge keeps the validating
 * parser; this file keeps the measurement reproducible.
 *
 * @module
 */
import { taggedFrame } from "./frame_tag.ts";

const STREAM_SID = "MZ0123456789abcdef0123456789abcdef";
const TWILIO_MEDIA =
  `{"event":"media","sequenceNumber":"4","media":{"track":"inbound","chunk":"2","timestamp":"5","payload":"${
    taggedFrame(42)
  }"},"streamSid":"${STREAM_SID}"}`;
// deno-lint-ignore no-control-regex -- control characters are what it must reject
const UNSAFE = /[\x00-\x20\\]/;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

type Value = string | number | { [key: string]: Value };

/** Parses the JSON subset Twilio uses (no whitespace, escapes, arrays or literals); else undefined. */
function scanSubset(text: string): Record<string, Value> | undefined {
  if (UNSAFE.test(text)) return undefined;
  const r = scanObject(text, 0, 0);
  return r !== undefined && r.end === text.length ? r.value : undefined;
}

function scanObject(
  text: string,
  at: number,
  depth: number,
): { value: Record<string, Value>; end: number } | undefined {
  if (text.charCodeAt(at) !== 123) return undefined;
  const out: Record<string, Value> = {};
  let i = at + 1;
  if (text.charCodeAt(i) === 125) return { value: out, end: i + 1 };
  for (;;) {
    if (text.charCodeAt(i) !== 34) return undefined;
    const keyEnd = text.indexOf('"', i + 1);
    if (keyEnd < 0) return undefined;
    const key = text.slice(i + 1, keyEnd);
    if (key === "__proto__" || Object.hasOwn(out, key)) return undefined;
    if (text.charCodeAt(keyEnd + 1) !== 58) return undefined;
    i = keyEnd + 2;
    const c = text.charCodeAt(i);
    if (c === 34) {
      const end = text.indexOf('"', i + 1);
      if (end < 0) return undefined;
      out[key] = text.slice(i + 1, end);
      i = end + 1;
    } else if (c === 123) {
      if (depth >= 1) return undefined;
      const r = scanObject(text, i, depth + 1);
      if (r === undefined) return undefined;
      out[key] = r.value;
      i = r.end;
    } else {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(text);
      if (m === null) return undefined;
      out[key] = Number(m[0]);
      i += m[0].length;
    }
    const d = text.charCodeAt(i);
    if (d === 44) {
      i++;
      continue;
    }
    return d === 125 ? { value: out, end: i + 1 } : undefined;
  }
}

/** Extracts payload and streamSid with indexOf (unique keys, no escapes); else undefined. */
function indexOfMedia(text: string): { payload: string; streamSid: string } | undefined {
  if (!text.startsWith('{"event":"media",') || UNSAFE.test(text)) return undefined;
  const p = text.indexOf('"payload":"');
  const s = text.indexOf('"streamSid":"');
  if (p < 0 || s < 0) return undefined;
  if (text.indexOf('"payload":"', p + 1) >= 0 || text.indexOf('"streamSid":"', s + 1) >= 0) {
    return undefined;
  }
  return {
    payload: text.slice(p + 11, text.indexOf('"', p + 11)),
    streamSid: text.slice(s + 13, text.indexOf('"', s + 13)),
  };
}

if (JSON.stringify(scanSubset(TWILIO_MEDIA)) !== JSON.stringify(JSON.parse(TWILIO_MEDIA))) {
  throw new Error("The subset scanner disagrees with JSON.parse.");
}

Deno.bench("JSON.parse (the bridge today)", { group: "media", baseline: true }, () => {
  JSON.parse(TWILIO_MEDIA);
});
Deno.bench("subset scanner", { group: "media" }, () => {
  scanSubset(TWILIO_MEDIA);
});
Deno.bench("indexOf extractor", { group: "media" }, () => {
  indexOfMedia(TWILIO_MEDIA);
});
