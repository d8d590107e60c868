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

/** Largest response body, in bytes, returned to the model. */
export const MAX_TOOL_OUTPUT_BYTES = 8 * 1024;

/** Default timeout of an HTTP tool, in ms. */
export const DEFAULT_HTTP_TOOL_TIMEOUT_MS = 5000;

/** An HTTP tool, ready to run (secrets resolved). */
export interface HttpToolSpec {
  name: string;
  description: string;
  /** JSON Schema of the arguments (`type: "object"`). */
  parameters: Record<string, unknown>;
  method: "GET" | "POST";
  /** URL with `{placeholders}` named after parameters. */
  url: string;
  /** Request headers (may hold secrets; sent to the backend only). */
  headers: Record<string, string>;
  timeoutMs: number;
}

/** What the model receives: the answer, or an error it can talk about. */
export type HttpToolOutput =
  | { status: number; data: unknown; truncated?: true }
  | {
    error: {
      type: "invalid_arguments" | "timeout" | "http_error" | "unreachable" | "cancelled";
      message: string;
      status?: number;
    };
  };

/** Dependencies of {@link HttpTool}. */
export interface HttpToolOptions {
  /** Default: the global `fetch`. */
  fetch?: typeof fetch;
}

let argumentsAjv: Ajv | undefined;
const PLACEHOLDER = /\{([A-Za-z0-9_]+)\}/g;

/**
 * Compiles a tool's parameters schema; throws with Ajv's message when it is
 * not a valid JSON Schema.
 */
export function compileParameters(parameters: Record<string, unknown>): ValidateFunction {
  argumentsAjv ??= new Ajv({ allErrors: true, strict: false });
  return argumentsAjv.compile(parameters);
}

/** One HTTP tool. */
export class HttpTool {
  readonly spec: HttpToolSpec;
  #validate: ValidateFunction;
  #fetch: typeof fetch;

  /** Compiles the parameters schema (throws when it is invalid). */
  constructor(spec: HttpToolSpec, options: HttpToolOptions = {}) {
    this.spec = spec;
    this.#validate = compileParameters(spec.parameters);
    this.#fetch = options.fetch ?? fetch;
  }

  /** The tool as a {@link ToolDefinition} for the call runner. */
  definition(): ToolDefinition {
    return {
      declaration: {
        type: "function",
        name: this.spec.name,
        description: this.spec.description,
        parameters: this.spec.parameters,
      },
      handler: (args, context) => this.run(args, context.signal),
    };
  }

  /** Checks the arguments, makes the request, returns the output. Never throws. */
  async run(args: Record<string, unknown>, signal: AbortSignal): Promise<HttpToolOutput> {
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
      const body = await readCapped(response, MAX_TOOL_OUTPUT_BYTES);
      if (!response.ok) {
        return this.#error(
          "http_error",
          `${this.spec.name} failed: the service answered HTTP ${response.status}. Tell the caller you cannot look this up right now.`,
          response.status,
        );
      }
      return parseBody(response, body);
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

  #error(
    type: "invalid_arguments" | "timeout" | "http_error" | "unreachable" | "cancelled",
    message: string,
    status?: number,
  ): HttpToolOutput {
    return { error: { type, message, ...(status !== undefined ? { status } : {}) } };
  }

  #request(args: Record<string, unknown>): {
    url: string;
    headers: Headers;
    body: string | undefined;
  } {
    const rest = { ...args };
    const path = this.spec.url.replace(PLACEHOLDER, (_, name: string) => {
      const value = rest[name];
      delete rest[name];
      return encodeURIComponent(value === undefined || value === null ? "" : scalar(value));
    });
    const url = new URL(path);
    const headers = new Headers(this.spec.headers);
    if (!headers.has("accept")) headers.set("accept", "application/json");
    let body: string | undefined;
    if (this.spec.method === "GET") {
      for (const [key, value] of Object.entries(rest)) {
        if (value === undefined || value === null) continue;
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

/** Reads at most `max` bytes of the body (then cancels the rest). */
async function readCapped(
  response: Response,
  max: number,
): Promise<{ bytes: Uint8Array; truncated: boolean }> {
  if (response.body === null) return { bytes: new Uint8Array(), truncated: false };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    if (size + value.length > max) {
      chunks.push(value.subarray(0, max - size));
      size = max;
      truncated = true;
      await reader.cancel();
      break;
    }
    chunks.push(value);
    size += value.length;
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return { bytes, truncated };
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
