/**
 * Commits a Deno KV atomic operation, waiting out a busy KV file. When
 * several processes (or handles) share one KV file, SQLite refuses a write
 * while another holds the write lock, and Deno KV throws `TypeError:
 * database is locked` instead of waiting. Nothing was written then, so the
 * same operation is committed again (its checks are checked again) after a
 * short, growing pause; any other error is thrown at once. Opening the file
 * can meet the same lock (SQLite sets the file up on open while another
 * process writes): {@link openKvWaiting} opens it again the same way.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { commitKv } from "./kv_commit.ts";
 * const kv = await Deno.openKv(":memory:");
 * const entry = await kv.get(["n"]);
 * assert.equal((await commitKv(kv.atomic().check(entry).set(["n"], 1))).ok, true);
 * assert.equal((await commitKv(kv.atomic().check(entry).set(["n"], 2))).ok, false);
 * kv.close();
 * ```
 *
 * @module
 */

/** Tries before the busy error is thrown. */
const TRIES = 50;

/** Whether `error` is SQLite's "database is locked" (a busy KV file). */
function isKvBusy(error: unknown): boolean {
  return error instanceof Error && /database is locked|SQLITE_BUSY/i.test(error.message);
}

/** `op.commit()`, committed again while the KV file is busy (up to about 2 s). */
export async function commitKv(
  op: Deno.AtomicOperation,
): Promise<Deno.KvCommitResult | Deno.KvCommitError> {
  for (let attempt = 1;; attempt++) {
    try {
      return await op.commit();
    } catch (error) {
      if (!isKvBusy(error) || attempt >= TRIES) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(5 * attempt, 50)));
    }
  }
}

/** Tries of an open before the busy error is thrown (about 5 s in all). */
const OPEN_TRIES = 60;

/**
 * `Deno.openKv(path)`, opened again while the KV file is busy (another process
 * sharing the file holds its write lock as this one starts: two instances on
 * one machine, a rolling restart). Any other error is thrown at once.
 */
export async function openKvWaiting(
  path: string | undefined,
  open: (path: string | undefined) => Promise<Deno.Kv> = Deno.openKv,
): Promise<Deno.Kv> {
  for (let attempt = 1;; attempt++) {
    try {
      return await open(path);
    } catch (error) {
      if (!isKvBusy(error) || attempt >= OPEN_TRIES) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(10 * attempt, 100)));
    }
  }
}
