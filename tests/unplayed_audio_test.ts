/**
 * UnplayedAudio keeps bytes in one buffer and runs of chunks instead of each
 * chunk's base64 string (which V8 promoted to its old generation, frame after
 * frame). Checked against the model of what it must answer: the list of
 * chunks as sent, each cut or dropped by stream position.
 */
import assert from "node:assert/strict";
import { type SentChunk, UnplayedAudio } from "../src/core/unplayed_audio.ts";
import { type Base64, encodeBase64 } from "../src/audio/base64.ts";

/** The reference: every chunk kept as sent. */
class ChunkList {
  #chunks: SentChunk[] = [];
  #itemBytes = new Map<string, number>();
  add(responseId: string, itemId: string, start: number, delta: Base64, bytes: number): void {
    const itemStart = this.#itemBytes.get(itemId) ?? 0;
    this.#itemBytes.set(itemId, itemStart + bytes);
    this.#chunks.push({ responseId, itemId, itemStart, start, delta, bytes });
  }
  played(position: number): void {
    while (this.#chunks.length > 0 && this.#chunks[0].start + this.#chunks[0].bytes <= position) {
      this.#chunks.shift();
    }
  }
  from(position: number): SentChunk[] {
    const rest: SentChunk[] = [];
    for (const chunk of this.#chunks) {
      const skip = position - chunk.start;
      if (skip >= chunk.bytes) continue;
      if (skip <= 0) {
        rest.push(chunk);
        continue;
      }
      const tail = Uint8Array.fromBase64(chunk.delta).subarray(skip);
      rest.push({
        ...chunk,
        itemStart: chunk.itemStart + skip,
        start: chunk.start + skip,
        delta: encodeBase64(tail),
        bytes: tail.length,
      });
    }
    return rest;
  }
  clear(): void {
    this.#chunks = [];
  }
  rewindItem(itemId: string, bytes: number): void {
    if (bytes <= 0) this.#itemBytes.delete(itemId);
    else this.#itemBytes.set(itemId, bytes);
  }
}

Deno.test("UnplayedAudio answers like the list of chunks as sent (random sends, marks, cuts, clears)", () => {
  let seed = 11;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  let compared = 0;
  let cut = 0;
  for (let run = 0; run < 300; run++) {
    const real = new UnplayedAudio();
    const model = new ChunkList();
    let position = 0; // stream position of the next byte sent
    let playedTo = 0;
    let response = 1;
    let item = 1;
    let fill = 0;
    for (let step = 0; step < 200; step++) {
      const r = random();
      if (r < 0.6) {
        // A chunk of 1..3000 bytes (OpenAI's deltas vary), sometimes of a new item or response,
        // sometimes after a gap in stream positions (audio that is not kept, e.g. the waiting sound).
        if (random() < 0.1) item++;
        if (random() < 0.05) response++;
        if (random() < 0.05) position += 1 + Math.floor(random() * 400);
        const bytes = 1 + Math.floor(random() * (random() < 0.8 ? 320 : 3000));
        const delta = encodeBase64(new Uint8Array(bytes).map(() => fill++ & 255));
        real.add(`resp_${response}`, `item_${item}`, position, delta, bytes);
        model.add(`resp_${response}`, `item_${item}`, position, delta, bytes);
        position += bytes;
      } else if (r < 0.85) {
        // A mark echo: played up to some point not beyond what was sent.
        playedTo = Math.min(position, playedTo + Math.floor(random() * 2000));
        real.played(playedTo);
        model.played(playedTo);
      } else if (r < 0.97) {
        const at = playedTo + Math.floor(random() * Math.max(1, position - playedTo + 50)) - 25;
        const expected = model.from(at);
        assert.deepEqual(real.from(at), expected, `run ${run} step ${step} from(${at})`);
        compared++;
        if (expected.length > 0 && expected[0].start === at && at > 0) cut++;
      } else {
        // A clear: stream positions start again; item offsets rewind as the caller does.
        real.clear();
        model.clear();
        position = 0;
        playedTo = 0;
        if (random() < 0.5) {
          const bytes = Math.floor(random() * 500);
          real.rewindItem(`item_${item}`, bytes);
          model.rewindItem(`item_${item}`, bytes);
        }
      }
    }
  }
  assert.ok(compared > 5000 && cut > 100, `${compared} comparisons, ${cut} of them cut a chunk`);
});

Deno.test("UnplayedAudio: a delta that is not base64 of its length is kept as silence, positions intact", () => {
  const kept = new UnplayedAudio();
  kept.add("resp_1", "item_a", 0, "not base64!", 6);
  kept.add("resp_1", "item_a", 6, btoa("abcd"), 4);
  const rest = kept.from(3);
  assert.deepEqual(rest.map((c) => [c.start, c.itemStart, c.bytes]), [[3, 3, 3], [6, 6, 4]]);
  assert.deepEqual([...Uint8Array.fromBase64(rest[0].delta)], [0xff, 0xff, 0xff]);
  assert.equal(atob(rest[1].delta), "abcd");
});
