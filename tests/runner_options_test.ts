/**
 * The call runner's options are built by one pure function from the stream's
 * call and the app's parts (src/http/runner_options.ts).
 */
import assert from "node:assert/strict";
import { getLogger } from "@logtape/logtape";
import { parseConfig } from "../src/config/mod.ts";
import { AgentCalls } from "../src/agents/agent_calls.ts";
import { CallAdmission } from "../src/security/call_admission.ts";
import { runnerOptions, type RunnerParts, type StreamCall } from "../src/http/runner_options.ts";
import type { AppTransfers } from "../src/http/app_transfers.ts";

const config = parseConfig({
  OPENAI_API_KEY: "sk-test-0123456789abcdefghij",
  GREETING: "Hello, Acme here.",
});
const logger = getLogger(["test"]);
const hangUp = () => Promise.resolve();
const parts: RunnerParts = {
  config,
  admission: new CallAdmission(config),
  waitingSound: [],
  hangUp,
  transfers: {} as AppTransfers,
  outbound: undefined,
  checkpoints: undefined,
  callLog: logger,
  onOutcome: () => {},
  onFinished: () => {},
};
const setup = new AgentCalls({ config }).forStream({ kind: "plain" });
const call = (extra: Partial<StreamCall> = {}): StreamCall => ({
  path: "/media-stream",
  stream: { kind: "plain" },
  setup,
  softphone: false,
  outboundCore: undefined,
  resumed: undefined,
  observer: undefined,
  logger,
  ...extra,
});

Deno.test("runner options: a Twilio call greets and hangs up through REST; a softphone call does neither REST nor token", () => {
  const twilio = runnerOptions(call(), parts);
  assert.equal(twilio.core.greeting, "Hello, Acme here.");
  assert.equal(twilio.hangUp, hangUp);
  assert.equal(twilio.softphone, false);
  const softphone = runnerOptions(call({ softphone: true, softphoneCallSid: "SP1" }), parts);
  assert.equal(softphone.hangUp, undefined);
  assert.equal(
    softphone.admitStart?.({ callSid: "SP1", customParameters: {} } as never),
    undefined,
  );
});

Deno.test("runner options: a resumed call replays its conversation and acknowledges the gap instead of greeting", () => {
  const conversation = [{ kind: "user" as const, itemId: "i1", transcript: "Hi", at: 0 }];
  /** The checkpoint of call CA1, resumed once, on the stream at `streamPath`. */
  const resumedAt = (streamPath: string) => ({
    callSid: "CA1",
    streamPath,
    conversation,
    state: "resuming" as const,
    resumes: 1,
    savedAt: 0,
  });
  const options = runnerOptions(
    call({
      resumed: resumedAt("/media-stream"),
    }),
    parts,
  );
  assert.equal(options.core.greeting, undefined);
  assert.equal(options.core.resume, conversation);
  assert.equal(options.core.acknowledgeResume, true);
  // A resumed outbound call does not wait for the answering machine again.
  const outbound = runnerOptions(
    call({
      outboundCore: { greeting: "Hi", awaitAnswer: { voicemail: undefined } },
      resumed: resumedAt("/media-stream/outbound/default"),
    }),
    parts,
  );
  assert.equal(outbound.core.awaitAnswer, undefined);
  assert.equal(outbound.core.greeting, undefined);
  assert.equal(
    options.admitStart?.({ callSid: "CA2", customParameters: {} } as never),
    "stream call mismatch",
  );
});

Deno.test("runner options: a softphone token admits only its own call", () => {
  const options = runnerOptions(call({ softphone: true, softphoneCallSid: "SP1" }), parts);
  assert.equal(
    options.admitStart?.({ callSid: "CA9", customParameters: {} } as never),
    "softphone call mismatch",
  );
});
