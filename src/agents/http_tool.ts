/**
 * HTTP tools: a function tool the model calls and the bridge answers with
 * one HTTP request to the business's backend.
 *
 * - The arguments are checked against the tool's JSON Schema first: a bad
 *   argument goes back to the model as an error output and no request is made.
 * - GET: arguments fill the URL's `{placeholders}` (URL-encoded), the others
 *   go in the query string. POST: placeholders likewise, the others in a JSON body.
 * - Headers carry the secrets resolved at load; they go to the backend only.
 * - The response (JSON, or text) is capped ({@link MAX_TOOL_OUTPUT_BYTES});
 *   a timeout, a refused connection or an HTTP error becomes a structured
 *   error output (`{error: {type, message}}`) the model can tell the caller about.
 *   Messages never contain the URL, headers or the backend's raw error text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { HttpTool } from "./http_tool.ts";
 * const seen: string[] = [];
 * const tool = new HttpTool({
 *   name: "lookup_listing", description: "Look up a listing.",
 *   parameters: { type: "object", properties: { listing_id: { type: "string" } }, required: ["listing_id"] },
 *   method: "GET", url: "https://api.example.com/listings/{listing_id}", headers: {}, timeoutMs: 5000,
 * }, {
 *   fetch: (input) => {
 *     seen.push(String(input instanceof Request ? input.url : input));
 *     return Promise.resolve(Response.json({ price: 450000 }));
 *   },
 * });
 * const signal = new AbortController().signal;
 * assert.deepEqual(await tool.run({ listing_id: "a b" }, signal), { status: 200, data: { price: 450000 } });
 * assert.deepEqual(seen, ["https://api.example.com/listings/a%20b"]);
 * const bad = await tool.run({ listing_id: 7 }, signal) as { error: { type: string } };
 * assert.equal(bad.error.type, "invalid_arguments");
 * assert.equal(seen.length, 1);
 * ```
 *
 * @module
 */
import { Ajv, type ValidateFunction } from "ajv/dist/ajv.js";
import type { ToolDefinition } from "../tools/tool_registry.ts";
import { readCappedBody } from "../security/limits.ts";
import { createSecretRedactor, headerSecrets, redactDeep } from "../security/secret_redaction.ts";

/** Largest response body, in bytes, returned to the model. */
export const MAX_TOOL_OUTPUT_BYTES = 8 * 1024;

/** Default timeout of an HTTP tool, in ms. */
export const DEFAULT_HTTP_TOOL_TIMEOUT_MS = 5000;

/** An HTTP tool, ready to run (secrets resolved). */
export interface HttpToolSpec {
  name: string;
  description: string;
  /**
   * JSON Schema of the arguments (`type: "object"`). Only its declared
   * properties are sent: without an explicit `additionalProperties`, the
   * bridge adds `additionalProperties: false` (see {@link closedParameters}).
   */
  parameters: Record<string, unknown>;
  method: "GET" | "POST";
  /** URL with `{placeholders}` named after parameters. */
  url: string;
  /** Request headers (may hold secrets; sent to the backend only). */
  headers: Record<string, string>;
  timeoutMs: number;
  /**
   * Secret values (the agents file's `${VAR}` values) replaced by
   * `[redacted]` in the output, besides the header values, which always are.
   */
  secrets?: readonly string[];
  /** The call recording is paused while it runs (`sensitive: true`). */
  sensitive?: boolean;
}

/** The kinds of error output of an HTTP tool. */
export type HttpToolErrorType =
  | "invalid_arguments"
  | "timeout"
  | "http_error"
  | "unreachable"
  | "cancelled";

/** What the model receives: the answer, or an error it can talk about. */
export type HttpToolOutput =
  | { status: number; data: unknown; truncated?: true }
  | { error: { type: HttpToolErrorType; message: string; status?: number } };

/** Dependencies of {@link HttpTool}. */
export interface HttpToolOptions {
  /** Default: the global `fetch`. */
  fetch?: typeof fetch;
}

const PLACEHOLDER = /\{([A-Za-z0-9_]+)\}/g;
/** Placeholder values that would move the path (a dot segment) or empty it. */
const PATH_MOVING_VALUES = new Set(["", ".", ".."]);
/**
 * Compiles a tool's parameters schema with a fresh Ajv (a schema's `$id`
 * would collide with the one of the previous load in a shared one); throws
 * with Ajv's message when it is not a valid JSON Schema.
 */
export function compileParameters(parameters: Record<string, unknown>): ValidateFunction {
  return new Ajv({ allErrors: true, strict: false }).compile(parameters);
}

/**
 * The parameters as declared and checked: `additionalProperties: false`
 * unless the author wrote `additionalProperties` themselves (`true` is the
 * opt-out), so arguments the model makes up beside the
 * declared ones (`admin=true`, a second `key=`) are refused, never sent.
 */
export function closedParameters(parameters: Record<string, unknown>): Record<string, unknown> {
  return "additionalProperties" in parameters
    ? parameters
    : { ...parameters, additionalProperties: false };
}

/**
 * Where every request of a URL template must go: its origin, and the path
 * before its first path placeholder (`/v1/listings/` of
 * `/v1/listings/{id}/details`), or exactly its path when the path has none.
 * Undefined when the origin itself holds a placeholder (refused at load).
 */
export function fixedPathOf(
  template: string,
): { origin: string; path: string; exact: boolean } | undefined {
  const cut = template.search(/[{?#]/);
  try {
    const url = new URL(cut < 0 ? template : template.slice(0, cut));
    if (cut < 0 || template[cut] !== "{") {
      return { origin: url.origin, path: url.pathname, exact: true };
    }
    const path = url.pathname;
    return { origin: url.origin, path: path.slice(0, path.lastIndexOf("/") + 1), exact: false };
  } catch {
    return undefined;
  }
}

/** One HTTP tool. */
export class HttpTool {
  readonly spec: HttpToolSpec;
  #parameters: Record<string, unknown>;
  #validate: ValidateFunction;
  #fetch: typeof fetch;
  #redact: (text: string) => string;
  #fixed: { origin: string; path: string; exact: boolean } | undefined;

  /** Compiles the parameters schema (throws when it is invalid). */
  constructor(spec: HttpToolSpec, options: HttpToolOptions = {}) {
    this.spec = spec;
    this.#parameters = closedParameters(spec.parameters);
    this.#validate = compileParameters(this.#parameters);
    this.#fetch = options.fetch ?? fetch;
    this.#fixed = fixedPathOf(spec.url);
    this.#redact = createSecretRedactor([...(spec.secrets ?? []), ...headerSecrets(spec.headers)]);
  }

  /** The tool as a {@link ToolDefinition} for the call runner. */
  definition(): ToolDefinition {
    return {
      declaration: {
        type: "function",
        name: this.spec.name,
        description: this.spec.description,
        parameters: this.#parameters,
      },
      handler: (args, context) => this.run(args, context.signal),
    };
  }

  /**
   * Checks the arguments, makes the request, returns the output with every
   * secret of the tool replaced by `[redacted]` (a backend may echo its
   * request). Never throws.
   */
  async run(args: Record<string, unknown>, signal: AbortSignal): Promise<HttpToolOutput> {
    return redactDeep(await this.#run(args, signal), this.#redact) as HttpToolOutput;
  }

  async #run(args: Record<string, unknown>, signal: AbortSignal): Promise<HttpToolOutput> {
    if (!this.#validate(args)) {
      const details = (this.#validate.errors ?? [])
        .map((e) => `${e.instancePath || "arguments"} ${e.message ?? "is invalid"}`)
        .join("; ");
      return this.#error(
        "invalid_arguments",
        `The arguments do not match the parameters of ${this.spec.name}: ${details}. Ask the caller for the missing or corrected details, then call the tool again.`,
      );
    }
    const request = this.#request(args);
    if ("refused" in request) return this.#error("invalid_arguments", request.refused);
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.spec.timeoutMs);
    const onCallAbort = () => controller.abort();
    signal.addEventListener("abort", onCallAbort, { once: true });
    try {
      if (signal.aborted) controller.abort();
      const response = await this.#fetch(request.url, {
        method: this.spec.method,
        headers: request.headers,
        ...(request.body !== undefined ? { body: request.body } : {}),
        signal: controller.signal,
        redirect: "error",
      });
      if (!response.ok) {
        await response.body?.cancel().catch(() => {});
        return this.#error(
          "http_error",
          `${this.spec.name} failed: the service answered HTTP ${response.status}. Tell the caller you cannot look this up right now.`,
          response.status,
        );
      }
      const body = await readCappedBody(response, MAX_TOOL_OUTPUT_BYTES, { truncate: true });
      if (controller.signal.aborted) throw new Error("aborted while reading");
      return parseBody(response, body.ok ? body : { bytes: new Uint8Array(), truncated: false });
    } catch {
      if (timedOut) {
        return this.#error(
          "timeout",
          `${this.spec.name} did not answer within ${
            this.spec.timeoutMs / 1000
          } seconds. Tell the caller you cannot look this up right now.`,
        );
      }
      if (signal.aborted) return this.#error("cancelled", "The call ended.");
      return this.#error(
        "unreachable",
        `${this.spec.name} could not reach its service. Tell the caller you cannot look this up right now.`,
      );
    } finally {
      clearTimeout(timer);
      signal.removeEventListener("abort", onCallAbort);
    }
  }

  #error(type: HttpToolErrorType, message: string, status?: number): HttpToolOutput {
    return { error: { type, message, ...(status !== undefined ? { status } : {}) } };
  }

  /**
   * The request for checked arguments, or why it is refused: a placeholder
   * value that is empty or a dot segment (`.`, `..`: the URL standard resolves
   * them, also percent-encoded), or a URL that leaves the template's origin
   * or the path before its first placeholder. Messages name no value.
   */
  #request(args: Record<string, unknown>):
    | { url: string; headers: Headers; body: string | undefined }
    | { refused: string } {
    const rest = { ...args };
    const moving: string[] = [];
    const path = this.spec.url.replace(PLACEHOLDER, (_, name: string) => {
      const value = rest[name];
      delete rest[name];
      const text = value === undefined || value === null ? "" : scalar(value);
      if (PATH_MOVING_VALUES.has(text.trim())) moving.push(name);
      return encodeURIComponent(text);
    });
    if (moving.length > 0) {
      return {
        refused: `${this.spec.name} needs a real value for ${
          moving.join(", ")
        } (not empty, "." or ".."). Ask the caller for it, then call the tool again.`,
      };
    }
    let url: URL;
    try {
      url = new URL(path);
    } catch {
      url = new URL("invalid:");
    }
    const fixed = this.#fixed;
    if (
      fixed === undefined || url.origin !== fixed.origin ||
      !(fixed.exact ? url.pathname === fixed.path : url.pathname.startsWith(fixed.path))
    ) {
      return {
        refused:
          `The arguments do not make a valid address for ${this.spec.name}. Ask the caller for the details again.`,
      };
    }
    const headers = new Headers(this.spec.headers);
    if (!headers.has("accept")) headers.set("accept", "application/json");
    let body: string | undefined;
    if (this.spec.method === "GET") {
      for (const [key, value] of Object.entries(rest)) {
        // The template's own query parameters (e.g. `?key=${API_KEY}`) are never overridden or repeated.
        if (value === undefined || value === null || url.searchParams.has(key)) continue;
        for (const item of Array.isArray(value) ? value : [value]) {
          url.searchParams.append(key, scalar(item));
        }
      }
    } else {
      body = JSON.stringify(rest);
      headers.set("content-type", "application/json");
    }
    return { url: url.href, headers, body };
  }
}

function scalar(value: unknown): string {
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

function parseBody(
  response: Response,
  body: { bytes: Uint8Array; truncated: boolean },
): HttpToolOutput {
  const text = new TextDecoder().decode(body.bytes);
  if (body.truncated) {
    // Cut JSON is not JSON: hand the model the text it can still read.
    return { status: response.status, data: text, truncated: true };
  }
  if (text === "") return { status: response.status, data: null };
  const type = response.headers.get("content-type") ?? "";
  if (/json/i.test(type)) {
    try {
      return { status: response.status, data: JSON.parse(text) };
    } catch {
      return { status: response.status, data: text };
    }
  }
  return { status: response.status, data: text };
}
