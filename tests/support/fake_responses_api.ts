/**
 * A fake of OpenAI's Responses API (`POST /v1/responses`) for strict
 * structured output, on a real local HTTP server (port 0).
 *
 * Written from (read 2026-12-07):
 * - OpenAI's TypeScript SDK, openai/openai-node `src/resources/responses/responses.ts`
 *   (commit 7b7d6ca, 2026-08-21): the `Response` object (`id`, `object:
 *   "response"`, `status`, `incomplete_details`, `error`, `model`, `output`,
 *   `usage`), `ResponseReasoningItem` (`type: "reasoning"`, `summary`),
 *   `ResponseOutputMessage` (`type: "message"`, `role: "assistant"`,
 *   `content` of `output_text` / `refusal`), `ResponseUsage` (`input_tokens`,
 *   `input_tokens_details.cached_tokens`, `output_tokens`,
 *   `output_tokens_details.reasoning_tokens`, `total_tokens`) and
 *   `ResponseFormatTextJSONSchemaConfig` (`type: "json_schema"`, `name` of
 *   a-z, A-Z, 0-9, `_`, `-`, at most 64, `schema`, `strict`).
 * - The strict-mode rules as the Structured Outputs guide states them and the
 *   same SDK enforces them (`src/lib/transform.ts`): the root is an object and
 *   not `anyOf`; every object lists all its properties in `required` and sets
 *   `additionalProperties: false`; an array has one `items` schema; the
 *   unsupported keywords below are refused. Where the sources disagree: the
 *   guide describes optional fields as a union with `null`, the SDK helper
 *   refuses optional-but-not-nullable fields instead of converting them; the
 *   real API refuses a schema that breaks the rules with a 400
 *   `invalid_request_error` (this fake answers the same way; the exact
 *   message wording of the real API is not known here).
 *
 * The test scripts the answers ({@link FakeResponsesApi.answer}); a reasoning
 * item always comes before the message, as a reasoning model's does.
 */

/** One scripted answer. */
export type ScriptedAnswer =
  /** A message whose output_text is this value as JSON. */
  | { json: unknown }
  /** A message whose output_text is this text as is (e.g. malformed JSON). */
  | { text: string }
  | { refusal: string }
  /** `status: "incomplete"` (max_output_tokens), the text cut. */
  | { incomplete: string }
  | { httpStatus: number }
  /**
   * No answer until {@link FakeResponsesApi.release} (or the fake closes),
   * then a 500: a request still in flight when its client dies.
   */
  | { hold: true };

/** A request the fake received. */
export interface ReceivedRequest {
  authorization: string | null;
  body: Record<string, unknown>;
  /** When it arrived (`performance.now()`). */
  at: number;
}

const UNSUPPORTED = [
  "allOf",
  "not",
  "if",
  "then",
  "else",
  "dependentRequired",
  "dependentSchemas",
  "patternProperties",
  "unevaluatedProperties",
  "unevaluatedItems",
  "propertyNames",
  "minProperties",
  "maxProperties",
  "contains",
  "minContains",
  "maxContains",
  "uniqueItems",
  "prefixItems",
  "additionalItems",
];

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The first strict-mode rule `schema` breaks, or undefined. */
export function strictProblem(schema: unknown, path = "schema"): string | undefined {
  if (!isObject(schema)) return `${path}: a schema must be an object`;
  for (const keyword of UNSUPPORTED) {
    if (keyword in schema) return `${path}: '${keyword}' is not permitted`;
  }
  const type = schema.type;
  const isObjectType = type === "object" || (Array.isArray(type) && type.includes("object"));
  if (isObjectType || "properties" in schema) {
    if (schema.additionalProperties !== false) {
      return `${path}: 'additionalProperties' is required to be supplied and to be false`;
    }
    const properties = isObject(schema.properties) ? Object.keys(schema.properties) : [];
    const required = Array.isArray(schema.required) ? schema.required : [];
    const missing = properties.filter((name) => !required.includes(name));
    if (missing.length > 0 || required.length !== properties.length) {
      return `${path}: 'required' is required to be supplied and to be an array including every key in properties. Missing '${
        missing[0] ?? "?"
      }'`;
    }
    for (const name of properties) {
      const problem = strictProblem(
        (schema.properties as Record<string, unknown>)[name],
        `${path}.properties.${name}`,
      );
      if (problem) return problem;
    }
  }
  if (type === "array" || (Array.isArray(type) && type.includes("array"))) {
    if (!isObject(schema.items)) return `${path}: an array schema must have one 'items' schema`;
  }
  if (isObject(schema.items)) {
    const problem = strictProblem(schema.items, `${path}.items`);
    if (problem) return problem;
  }
  if (Array.isArray(schema.anyOf)) {
    for (const [i, branch] of schema.anyOf.entries()) {
      const problem = strictProblem(branch, `${path}.anyOf[${i}]`);
      if (problem) return problem;
    }
  }
  for (const keyword of ["$defs", "definitions"]) {
    const definitions = schema[keyword];
    if (isObject(definitions)) {
      for (const [name, definition] of Object.entries(definitions)) {
        const problem = strictProblem(definition, `${path}.${keyword}.${name}`);
        if (problem) return problem;
      }
    }
  }
  return undefined;
}

function invalid(message: string, param: string, code: string | null = null): Response {
  return Response.json(
    { error: { message, type: "invalid_request_error", param, code } },
    { status: 400 },
  );
}

/** The fake. `await using` closes it. */
export class FakeResponsesApi implements AsyncDisposable {
  readonly requests: ReceivedRequest[] = [];
  /** Answers in order; when empty, every request is answered 500. */
  readonly script: ScriptedAnswer[] = [];
  readonly usage = { input: 900, cached: 100, output: 120, reasoning: 64 };
  #server: Deno.HttpServer<Deno.NetAddr>;
  #apiKey: string;
  #held = Promise.withResolvers<void>();

  private constructor(apiKey: string) {
    this.#apiKey = apiKey;
    this.#server = Deno.serve(
      { port: 0, hostname: "127.0.0.1", onListen: () => {} },
      (request) => this.#handle(request),
    );
  }

  /** Starts the fake; requests must carry `Authorization: Bearer <apiKey>`. */
  static start(apiKey: string): FakeResponsesApi {
    return new FakeResponsesApi(apiKey);
  }

  /** The `OPENAI_BASE_URL` of the fake. */
  get baseUrl(): string {
    return `http://127.0.0.1:${this.#server.addr.port}/v1`;
  }

  /** Queues answers. */
  answer(...answers: ScriptedAnswer[]): this {
    this.script.push(...answers);
    return this;
  }

  async #handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (request.method !== "POST" || url.pathname !== "/v1/responses") {
      return Response.json({ error: { message: "Not found", type: "invalid_request_error" } }, {
        status: 404,
      });
    }
    const authorization = request.headers.get("authorization");
    let body: Record<string, unknown>;
    try {
      body = await request.json();
    } catch {
      return invalid("We could not parse the JSON body of your request.", "body");
    }
    this.requests.push({ authorization, body, at: performance.now() });
    if (authorization !== `Bearer ${this.#apiKey}`) {
      return Response.json(
        {
          error: {
            message: "Incorrect API key provided.",
            type: "invalid_request_error",
            code: "invalid_api_key",
          },
        },
        { status: 401 },
      );
    }
    if (typeof body.model !== "string" || body.model === "") {
      return invalid("Missing model.", "model");
    }
    if (body.input === undefined) return invalid("Missing input.", "input");
    const format = (body.text as { format?: Record<string, unknown> } | undefined)?.format;
    if (!isObject(format) || format.type !== "json_schema") {
      return invalid("This fake only answers text.format json_schema.", "text.format.type");
    }
    if (typeof format.name !== "string" || !/^[A-Za-z0-9_-]{1,64}$/.test(format.name)) {
      return invalid("Invalid 'text.format.name'.", "text.format.name");
    }
    if (format.strict !== true) {
      return invalid("This fake expects strict: true.", "text.format.strict");
    }
    const schema = format.schema;
    if (!isObject(schema) || schema.type !== "object" || "anyOf" in schema) {
      return invalid(
        "Invalid schema for response_format: the root must be an object, not a union.",
        "text.format.schema",
        "invalid_json_schema",
      );
    }
    const problem = strictProblem(schema);
    if (problem !== undefined) {
      return invalid(
        `Invalid schema for response_format '${format.name}': In context=(), ${problem}.`,
        "text.format.schema",
        "invalid_json_schema",
      );
    }
    const next = this.script.shift();
    if (next !== undefined && "hold" in next) await this.#held.promise;
    if (next === undefined || "httpStatus" in next || "hold" in next) {
      const status = next !== undefined && "httpStatus" in next ? next.httpStatus : 500;
      return Response.json(
        {
          error: {
            message: "The server had an error processing your request.",
            type: "server_error",
          },
        },
        { status },
      );
    }
    const content = "refusal" in next ? [{ type: "refusal", refusal: next.refusal }] : [{
      type: "output_text",
      annotations: [],
      text: "json" in next
        ? JSON.stringify(next.json)
        : "text" in next
        ? next.text
        : next.incomplete,
    }];
    const incomplete = "incomplete" in next;
    const u = this.usage;
    return Response.json({
      id: `resp_${crypto.randomUUID().replaceAll("-", "")}`,
      object: "response",
      created_at: Math.floor(Date.now() / 1000),
      status: incomplete ? "incomplete" : "completed",
      incomplete_details: incomplete ? { reason: "max_output_tokens" } : null,
      error: null,
      model: `${body.model}-2025-08-07`,
      output: [
        { id: "rs_1", type: "reasoning", summary: [] },
        {
          id: "msg_1",
          type: "message",
          role: "assistant",
          status: incomplete ? "incomplete" : "completed",
          content,
        },
      ],
      usage: {
        input_tokens: u.input,
        input_tokens_details: { cached_tokens: u.cached },
        output_tokens: u.output,
        output_tokens_details: { reasoning_tokens: u.reasoning },
        total_tokens: u.input + u.output,
      },
    });
  }

  /** Stops the server. */
  /** Answers the held requests (with a 500). */
  release(): void {
    this.#held.resolve();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.release();
    await this.#server.shutdown();
  }
}
