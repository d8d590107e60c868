import assert from "node:assert/strict";
import { type Route, routeRequest } from "../src/http/route_table.ts";

function answer(routes: Route[], method: string, path: string) {
  return routeRequest(routes, new Request(`http://x${path}`, { method }), path) as
    | Response
    | undefined;
}

Deno.test("route table: Allow lists the methods of every route that takes the path", async () => {
  const routes: Route[] = [
    { path: "/call-ended", methods: ["POST"], handle: () => new Response("post") },
    { path: "/call-ended", methods: ["GET"], handle: () => new Response("get") },
    {
      path: "/incoming-call",
      methods: ["POST"],
      hint: "Twilio calls this webhook with POST.",
      handle: () => new Response("twiml"),
    },
  ];
  assert.equal(await answer(routes, "GET", "/call-ended")?.text(), "get");
  const patch = answer(routes, "PATCH", "/call-ended")!;
  assert.equal(patch.status, 405);
  assert.equal(patch.headers.get("allow"), "POST, GET");
  assert.equal(await patch.text(), "Method not allowed.\n");
  const get = answer(routes, "GET", "/incoming-call")!;
  assert.equal(get.headers.get("allow"), "POST");
  assert.equal(await get.text(), "Method not allowed: Twilio calls this webhook with POST.\n");
});

Deno.test("route table: a handler that declines passes the request on; nothing taken is undefined", async () => {
  const seen: string[] = [];
  const routes: Route[] = [
    {
      test: () => true,
      methods: "any",
      handle: (_request, path) => {
        seen.push(path);
        return undefined;
      },
    },
    { prefix: "/media-stream/", methods: ["GET"], handle: () => new Response("stream") },
  ];
  assert.equal(await answer(routes, "GET", "/media-stream/agent/a")?.text(), "stream");
  assert.equal(answer(routes, "POST", "/media-stream/agent/a")?.status, 405);
  assert.equal(answer(routes, "GET", "/elsewhere"), undefined);
  assert.deepEqual(seen, ["/media-stream/agent/a", "/media-stream/agent/a", "/elsewhere"]);
});
