/**
 * Handing a caller to a person: warm transfers (the agent stays on the line,
 * briefs the person, moves the caller once they press 1, or says the
 * fallback line when nobody does) and cold transfers to several
 * destinations (`<Dial>` one after the other, then back to the agent). The
 * package's one door: the app builds {@link WarmTransfers},
 * {@link ColdTransfers} and the routes from here.
 *
 * @module
 */
export {
  type TransferStep,
  type WarmTransferHandle,
  type WarmTransferRequest,
  WarmTransfers,
} from "./warm_transfers.ts";
export { ColdTransfers } from "./cold_transfer.ts";
export { createTransferRoutes } from "./transfer_routes.ts";
export { TransferTokens } from "./transfer_token.ts";
export { TransferRelay } from "./transfer_relay.ts";
export type { LegTimeline } from "./warm_attempts.ts";
export type { ColdLeg, TransferReport, TransferResult } from "./transfer_report.ts";
