/**
 * The server (`main.ts`) as a test instance in its own process: against a
 * fake Realtime server, on port 0 of loopback, with JSON logs and its call
 * store in a KV file (which several instances may share, as behind a load
 * balancer).
 *
 * @module
 */
import { TEST_API_KEY } from "./bridge_harness.ts";
import { denoRunArgs, ServerProcess } from "./server_process.ts";

/**
 * Spawns `main.ts` with the server's permissions; the test key, `realtimeUrl`,
 * `PORT=0`, `HOST=127.0.0.1`, `LOG_FORMAT=json` and `CALL_STORE_PATH=storePath`,
 * plus `env` (which may override them). `cwd` as in {@link ServerProcess.spawn}.
 */
export function spawnInstance(
  realtimeUrl: string,
  storePath: string,
  env: Record<string, string>,
  cwd?: string,
): Promise<ServerProcess> {
  return ServerProcess.spawn({
    args: denoRunArgs("main.ts", ["net", "env", "read", "write", "sys=hostname"]),
    env: {
      OPENAI_API_KEY: TEST_API_KEY,
      OPENAI_REALTIME_URL: realtimeUrl,
      PORT: "0",
      HOST: "127.0.0.1",
      LOG_FORMAT: "json",
      CALL_STORE_PATH: storePath,
      ...env,
    },
    ...(cwd === undefined ? {} : { cwd }),
  });
}
