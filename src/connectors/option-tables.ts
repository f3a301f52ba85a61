/**
 * The per-type option tables of docs/connectors.md, generated from the connector specs so the docs cannot
 * drift from what the planner accepts (`npm run docs:connectors` rewrites them; a test fails when stale).
 */
import type { FieldSchemas, JsonSchema } from "../pipeline/connector-specs.ts";
import { CONNECTORS } from "./registry.ts";

export const TABLES_START =
  "<!-- generated from src/connectors/*/spec.ts by `npm run docs:connectors`: do not edit -->";
export const TABLES_END = "<!-- end of generated tables -->";

/** Markdown: one section per connection type with its settings, `$source`, `$emit` and stage options, DLQ. */
export function connectionTypeTables(): string {
  const sections = CONNECTORS.specs.map((spec) => {
    const parts = [`### ${spec.type}`, "", spec.description];
    const aliases = spec.aliases.filter((alias) => alias !== spec.type.toLowerCase());
    if (aliases.length > 0) parts.push("", `Also written: ${aliases.map((a) => `\`${a}\``).join(", ")}.`);
    parts.push("", "Connection settings (`config`):", "", table(spec.connection));
    if (spec.source)
      parts.push(
        "",
        "`$source` options (besides `connectionName`, `timeField`, `tsFieldName`):",
        "",
        table(spec.source.fields),
      );
    if (spec.emit)
      parts.push(
        "",
        `\`$emit\` options (besides \`connectionName\`; operator ${spec.emit.operatorName}):`,
        "",
        table(spec.emit.fields),
      );
    for (const [stage, form] of Object.entries(spec.stages ?? {}))
      parts.push("", `\`${stage}\` options:`, "", table(form.fields));
    if (spec.dlq)
      parts.push(
        "",
        "Dead letter queue (`options.dlq`, besides `connectionName`):",
        "",
        table(spec.dlq.fields),
      );
    return parts.join("\n");
  });
  return [
    TABLES_START,
    "<!-- prettier-ignore-start -->",
    "",
    ...sections.flatMap((s) => [s, ""]),
    "<!-- prettier-ignore-end -->",
    TABLES_END,
  ].join("\n");
}

/** `text` with the generated block replaced by the current tables. */
export function withCurrentTables(text: string): string {
  const start = text.indexOf(TABLES_START);
  const end = text.indexOf(TABLES_END);
  if (start < 0 || end < start) throw new Error(`the document has no generated block (${TABLES_START})`);
  return text.slice(0, start) + connectionTypeTables() + text.slice(end + TABLES_END.length);
}

function table(fields: FieldSchemas): string {
  const names = Object.keys(fields.properties);
  if (names.length === 0) return "_none_";
  const rows = names.map((name) => {
    const schema = fields.properties[name];
    const required = fields.required?.includes(name) ? "yes" : "";
    const description = typeof schema.description === "string" ? schema.description : "";
    return `| \`${name}\` | ${typeOf(schema)} | ${required} | ${description.replace(/\|/g, "\\|")} |`;
  });
  return ["| option | type | required | meaning |", "|---|---|---|---|", ...rows].join("\n");
}

/** A short rendering of a field's JSON Schema type. */
function typeOf(schema: JsonSchema): string {
  if (Array.isArray(schema.enum)) return schema.enum.map((v) => `\`${String(v)}\``).join(" \\| ");
  if (schema.const !== undefined) return `\`${String(schema.const)}\``;
  if (Array.isArray(schema.anyOf)) return (schema.anyOf as JsonSchema[]).map(typeOf).join(" or ");
  if (schema.type === "array" && schema.items && typeof schema.items === "object")
    return `array of ${typeOf(schema.items as JsonSchema)}`;
  if (typeof schema.type === "string") return schema.type;
  return "any";
}
