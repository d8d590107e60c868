/**
 * The allowed moves of a state machine, kept as a table and checked on
 * every move, as python-hyper/h11 keeps its connection states: a move the
 * table does not hold is a bug in the core, reported at the move instead of
 * showing up later as a call that hangs or talks over itself. Staying in a
 * state (updating what it holds) is not a move.
 *
 * Each machine's module shows the same moves as a Mermaid diagram in its
 * header; `tests/state_diagrams_test.ts` checks that the two agree.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkMove, type MoveTable } from "./state_moves.ts";
 * const moves: MoveTable<"off" | "on"> = { off: ["on"], on: [] };
 * checkMove("switch", moves, "off", "on");
 * checkMove("switch", moves, "on", "on"); // staying is no move
 * assert.throws(() => checkMove("switch", moves, "on", "off"), /switch: no move from on to off/);
 * ```
 *
 * @module
 */

/** For each state, the states it may move to. */
export type MoveTable<S extends string> = { readonly [From in S]: readonly S[] };

/** A move the table does not allow (a bug in the core, never bad input). */
export class IllegalMove extends Error {
  override name = "IllegalMove";
}

/** Checks the move `from` → `to` of `machine` against `table`; throws {@link IllegalMove}. */
export function checkMove<S extends string>(
  machine: string,
  table: MoveTable<S>,
  from: S,
  to: S,
): void {
  if (from === to || table[from].includes(to)) return;
  throw new IllegalMove(`${machine}: no move from ${from} to ${to}`);
}
