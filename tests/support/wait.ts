/**
 * Waiting in tests and fakes: delays, timeouts and polls that always clear their timers (tests
 * run with the op sanitizer on), and {@linkcode Waiters} for "the first received item matching a
 * predicate".
 *
 * @module
 */

/** Resolves after `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Races `promise` against a timeout; the timer is cleared whichever settles first.
 *
 * @throws Error `"<label> timed out after <ms> ms"` when the timeout wins.
 */
export async function withTimeout<T>(
  promise: Promise<T>,
  timeoutMs: number,
  label = "operation",
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${label} timed out after ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Polls `condition` every `intervalMs` until it returns true.
 *
 * @throws Error when it is still false after `timeoutMs` (the message includes `label`).
 */
export async function waitUntil(
  condition: () => boolean,
  timeoutMs = 2000,
  label = "condition",
  intervalMs = 5,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() >= deadline) {
      throw new Error(`waitUntil: ${label} still false after ${timeoutMs} ms`);
    }
    await delay(intervalMs);
  }
}

interface Waiter<T> {
  predicate: (item: T) => boolean;
  resolve: (item: T) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * A list of pending "wait for the first item matching a predicate" requests over a growing
 * list of items (received events). Every wait has its own timer, cleared on settle.
 */
export class Waiters<T> {
  #waiters = new Set<Waiter<T>>();

  /**
   * Resolves with the first item of `existing` matching `predicate`, else with the first matching
   * item later passed to {@linkcode Waiters.notify}.
   *
   * @param describe builds the timeout message (called only on timeout).
   */
  wait(
    existing: readonly T[],
    predicate: (item: T) => boolean,
    timeoutMs: number,
    describe: () => string,
  ): Promise<T> {
    const found = existing.find(predicate);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter<T> = {
        predicate,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#waiters.delete(waiter);
          reject(new Error(describe()));
        }, timeoutMs),
      };
      this.#waiters.add(waiter);
    });
  }

  /** Offers a new item to every pending wait. */
  notify(item: T): void {
    for (const waiter of [...this.#waiters]) {
      let matches = false;
      try {
        matches = waiter.predicate(item);
      } catch (error) {
        this.#settle(waiter);
        waiter.reject(error instanceof Error ? error : new Error(String(error)));
        continue;
      }
      if (matches) {
        this.#settle(waiter);
        waiter.resolve(item);
      }
    }
  }

  /** Rejects every pending wait (e.g. when the connection closed). */
  rejectAll(message: string): void {
    for (const waiter of [...this.#waiters]) {
      this.#settle(waiter);
      waiter.reject(new Error(message));
    }
  }

  /** Number of pending waits. */
  get size(): number {
    return this.#waiters.size;
  }

  #settle(waiter: Waiter<T>): void {
    clearTimeout(waiter.timer);
    this.#waiters.delete(waiter);
  }
}
