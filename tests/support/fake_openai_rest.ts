/**
 * A fake of OpenAI's `GET /v1/models/{model}` (the doctor's cheap
 * authenticated request), answering like OpenAI: 401 `invalid_api_key` for
 * another key, 404 `model_not_found` for an unknown model, else the model
 * object. Listens on 127.0.0.1, port 0; {@link FakeOpenAIRest.realtimeUrl}
 * is the `OPENAI_REALTIME_URL` that leads the doctor here.
 *
 * @module
 */

/** Options of {@link FakeOpenAIRest.start}. */
export interface FakeOpenAIRestOptions {
  /** The key that is accepted. */
  apiKey: string;
  /** The models the key may use. */
  models: string[];
}

function openaiError(status: number, code: string, message: string): Response {
  return Response.json({
    error: { message, type: "invalid_request_error", param: null, code },
  }, { status });
}

/** The fake. */
export class FakeOpenAIRest implements AsyncDisposable {
  /** `Authorization` headers and paths received. */
  readonly requests: { path: string; authorization: string | null }[] = [];
  #options: FakeOpenAIRestOptions;
  #server: Deno.HttpServer<Deno.NetAddr>;

  private constructor(options: FakeOpenAIRestOptions) {
    this.#options = options;
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (request) => this.#handle(request),
    );
  }

  /** Starts the fake. */
  static start(options: FakeOpenAIRestOptions): FakeOpenAIRest {
    return new FakeOpenAIRest(options);
  }

  /** `ws://127.0.0.1:PORT/v1/realtime`. */
  get realtimeUrl(): string {
    return `ws://127.0.0.1:${this.#server.addr.port}/v1/realtime`;
  }

  #handle(request: Request): Response {
    const url = new URL(request.url);
    const authorization = request.headers.get("authorization");
    this.requests.push({ path: url.pathname, authorization });
    const key = /^Bearer (.+)$/.exec(authorization ?? "")?.[1];
    if (key !== this.#options.apiKey) {
      // Like OpenAI, the message quotes part of the key.
      return openaiError(
        401,
        "invalid_api_key",
        `Incorrect API key provided: ${
          key?.slice(0, 12) ?? ""
        }***. You can find your API key at https://platform.openai.com/account/api-keys.`,
      );
    }
    const model = /^\/v1\/models\/([^/]+)$/.exec(url.pathname)?.[1];
    if (model === undefined) return openaiError(404, "unknown_url", "Unknown request URL");
    const id = decodeURIComponent(model);
    if (!this.#options.models.includes(id)) {
      return openaiError(
        404,
        "model_not_found",
        `The model \`${id}\` does not exist or you do not have access to it.`,
      );
    }
    return Response.json({ id, object: "model", created: 1756339200, owned_by: "system" });
  }

  /** Stops the server. */
  async close(): Promise<void> {
    await this.#server.shutdown();
  }

  /** Same as {@link FakeOpenAIRest.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
