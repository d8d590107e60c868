/**
 * Each state machine of the core keeps its allowed moves in a table, checked
 * on every move (`src/core/state_moves.ts`); its module's header shows the
 * same moves as a Mermaid diagram. These tests hold the two together, so a
 * move added to the code without its arrow (or the reverse) fails here.
 */
import assert from "node:assert/strict";
import { INTERRUPTION_MOVES, InterruptionDecision } from "../src/core/interruption_decision.ts";
import { ENDING_MOVES } from "../src/core/call_ending.ts";
import { SESSION_MOVES } from "../src/core/session_lifecycle.ts";
import { TURN_MOVES } from "../src/core/caller_turn.ts";
import { CallEnding } from "../src/core/call_ending.ts";
import { SessionLifecycle } from "../src/core/session_lifecycle.ts";
import { CallerTurn } from "../src/core/caller_turn.ts";
import { IllegalMove, type MoveTable } from "../src/core/state_moves.ts";
import { HANDOFF_MOVES } from "../src/core/warm_handoff.ts";
import { WARM_MOVES, WarmAttempts } from "../src/transfer/warm_attempts.ts";
import { CHECKPOINT_MOVES } from "../src/calls/call_checkpoints.ts";
import { LIVE_PHASE_MOVES, LiveEngine } from "../src/bridge/live_engine.ts";
import { REPLY_MOVES } from "../src/bridge/live_replies.ts";

/** The `from --> to` arrows of the Mermaid diagram in a module's header (`[*]` for the start). */
function diagramMoves(source: string): Array<[string, string]> {
  const block = /```mermaid\n([\s\S]*?)```/.exec(source);
  if (block === null) throw new Error("no Mermaid diagram in the module header");
  const moves: Array<[string, string]> = [];
  for (const raw of block[1].split("\n")) {
    const line = raw.replace(/^\s*\*\s?/, "").trim();
    const arrow = /^(\S+)\s*-->\s*([^\s:]+)/.exec(line);
    if (arrow !== null) moves.push([arrow[1], arrow[2]]);
  }
  return moves;
}

function tableMoves(table: MoveTable<string>): string[] {
  return Object.entries(table).flatMap(([from, tos]) => tos.map((to) => `${from} --> ${to}`))
    .sort();
}

const MACHINES = [
  { file: "core/call_ending.ts", table: ENDING_MOVES, initial: new CallEnding().state.stage },
  { file: "core/warm_handoff.ts", table: HANDOFF_MOVES, initial: "idle" },
  {
    file: "transfer/warm_attempts.ts",
    table: WARM_MOVES,
    initial: new WarmAttempts(["+15005550101"], () => 0).phase,
  },
  {
    file: "core/session_lifecycle.ts",
    table: SESSION_MOVES,
    initial: new SessionLifecycle().state.name,
  },
  {
    file: "core/caller_turn.ts",
    table: TURN_MOVES,
    initial: new CallerTurn({ maxQueuedFrames: 1 }).state.name,
  },
  {
    file: "core/interruption_decision.ts",
    table: INTERRUPTION_MOVES,
    initial: new InterruptionDecision({
      minSpeechMs: 250,
      backchannels: [],
      mode: "cut",
      transcription: false,
      prefixPaddingMs: 300,
      silenceDurationMs: 500,
    }).stage,
  },
  // A call's checkpoint in the call store: its first write makes it live.
  { file: "calls/call_checkpoints.ts", table: CHECKPOINT_MOVES, initial: "live" },
  // GPT-Live's adapter: its session, and the model's replies read from the output track.
  {
    file: "bridge/live_engine.ts",
    table: LIVE_PHASE_MOVES,
    initial: new LiveEngine({ generation: 1, backendModel: "m" }).phase,
  },
  { file: "bridge/live_replies.ts", table: REPLY_MOVES, initial: "quiet" },
];

for (const { file, table, initial } of MACHINES) {
  Deno.test(`${file}: the move table is the module's Mermaid diagram`, async () => {
    const source = await Deno.readTextFile(new URL(`../src/${file}`, import.meta.url));
    const drawn = diagramMoves(source);
    const starts = drawn.filter(([from]) => from === "[*]").map(([, to]) => to);
    assert.deepEqual(starts, [initial], "the diagram starts where the machine starts");
    const arrows = drawn.filter(([from]) => from !== "[*]").map(([from, to]) =>
      `${from} --> ${to}`
    );
    assert.equal(new Set(arrows).size, arrows.length, "each arrow is drawn once");
    assert.deepEqual(arrows.sort(), tableMoves(table));
    for (const [from, to] of drawn) {
      for (const state of [from, to]) {
        if (state !== "[*]") assert.ok(state in table, `${state} is a state of the table`);
      }
    }
  });
}

Deno.test("the diagram reader finds arrows in a JSDoc header and ignores their labels", () => {
  const source = [
    "/**",
    " * ```mermaid",
    " * stateDiagram-v2",
    " *   [*] --> idle",
    " *   idle --> busy: work (a label --> with an arrow)",
    " *   busy-->idle",
    " * ```",
    " */",
  ].join("\n");
  assert.deepEqual(diagramMoves(source), [["[*]", "idle"], ["idle", "busy"], ["busy", "idle"]]);
});

Deno.test("a move the table does not hold throws at the move", () => {
  const ending = new CallEnding();
  ending.begin({ instructions: "Bye.", reason: "done", outcome: "assistant_ended" }, "resp_tool");
  assert.equal(ending.state.stage, "tool_pending");
  // No grace before the farewell was even asked for.
  assert.throws(() => ending.startGrace(), /call ending: no move from tool_pending to grace/);
  const sessions = new SessionLifecycle();
  sessions.opened(sessions.begin());
  sessions.close();
  assert.throws(() => sessions.startReconnect(false), IllegalMove); // closed is final
  const turn = new CallerTurn({ maxQueuedFrames: 10 });
  turn.committed("item_1", 0);
  turn.answered();
  turn.transcribed("item_1");
  assert.equal(turn.state.name, "settled");
  turn.speechStarted();
  turn.answered(); // the previous turn is already settled: no move
  assert.deepEqual(turn.state, { name: "speaking", turn: { name: "settled" } });
  turn.speechStopped();
  assert.equal(turn.state.name, "settled");
});
