import { parseArgs, UsageError } from "../args.ts";
import type { CliIo } from "../io.ts";

export const SCHEMA_USAGE = `usage: sp schema [--processor | --connection TYPE | --connections] [--json]

Prints a JSON Schema (draft 2020-12) generated from the connector specs, for editors and validators:
  --processor         a processor definition {name, pipeline, options} (the default)
  --connection TYPE   one connection of TYPE (Cluster, Kafka, Sample, Https, File, S3, AWSLambda, TestLog)
  --connections       a connections file {"connections": [...]}
Output is JSON (--json is accepted and is the default). Exit status: 0, or 2 for a usage error.`;

/** `sp schema`: JSON Schema for a processor definition, a connection type or a connections file. */
export async function schemaCommand(
  args: readonly string[],
  io: Pick<CliIo, "stdout" | "stderr">,
): Promise<number> {
  try {
    const parsed = parseArgs(args, {
      valued: ["connection"],
      flags: ["processor", "connections", "json", "help"],
    });
    if (parsed.flags.has("help")) {
      io.stdout.write(`${SCHEMA_USAGE}\n`);
      return 0;
    }
    if (parsed.positional.length > 0) throw new UsageError(`unexpected argument '${parsed.positional[0]}'`);
    const { connectionSchema, connectionsFileSchema, processorSchema } =
      await import("../../connectors/json-schema.ts");
    const type = parsed.options.get("connection");
    let schema;
    if (type !== undefined) {
      schema = connectionSchema(type);
      if (!schema) throw new UsageError(`unknown connection type '${type}'`);
    } else if (parsed.flags.has("connections")) schema = connectionsFileSchema();
    else schema = processorSchema();
    io.stdout.write(`${JSON.stringify(schema, null, 2)}\n`);
    return 0;
  } catch (error) {
    io.stderr.write(
      `sp schema: ${error instanceof Error ? error.message : String(error)}\n${SCHEMA_USAGE}\n`,
    );
    return 2;
  }
}
