/**
 * A small client of OpenAI's Responses API for one thing: a strict
 * structured answer. `POST {OPENAI_BASE_URL}/responses` with `text.format`
 * of type `json_schema` and `strict: true`, then the text of the output's
 * `message` item (a reasoning model puts a `reasoning` item first).
 *
 * Shapes from OpenAI's TypeScript SDK (openai/openai-node
 * `src/resources/responses/responses.ts`, commit 7b7d6ca of 2026-08-21):
 * `Response.output` is a list of items, a `ResponseOutputMessage` (`type:
 * "message"`) holds `output_text` or `refusal` content, `status` may be
 * `incomplete` with `incomplete_details.reason`, and `usage` has
 * `input_tokens`, `input_tokens_details.cached_tokens`, `output_tokens` and
 * `output_tokens_details.reasoning_tokens`. Errors answer
 * `{error: {message, type, param, code}}`.
 *
 * @module
 */

/** Tokens of one or more requests. */
export interface AnalysisTokens {
  input: number;
  cachedInput: number;
  output: number;
  reasoning: number;
}

/** What {@link ResponsesClient.create} sends. */
export interface StructuredRequest {
  model: string;
  instructions: string;
  input: string;
  format: { type: "json_schema"; name: string; strict: true; schema: unknown };
}

/** The outcome of one request. */
export type StructuredOutcome =
  | { ok: true; text: string; tokens: AnalysisTokens }
  | {
    ok: false;
    /** Worth another try (network, timeout, 408, 429, 5xx, a cut answer). */
    retry: boolean;
    error: string;
    tokens: AnalysisTokens;
  };

/** Options of {@link ResponsesClient}. */
export interface ResponsesClientOptions {
  /** `OPENAI_BASE_URL`, e.g. `https://api.openai.com/v1`. */
  baseUrl: string;
  apiKey: string;
  /** Ms one request may take [60000]. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** No tokens. */
export const NO_TOKENS: AnalysisTokens = { input: 0, cachedInput: 0, output: 0, reasoning: 0 };

function number(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}

/** Tokens from a Responses API `usage` object. */
function tokensOf(usage: unknown): AnalysisTokens {
  const u = (usage ?? {}) as Record<string, Record<string, unknown> | undefined>;
  return {
    input: number(u.input_tokens),
    cachedInput: number(u.input_tokens_details?.cached_tokens),
    output: number(u.output_tokens),
    reasoning: number(u.output_tokens_details?.reasoning_tokens),
  };
}

/** The text of the response's `message` item, or why there is none. */
function messageText(response: unknown): { text: string } | { problem: string } {
  const r = (response ?? {}) as {
    status?: string;
    incomplete_details?: { reason?: string } | null;
    output?: unknown;
  };
  if (r.status === "incomplete") {
    return { problem: `the answer was cut (${r.incomplete_details?.reason ?? "incomplete"})` };
  }
  const items = Array.isArray(r.output) ? r.output : [];
  const message = items.find((item) => (item as { type?: string })?.type === "message") as
    | { content?: unknown }
    | undefined;
  if (message === undefined) return { problem: "the answer has no message item" };
  const content = Array.isArray(message.content) ? message.content : [];
  const refusal = content.find((part) => (part as { type?: string })?.type === "refusal") as
    | { refusal?: string }
    | undefined;
  if (refusal !== undefined) return { problem: `the model refused: ${refusal.refusal ?? ""}` };
  const texts = content.filter((part) => (part as { type?: string })?.type === "output_text")
    .map((part) => String((part as { text?: unknown }).text ?? ""));
  if (texts.length === 0) return { problem: "the message has no output_text" };
  return { text: texts.join("") };
}

/** Sends structured-output requests to the Responses API. */
export class ResponsesClient {
  #o: ResponsesClientOptions;

  /** Creates the client. */
  constructor(options: ResponsesClientOptions) {
    this.#o = options;
  }

  /** Sends one request. Never throws. */
  async create(request: StructuredRequest): Promise<StructuredOutcome> {
    const controller = new AbortController();
    const timeoutMs = this.#o.timeoutMs ?? 60_000;
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      const response = await (this.#o.fetch ?? fetch)(
        `${this.#o.baseUrl.replace(/\/+$/, "")}/responses`,
        {
          method: "POST",
          headers: {
            "content-type": "application/json",
            authorization: `Bearer ${this.#o.apiKey}`,
          },
          body: JSON.stringify({
            model: request.model,
            instructions: request.instructions,
            input: request.input,
            text: { format: request.format },
            store: false,
          }),
          signal: controller.signal,
        },
      );
      const body = await response.json().catch(() => undefined) as
        | { error?: { message?: string }; usage?: unknown }
        | undefined;
      if (!response.ok) {
        const status = response.status;
        return {
          ok: false,
          retry: status === 408 || status === 429 || status >= 500,
          error: `HTTP ${status}${body?.error?.message ? `: ${body.error.message}` : ""}`,
          tokens: NO_TOKENS,
        };
      }
      const tokens = tokensOf(body?.usage);
      const text = messageText(body);
      if ("problem" in text) {
        return {
          ok: false,
          retry: !text.problem.startsWith("the model refused"),
          error: text.problem,
          tokens,
        };
      }
      return { ok: true, text: text.text, tokens };
    } catch (error) {
      const reason = controller.signal.aborted
        ? `no answer in ${timeoutMs} ms`
        : error instanceof Error
        ? error.message
        : String(error);
      return { ok: false, retry: true, error: reason, tokens: NO_TOKENS };
    } finally {
      clearTimeout(timer);
    }
  }
}
