/**
 * The context webhook over real sockets: what the CRM receives, and that a
 * slow, failing or odd CRM never fails the call (the result says why, for
 * the log, without the URL or the caller's number).
 */
import assert from "node:assert/strict";
import { fetchCallerContext } from "../src/agents/context_webhook.ts";
import { fillCallerTemplate } from "../src/agents/caller_templates.ts";

async function withCrm(
  answer: (request: Request, body: string) => Response | Promise<Response>,
  run: (url: string, bodies: string[], headers: Headers[]) => Promise<void>,
): Promise<void> {
  const bodies: string[] = [];
  const headers: Headers[] = [];
  const controller = new AbortController();
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", signal: controller.signal, onListen: () => {} },
    async (request) => {
      const body = await request.text();
      bodies.push(body);
      headers.push(request.headers);
      return answer(request, body);
    },
  );
  try {
    await run(`http://127.0.0.1:${server.addr.port}/caller`, bodies, headers);
  } finally {
    controller.abort();
    await server.finished;
  }
}

const parties = { from: "+15551234567", to: "+15005550001", callSid: "CA0123" };

Deno.test("POST {from, to, callSid}; the JSON object answer fills {{caller.*}}", async () => {
  await withCrm(
    () => Response.json({ name: "Ada Lovelace", tier: "gold" }),
    async (url, bodies, headers) => {
      const result = await fetchCallerContext(
        { url, timeoutMs: 2000, headers: { "X-Api-Key": "crm-secret" } },
        parties,
      );
      assert.deepEqual(JSON.parse(bodies[0]), parties);
      assert.equal(headers[0].get("x-api-key"), "crm-secret");
      assert.equal(headers[0].get("content-type"), "application/json");
      assert.ok(result.ok);
      assert.equal(
        fillCallerTemplate(
          "You help callers. The caller is {{caller.name}} ({{caller.tier}}).",
          result.caller,
        ),
        "You help callers. The caller is Ada Lovelace (gold).",
      );
    },
  );
});

Deno.test("timeout, HTTP error, non-JSON and non-object answers: no context, a reason, no secrets", async () => {
  await withCrm(async (request) => {
    const kind = new URL(request.url).searchParams.get("kind");
    if (kind === "slow") {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
        request.signal.addEventListener("abort", () => {
          clearTimeout(timer);
          resolve();
        });
      });
      return Response.json({});
    }
    if (kind === "error") return new Response("boom", { status: 500 });
    if (kind === "html") {
      return new Response("<html>", { headers: { "content-type": "text/html" } });
    }
    return Response.json(["not", "an", "object"]);
  }, async (url) => {
    const ask = (kind: string, timeoutMs = 2000) =>
      fetchCallerContext({ url: `${url}?kind=${kind}`, timeoutMs, headers: {} }, parties);
    const started = performance.now();
    assert.deepEqual(await ask("slow", 100), { ok: false, reason: "no answer within 100 ms" });
    assert.ok(performance.now() - started < 900, "the call does not wait for a slow CRM");
    assert.deepEqual(await ask("error"), { ok: false, reason: "the webhook answered HTTP 500" });
    assert.deepEqual(await ask("html"), { ok: false, reason: "the answer is not JSON" });
    assert.deepEqual(await ask("array"), { ok: false, reason: "the answer is not a JSON object" });
  });
  const listener = Deno.listen({ port: 0, hostname: "127.0.0.1" });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  assert.deepEqual(
    await fetchCallerContext(
      { url: `http://127.0.0.1:${port}/`, timeoutMs: 1000, headers: {} },
      parties,
    ),
    { ok: false, reason: "the webhook could not be reached" },
  );
});

Deno.test("an answer over 16 KiB is refused from its Content-Length, or while streaming, never read whole", async () => {
  const spec = { url: "https://crm.example.com/caller", timeoutMs: 2000, headers: {} };
  const parties = { from: "+14155550100", to: "+15005550001", callSid: "CA1" };
  let pulled = 0;
  const endless = () =>
    new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++;
        controller.enqueue(new Uint8Array(1024).fill(0x20));
      },
    });
  const declared = await fetchCallerContext(spec, parties, {
    fetch: () =>
      Promise.resolve(
        new Response(endless(), { headers: { "content-length": String(200 * 1024 * 1024) } }),
      ),
  });
  assert.deepEqual(declared, { ok: false, reason: "the answer is over 16384 bytes" });
  assert.ok(pulled <= 1, `read ${pulled} chunks despite Content-Length`);
  pulled = 0;
  const streamed = await fetchCallerContext(spec, parties, {
    fetch: () => Promise.resolve(new Response(endless())),
  });
  assert.deepEqual(streamed, { ok: false, reason: "the answer is over 16384 bytes" });
  assert.ok(pulled <= 20, `read ${pulled} chunks of an endless answer`);
});

Deno.test("a webhook echoing its request: its header values are [redacted] in the context", async () => {
  const context = await fetchCallerContext(
    {
      url: "https://crm.example.com/caller",
      timeoutMs: 2000,
      headers: { Authorization: "Bearer crm-secret-token-9" },
    },
    { from: "+14155550100", to: "+15005550001", callSid: "CA1" },
    {
      fetch: (_url, init) =>
        Promise.resolve(Response.json({
          name: "Ada",
          debug: { auth: new Headers(init?.headers).get("authorization") },
        })),
    },
  );
  assert.deepEqual(context, { ok: true, caller: { name: "Ada", debug: { auth: "[redacted]" } } });
});
