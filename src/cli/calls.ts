/**
 * `deno task calls` lists recent calls (time, duration, outcome, cost);
 * `deno task calls <CallSid>` prints one call with its transcript;
 * `deno task calls --webhooks` lists the webhook outbox and re-sends dead letters.
 * Reads `CALL_STORE_PATH` (and `.env`) like the server; a Deno KV Connect URL
 * works too (with `DENO_KV_ACCESS_TOKEN`), e.g. for the managed KV of a Deno
 * Deploy project.
 *
 * @module
 */
import {
  type Config,
  ConfigError,
  DEFAULT_CALL_STORE_PATH,
  loadEnvFile,
  parseConfig,
} from "../config/mod.ts";
import type { CallRecord, CallRecordSummary } from "../calls/call_record.ts";
import { noWordsNote } from "../core/conversation_log.ts";
import { type CallStore, KvCallStore } from "../calls/call_store.ts";
import { type CampaignProgress, campaignProgress } from "../outbound/campaign_dispatcher.ts";
import { CampaignStore } from "../outbound/campaign_store.ts";
import { KvAttemptStore, type OutboundAttempt } from "../outbound/attempt_store.ts";
import { type Delivery, WebhookOutbox, WebhookSender, webhookTargets } from "../webhooks/mod.ts";
import { type CallAnalysis, ResponsesClient } from "../analysis/mod.ts";
import { loadAgents } from "../agents/agent_book.ts";
import { ENVIRONMENT_PROFILE_NAME } from "../agents/agent_profile.ts";
import { CallRecorder } from "../calls/call_recorder.ts";
import { RecordAnalyst } from "../calls/record_analyst.ts";
import { analysisPrices } from "../observability/operations.ts";

const USAGE = `Usage:
  deno task calls [--limit N]        list recent calls, newest first (default 20)
  deno task calls <CallSid>          print one call with its transcript
  deno task calls --campaign <ID>    print a campaign's progress and outcomes
  deno task calls --reanalyze <CallSid>
                                     run the call's post-call analysis again (its agent's analysis: as
                                     configured now), store it and send call.analyzed
  deno task calls --webhooks         list webhook deliveries waiting for a retry and dead letters
  deno task calls --webhooks --resend <webhook-id | all>
                                     send dead letters again (same webhook-id, whole retry schedule;
                                     the running server sends them within seconds)`;

function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function formatUsd(usd: number): string {
  return `$${usd.toFixed(4)}`;
}

function formatTime(iso: string): string {
  return iso.replace("T", " ").replace(/\.\d+Z$/, "Z");
}

/**
 * The table of recent calls.
 *
 * @example
 * ```ts ignore
 * console.log(formatCallTable(await store.list({ limit: 20 })));
 * ```
 */
export function formatCallTable(records: readonly CallRecordSummary[]): string {
  if (records.length === 0) return "No calls recorded yet.";
  // The Agent column appears once calls carry an agent (an agents file, or records since it exists).
  const agents = records.some((r) => r.agent !== undefined);
  const header = [
    "Started (UTC)",
    "Duration",
    "Outcome",
    ...(agents ? ["Agent"] : []),
    "Turns",
    "Cost",
    "CallSid",
  ];
  const rows = records.map((r) => [
    formatTime(r.startedAt),
    formatDuration(r.durationMs),
    r.outcome,
    ...(agents ? [r.agent ?? "-"] : []),
    String(r.turns.caller + r.turns.assistant),
    formatUsd(r.estimatedCostUsd),
    r.callSid,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

/**
 * A caller turn without words in a record: input transcription was off
 * (TRANSCRIPTION_MODEL=off, its default while session renewal is off) or no
 * transcript arrived before the call ended. The record cannot tell which.
 */
export const CALLER_NOT_TRANSCRIBED =
  "(no transcript: TRANSCRIPTION_MODEL was off, or none arrived before the call ended)";

/** One call in detail, with its transcript. */
export function formatCallDetail(record: CallRecord): string {
  const t = record.tokens;
  const lines = [
    `Call ${record.callSid}`,
    `  started   ${formatTime(record.startedAt)}`,
    `  ended     ${formatTime(record.endedAt)} (${formatDuration(record.durationMs)})`,
    `  outcome   ${record.outcome}: ${record.reason}`,
    `  caller    ${record.caller ?? "unknown"}`,
    ...(record.agent !== undefined ? [`  agent     ${record.agent}`] : []),
    ...(record.outbound !== undefined
      ? [`  outbound  answered by ${record.outbound.answeredBy ?? "not known"}`]
      : []),
    `  turns     ${record.turns.caller} caller, ${record.turns.assistant} assistant; ` +
    `${record.bargeIns} barge-ins, ${
      record.falseInterruptions ?? 0
    } false interruptions, ${record.toolCalls} tool calls, ${record.openaiErrors} OpenAI errors`,
    `  tokens    input text ${t.inputTextTokens}, input audio ${t.inputAudioTokens}, ` +
    `cached ${t.inputCachedTokens}, output text ${t.outputTextTokens}, output audio ${t.outputAudioTokens}`,
    `  cost      ${formatUsd(record.estimatedCostUsd)} (estimate)`,
    ...(record.recording !== undefined
      ? [
        `  recording ${record.recording.sid} ${record.recording.status}, ${
          record.recording.durationSeconds ?? "?"
        } s, ${record.recording.channels ?? "?"} channel(s): ${record.recording.url ?? "no URL"}`,
      ]
      : []),
    ...(record.analysis !== undefined ? formatAnalysis(record.analysis) : []),
    "",
    "Transcript:",
  ];
  if (record.transcriptStored === false) lines.push("  (not stored: STORE_TRANSCRIPTS=off)");
  else if (record.transcript.length === 0) lines.push("  (no turns)");
  for (const entry of record.transcript) {
    const at = formatDuration(entry.atMs);
    const who = {
      caller: "Caller",
      assistant: "Assistant",
      tool_call: "Tool call",
      tool_result: "Tool result",
    }[entry.role];
    const text = entry.role === "caller" && entry.text === ""
      ? noWordsNote(entry.speechMs)
      : entry.text ?? (entry.role === "caller" ? CALLER_NOT_TRANSCRIBED : "(no transcript)");
    const heard = entry.heardMs !== undefined ? ` [interrupted after ${entry.heardMs} ms]` : "";
    const fi = entry.falseInterruption;
    if (fi !== undefined) {
      // Struck through: said over the assistant, not an interruption; the assistant went on.
      const said = entry.text === null ? `${fi.speechMs} ms of speech` : entry.text;
      const resumed = fi.resumedAtMs !== undefined ? `, resumed at ${fi.resumedAtMs} ms` : "";
      lines.push(`  ${at}  ${who}: ~~${said}~~ [not an interruption (${fi.verdict})${resumed}]`);
      continue;
    }
    lines.push(`  ${at}  ${who}: ${text}${heard}`);
  }
  if (record.transcriptTruncated) lines.push("  … (transcript cut to fit the store)");
  return lines.join("\n");
}

/** The lines of a call's analysis. */
function formatAnalysis(analysis: CallAnalysis): string[] {
  const t = analysis.tokens;
  const lines = [
    `  analysis  ${analysis.status} by ${analysis.model} at ${formatTime(analysis.analyzedAt)}, ` +
    `${analysis.attempts} request(s); tokens input ${t.input} (cached ${t.cachedInput}), ` +
    `output ${t.output} (reasoning ${t.reasoning}); cost ${formatUsd(analysis.estimatedCostUsd)}`,
  ];
  if (analysis.error !== undefined) lines.push(`  error     ${analysis.error}`);
  if (analysis.summary !== undefined) lines.push(`  summary   ${analysis.summary}`);
  if (analysis.success !== undefined) {
    lines.push(
      `  success   ${analysis.success.passed ? "passed" : "failed"}: ${analysis.success.reason}`,
    );
  }
  if (analysis.extraction !== undefined) {
    lines.push(`  extracted ${JSON.stringify(analysis.extraction)}`);
  }
  return lines;
}

/** An outbound attempt as text. */
function formatAttempt(attempt: OutboundAttempt): string {
  const campaign = attempt.campaignId !== undefined
    ? `, campaign ${attempt.campaignId} contact ${attempt.contactId ?? "?"}`
    : "";
  return [
    `Outbound call ${attempt.callSid} to ${attempt.to ?? "unknown"} (agent ${
      attempt.agent ?? "unknown"
    }${campaign})`,
    `  status    ${attempt.status ?? "unknown"}; answered by ${attempt.answeredBy ?? "not known"}`,
    `  outcome   ${attempt.outcome ?? "not finished"}${
      attempt.finishedAt ? ` at ${formatTime(attempt.finishedAt)}` : ""
    }`,
  ].join("\n");
}

/** A campaign's progress as text. */
function formatCampaign(progress: CampaignProgress): string {
  const c = progress.counts;
  const outcomes = Object.entries(progress.outcomes).map(([k, v]) => `${k} ${v}`).join(", ");
  const lines = [
    `Campaign ${progress.id} (${progress.status})`,
    `  agent       ${progress.agent}`,
    `  created     ${formatTime(progress.createdAt)}`,
    `  settings    concurrency ${progress.concurrency}, window ${progress.window} (${progress.timezone} unless the contact has a zone), ${progress.maxAttempts} attempts`,
    `  contacts    ${c.pending} pending, ${c.live} live, ${c.done} done, ${c.failed} failed, ${c.canceled} canceled`,
    `  outcomes    ${outcomes || "none yet"}`,
    "",
  ];
  const header = ["Contact", "To", "State", "Attempts", "Last outcome", "Next attempt (UTC)"];
  const rows = progress.contacts.map((x) => [
    x.id,
    x.to,
    x.state,
    String(x.attempts),
    x.lastOutcome ?? "",
    x.nextAttemptAt ? formatTime(x.nextAttemptAt) : "",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((v, i) => v.padEnd(widths[i])).join("  ").trimEnd();
  lines.push(line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line));
  return lines.join("\n");
}

/** The webhook outbox: deliveries waiting for a retry, then dead letters. */
function formatDeliveries(list: { pending: Delivery[]; dead: Delivery[] }): string {
  const header = ["webhook-id", "Event", "Webhook", "Tries", "When (UTC)", "Last error"];
  const table = (rows: Delivery[]) => {
    const cells = rows.map((d) => [
      d.id,
      d.type,
      d.targetId,
      String(d.attempts),
      formatTime(new Date(d.dueAt).toISOString()),
      d.lastError ?? "",
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i].length)));
    const line = (c: string[]) => c.map((v, i) => v.padEnd(widths[i])).join("  ").trimEnd();
    return [line(header), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)];
  };
  return [
    `Pending (${list.pending.length}; "When" is the next try):`,
    ...(list.pending.length > 0 ? table(list.pending) : ["  none"]),
    "",
    `Dead letters (${list.dead.length}; "When" is when they were given up):`,
    ...(list.dead.length > 0 ? table(list.dead) : ["  none"]),
    ...(list.dead.length > 0
      ? ["", "Send again: deno task calls --webhooks --resend <webhook-id | all>"]
      : []),
  ].join("\n");
}

async function webhooksCommand(
  args: readonly string[],
  outbox: WebhookOutbox,
  print: (text: string) => void,
): Promise<number> {
  const resendAt = args.indexOf("--resend");
  if (resendAt < 0) {
    print(formatDeliveries(await outbox.list(1000)));
    return 0;
  }
  const which = args[resendAt + 1];
  if (which === undefined) {
    print(USAGE);
    return 2;
  }
  const ids = which === "all" ? (await outbox.list(1000)).dead.map((d) => d.id) : [which];
  let sent = 0;
  for (const id of ids) if (await outbox.resend(id, Date.now())) sent++;
  if (which !== "all" && sent === 0) {
    print(`No dead letter ${which} in this call store (see deno task calls --webhooks).`);
    return 1;
  }
  print(`${sent} delivery(ies) due again; the running server sends them within seconds.`);
  return 0;
}

/** Runs the command with `args`; returns the exit code. */
export async function runCallsCommand(
  args: readonly string[],
  options: {
    store: CallStore;
    print?: (text: string) => void;
    /** Reads a campaign's progress (from the same KV). */
    campaign?: (id: string) => Promise<CampaignProgress | undefined>;
    /** Reads an outbound attempt (from the same KV). */
    attempt?: (callSid: string) => Promise<OutboundAttempt | undefined>;
    /** The webhook outbox (in the same KV). */
    outbox?: WebhookOutbox;
    /** Runs a call's analysis again, stores it and sends `call.analyzed` (`--reanalyze`). */
    reanalyze?: (record: CallRecord) => Promise<CallAnalysis | string>;
  },
): Promise<number> {
  const print = options.print ?? console.log;
  if (args.includes("--help") || args.includes("-h")) {
    print(USAGE);
    return 0;
  }
  if (args.includes("--webhooks")) {
    if (options.outbox === undefined) {
      print(USAGE);
      return 2;
    }
    return await webhooksCommand(args, options.outbox, print);
  }
  const reanalyzeAt = args.indexOf("--reanalyze");
  if (reanalyzeAt >= 0) {
    const callSid = args[reanalyzeAt + 1];
    if (callSid === undefined || options.reanalyze === undefined) {
      print(USAGE);
      return 2;
    }
    const record = await options.store.get(callSid);
    if (record === undefined) {
      print(`No record of call ${callSid} (records expire after RETENTION_DAYS).`);
      return 1;
    }
    const analysis = await options.reanalyze(record);
    if (typeof analysis === "string") {
      print(analysis);
      return 1;
    }
    print([`Call ${callSid} analyzed again:`, ...formatAnalysis(analysis)].join("\n"));
    return analysis.status === "ok" ? 0 : 1;
  }
  const campaignAt = args.indexOf("--campaign");
  if (campaignAt >= 0) {
    const id = args[campaignAt + 1];
    if (id === undefined || options.campaign === undefined) {
      print(USAGE);
      return 2;
    }
    const progress = await options.campaign(id);
    if (progress === undefined) {
      print(`No campaign ${id} in this call store.`);
      return 1;
    }
    print(formatCampaign(progress));
    return 0;
  }
  let limit = 20;
  const limitAt = args.indexOf("--limit");
  const rest = [...args];
  if (limitAt >= 0) {
    limit = Number(args[limitAt + 1]);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      print(`--limit must be an integer from 1 to 1000.\n${USAGE}`);
      return 2;
    }
    rest.splice(limitAt, 2);
  }
  if (rest.length > 1) {
    print(USAGE);
    return 2;
  }
  if (rest.length === 1) {
    const record = await options.store.get(rest[0]);
    const attempt = await options.attempt?.(rest[0]);
    if (record === undefined && attempt === undefined) {
      print(`No record of call ${rest[0]} (records expire after RETENTION_DAYS).`);
      return 1;
    }
    // An outbound call nobody answered (busy, no answer) has an attempt but no record.
    print([
      ...(attempt !== undefined ? [formatAttempt(attempt)] : []),
      ...(record !== undefined ? [formatCallDetail(record)] : []),
    ].join("\n"));
    return 0;
  }
  print(formatCallTable(await options.store.list({ limit })));
  return 0;
}

/**
 * `--reanalyze` as the server would: the configuration and agents file of the
 * environment, the record stored again (with the retention), `call.analyzed`
 * written to the outbox (the running server sends it).
 */
async function reanalyzeWith(
  env: Record<string, string | undefined>,
  path: string,
  kv: Deno.Kv,
  record: CallRecord,
): Promise<CallAnalysis | string> {
  let config: Config;
  try {
    config = parseConfig(env);
  } catch (error) {
    return error instanceof ConfigError
      ? `The configuration has problems:\n${error.problems.join("\n")}`
      : String(error);
  }
  const loaded = loadAgents({ config, file: config.agentsFile, env });
  if (!loaded.ok) return `The agents file has problems:\n${loaded.problems.join("\n")}`;
  const profiles = loaded.book.profiles;
  const agentName = record.agent ?? ENVIRONMENT_PROFILE_NAME;
  const agent = profiles.find((p) => p.name === agentName);
  if (agent?.analysis === undefined) {
    return `The agent ${agentName} asks for no analysis: set analysis: in its agents file entry (or ANALYSIS_* for the environment's agent).`;
  }
  const store = await KvCallStore.open({ path, retentionDays: config.retentionDays });
  const sender = new WebhookSender({
    outbox: new WebhookOutbox(kv, { retentionDays: config.retentionDays }),
    targets: () => webhookTargets(config.webhook, profiles),
    schedule: config.webhookRetrySchedule,
    timeoutMs: config.webhookTimeoutSeconds * 1000,
  });
  try {
    const recorder = new CallRecorder({
      store,
      events: sender,
      privacy: { redact: config.redact, storeTranscripts: config.storeTranscripts },
      prices: config.prices,
      analyst: new RecordAnalyst({
        agent: (name) => profiles.find((p) => p.name === (name ?? ENVIRONMENT_PROFILE_NAME)),
        client: new ResponsesClient({ baseUrl: config.openaiBaseUrl, apiKey: config.openaiApiKey }),
        prices: analysisPrices(config),
      }),
    });
    return await recorder.analyze(record) ?? "No analysis ran.";
  } finally {
    await sender.close();
    store.close();
  }
}

if (import.meta.main) {
  const env = loadEnvFile();
  const path = env.CALL_STORE_PATH?.trim() || DEFAULT_CALL_STORE_PATH;
  if (path.toLowerCase() === "off") {
    console.error("CALL_STORE_PATH is off: no call records are kept.");
    Deno.exit(1);
  }
  const store = await KvCallStore.open({ path, retentionDays: 0 });
  const kv = await Deno.openKv(path);
  try {
    Deno.exitCode = await runCallsCommand(Deno.args, {
      store,
      campaign: (id) => campaignProgress(new CampaignStore(kv), id),
      attempt: (callSid) => new KvAttemptStore(kv).get(callSid),
      outbox: new WebhookOutbox(kv, { retentionDays: 0 }),
      reanalyze: (record) => reanalyzeWith(env, path, kv, record),
    });
  } finally {
    store.close();
    kv.close();
  }
}
