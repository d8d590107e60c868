/**
 * The validated configuration type, computed from the table in `spec.ts`:
 * every row with a key is a field of its kind's type (or `| undefined`
 * without a default), plus the few fields the rules compose from several
 * variables (turn detection, greeting, system message, prices, call record
 * webhook) and the start-up warnings.
 *
 * @example
 * ```ts
 * import type { Config } from "./config_type.ts";
 *
 * function port(config: Config): number {
 *   return config.port; // from the PORT row
 * }
 * void port;
 * ```
 *
 * @module
 */
import type { TokenPrices } from "../calls/prices.ts";
import type { WebhookEventType } from "../webhooks/mod.ts";
import type { SpecRow } from "./spec.ts";
import type { ValuesByEnv, ValuesByKey } from "./setting.ts";

/** Turn detection as sent in `session.audio.input.turn_detection`. */
export type TurnDetection =
  | {
    type: "server_vad";
    /** Activation threshold, 0 to 1. */
    threshold: number;
    /** Audio kept before speech starts, in ms. */
    prefixPaddingMs: number;
    /** Silence that ends a turn, in ms. */
    silenceDurationMs: number;
    /** Whether speech interrupts the assistant (barge-in). */
    interruptResponse: boolean;
  }
  | {
    type: "semantic_vad";
    /** How eagerly the model ends the caller's turn. */
    eagerness: "low" | "medium" | "high" | "auto";
    /** Whether speech interrupts the assistant (barge-in). */
    interruptResponse: boolean;
  };

/** The environment's webhook. */
export interface EnvironmentWebhook {
  url: string;
  /** `whsec_<base64>`, or any text for the legacy variables (its UTF-8 bytes are the key). */
  secret: string;
  /** The events it takes; undefined: all. */
  events: WebhookEventType[] | undefined;
  /** From `CALL_RECORD_WEBHOOK_*`: also sends `X-Signature-256`. */
  legacy: boolean;
}

/** The fields the rules compose from several variables (see `rules.ts`). */
export interface ComposedConfig {
  /** The session instructions, from `SYSTEM_MESSAGE`, `SYSTEM_MESSAGE_FILE` or the default. */
  systemMessage: string;
  /** Greeting the assistant says first, or undefined when greeting is turned off. */
  greeting: string | undefined;
  /** Turn detection settings (`TURN_DETECTION`, `VAD_*`, `INTERRUPT_RESPONSE`). */
  turnDetection: TurnDetection;
  /** Token prices for the cost estimate, USD per 1M tokens (`PRICE_*`). */
  prices: TokenPrices;
  /**
   * The environment's webhook (`WEBHOOK_*`, or the deprecated
   * `CALL_RECORD_WEBHOOK_*` with `legacy` true); undefined for none.
   */
  webhook: EnvironmentWebhook | undefined;
  /** Warnings found while parsing (e.g. `TEMPERATURE` has no effect); logged at start-up. */
  warnings: string[];
}

/** The values of the rows that have a `Config` key. */
export type TableConfig = ValuesByKey<SpecRow>;

/** The values of all rows by variable name, as the rules read them. */
export type EnvValues = ValuesByEnv<SpecRow>;

/** The whole validated configuration. */
export type Config = TableConfig & ComposedConfig;
