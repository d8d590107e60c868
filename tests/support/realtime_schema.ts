/**
 * Validation of OpenAI Realtime (GA) events against the JSON Schema fixture
 * `tests/fixtures/realtime-events.schema.json` (draft 2020-12).
 *
 * Client events are validated in a *strict* mode: the live API rejects properties it does not
 * declare (`unknown_parameter`), while the published schema allows them. The strict copy of the
 * schema forbids undeclared properties on every object schema reachable from the entry point.
 *
 * @module
 */

import { Ajv2020 } from "ajv/dist/2020.js";
import type { ErrorObject, ValidateFunction } from "ajv/dist/2020.js";

/** A JSON Schema node (loosely typed: the fixture is plain JSON). */
type SchemaNode = { [key: string]: unknown };

/** The live server's answer to an invalid client event, as the fake server reports it. */
export interface ClientEventProblem {
  /** `unknown_parameter`, `missing_required_parameter`, `invalid_value` or `invalid_event`. */
  code: "unknown_parameter" | "missing_required_parameter" | "invalid_value" | "invalid_event";
  /** Dotted path of the offending parameter (e.g. `session.voice`), or null. */
  param: string | null;
  /** A message in the style of the live API. */
  message: string;
}

/** Options of {@linkcode validateServerEvent}. */
export interface ServerEventValidationOptions {
  /**
   * Also reject undeclared properties (the fake server checks what it sends this way, so it only
   * ever sends fields the spec knows). Default false: the real server may add fields.
   */
  strict?: boolean;
}

const SCHEMA_URL = new URL("../fixtures/realtime-events.schema.json", import.meta.url);
const CLIENT_ROOT = "RealtimeClientEvent";
const SERVER_ROOT = "RealtimeServerEvent";

interface Validators {
  client: ValidateFunction;
  server: ValidateFunction;
  serverStrict: ValidateFunction;
}

let validators: Validators | undefined;

function loadValidators(): Validators {
  if (validators) return validators;
  const schema = JSON.parse(Deno.readTextFileSync(SCHEMA_URL)) as SchemaNode;
  const baseId = String(schema.$id);
  const strictId = (suffix: string) =>
    baseId.replace(/\.schema\.json$|$/, `.${suffix}.schema.json`);
  const strictClient = makeStrictCopy(schema, CLIENT_ROOT, strictId("strict-client"));
  const strictServer = makeStrictCopy(schema, SERVER_ROOT, strictId("strict-server"));
  // The spec uses `format` (uri, …) without format validators; keep formats as annotations.
  const ajv = new Ajv2020({
    strict: false,
    discriminator: true,
    allErrors: true,
    validateFormats: false,
  });
  ajv.addSchema(schema);
  ajv.addSchema(strictClient);
  ajv.addSchema(strictServer);
  const get = (id: string, root: string): ValidateFunction => {
    const fn = ajv.getSchema(`${id}#/$defs/${root}`);
    if (!fn) throw new Error(`realtime schema: cannot compile ${root} of ${id}`);
    return fn;
  };
  validators = {
    client: get(String(strictClient.$id), CLIENT_ROOT),
    server: get(baseId, SERVER_ROOT),
    serverStrict: get(String(strictServer.$id), SERVER_ROOT),
  };
  return validators;
}

/**
 * Validates a client event (what the bridge sends to OpenAI) against `RealtimeClientEvent`,
 * rejecting undeclared properties like the live API does.
 *
 * @returns readable error strings; an empty array means the event is valid.
 */
export function validateClientEvent(event: unknown): string[] {
  return formatErrors(runValidator(loadValidators().client, event));
}

/**
 * Validates a server event (what OpenAI sends) against `RealtimeServerEvent`.
 *
 * @returns readable error strings; an empty array means the event is valid.
 */
export function validateServerEvent(
  event: unknown,
  options: ServerEventValidationOptions = {},
): string[] {
  const v = loadValidators();
  return formatErrors(runValidator(options.strict ? v.serverStrict : v.server, event));
}

/**
 * Classifies why a client event is invalid the way the live server would report it in an `error`
 * event (`code`, `param`, `message`).
 *
 * @returns undefined when the event is valid.
 */
export function describeClientEventProblem(event: unknown): ClientEventProblem | undefined {
  const errors = runValidator(loadValidators().client, event);
  if (errors.length === 0) return undefined;
  const knownTypes = clientEventTypes();
  if (!isObject(event)) {
    return {
      code: "invalid_event",
      param: null,
      message: "Invalid event: expected a JSON object.",
    };
  }
  const type = event.type;
  if (typeof type !== "string") {
    return {
      code: "missing_required_parameter",
      param: "type",
      message: "Missing required parameter: 'type'.",
    };
  }
  if (!knownTypes.includes(type)) {
    return {
      code: "invalid_event",
      param: "type",
      message: `Invalid value: '${type}'. Supported values are: ${
        knownTypes.map((t) => `'${t}'`).join(", ")
      }.`,
    };
  }
  const unknown = errors.find((e) =>
    e.keyword === "unevaluatedProperties" || e.keyword === "additionalProperties"
  );
  if (unknown) {
    const param = joinParam(unknown.instancePath, extraProperty(unknown));
    return { code: "unknown_parameter", param, message: `Unknown parameter: '${param}'.` };
  }
  const missing = errors.find((e) =>
    e.keyword === "required" ||
    (e.keyword === "discriminator" && e.params.error === "tag" && e.params.tagValue === undefined)
  );
  if (missing) {
    const prop = missing.keyword === "required"
      ? String(missing.params.missingProperty)
      : String(missing.params.tag);
    const param = joinParam(missing.instancePath, prop);
    return {
      code: "missing_required_parameter",
      param,
      message: `Missing required parameter: '${param}'.`,
    };
  }
  const first = errors.find((e) => e.keyword !== "anyOf" && e.keyword !== "oneOf") ?? errors[0];
  const param = first ? joinParam(first.instancePath) : null;
  return {
    code: "invalid_value",
    param: param || null,
    message: `Invalid value for '${param || "event"}': ${first?.message ?? "invalid"}.`,
  };
}

/** The 11 GA client event types (`RealtimeClientEvent`). */
export function clientEventTypes(): string[] {
  return schemaTypeEnum(CLIENT_ROOT);
}

/** The 46 GA server event types (`RealtimeServerEvent`). */
export function serverEventTypes(): string[] {
  return schemaTypeEnum(SERVER_ROOT);
}

let typeEnums: Map<string, string[]> | undefined;

function schemaTypeEnum(root: string): string[] {
  if (!typeEnums) {
    const schema = JSON.parse(Deno.readTextFileSync(SCHEMA_URL)) as SchemaNode;
    const defs = schema.$defs as Record<string, SchemaNode>;
    typeEnums = new Map();
    for (const name of [CLIENT_ROOT, SERVER_ROOT]) {
      const props = defs[name].properties as Record<string, SchemaNode>;
      typeEnums.set(name, [...(props.type.enum as string[])]);
    }
  }
  return [...(typeEnums.get(root) ?? [])];
}

// ---------------------------------------------------------------------------------------------
// Strict copy of the schema

/** Keywords whose subschemas describe a *new* instance location (a value inside the object). */
const VALUE_KEYWORDS = ["additionalProperties", "items", "contains", "propertyNames"];
/** Keywords whose subschemas apply *in place* (to the same instance). */
const IN_PLACE_KEYWORDS = ["allOf", "anyOf", "oneOf"];

/**
 * Returns a deep copy of `schema` with `$id` = `id` where every object schema reachable from
 * `$defs[root]` forbids undeclared properties.
 *
 * How composition is handled (the fixture uses `$ref`, `anyOf` and `oneOf`, no `allOf`):
 * - A schema that declares `properties` gets `unevaluatedProperties: false`. That keyword sees
 *   the properties evaluated by its in-place applicators (`$ref`, valid `anyOf`/`oneOf` branches),
 *   so a parent that declares `type` next to a discriminated `oneOf` still accepts the branch's
 *   fields.
 * - A pure union (`anyOf`/`oneOf` without own `properties`) passes the constraint down to each
 *   branch, so every alternative is strict on its own and errors name the extra property of the
 *   branch that matched best instead of every property.
 * - A union whose branches are all objects with a required, distinct `type` constant is turned
 *   into `oneOf` + `discriminator` (the live API dispatches on `type`), which keeps errors focused
 *   on the chosen alternative (e.g. `session.type: "realtime"`).
 * - Free-form objects (`{type:"object"}` with no `properties`, e.g. tool `parameters`,
 *   `metadata`) are left open.
 */
function makeStrictCopy(schema: SchemaNode, root: string, id: string): SchemaNode {
  const copy = structuredClone(schema) as SchemaNode;
  copy.$id = id;
  delete copy.anyOf;
  delete copy.$comment;
  const defs = copy.$defs as Record<string, SchemaNode>;
  const resolve = (ref: string): SchemaNode => {
    const prefix = "#/$defs/";
    if (!ref.startsWith(prefix)) throw new Error(`realtime schema: unsupported $ref ${ref}`);
    let node: unknown = defs;
    for (const part of ref.slice(prefix.length).split("/")) {
      node = (node as Record<string, unknown>)[decodeURIComponent(part)];
    }
    if (!isObject(node)) throw new Error(`realtime schema: dangling $ref ${ref}`);
    return node;
  };

  const strictified = new Set<SchemaNode>();
  const walked = new Set<SchemaNode>();

  /** Makes the object schema at `node` (an instance location) reject undeclared properties. */
  const strictify = (node: SchemaNode): void => {
    if (strictified.has(node)) return;
    strictified.add(node);
    if (typeof node.$ref === "string" && !hasOwnStructure(node)) {
      strictify(resolve(node.$ref));
      return;
    }
    if (Array.isArray(node.anyOf)) convertToDiscriminated(node);
    const branches = IN_PLACE_KEYWORDS.flatMap((k) => Array.isArray(node[k]) ? node[k] : [])
      .filter(isObject);
    const own = isObject(node.properties) ? Object.keys(node.properties) : [];
    const pushDown = branches.length > 0 && node.patternProperties === undefined &&
      node.additionalProperties === undefined &&
      branches.every((b) => own.every((name) => declares(b, name)));
    if (!pushDown) {
      if (isObject(node.properties) || isObject(node.patternProperties)) {
        if (node.additionalProperties === undefined) node.unevaluatedProperties = false;
      }
      return;
    }
    branches.forEach(strictify);
  };

  /** True when `node` (following `$ref`) declares property `name`. */
  const declares = (node: SchemaNode, name: string): boolean => {
    const target = typeof node.$ref === "string" && !hasOwnStructure(node)
      ? resolve(node.$ref)
      : node;
    return isObject(target.properties) && name in target.properties;
  };

  /** The constant value of required property `prop` of a branch (following `$ref`). */
  const tagOf = (branch: unknown, prop: string): string | undefined => {
    if (!isObject(branch)) return undefined;
    const target = typeof branch.$ref === "string" && !hasOwnStructure(branch)
      ? resolve(branch.$ref)
      : branch;
    const props = target.properties;
    const required = target.required;
    if (!isObject(props) || !isObject(props[prop]) || !Array.isArray(required)) return undefined;
    if (!required.includes(prop)) return undefined;
    const sch = props[prop] as SchemaNode;
    const tag = sch.const ??
      (Array.isArray(sch.enum) && sch.enum.length === 1 ? sch.enum[0] : undefined);
    return typeof tag === "string" ? tag : undefined;
  };

  /**
   * An `anyOf` whose branches are objects tagged by a required constant `type` becomes a
   * discriminated `oneOf` (the live API dispatches on `type`). Branches sharing a tag (user,
   * system and assistant messages are all `type: "message"`) are grouped under one branch,
   * itself discriminated by `role` when possible.
   */
  const convertToDiscriminated = (node: SchemaNode, prop = "type"): boolean => {
    const branches = node.anyOf;
    if (!Array.isArray(branches) || branches.length < 2) return false;
    if (node.discriminator !== undefined || node.oneOf !== undefined) return false;
    const groups = new Map<string, unknown[]>();
    for (const branch of branches) {
      const tag = tagOf(branch, prop);
      if (tag === undefined) return false;
      groups.set(tag, [...(groups.get(tag) ?? []), branch]);
    }
    if (groups.size < 2) return false;
    node.oneOf = [...groups].map(([tag, members]) => {
      if (members.length === 1) return members[0];
      const group: SchemaNode = {
        type: "object",
        properties: { [prop]: { const: tag } },
        required: [prop],
        anyOf: members,
      };
      if (prop === "type") convertToDiscriminated(group, "role");
      return group;
    });
    delete node.anyOf;
    node.discriminator = { propertyName: prop };
    if (node.type === undefined) node.type = "object";
    return true;
  };

  /** Visits every instance location below `node` and strictifies it. */
  const walk = (node: SchemaNode): void => {
    if (walked.has(node)) return;
    walked.add(node);
    strictify(node);
    for (const part of inPlaceClosure(node, resolve)) {
      for (const key of ["properties", "patternProperties"]) {
        const map = part[key];
        if (isObject(map)) Object.values(map).filter(isObject).forEach(walk);
      }
      for (const key of VALUE_KEYWORDS) {
        const sub = part[key];
        if (isObject(sub)) walk(sub);
      }
      if (Array.isArray(part.prefixItems)) part.prefixItems.filter(isObject).forEach(walk);
    }
  };

  walk(defs[root]);
  return copy;
}

/** True when a `$ref` node also carries keywords that constrain the instance. */
function hasOwnStructure(node: SchemaNode): boolean {
  return ["properties", "anyOf", "oneOf", "allOf", "items", "additionalProperties"].some((k) =>
    node[k] !== undefined
  );
}

/** The node and every schema applied in place to the same instance (through $ref and unions). */
function inPlaceClosure(node: SchemaNode, resolve: (ref: string) => SchemaNode): SchemaNode[] {
  const out: SchemaNode[] = [];
  const seen = new Set<SchemaNode>();
  const visit = (n: SchemaNode): void => {
    if (seen.has(n)) return;
    seen.add(n);
    out.push(n);
    if (typeof n.$ref === "string") visit(resolve(n.$ref));
    for (const key of IN_PLACE_KEYWORDS) {
      const branches = n[key];
      if (Array.isArray(branches)) branches.filter(isObject).forEach(visit);
    }
  };
  visit(node);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Error formatting

/** Runs a compiled validator; returns its errors (empty when valid). */
function runValidator(validate: ValidateFunction, data: unknown): ErrorObject[] {
  const valid = (validate as (data: unknown) => boolean)(data);
  return valid ? [] : [...(validate.errors ?? [])];
}

function formatErrors(errors: ErrorObject[]): string[] {
  const out: string[] = [];
  for (const e of errors) {
    const where = e.instancePath === "" ? "/" : e.instancePath;
    let text = `${where} ${e.message ?? e.keyword}`;
    const extra = extraProperty(e);
    if (extra !== undefined) text += `: '${extra}'`;
    else if (e.keyword === "enum") {
      text += `: ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}`;
    } else if (e.keyword === "const") text += `: ${JSON.stringify(e.params.allowedValue)}`;
    else if (e.keyword === "discriminator" && e.params.error === "mapping") {
      text += ` (got ${JSON.stringify(e.params.tagValue)})`;
    }
    if (!out.includes(text)) out.push(text);
  }
  return out;
}

function extraProperty(e: ErrorObject): string | undefined {
  if (e.keyword === "unevaluatedProperties") return String(e.params.unevaluatedProperty);
  if (e.keyword === "additionalProperties") return String(e.params.additionalProperty);
  return undefined;
}

/** `/session/tools/0` + `name` -> `session.tools[0].name`. */
function joinParam(instancePath: string, last?: string): string {
  const parts = instancePath.split("/").slice(1).map((p) =>
    p.replaceAll("~1", "/").replaceAll("~0", "~")
  );
  if (last !== undefined) parts.push(last);
  let out = "";
  for (const p of parts) {
    if (/^\d+$/.test(p)) out += `[${p}]`;
    else out += out === "" ? p : `.${p}`;
  }
  return out;
}

function isObject(value: unknown): value is SchemaNode {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
