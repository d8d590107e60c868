/**
 * The `Deno.cron` job that wakes campaigns up on Deno Deploy
 * (`CAMPAIGN_DISPATCH=cron`). Deploy only runs crons registered while the
 * main module is first evaluated ("Cron jobs must be registered at the top
 * level of a module, before any server starts": docs.deno.com/runtime/
 * fundamentals/cron, last modified 2026-05-13), before the configuration is
 * read and the KV opened. So `main.ts` registers {@link CAMPAIGN_CRON} at its
 * top level with {@link registerCampaignCron}, and the outbound service
 * plugs its dispatcher in later ({@link CampaignCron.drive}); a run before
 * that, or without campaigns, does nothing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CampaignCron } from "./campaign_cron.ts";
 * const cron = new CampaignCron();
 * await cron.run(); // nothing plugged in yet
 * let runs = 0;
 * const unplug = cron.drive(() => { runs++; return Promise.resolve(); });
 * await cron.run();
 * unplug();
 * await cron.run();
 * assert.equal(runs, 1);
 * ```
 *
 * @module
 */

/** The cron's name in Deno Deploy's dashboard. */
const CAMPAIGN_CRON_NAME = "campaign dispatcher";
/** Every minute (Deno.cron's finest schedule). */
const CAMPAIGN_CRON_SCHEDULE = "* * * * *";

/** Where a cron run goes. */
export class CampaignCron {
  #handler: (() => Promise<void>) | undefined;

  /** Sends each run to `handler` until the returned function is called. */
  drive(handler: () => Promise<void>): () => void {
    this.#handler = handler;
    return () => {
      if (this.#handler === handler) this.#handler = undefined;
    };
  }

  /** One cron run. */
  run = async (): Promise<void> => {
    await this.#handler?.();
  };
}

/** The process's one cron target (a cron is registered once per process). */
export const CAMPAIGN_CRON = new CampaignCron();

/**
 * Registers the cron with `Deno.cron` when the runtime has it (Deno Deploy;
 * `deno run --unstable-cron`); returns whether it did. Call it at the top
 * level of the main module.
 */
export function registerCampaignCron(cron: CampaignCron = CAMPAIGN_CRON): boolean {
  if (typeof Deno.cron !== "function") return false;
  Deno.cron(CAMPAIGN_CRON_NAME, CAMPAIGN_CRON_SCHEDULE, cron.run);
  return true;
}
