import type { Doc } from "../mql/index.ts";
import type { ConnectionCatalog, ProcessorPlan } from "../pipeline/plan.ts";
import { ProcessorRuntime, type DlqWriter, type ProcessorStats, type Sink } from "../runtime/index.ts";
import type { CliIo } from "./io.ts";
import { createSink, createSource } from "./assemble.ts";

/**
 * Runs a plan until its source drains or Ctrl-C (SIGINT/SIGTERM) asks it to stop; returns the final stats.
 * `onStart` receives the runtime (the demo polls its stats).
 */
export async function runProcessor(
  plan: ProcessorPlan,
  catalog: ConnectionCatalog,
  io: CliIo,
  options: {
    dlq: DlqWriter;
    sink?: Sink;
    onOutput?: (docs: readonly Doc[]) => void;
    onStart?: (runtime: ProcessorRuntime) => void;
  },
): Promise<ProcessorStats> {
  const source = createSource(plan, catalog, io.stdin);
  const sink = options.sink ?? createSink(plan, catalog, io.stdout);
  const runtime = new ProcessorRuntime(plan, { source, sink, dlq: options.dlq, onOutput: options.onOutput });
  const stop = (): void => runtime.stop();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  try {
    options.onStart?.(runtime);
    return await runtime.run();
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    await sink.close();
    await options.dlq.close();
  }
}
