import assert from "node:assert/strict";
import { isBase64 } from "../src/audio/base64.ts";

/** The definition isBase64 implements with V8's decoder: alphabet, padding at the end, whole quads. */
const DEFINITION = (text: string) => text.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(text);

Deno.test("isBase64 agrees with its definition on near-base64 text (whitespace, padding, other alphabets)", () => {
  // Characters that decoders treat specially: padding, ASCII whitespace (skipped by
  // fromBase64), base64url's - and _, and a non-ASCII letter.
  const pieces = [
    "A",
    "b",
    "9",
    "+",
    "/",
    "=",
    "==",
    " ",
    "\n",
    "\t",
    "-",
    "_",
    "é",
    "QUJD",
    "AA==",
  ];
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  let valid = 0;
  for (let i = 0; i < 20_000; i++) {
    let text = "";
    const n = Math.floor(random() * 12);
    for (let j = 0; j < n; j++) text += pieces[Math.floor(random() * pieces.length)];
    assert.equal(isBase64(text), DEFINITION(text), JSON.stringify(text));
    if (DEFINITION(text)) valid++;
  }
  assert.ok(valid > 500, `only ${valid} valid samples: the generator must reach both answers`);
});

Deno.test("isBase64 on frames: a Twilio payload, one with whitespace, a long one, unpadded bits", () => {
  const frame = new Uint8Array(160).map((_, i) => (i * 37) & 255).toBase64();
  assert.equal(isBase64(frame), true);
  assert.equal(isBase64(frame.slice(0, 100) + " " + frame.slice(101)), false);
  assert.equal(isBase64(frame.slice(0, 200) + "\n\n\n\n" + frame.slice(204)), false);
  const long = new Uint8Array(48_000).fill(0x55).toBase64(); // beyond the shared buffer
  assert.equal(isBase64(long), true);
  assert.equal(isBase64(long.slice(0, -4) + "A==="), false);
  assert.equal(isBase64("AB=="), true); // non-zero overflow bits: the definition accepts them
  assert.equal(isBase64(""), true);
});
