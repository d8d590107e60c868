import assert from "node:assert/strict";
import fc from "fast-check";
import { type PlayoutMarkEcho, TwilioPlayout } from "../src/fake_peers/twilio_playout.ts";

/** One thing the server sends, or time passing, at whole ms. */
type Op =
  | { kind: "media"; bytes: number; value: number }
  | { kind: "mark" }
  | { kind: "clear" }
  | { kind: "wait"; ms: number };

const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("media" as const),
      bytes: fc.integer({ min: 1, max: 1700 }),
      value: fc.integer({ min: 1, max: 4 }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("mark" as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("clear" as const) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("wait" as const),
      ms: fc.integer({ min: 0, max: 250 }),
    }),
  },
);

/**
 * The naive reference: Twilio's queue played one byte per tick of 1/8 ms, a mark echoed when it
 * reaches the head of the queue, `clear` empties the queue and echoes the marks in it.
 */
class ByteTickReference {
  queue: ({ kind: "byte"; value: number } | { kind: "mark"; name: string })[] = [];
  tick = 0; // in 1/8 ms
  played = new Map<number, number>();
  echoes: { name: string; at: number; cleared: boolean }[] = [];

  advanceTo(ms: number): void {
    const target = ms * 8;
    for (;;) {
      while (this.queue[0]?.kind === "mark") {
        const head = this.queue.shift() as { name: string };
        this.echoes.push({ name: head.name, at: this.tick / 8, cleared: false });
      }
      if (this.tick >= target) break;
      const head = this.queue.shift();
      if (head?.kind === "byte") {
        this.played.set(head.value, (this.played.get(head.value) ?? 0) + 1);
      }
      this.tick++;
    }
  }

  clear(): void {
    for (const q of this.queue) {
      if (q.kind === "mark") this.echoes.push({ name: q.name, at: this.tick / 8, cleared: true });
    }
    this.queue = [];
  }
}

Deno.test("twilio play-out: the model plays, echoes and clears exactly like a byte-by-byte queue", () => {
  fc.assert(
    fc.property(fc.array(opArbitrary, { maxLength: 60 }), (ops) => {
      const model = new TwilioPlayout();
      const reference = new ByteTickReference();
      const echoes: (PlayoutMarkEcho & { at: number })[] = [];
      let now = 0;
      let marks = 0;
      const poll = () => echoes.push(...model.due(now).map((e) => ({ ...e, at: now })));
      for (const op of ops) {
        reference.advanceTo(now);
        if (op.kind === "media") {
          model.media(new Uint8Array(op.bytes).fill(op.value), now);
          for (let i = 0; i < op.bytes; i++) {
            reference.queue.push({ kind: "byte", value: op.value });
          }
        } else if (op.kind === "mark") {
          const name = `m${marks++}`;
          model.mark(name, now);
          reference.queue.push({ kind: "mark", name });
        } else if (op.kind === "clear") {
          echoes.push(...model.clear(now).map((e) => ({ ...e, at: now })));
          reference.clear();
        } else {
          // Poll every ms, as the fakes' timers and the core driver do.
          for (let i = 0; i < op.ms; i++) {
            now++;
            poll();
          }
        }
        reference.advanceTo(now);
        poll();
        for (const value of [1, 2, 3, 4]) {
          assert.equal(model.playedBytes(now, value), reference.played.get(value) ?? 0);
        }
      }
      // Every mark is echoed once, in order, at the ms the reference reached it.
      assert.deepEqual(
        echoes.map((e) => [e.name, e.cleared]),
        reference.echoes.map((e) => [e.name, e.cleared]),
      );
      for (const [i, echo] of echoes.entries()) {
        assert.equal(echo.at, Math.ceil(reference.echoes[i].at), `echo time of ${echo.name}`);
        if (!echo.cleared) assert.equal(echo.dueAt, reference.echoes[i].at);
      }
      assert.deepEqual(
        model.pendingMarks(),
        reference.queue.flatMap((q) => q.kind === "mark" ? [q.name] : []),
      );
    }),
    { numRuns: 300 },
  );
});

Deno.test("twilio play-out: audio queued while idle starts when it arrives; clear stops it", () => {
  const playout = new TwilioPlayout();
  playout.media(new Uint8Array(160).fill(7), 1000); // 20 ms at t=1000
  playout.mark("end", 1000);
  assert.equal(playout.pendingMs(1005), 15);
  assert.deepEqual(playout.due(1019), []);
  assert.equal(playout.nextDueAt(), 1020);
  assert.deepEqual(playout.due(1020).map((e) => [e.name, e.receivedAt, e.dueAt, e.cleared]), [
    ["end", 1000, 1020, false],
  ]);
  playout.media(new Uint8Array(800).fill(9), 1100);
  playout.mark("late", 1100);
  assert.equal(playout.nextDueAt(), 1200, "the gap is not played: the chunk starts at 1100");
  const cleared = playout.clear(1150);
  assert.deepEqual(cleared.map((e) => [e.name, e.dueAt, e.cleared]), [["late", 1200, true]]);
  assert.equal(playout.playedMs(5000, 9), 50, "nothing plays after the clear");
  assert.equal(playout.receivedBytes(9), 800);
  assert.equal(playout.pendingMs(1150), 0);
  // A mark sent when nothing is queued is due at once.
  playout.mark("now", 1160);
  assert.equal(playout.due(1160)[0].name, "now");
});

Deno.test("twilio play-out: without kept audio only marks and counts are tracked", () => {
  const playout = new TwilioPlayout({ keepAudio: false });
  playout.media(1600, 0); // 200 ms, bytes counted only
  playout.mark("m", 10);
  assert.equal(playout.nextDueAt(), 200);
  assert.equal(playout.receivedBytes(), 1600);
  assert.equal(playout.playedBytes(100), 0, "play-out is not measured without the audio");
});
