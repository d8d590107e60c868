/**
 * The bridge for transfer tests: signature checks on, each transfer counted by
 * mode and result in `bridge_transfers_total`, as the server's metrics do.
 *
 * @module
 */
import type { AppOptions } from "../../src/http/app.ts";
import { MetricsRegistry } from "../../src/observability/metrics.ts";
import { BridgeHarness } from "./bridge_harness.ts";

/**
 * Starts {@link BridgeHarness.startSecure} with `env` and `app`, counting each
 * transfer in the returned registry's `bridge_transfers_total` (`app.onTransfer`
 * still runs).
 */
export async function startTransferBridge(
  env: Record<string, string>,
  app: Partial<AppOptions> = {},
): Promise<{ h: BridgeHarness; registry: MetricsRegistry }> {
  const registry = new MetricsRegistry();
  const transfers = registry.counter({
    name: "bridge_transfers_total",
    help: "test",
    labelNames: ["mode", "result"],
  });
  const h = await BridgeHarness.startSecure(env, {
    app: {
      ...app,
      onTransfer: (mode, result, report) => {
        transfers.inc({ mode, result });
        app.onTransfer?.(mode, result, report);
      },
    },
  });
  return { h, registry };
}
