import assert from "node:assert/strict";
import { formatStreamPath, parseStreamPath, type StreamPath } from "../src/http/stream_path.ts";

const SID = "CA" + "0123456789abcdef".repeat(2);

Deno.test("stream paths: every kind parses back to what was formatted", () => {
  const streams: StreamPath[] = [
    { kind: "plain" },
    { kind: "agent", agent: "front-desk" },
    { kind: "agent", agent: "front desk/é", callSid: SID },
    { kind: "outbound", agent: "listings" },
    { kind: "outbound", agent: "listings", callSid: SID },
    { kind: "outbound", agent: "listings", resumeCallSid: SID },
    { kind: "resumed", callSid: SID },
  ];
  for (const stream of streams) {
    const path = formatStreamPath(stream);
    assert.ok(path.startsWith("/media-stream"), path);
    assert.deepEqual(parseStreamPath(path), stream, path);
  }
  // The paths Twilio is given today stay the same.
  assert.equal(formatStreamPath({ kind: "plain" }), "/media-stream");
  assert.equal(
    formatStreamPath({ kind: "agent", agent: "listings" }),
    "/media-stream/agent/listings",
  );
  assert.equal(
    formatStreamPath({ kind: "outbound", agent: "default", resumeCallSid: SID }),
    `/media-stream/outbound/default/resume/${SID}`,
  );
});

Deno.test("stream paths: malformed or foreign paths name no stream", () => {
  for (
    const path of [
      "/",
      "/incoming-call",
      "/media-streams",
      "/media-stream/",
      "/media-stream/agent/",
      "/media-stream/agent/%E0%A4%A",
      `/media-stream/agent/${"a".repeat(65)}`,
      `/media-stream/agent/a/${SID}/x`,
      "/media-stream/outbound/a/b",
      "/media-stream/outbound/a/resume/not-a-sid",
      "/media-stream/resumed/",
      "/media-stream/resumed/CA1/x",
      "/media-stream/other/a",
    ]
  ) {
    assert.equal(parseStreamPath(path), undefined, path);
  }
});
