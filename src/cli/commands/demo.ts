import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { catalogOf } from "../../pipeline/connections.ts";
import { JsonLinesDlqWriter } from "../../runtime/index.ts";
import { parseArgs } from "../args.ts";
import { loadPlanner, normalizeDefinition } from "../definition.ts";
import { reportError } from "../errors.ts";
import type { CliIo } from "../io.ts";
import { runProcessor } from "../run-processor.ts";
import { WindowTableSink } from "./demo-table.ts";

const DEMO_FILE = fileURLToPath(new URL("../../../examples/solar-demo.json", import.meta.url));

export const DEMO_USAGE = `usage: sp demo [--rate N] [--seconds N] [--seed N]

Runs examples/solar-demo.json: sample_stream_solar readings (N per second, default 20) in 5-second tumbling
windows, average and maximum watts per device, one table per window. Ctrl-C stops it with a summary.`;

export async function demoCommand(args: readonly string[], io: CliIo): Promise<number> {
  try {
    const parsed = parseArgs(args, { valued: ["rate", "seconds", "seed"], flags: ["help"] });
    if (parsed.flags.has("help")) {
      io.stdout.write(DEMO_USAGE + "\n");
      return 0;
    }
    const rate = Number(parsed.options.get("rate") ?? 20);
    const seconds = parsed.options.has("seconds") ? Number(parsed.options.get("seconds")) : undefined;
    const seed = parsed.options.has("seed") ? Number(parsed.options.get("seed")) : undefined;
    const definition = normalizeDefinition(JSON.parse(await readFile(DEMO_FILE, "utf8")), "solarDemo");
    const catalog = catalogOf([
      {
        name: "sample_stream_solar",
        type: "Sample",
        config: { rate, ...(seed !== undefined ? { seed } : {}) },
      },
    ]);
    const plan = (await loadPlanner())(definition, { connections: catalog, ephemeral: true });
    const sink = new WindowTableSink(io.stdout);
    io.stdout.write(
      `Eddy demo: ${rate} solar readings/s from sample_stream_solar, 5 s tumbling windows (allowedLateness 1 s).\n` +
        `The first table appears about 6 s after a window starts. Ctrl-C to stop.\n`,
    );
    const startedAt = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const stats = await runProcessor(plan, catalog, io, {
      dlq: new JsonLinesDlqWriter(io.stderr, { wrap: true }),
      sink,
      onStart: (runtime) => {
        if (seconds !== undefined) timer = setTimeout(() => runtime.stop(), seconds * 1000);
      },
    });
    clearTimeout(timer);
    const elapsed = ((Date.now() - startedAt) / 1000).toFixed(1);
    io.stdout.write(
      `\nStopped after ${elapsed} s: ${stats.inputMessageCount} readings in, ${sink.windows} windows, ` +
        `${stats.outputMessageCount} rows out, ${stats.dlqMessageCount} dead letters.\n`,
    );
    return 0;
  } catch (error) {
    return reportError(error, io, false);
  }
}
