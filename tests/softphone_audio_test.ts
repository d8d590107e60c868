import assert from "node:assert/strict";
import {
  decodeMulaw,
  encodeMulaw,
  floatToInt16,
  linearToMulaw,
  mulawToLinear,
} from "../src/audio/mulaw.js";
import { Downsampler } from "../src/softphone/resample.js";
import { requireCommand, run } from "./support/system_tools.ts";
import { readWav16 } from "./support/wav.ts";

const PHRASE = "Hello, I would like to book a viewing of the flat on Baker Street tomorrow.";

async function speechAt8k(dir: string): Promise<{ wav: string; samples: Int16Array }> {
  const espeak = await requireCommand("espeak-ng", "espeak-ng");
  const sox = await requireCommand("sox", "sox");
  const speech = `${dir}/speech.wav`;
  const wav = `${dir}/speech8k.wav`;
  await run(espeak, ["-w", speech, PHRASE]);
  await run(sox, ["-D", speech, "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", wav]);
  const parsed = readWav16(await Deno.readFile(wav));
  assert.equal(parsed.rate, 8000);
  return { wav, samples: parsed.samples };
}

/** Position of a μ-law byte on the quantisation scale (adjacent codes differ by 1). */
function level(byte: number): number {
  const magnitude = 0x7f - (byte & 0x7f);
  return byte & 0x80 ? magnitude : -magnitude - 1;
}

Deno.test("μ-law encoding of real speech matches sox byte for byte", async () => {
  const sox = await requireCommand("sox", "sox");
  const dir = await Deno.makeTempDir({ prefix: "mulaw_test_" });
  try {
    const { wav, samples } = await speechAt8k(dir);
    assert.ok(samples.length > 8000, "espeak-ng produced more than a second of speech");
    const ul = `${dir}/speech.ul`;
    await run(sox, ["-D", wav, "-t", "raw", "-e", "mu-law", "-b", "8", "-c", "1", ul]);
    const reference = await Deno.readFile(ul);
    const ours = encodeMulaw(samples);
    assert.equal(ours.length, reference.length);
    let differ = 0;
    let maxSteps = 0;
    for (let i = 0; i < ours.length; i++) {
      if (ours[i] !== reference[i]) {
        differ++;
        maxSteps = Math.max(maxSteps, Math.abs(level(ours[i]) - level(reference[i])));
      }
    }
    assert.ok(maxSteps <= 1, `within one quantisation step (max ${maxSteps})`);
    assert.equal(differ, 0, `byte-exact (${differ} of ${ours.length} bytes differ)`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("μ-law encoding matches sox for every 16-bit value, and decoding matches sox exactly", async () => {
  const sox = await requireCommand("sox", "sox");
  const dir = await Deno.makeTempDir({ prefix: "mulaw_test_" });
  try {
    const all = new Int16Array(65536);
    for (let i = 0; i < all.length; i++) all[i] = i - 32768;
    await Deno.writeFile(`${dir}/all.s16`, new Uint8Array(all.buffer));
    const raw = ["-t", "raw", "-r", "8000", "-c", "1"];
    await run(sox, [
      "-D",
      ...raw,
      "-e",
      "signed-integer",
      "-b",
      "16",
      `${dir}/all.s16`,
      ...raw,
      "-e",
      "mu-law",
      "-b",
      "8",
      `${dir}/all.ul`,
    ]);
    const reference = await Deno.readFile(`${dir}/all.ul`);
    const ours = encodeMulaw(all);
    const mismatches = [...ours.keys()].filter((i) => ours[i] !== reference[i]);
    assert.deepEqual(mismatches.slice(0, 5).map((i) => all[i]), [], "no 16-bit value differs");

    const codes = new Uint8Array(256).map((_, i) => i);
    await Deno.writeFile(`${dir}/codes.ul`, codes);
    await run(sox, [
      ...raw,
      "-e",
      "mu-law",
      "-b",
      "8",
      `${dir}/codes.ul`,
      ...raw,
      "-e",
      "signed-integer",
      "-b",
      "16",
      `${dir}/codes.s16`,
    ]);
    const decoded = new Int16Array((await Deno.readFile(`${dir}/codes.s16`)).buffer);
    assert.deepEqual([...decodeMulaw(codes)], [...decoded]);
    assert.equal(mulawToLinear(linearToMulaw(0)), 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

function sine(rate: number, frequency: number, seconds: number, amplitude = 0.5): Float32Array {
  const out = new Float32Array(Math.round(rate * seconds));
  for (let i = 0; i < out.length; i++) {
    out[i] = amplitude * Math.sin((2 * Math.PI * frequency * i) / rate);
  }
  return out;
}

function rms(values: Float32Array, from = 0, to = values.length): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += values[i] * values[i];
  return Math.sqrt(sum / (to - from));
}

Deno.test("the page's 48 kHz → 8 kHz resampler keeps speech-band tones and removes what would alias", () => {
  const down = new Downsampler(48000, 8000);
  const out = down.push(sine(48000, 1000, 1));
  assert.ok(Math.abs(out.length - 8000) <= 20, `about 8000 samples (${out.length})`);
  // Zero-phase FIR: the output is the same 1 kHz sine sampled at 8 kHz.
  let errorSum = 0;
  for (let i = 100; i < out.length - 100; i++) {
    const expected = 0.5 * Math.sin((2 * Math.PI * 1000 * i) / 8000);
    errorSum += (out[i] - expected) ** 2;
  }
  const errorRms = Math.sqrt(errorSum / (out.length - 200));
  assert.ok(errorRms < 0.01, `1 kHz passes unchanged (error RMS ${errorRms.toFixed(4)})`);
  // 6 kHz would fold to 2 kHz at 8 kHz: the low-pass must remove it.
  const alias = new Downsampler(48000, 8000).push(sine(48000, 6000, 1));
  const leaked = rms(alias, 100, alias.length - 100) / rms(sine(48000, 6000, 1));
  assert.ok(leaked < 0.03, `6 kHz is attenuated (${(leaked * 100).toFixed(2)} % leaks)`);
});

Deno.test("the resampler gives the same output whatever the block sizes (44.1 kHz in)", () => {
  const input = sine(44100, 440, 0.5, 0.8);
  const whole = new Downsampler(44100, 8000).push(input);
  const chunked = new Downsampler(44100, 8000);
  const parts: number[] = [];
  let offset = 0;
  let size = 1;
  while (offset < input.length) {
    parts.push(...chunked.push(input.subarray(offset, offset + size)));
    offset += size;
    size = (size * 7 + 3) % 1500 + 1;
  }
  assert.equal(parts.length, whole.length);
  for (let i = 0; i < whole.length; i++) assert.ok(Math.abs(parts[i] - whole[i]) < 1e-5);
  assert.deepEqual([...floatToInt16(new Float32Array([1, -1, 0.5, 2]))], [
    32767,
    -32768,
    16384,
    32767,
  ]);
});
