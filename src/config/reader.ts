/**
 * Reads raw values from an environment and collects every problem and
 * warning, so that one start-up lists all of them. Values that look like
 * secrets are never quoted in a message.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { EnvReader } from "./reader.ts";
 *
 * const reader = new EnvReader({ PORT: " 80 ", VOICE: "" }, []);
 * assert.equal(reader.raw("PORT"), "80");
 * assert.equal(reader.raw("VOICE"), undefined, "empty counts as unset");
 * reader.invalid("PORT", "an integer", "x");
 * assert.deepEqual(reader.problems, ['PORT must be an integer, got "x".']);
 * ```
 *
 * @module
 */
import type { Env } from "./setting.ts";

const OPENAI_KEY_LIKE = /sk-[A-Za-z0-9_-]{20,}/;

/** Reads variables from an environment and collects problems and warnings. */
export class EnvReader {
  /** Every problem found, in order. */
  readonly problems: string[] = [];
  /** Every warning found, in order. */
  readonly warnings: string[] = [];
  /** The environment read. */
  readonly env: Env;
  #secrets: string[] = [];

  /**
   * @param env The environment.
   * @param secretNames Variables whose values are hidden wherever they appear in a message.
   */
  constructor(env: Env, secretNames: readonly string[]) {
    this.env = env;
    for (const name of secretNames) {
      const value = this.raw(name);
      if (value !== undefined) this.#secrets.push(value);
    }
  }

  /** Adds a problem. */
  problem(text: string): void {
    this.problems.push(text);
  }

  /** Adds a warning. */
  warning(text: string): void {
    this.warnings.push(text);
  }

  /** The trimmed value, or undefined when unset or empty. */
  raw(name: string): string | undefined {
    const value = this.env[name]?.trim();
    return value === undefined || value === "" ? undefined : value;
  }

  /** Whether the variable is present at all (even empty). */
  present(name: string): boolean {
    return this.env[name] !== undefined;
  }

  /** Quotes a value for a message, hiding anything that looks like a secret. */
  show(value: string): string {
    if (
      this.#secrets.some((secret) => secret.length >= 4 && value.includes(secret)) ||
      OPENAI_KEY_LIKE.test(value)
    ) {
      return "(value hidden because it looks like a secret)";
    }
    const shown = value.length > 120 ? `${value.slice(0, 117)}...` : value;
    return JSON.stringify(shown);
  }

  /** Adds `NAME must be <accepted>, got "<value>".` */
  invalid(name: string, accepted: string, value: string): void {
    this.problem(`${name} must be ${accepted}, got ${this.show(value)}.`);
  }
}
