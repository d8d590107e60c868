/**
 * The shape of one row of the configuration table ({@link Setting}) and the
 * {@link setting} helper that builds a row while keeping its types: the
 * environment variable name, the `Config` key and the value type are all
 * inferred, so `Config` itself is computed from the table (see `config_type.ts`).
 *
 * A row says everything about one variable: how to parse it (its
 * {@link Kind}), its default, whether it is secret, its one-line doc and its
 * section in the generated docs. Parsing, `describeConfig`, the secret list,
 * unit conversions, `.env.example` and `docs/configuration.md` are loops over
 * the rows.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { integer } from "./kinds.ts";
 * import { setting } from "./setting.ts";
 *
 * const row = setting("PORT", "port", integer(0, 65535), {
 *   default: "5050",
 *   section: "server",
 *   doc: "TCP port to listen on.",
 * });
 * assert.equal(row.env, "PORT");
 * assert.equal(row.kind.accepted, "an integer from 0 to 65535");
 * ```
 *
 * @module
 */

/** An environment: variable names to raw values. */
export type Env = Readonly<Record<string, string | undefined>>;

/** Returned by {@link Kind.parse} after it reported a problem. */
export const INVALID: unique symbol = Symbol("invalid");

/** What a {@link Kind} may use while parsing one value. */
export interface ParseContext {
  /** The variable being parsed, e.g. `PORT`. */
  readonly name: string;
  /** The whole environment (for the few kinds that look at another variable). */
  readonly env: Env;
  /** Quotes a value for a message, or hides it when it looks like a secret. */
  show(value: string): string;
  /** Reports `NAME must be <accepted>, got "<value>".` */
  invalid(value: string, accepted?: string): typeof INVALID;
  /** Reports a problem in its own words; returns {@link INVALID}. */
  problem(text: string): typeof INVALID;
  /** Reads a text file (for `SYSTEM_MESSAGE_FILE`); throws if it cannot. */
  readTextFile(path: string): string;
  /** Reads a binary file (for `WAITING_SOUND`); throws if it cannot. */
  readFile(path: string): Uint8Array;
}

/** How one variable's raw text becomes a typed value. */
export interface Kind<T> {
  /** The accepted values, used in messages and docs ("an integer from 0 to 65535"). */
  readonly accepted: string;
  /** Parses a trimmed, non-empty value; reports through `ctx` and returns {@link INVALID} when bad. */
  parse(raw: string, ctx: ParseContext): T | typeof INVALID;
}

/** The sections of the generated documentation, in their order. */
export type SectionId =
  | "required"
  | "openai"
  | "server"
  | "assistant"
  | "turns"
  | "ending"
  | "twilio"
  | "long_calls"
  | "logging"
  | "security"
  | "operations"
  | "softphone"
  | "unsupported";

/** Options of a row, besides its name, key and kind. */
export interface SettingOptions<T> {
  /** The default as raw text, parsed by the row's kind; shown in the docs and `.env.example`. */
  default?: string;
  /** A default that depends on the environment (e.g. Deno Deploy); needs {@link defaultDoc}. */
  defaultValue?: (env: Env) => T;
  /** How the docs describe the default when it is computed, or not simply `default`. */
  defaultDoc?: string;
  /** Unset is a problem: the text of that problem. */
  required?: { missing: string };
  /** Never shown: in messages, `describeConfig` or logs (the value is redacted from log lines). */
  secret?: boolean;
  /** Not a secret but private (a phone number): `describeConfig` says only "set" or "not set". */
  private?: boolean;
  /** An empty value is a value (passed to the kind as ""), not "unset". */
  emptyIsValue?: boolean;
  /** Parsed only when this holds (else left at its default); a rule warns when it is set anyway. */
  when?: (env: Env) => boolean;
  /** The sentence of the docs, starting with a capital, ending with a period. */
  doc: string;
  /** Where the docs list it. */
  section: SectionId;
  /** The value shown in `.env.example` when the default would not help (e.g. `https://example.ngrok.app`). */
  example?: string;
  /** The core option in milliseconds this number of seconds becomes (see `units.ts`). */
  coreMs?: string;
  /** Part of a composed `Config` field: the rule that builds `name` sets its `field` from this row. */
  group?: { name: string; field: string };
  /** How `describeConfig` shows the value (default: the value itself, or "not set"). */
  describe?: (value: T) => unknown;
}

/** One row of the table. `K` is the `Config` key, or undefined for an input of a rule only. */
export interface Setting<
  E extends string = string,
  K extends string | undefined = string | undefined,
  T = unknown,
  D extends boolean = boolean,
> extends SettingOptions<T> {
  /** The environment variable. */
  readonly env: E;
  /** The `Config` field it sets, or undefined when only a rule reads it. */
  readonly key: K;
  /** How its value is parsed. */
  readonly kind: Kind<T>;
  /** Type-level flag: true when the value is never undefined (a default or required). */
  readonly hasDefault: D;
}

/** Whether options give the row a value when unset. */
type HasDefault<O> = O extends { default: string } ? true
  : O extends { defaultValue: (env: Env) => unknown } ? true
  : O extends { required: { missing: string } } ? true
  : false;

/**
 * Builds a row of the table, keeping the literal types of the variable name
 * and the key, and whether the value can be undefined.
 *
 * @param env The environment variable.
 * @param key The `Config` field, or undefined when only a rule reads it.
 * @param kind How the value is parsed.
 * @param options Default, doc, section and flags.
 * @returns The row.
 */
export function setting<
  const E extends string,
  const K extends string | undefined,
  T,
  const O extends SettingOptions<T>,
>(env: E, key: K, kind: Kind<T>, options: O): Setting<E, K, T, HasDefault<O>> & CoreMs<O> {
  const hasDefault = options.default !== undefined || options.defaultValue !== undefined ||
    options.required !== undefined;
  return {
    ...options,
    env,
    key,
    kind,
    hasDefault: hasDefault as HasDefault<O>,
  } as Setting<E, K, T, HasDefault<O>> & CoreMs<O>;
}

/** Keeps the literal name of a row's `coreMs` option in its type (for `CoreTimings`). */
type CoreMs<O> = O extends { coreMs: infer M extends string } ? { readonly coreMs: M } : unknown;

/** The parsed value type of a row: `T`, or `T | undefined` when it has no default. */
export type ValueOf<R> = R extends Setting<string, string | undefined, infer T, infer D>
  ? D extends true ? T : T | undefined
  : never;

/** Any row, whatever its value type. */
// deno-lint-ignore no-explicit-any
export type AnySetting = Setting<string, string | undefined, any, boolean>;

/** Values by `Config` key of the rows that have one. */
export type ValuesByKey<R extends AnySetting> = {
  [Row in R as Row["key"] extends string ? Row["key"] : never]: ValueOf<Row>;
};

/** Values by environment variable name of all rows (what the rules read). */
export type ValuesByEnv<R extends AnySetting> = {
  [Row in R as Row["env"]]: ValueOf<Row>;
};
