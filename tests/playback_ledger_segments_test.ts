/**
 * The ledger keeps one segment for audio streamed without a break, instead
 * of one per 20 ms chunk (a chunk joins the last segment when it starts
 * playing as that one ends). That must not change a single estimate: here the
 * ledger is checked, snapshot by snapshot, against the plain model of
 * Twilio's play-out with one segment per chunk, under random chunks, gaps,
 * item changes, clears and mark echoes (early, late, skipped).
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { PlaybackLedger } from "../src/core/playback_ledger.ts";
import { BYTES_PER_MS } from "../src/audio/frames.js";

interface Chunk {
  itemId: string;
  itemStart: number;
  start: number;
  end: number;
  sentAt: number;
}

/** One segment per chunk: a chunk plays from when it was sent or when the one before ends. */
class PerChunkModel {
  chunks: Chunk[] = [];
  total = 0;
  itemBytes = new Map<string, number>();
  anchorPos = 0;
  anchorTime = Number.NEGATIVE_INFINITY;
  add(itemId: string, bytes: number, now: number): void {
    const itemStart = this.itemBytes.get(itemId) ?? 0;
    this.itemBytes.set(itemId, itemStart + bytes);
    this.chunks.push({
      itemId,
      itemStart,
      start: this.total,
      end: this.total + bytes,
      sentAt: now,
    });
    this.total += bytes;
  }
  anchor(pos: number, now: number): void {
    this.anchorPos = pos;
    this.anchorTime = now;
  }
  clear(): void {
    this.chunks = [];
    this.total = 0;
    this.anchorPos = 0;
    this.anchorTime = Number.NEGATIVE_INFINITY;
  }
  played(now: number): number {
    let pos = this.anchorPos;
    let time = this.anchorTime;
    for (const c of this.chunks) {
      if (c.end <= pos) continue;
      const from = Math.max(c.start, pos);
      const startTime = Math.max(time, c.sentAt);
      if (now <= startTime) return from;
      const available = c.end - from;
      const played = (now - startTime) * BYTES_PER_MS;
      if (played < available) return from + played;
      pos = c.end;
      time = startTime + available / BYTES_PER_MS;
    }
    return pos;
  }
  /** The item being heard and the whole ms of it heard at `now`. */
  heard(now: number): { itemId: string; audioEndMs: number } | undefined {
    const played = this.played(now);
    const live = this.chunks.filter((c) => c.end > this.anchorPos || c === this.chunks.at(-1));
    const c = live.find((c) => played < c.end) ?? live.at(-1);
    if (c === undefined) return undefined;
    const within = Math.min(Math.max(played - c.start, 0), c.end - c.start);
    return { itemId: c.itemId, audioEndMs: Math.floor((c.itemStart + within) / BYTES_PER_MS) };
  }
}

const step = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record({
      kind: fc.constant("audio" as const),
      item: fc.constantFrom("a", "b", "c"),
      ms: fc.constantFrom(20, 20, 20, 40, 100, 7),
      // Mostly real time (20 ms apart, with jitter), sometimes a burst or a break.
      wait: fc.oneof(
        fc.integer({ min: 15, max: 25 }),
        fc.constant(0),
        fc.integer({ min: 0, max: 400 }),
      ),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("echo" as const),
      wait: fc.integer({ min: 0, max: 300 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("look" as const),
      wait: fc.integer({ min: 0, max: 200 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "clear" as const, wait: 0 }) },
);

Deno.test("property: one segment per unbroken stretch estimates exactly what one segment per chunk does", () => {
  fc.assert(
    fc.property(fc.array(step, { minLength: 1, maxLength: 150 }), (steps) => {
      const ledger = new PlaybackLedger({ markIntervalMs: 100, maxMarkIntervalMs: 1000 });
      const model = new PerChunkModel();
      const marks: { name: string; pos: number }[] = [];
      let now = 0;
      for (const s of steps) {
        now += s.wait;
        if (s.kind === "audio") {
          const bytes = s.ms * BYTES_PER_MS;
          const mark = ledger.addAudio(s.item, bytes, now);
          model.add(s.item, bytes, now);
          if (mark !== undefined) marks.push({ name: mark, pos: model.total });
        } else if (s.kind === "echo") {
          // Twilio echoes marks in order; an echo may come early or late (the ledger trusts it).
          const mark = marks.shift();
          if (mark !== undefined) {
            ledger.onMark(mark.name, now);
            model.anchor(mark.pos, now);
          }
        } else if (s.kind === "clear") {
          ledger.clear();
          model.clear();
          marks.length = 0;
        }
        const snap = ledger.snapshot(now);
        assert.equal(snap.pendingMs, (model.total - model.played(now)) / BYTES_PER_MS);
        const heard = model.heard(now);
        assert.deepEqual(
          snap.current === undefined
            ? undefined
            : { itemId: snap.current.itemId, audioEndMs: snap.current.audioEndMs },
          heard,
        );
      }
    }),
    { numRuns: 1000 },
  );
});
