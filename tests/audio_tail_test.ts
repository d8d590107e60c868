/**
 * The caller's audio tail against a model: a list of frames with the same
 * limits. Whatever frames arrive (any size, including ones longer than the
 * whole buffer) and whenever the tail grows, it gives back exactly the frames
 * the model keeps, as the base64 they arrived in.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { AudioTail, type TailLimit } from "../src/core/audio_tail.ts";
import { encodeBase64 } from "../src/audio/base64.ts";

/** What the tail must keep: the newest whole frames within both limits. */
class TailModel {
  frames: Uint8Array[] = [];
  constructor(public limit: TailLimit) {}
  push(frame: Uint8Array): void {
    const kept = frame.length > this.limit.bytes
      ? frame.subarray(frame.length - this.limit.bytes)
      : frame;
    const size = () => this.frames.reduce((n, f) => n + f.length, 0);
    while (
      this.frames.length > 0 &&
      (this.frames.length >= this.limit.frames || size() + kept.length > this.limit.bytes)
    ) this.frames.shift();
    this.frames.push(kept);
  }
  grow(limit: TailLimit): void {
    this.limit = {
      frames: Math.max(limit.frames, this.limit.frames),
      bytes: Math.max(limit.bytes, this.limit.bytes),
    };
  }
}

const step = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.uint8Array({ minLength: 0, maxLength: 400 }).map((b) => ({ push: b })),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      frames: fc.integer({ min: 1, max: 40 }),
      bytes: fc.integer({ min: 1, max: 3000 }),
    })
      .map((grow) => ({ grow })),
  },
);

Deno.test("property: the tail keeps exactly the newest frames within its limits, byte for byte", () => {
  fc.assert(
    fc.property(
      fc.record({
        frames: fc.integer({ min: 1, max: 20 }),
        bytes: fc.integer({ min: 1, max: 2000 }),
      }),
      fc.array(step, { maxLength: 120 }),
      (limit, steps) => {
        const tail = new AudioTail(limit);
        const model = new TailModel(limit);
        for (const s of steps) {
          if ("push" in s) {
            tail.push(encodeBase64(s.push));
            model.push(s.push);
          } else {
            tail.grow(s.grow);
            model.grow(s.grow);
          }
          assert.equal(tail.length, model.frames.length);
        }
        assert.deepEqual(tail.frames(), model.frames.map(encodeBase64));
      },
    ),
    { numRuns: 400 },
  );
});

Deno.test("twilio frames: 1 s kept while silent, grown to 5 s keeps what it had", () => {
  const frame = (i: number) => encodeBase64(new Uint8Array(160).fill(i % 256));
  const tail = new AudioTail({ frames: 50, bytes: 50 * 160 });
  for (let i = 0; i < 120; i++) tail.push(frame(i));
  assert.deepEqual(tail.frames(), Array.from({ length: 50 }, (_, k) => frame(70 + k)));
  tail.grow({ frames: 250, bytes: 250 * 160 });
  for (let i = 120; i < 400; i++) tail.push(frame(i));
  assert.deepEqual(tail.frames(), Array.from({ length: 250 }, (_, k) => frame(150 + k)));
});

Deno.test("text that is not base64 keeps nothing and breaks nothing", () => {
  const tail = new AudioTail({ frames: 5, bytes: 100 });
  tail.push("AAAA");
  tail.push("not base64!");
  tail.push("/w==");
  assert.deepEqual(tail.frames(), ["AAAA", "/w=="]);
});
