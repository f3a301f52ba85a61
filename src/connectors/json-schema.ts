/**
 * JSON Schema (draft 2020-12) for processor definitions and connections, generated from the connector specs
 * (`sp schema`). A schema checks shape only: a definition it accepts can still fail `sp lint` (an unknown
 * connection, an invalid expression), but one `sp lint` accepts always validates.
 */
import type { ConnectorStageName, FieldSchemas, JsonSchema } from "../pipeline/connector-specs.ts";
import { STAGES } from "../pipeline/stages/index.ts";
import { CONNECTORS } from "./registry.ts";
import type { ConnectorSpec } from "./spec.ts";

const DRAFT = "https://json-schema.org/draft/2020-12/schema";
const COMMON_SOURCE: Readonly<Record<string, JsonSchema>> = {
  connectionName: { type: "string" },
  timeField: { anyOf: [{ type: "string" }, { type: "object" }] },
  tsFieldName: { type: "string" },
  tsFieldOverride: { type: "string" },
};

/** A processor definition: `{name, pipeline, options}` or a bare pipeline array. */
export function processorSchema(): JsonSchema {
  const pipeline = { type: "array", minItems: 1, items: { $ref: "#/$defs/stage" } };
  return {
    $schema: DRAFT,
    $id: "https://eddy.invalid/schema/processor.json",
    title: "Eddy / Atlas Stream Processing processor definition",
    anyOf: [
      pipeline,
      {
        type: "object",
        additionalProperties: false,
        required: ["pipeline"],
        properties: {
          name: { type: "string", minLength: 1 },
          pipeline,
          options: {
            type: "object",
            additionalProperties: false,
            properties: {
              dlq: {
                type: "object",
                additionalProperties: false,
                properties: {
                  connectionName: { type: "string" },
                  ...Object.assign({}, ...CONNECTORS.specs.map((spec) => spec.dlq?.fields.properties ?? {})),
                },
              },
              tier: { type: "string" },
            },
          },
        },
      },
    ],
    $defs: {
      stage: {
        type: "object",
        minProperties: 1,
        maxProperties: 1,
        propertyNames: { enum: Object.keys(STAGES) },
        properties: {
          $source: { $ref: "#/$defs/source" },
          $emit: { $ref: "#/$defs/emit" },
          ...connectorStages(),
        },
      },
      source: {
        description: "`$source`: inline documents, or one form per connection type.",
        anyOf: [
          strictObject(
            {
              properties: {
                ...COMMON_SOURCE,
                documents: { anyOf: [{ type: "array" }, { type: "object" }, { type: "string" }] },
              },
              required: ["documents"],
            },
            "documents",
          ),
          ...withForm((spec) => spec.source?.fields).map(([spec, fields]) =>
            strictObject(
              {
                properties: { ...COMMON_SOURCE, ...fields.properties },
                required: ["connectionName", ...(fields.required ?? [])],
              },
              spec.type,
            ),
          ),
        ],
      },
      emit: {
        description: "`$emit`: one form per connection type.",
        anyOf: withForm((spec) => spec.emit?.fields).map(([spec, fields]) =>
          strictObject(
            {
              properties: { connectionName: { type: "string" }, ...fields.properties },
              required: ["connectionName", ...(fields.required ?? [])],
            },
            spec.type,
          ),
        ),
      },
    },
  };
}

/** A connection of `type` (a name or alias): `{name, type, config}`, settings also accepted at the top level. */
export function connectionSchema(type: string): JsonSchema | undefined {
  const spec = CONNECTORS.find(type);
  if (!spec) return undefined;
  const config = { type: "object", properties: spec.connection.properties };
  return {
    $schema: DRAFT,
    $id: `https://eddy.invalid/schema/connection-${spec.type.toLowerCase()}.json`,
    title: `${spec.type} connection`,
    description: spec.description,
    type: "object",
    properties: {
      name: { type: "string", pattern: "^[A-Za-z0-9._*-]+$" },
      type: { type: "string", pattern: caseInsensitive([spec.type.toLowerCase(), ...spec.aliases]) },
      config,
      options: config,
      ...spec.connection.properties,
    },
    required: ["type"],
    anyOf: [{ required: ["name"] }, { required: ["connection_name"] }, { required: ["connectionName"] }],
  };
}

/** A connections file: `{"connections": [...]}` or a bare array, each entry a connection of a known type. */
export function connectionsFileSchema(): JsonSchema {
  const entry = { anyOf: CONNECTORS.specs.map((spec) => withoutMeta(connectionSchema(spec.type) ?? {})) };
  const list = { type: "array", items: entry };
  return {
    $schema: DRAFT,
    $id: "https://eddy.invalid/schema/connections.json",
    title: "Eddy connections file",
    anyOf: [list, { type: "object", required: ["connections"], properties: { connections: list } }],
  };
}

/** Each connector-backed stage (`$merge`, `$lookup`…): one form per connection type that serves it. */
function connectorStages(): Record<string, JsonSchema> {
  const names = [
    ...new Set(CONNECTORS.specs.flatMap((spec) => Object.keys(spec.stages ?? {}))),
  ] as ConnectorStageName[];
  return Object.fromEntries(
    names.map((name) => {
      const forms = withForm((spec) => spec.stages?.[name]?.fields).map(([spec, fields]) =>
        strictObject(fields, spec.type),
      );
      return [name, forms.length === 1 ? forms[0] : { anyOf: forms }];
    }),
  );
}

function withForm(
  pick: (spec: ConnectorSpec) => FieldSchemas | undefined,
): Array<[ConnectorSpec, FieldSchemas]> {
  return CONNECTORS.specs.flatMap((spec) => {
    const fields = pick(spec);
    return fields ? [[spec, fields] as [ConnectorSpec, FieldSchemas]] : [];
  });
}

function strictObject(fields: FieldSchemas, title: string): JsonSchema {
  return {
    title,
    type: "object",
    additionalProperties: false,
    properties: fields.properties,
    ...(fields.required && fields.required.length > 0 ? { required: [...fields.required] } : {}),
  };
}

function withoutMeta(schema: JsonSchema): JsonSchema {
  const { $schema: _schema, $id: _id, ...rest } = schema;
  return rest;
}

/** A pattern matching any of `names` in any letter case (JSON Schema patterns have no `i` flag). */
function caseInsensitive(names: readonly string[]): string {
  const one = (name: string) =>
    [...name]
      .map((c) =>
        /[a-z]/i.test(c)
          ? `[${c.toLowerCase()}${c.toUpperCase()}]`
          : c.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"),
      )
      .join("");
  return `^(${names.map(one).join("|")})$`;
}
