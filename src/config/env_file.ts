/**
 * Reads a `.env` file at run time and merges it under the real environment.
 *
 * `deno run --env-file` only works for `deno run`; a binary built with
 * `deno compile` calls {@link loadEnvFile} instead, so it reads `.env` from
 * its working directory too.
 *
 * @module
 */

import { parseEnv } from "node:util";
import { errorMessage } from "../observability/error_message.ts";

/** Options for {@link loadEnvFile}. */
export interface LoadEnvFileOptions {
  /**
   * Path of the file to read; relative paths start in the working directory.
   *
   * @default {".env"}
   */
  path?: string;
  /**
   * The real environment, which wins over the file.
   *
   * @default {Deno.env.toObject()}
   */
  env?: Record<string, string>;
  /**
   * Reads the file; throws `Deno.errors.NotFound` (or an error with code
   * `ENOENT`) when it does not exist.
   *
   * @default {Deno.readTextFileSync}
   */
  readTextFile?: (path: string) => string;
}

/**
 * Returns the variables of a `.env` file merged under the real environment:
 * a variable set in the real environment keeps its value even when the file
 * sets it too. A missing file is not an error.
 *
 * The file is parsed with `parseEnv` from `node:util` (comments, quotes,
 * `export` prefixes and multi-line double-quoted values are supported).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadEnvFile } from "./env_file.ts";
 *
 * const env = loadEnvFile({
 *   env: { PORT: "8080" },
 *   readTextFile: () => "PORT=5050\nVOICE=marin\n",
 * });
 * assert.deepEqual(env, { PORT: "8080", VOICE: "marin" });
 * ```
 *
 * @param options Which file to read and which environment it goes under.
 * @returns A new object with the merged variables.
 * @throws {Error} If the file exists but cannot be read.
 */
export function loadEnvFile(options: LoadEnvFileOptions = {}): Record<string, string> {
  const path = options.path ?? ".env";
  const env = options.env ?? Deno.env.toObject();
  const readTextFile = options.readTextFile ?? Deno.readTextFileSync;

  let text: string;
  try {
    text = readTextFile(path);
  } catch (error) {
    if (isNotFound(error)) return { ...env };
    const reason = errorMessage(error);
    throw new Error(
      `Could not read the environment file ${
        JSON.stringify(path)
      }: ${reason}. Make it readable (and run with --allow-read), or remove it and set the variables in the environment instead.`,
      { cause: error },
    );
  }

  const merged: Record<string, string> = {};
  for (const [name, value] of Object.entries(parseEnv(text))) {
    if (value !== undefined) merged[name] = value;
  }
  return Object.assign(merged, env);
}

function isNotFound(error: unknown): boolean {
  return error instanceof Deno.errors.NotFound ||
    (error instanceof Error && (error as { code?: unknown }).code === "ENOENT");
}

/**
 * The real environment (for `${VAR}` values of the agents file, which are
 * read from the environment only, never from `.env` defaults).
 */
export function environment(): Record<string, string> {
  return Deno.env.toObject();
}

/**
 * Sets each of `values` in the environment unless it is already set there
 * (`deno task dev` applies its defaults and `.env` this way).
 */
export function setUnsetVariables(values: Readonly<Record<string, string>>): void {
  for (const [name, value] of Object.entries(values)) {
    if (Deno.env.get(name) === undefined) Deno.env.set(name, value);
  }
}
