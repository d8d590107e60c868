/**
 * HTTP tools over real sockets: a local backend (Deno.serve, port 0) answers
 * the requests the bridge makes; the test asserts what the backend received
 * (path, query, body, the secret header) and what the model gets back.
 */
import assert from "node:assert/strict";
import { HttpTool, type HttpToolSpec, MAX_TOOL_OUTPUT_BYTES } from "../src/agents/http_tool.ts";

interface Seen {
  method: string;
  path: string;
  query: Record<string, string[]>;
  body: string;
  authorization: string | null;
  contentType: string | null;
}

/** A backend whose answer per path the test chooses; it records every request. */
async function withBackend(
  answer: (url: URL, request: Request) => Response | Promise<Response>,
  run: (base: string, seen: Seen[]) => Promise<void>,
): Promise<void> {
  const seen: Seen[] = [];
  const controller = new AbortController();
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", signal: controller.signal, onListen: () => {} },
    async (request) => {
      const url = new URL(request.url);
      const query: Record<string, string[]> = {};
      for (const [k, v] of url.searchParams) (query[k] ??= []).push(v);
      seen.push({
        method: request.method,
        path: url.pathname,
        query,
        body: await request.text(),
        authorization: request.headers.get("authorization"),
        contentType: request.headers.get("content-type"),
      });
      return answer(url, request);
    },
  );
  try {
    await run(`http://127.0.0.1:${server.addr.port}`, seen);
  } finally {
    controller.abort();
    await server.finished;
  }
}

/** Waits `ms`, or less when the client goes away. */
function hold(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

const SECRET = "Bearer listings-secret-123";

function spec(base: string, overrides: Partial<HttpToolSpec> = {}): HttpToolSpec {
  return {
    name: "lookup_listing",
    description: "Look up a property listing by its id.",
    parameters: {
      type: "object",
      properties: {
        listing_id: { type: "string" },
        fields: { type: "array", items: { type: "string" } },
        max_price: { type: "number" },
      },
      required: ["listing_id"],
      additionalProperties: false,
    },
    method: "GET",
    url: `${base}/listings/{listing_id}`,
    headers: { Authorization: SECRET },
    timeoutMs: 2000,
    ...overrides,
  };
}

const signal = () => new AbortController().signal;

Deno.test("GET: placeholders URL-encoded, the rest as query, the secret header reaches the backend", async () => {
  await withBackend(
    () => Response.json({ id: "12/B", price: 450000, beds: 3 }),
    async (base, seen) => {
      const tool = new HttpTool(spec(base));
      const output = await tool.run(
        { listing_id: "12/B ü", fields: ["price", "beds"], max_price: 500000 },
        signal(),
      );
      assert.deepEqual(output, { status: 200, data: { id: "12/B", price: 450000, beds: 3 } });
      assert.equal(seen.length, 1);
      assert.equal(seen[0].method, "GET");
      assert.equal(seen[0].path, "/listings/12%2FB%20%C3%BC");
      assert.deepEqual(seen[0].query, { fields: ["price", "beds"], max_price: ["500000"] });
      assert.equal(seen[0].authorization, SECRET);
      assert.equal(seen[0].body, "");
    },
  );
});

Deno.test("POST: the arguments not in the path go in a JSON body", async () => {
  await withBackend(() => Response.json({ booked: true }, { status: 201 }), async (base, seen) => {
    const tool = new HttpTool(spec(base, { method: "POST" }));
    const output = await tool.run({ listing_id: "7", max_price: 1 }, signal());
    assert.deepEqual(output, { status: 201, data: { booked: true } });
    assert.equal(seen[0].method, "POST");
    assert.equal(seen[0].path, "/listings/7");
    assert.equal(seen[0].contentType, "application/json");
    assert.deepEqual(JSON.parse(seen[0].body), { max_price: 1 });
    assert.equal(seen[0].authorization, SECRET);
  });
});

Deno.test("bad arguments: an error output for the model and no request at all", async () => {
  await withBackend(() => Response.json({}), async (base, seen) => {
    const tool = new HttpTool(spec(base));
    const missing = await tool.run({}, signal());
    const wrongType = await tool.run({ listing_id: 12 }, signal());
    const extra = await tool.run({ listing_id: "1", sql: "drop" }, signal());
    for (const output of [missing, wrongType, extra]) {
      assert.ok("error" in output);
      assert.equal(output.error.type, "invalid_arguments");
      assert.match(output.error.message, /lookup_listing/);
    }
    assert.match((missing as { error: { message: string } }).error.message, /listing_id/);
    assert.equal(seen.length, 0);
  });
});

Deno.test("HTTP errors, timeouts and a closed port become structured outputs without URL or secret", async () => {
  await withBackend(async (url, request) => {
    if (url.pathname.endsWith("/slow")) {
      await hold(600, request.signal);
      return Response.json({ late: true });
    }
    return new Response(`internal failure at ${url.href}`, { status: 503 });
  }, async (base) => {
    const failing = await new HttpTool(spec(base)).run({ listing_id: "1" }, signal());
    assert.deepEqual(failing, {
      error: {
        type: "http_error",
        status: 503,
        message:
          "lookup_listing failed: the service answered HTTP 503. Tell the caller you cannot look this up right now.",
      },
    });
    const slow = await new HttpTool(spec(base, { timeoutMs: 150 })).run(
      { listing_id: "slow" },
      signal(),
    );
    assert.deepEqual(slow, {
      error: {
        type: "timeout",
        message:
          "lookup_listing did not answer within 0.15 seconds. Tell the caller you cannot look this up right now.",
      },
    });
    for (const output of [failing, slow]) {
      const text = JSON.stringify(output);
      assert.ok(!text.includes(base) && !text.includes("listings-secret"), text);
    }
  });
  // A port nobody listens on.
  const listener = Deno.listen({ port: 0, hostname: "127.0.0.1" });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const refused = await new HttpTool(spec(`http://127.0.0.1:${port}`)).run(
    { listing_id: "1" },
    signal(),
  );
  assert.ok("error" in refused && refused.error.type === "unreachable");
  assert.ok(!JSON.stringify(refused).includes(String(port)));
});

Deno.test("a response over 8 KB is cut and passed as text; text answers pass as text", async () => {
  const big = { items: Array.from({ length: 2000 }, (_, i) => ({ i, name: `listing ${i}` })) };
  await withBackend(
    (url) => url.pathname.endsWith("/text") ? new Response("Open 9 to 5.") : Response.json(big),
    async (base) => {
      const output = await new HttpTool(spec(base)).run({ listing_id: "all" }, signal());
      assert.ok("data" in output);
      assert.equal(output.truncated, true);
      assert.equal(typeof output.data, "string");
      assert.equal(new TextEncoder().encode(output.data as string).length, MAX_TOOL_OUTPUT_BYTES);
      assert.ok(JSON.stringify(big).startsWith(output.data as string));
      const text = await new HttpTool(spec(base)).run({ listing_id: "text" }, signal());
      assert.deepEqual(text, { status: 200, data: "Open 9 to 5." });
    },
  );
});

Deno.test("the call ending aborts a request in flight", async () => {
  await withBackend(async (_url, request) => {
    await hold(300, request.signal);
    return Response.json({});
  }, async (base) => {
    const call = new AbortController();
    const run = new HttpTool(spec(base)).run({ listing_id: "1" }, call.signal);
    setTimeout(() => call.abort(), 50);
    assert.deepEqual(await run, { error: { type: "cancelled", message: "The call ended." } });
  });
});

Deno.test("definition(): the declaration the model sees has no URL and no header", () => {
  const definition = new HttpTool(spec("https://api.example.com")).definition();
  assert.deepEqual(Object.keys(definition.declaration).sort(), [
    "description",
    "name",
    "parameters",
    "type",
  ]);
  const text = JSON.stringify(definition.declaration);
  assert.ok(!text.includes("listings-secret") && !text.includes("api.example.com"));
});
