/**
 * What the server may say about its configuration: {@link describeConfig}
 * (a summary for the start-up log line, secrets as "set" / "not set") and
 * {@link secretValues} (the values log lines are scrubbed of). Both are loops
 * over the table of `spec.ts`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseConfig } from "./parse.ts";
 * import { describeConfig, secretValues } from "./describe.ts";
 *
 * const config = parseConfig({ OPENAI_API_KEY: "sk-test-0123456789abcdefghij" });
 * const summary = describeConfig(config);
 * assert.equal(summary.openaiApiKey, "set");
 * assert.equal(summary.twilio, "not set");
 * assert.deepEqual(secretValues(config), ["sk-test-0123456789abcdefghij"]);
 * ```
 *
 * @module
 */
import type { Config } from "./config_type.ts";
import type { AnySetting } from "./setting.ts";
import { SETTINGS } from "./spec.ts";

/**
 * The Twilio REST credentials (account SID and auth token), or undefined
 * unless both are set: REST hang-up and transfer need both, signature checks
 * only the token.
 *
 * @param config The configuration.
 * @returns The credentials, or undefined.
 */
export function twilioCredentials(
  config: Pick<Config, "twilioAccountSid" | "twilioAuthToken">,
): { accountSid: string; authToken: string } | undefined {
  const { twilioAccountSid: accountSid, twilioAuthToken: authToken } = config;
  return accountSid !== undefined && authToken !== undefined
    ? { accountSid, authToken }
    : undefined;
}

/**
 * Summarizes a configuration for logging: secrets and phone numbers are
 * replaced by "set" or "not set", long texts by their length.
 *
 * @param config The configuration to summarize.
 * @returns A summary without any secret, safe to log.
 */
export function describeConfig(config: Config): Record<string, unknown> {
  const values = config as unknown as Record<string, unknown>;
  const summary: Record<string, unknown> = {};
  for (const row of SETTINGS as readonly AnySetting[]) {
    if (row.key === undefined) continue;
    const value = values[row.key];
    if (row.secret || row.private) {
      summary[row.key] = row.describe?.(value) ?? (value === undefined ? "not set" : "set");
    } else {
      summary[row.key] = row.describe !== undefined ? row.describe(value) : value ?? "not set";
    }
  }
  summary.systemMessage = `${config.systemMessage.length} characters`;
  summary.greeting = config.greeting ?? "off";
  summary.turnDetection = { ...config.turnDetection };
  summary.prices = { ...config.prices };
  summary.webhook = config.webhook === undefined ? "not set" : "set";
  summary.twilio = twilioCredentials(config) === undefined ? "not set" : "set";
  return summary;
}

/**
 * The values of every secret setting that is set, for the log redactor.
 *
 * @param config The configuration.
 * @returns The secret values, without empty ones.
 */
export function secretValues(config: Config): string[] {
  const values = config as unknown as Record<string, unknown>;
  const secrets: string[] = [];
  for (const row of SETTINGS as readonly AnySetting[]) {
    if (!row.secret) continue;
    const value = row.key === undefined ? undefined : values[row.key];
    if (typeof value === "string" && value !== "") secrets.push(value);
  }
  if (config.webhook !== undefined) secrets.push(config.webhook.secret);
  return secrets;
}
