/**
 * The systemd recipe (deploy/phone-bridge.service) stops the bridge the way
 * systemd does: its `KillSignal` to every process of the unit's control
 * group. The unit runs the compiled binary, a single process; here
 * `deno run main.ts` stands in for it, in its own process group (`setsid`),
 * and the signal goes to the whole group. The call in progress must be
 * drained (the caller hears the goodbye, the stream closes with 1000) and the
 * process must exit 0 well within the unit's `TimeoutStopSec`. The unit's
 * settings are read from the file, so changing them there is what this test
 * checks. (`deno task start` in a group, two processes, is tested in
 * tests/drain_test.ts.)
 */
import assert from "node:assert/strict";
import { TEST_API_KEY } from "./support/bridge_harness.ts";
import { audioBytes, FakeRealtimeServer } from "./support/fake_realtime.ts";
import { FakeTwilioCall } from "./support/fake_twilio.ts";
import { denoRunArgs, ROOT, ServerProcess } from "./support/server_process.ts";

/** `Key=value` settings of a unit file (last one wins, comments skipped). */
function unitSettings(text: string): Map<string, string> {
  const settings = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (m) settings.set(m[1], m[2]);
  }
  return settings;
}

function hasSetsid(): boolean {
  try {
    return new Deno.Command("setsid", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

Deno.test({
  name:
    "systemd stop: the unit's KillSignal sent to the whole process group drains the call, exit 0 within TimeoutStopSec",
  ignore: Deno.build.os !== "linux" || !hasSetsid(),
  fn: async () => {
    const unit = unitSettings(await Deno.readTextFile(`${ROOT}deploy/phone-bridge.service`));
    const killSignal = (unit.get("KillSignal") ?? "SIGTERM") as Deno.Signal;
    const timeoutStopMs = Number(unit.get("TimeoutStopSec")) * 1000;
    assert.equal(unit.get("KillMode"), "control-group");
    assert.ok(timeoutStopMs > 0, "TimeoutStopSec is set");

    const realtime = await FakeRealtimeServer.start();
    const storeDir = await Deno.makeTempDir();
    const server = await ServerProcess.spawn({
      command: "setsid",
      args: [
        Deno.execPath(),
        ...denoRunArgs("main.ts", ["net", "env", "read", "write", "sys=hostname"]),
      ],
      env: {
        OPENAI_API_KEY: TEST_API_KEY,
        OPENAI_REALTIME_URL: realtime.url,
        PORT: "0",
        HOST: "127.0.0.1",
        GREETING: "off",
        DRAIN_SECONDS: "1",
        TWILIO_SIGNATURE_CHECK: "off",
        CALL_STORE_PATH: `${storeDir}/calls.kv`,
        END_CALL_GRACE_SECONDS: "0.2",
        LOG_FORMAT: "json",
      },
      processGroup: true,
    });
    let call: FakeTwilioCall | undefined;
    try {
      const port = await server.port();
      call = await FakeTwilioCall.connect({ url: `ws://127.0.0.1:${port}/media-stream` });
      const session = await realtime.nextSession(5000);
      await session.waitFor("session.update");

      const t0 = performance.now();
      Deno.kill(-server.child.pid, killSignal); // the whole process group, as systemd does
      await session.waitFor(
        "response.create",
        (e) => /goodbye/i.test(e.response?.instructions ?? ""),
        10_000,
      );
      const r = session.beginResponse();
      r.audio(audioBytes(0x38, 300));
      r.transcript("We have to end the call now. Goodbye!");
      r.finish();
      assert.equal((await call.closed).code, 1000);
      assert.equal(call.playedBytes(0x38), 2400, "the goodbye was heard in full");
      const status = await server.child.status;
      const elapsed = performance.now() - t0;
      assert.equal(status.code, 0, server.output);
      // With the default DRAIN_SECONDS (30) instead of 1, the stop takes 29 s longer.
      assert.ok(
        elapsed - 1000 + 30_000 < timeoutStopMs,
        `exited ${Math.round(elapsed)} ms after the signal with DRAIN_SECONDS=1: ` +
          `TimeoutStopSec=${
            timeoutStopMs / 1000
          } leaves too little room for the default 30 s drain`,
      );
    } finally {
      await call?.close();
      await server[Symbol.asyncDispose]();
      await realtime.close();
      await Deno.remove(storeDir, { recursive: true });
    }
    assert.doesNotMatch(server.output, /exiting now/, "no second signal cut the drain short");
    assert.match(server.output, /Drained/);
  },
});
