import assert from "node:assert/strict";
import fc from "fast-check";
import { PlaybackLedger } from "../src/core/playback_ledger.ts";
import { CoreDriver } from "./support/core_driver.ts";
import { bargeInIsExact } from "./support/playout_driving.ts";

Deno.test("marks double from 100 ms up to 1 s while audio streams without a break", () => {
  const ledger = new PlaybackLedger({ markIntervalMs: 100, maxMarkIntervalMs: 1000 });
  const markedAt: number[] = [];
  // 10 s of audio in real time, 20 ms per chunk.
  for (let t = 0; t < 10_000; t += 20) {
    if (ledger.addAudio("item_1", 160, t) !== undefined) markedAt.push(t + 20);
  }
  assert.deepEqual(markedAt.slice(0, 5), [100, 300, 700, 1500, 2500]);
  assert.ok(markedAt.length <= 12, `${markedAt.length} marks for 10 s`);
});

Deno.test("after a break in the audio or a clear, the next mark comes after 100 ms again", () => {
  const ledger = new PlaybackLedger({ markIntervalMs: 100, maxMarkIntervalMs: 1000 });
  let t = 0;
  for (; t < 3000; t += 20) ledger.addAudio("item_1", 160, t);
  // Twilio's queue runs dry at t = 3000; audio resumes at 3500.
  const marked: number[] = [];
  for (t = 3500; t < 3700; t += 20) {
    if (ledger.addAudio("item_2", 160, t) !== undefined) marked.push(t + 20);
  }
  assert.deepEqual(marked, [3600]);
  ledger.clear();
  const afterClear: number[] = [];
  for (t = 4000; t < 4200; t += 20) {
    if (ledger.addAudio("item_3", 160, t) !== undefined) afterClear.push(t + 20);
  }
  assert.deepEqual(afterClear, [4100]);
});

Deno.test("the call core sends about one mark per second of steady audio by default", () => {
  const d = new CoreDriver();
  d.startCall();
  d.responseCreated("resp_1");
  let media = 0;
  let marks = 0;
  for (let i = 0; i < 500; i++) {
    for (const m of d.sentToTwilio(d.delta("resp_1", "item_a", 20))) {
      if (m.event === "media") media++;
      if (m.event === "mark") marks++;
    }
    d.advance(20);
  }
  assert.equal(media, 500);
  assert.ok(marks >= 10 && marks <= 14, `${marks} marks for 10 s`);
});

Deno.test("property: with sparse marks the truncate point stays within 20 ms of what was heard", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({ ms: fc.integer({ min: 10, max: 400 }), gap: fc.integer({ min: 0, max: 300 }) }),
        { minLength: 1, maxLength: 14 },
      ),
      fc.integer({ min: 1, max: 4000 }),
      fc.integer({ min: 20, max: 200 }),
      fc.integer({ min: 200, max: 2000 }),
      (chunks, speakAt, markIntervalMs, maxMarkIntervalMs) =>
        bargeInIsExact(chunks, speakAt, { markIntervalMs, maxMarkIntervalMs }),
    ),
    { numRuns: 150 },
  );
});
