/**
 * Validation of GPT-Live events against `tests/fixtures/gpt-live-events.schema.json`
 * (written 2026-12-07 from `/work/shared/gpt-live-protocol.md` and its sources;
 * see the schema's description). Client events are checked as the live API
 * does: unknown fields are refused, naming the field.
 *
 * @module
 */
import { Ajv2020 } from "ajv/dist/2020.js";
import type { ErrorObject, ValidateFunction } from "ajv/dist/2020.js";

const SCHEMA_URL = new URL("../fixtures/gpt-live-events.schema.json", import.meta.url);

let validators: { client: ValidateFunction; server: ValidateFunction } | undefined;

function load() {
  if (validators) return validators;
  const schema = JSON.parse(Deno.readTextFileSync(SCHEMA_URL));
  const ajv = new Ajv2020({ strict: false, allErrors: true, discriminator: true });
  ajv.addSchema(schema);
  const id = schema.$id as string;
  validators = {
    client: ajv.compile({ $ref: `${id}#/$defs/LiveClientEvent` }),
    server: ajv.compile({ $ref: `${id}#/$defs/LiveServerEvent` }),
  };
  return validators;
}

function describe(errors: readonly ErrorObject[] | null | undefined): string {
  const unknown = errors?.find((e) => e.keyword === "additionalProperties");
  if (unknown !== undefined) {
    const field = (unknown.params as { additionalProperty: string }).additionalProperty;
    const at = unknown.instancePath.replaceAll("/", ".").slice(1);
    return `unknown field ${at === "" ? field : `${at}.${field}`}`;
  }
  return (errors ?? []).slice(0, 3).map((e) => `${e.instancePath || "(event)"} ${e.message}`)
    .join("; ");
}

/** Why `event` is not a valid GPT-Live client event, or undefined when it is. */
export function liveClientEventProblem(event: unknown): string | undefined {
  const { client } = load();
  return client(event) ? undefined : describe(client.errors);
}

/** Why `event` is not a valid GPT-Live server event, or undefined when it is. */
export function liveServerEventProblem(event: unknown): string | undefined {
  const { server } = load();
  return server(event) ? undefined : describe(server.errors);
}
