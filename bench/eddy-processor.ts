/**
 * One Eddy processor in its own process, for the latency runs of bench/connectors.ts: the paced producer
 * and the measuring consumer then do not share the processor's event loop (the peers run in their own
 * JVMs too).
 *
 *   node bench/eddy-processor.ts '<{"definition": {...}, "connections": [...]}>'
 *
 * stdin lines: `mark` starts counting GC pauses (PerformanceObserver 'gc' entries); `stop` stops the
 * processor and prints one JSON line `{gcMs, gcPauses, gcMaxMs, measuredMs, cpuMs}` for the time since
 * `mark`, then the process exits.
 */
import { performance, PerformanceObserver } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { ConnectorClients } from "../src/connectors/clients.ts";
import { createSink, createSource } from "../src/connectors/factory.ts";
import { CONNECTORS } from "../src/connectors/registry.ts";
import type { Doc } from "../src/mql/index.ts";
import { MapConnectionCatalog, planProcessor } from "../src/pipeline/index.ts";
import type { ConnectionEntry } from "../src/pipeline/plan.ts";
import { ProcessorRuntime } from "../src/runtime/index.ts";

const { definition, connections } = JSON.parse(process.argv[2] ?? "{}") as {
  definition: { name: string; pipeline: Doc[] };
  connections: ConnectionEntry[];
};
const catalog = new MapConnectionCatalog(connections);
const plan = planProcessor(definition, { connectors: CONNECTORS, connections: catalog });
const clients = new ConnectorClients(catalog);
const sink = await createSink(plan, catalog, process.stdout, clients);
const runtime = new ProcessorRuntime(plan, {
  source: await createSource(plan, catalog, process.stdin, clients),
  sink,
});
const running = runtime.run();

let measuring = false;
let markedAt = 0;
let cpuAtMark = process.cpuUsage();
let gcMs = 0;
let gcPauses = 0;
let gcMaxMs = 0;
const gc = new PerformanceObserver((list) => {
  if (!measuring) return;
  for (const entry of list.getEntries()) {
    gcMs += entry.duration;
    gcPauses++;
    gcMaxMs = Math.max(gcMaxMs, entry.duration);
  }
});
gc.observe({ entryTypes: ["gc"] });

for await (const line of createInterface({ input: process.stdin })) {
  if (line === "mark") {
    measuring = true;
    markedAt = performance.now();
    cpuAtMark = process.cpuUsage();
  } else if (line === "stop") {
    const measuredMs = performance.now() - markedAt;
    const cpu = process.cpuUsage(cpuAtMark);
    gc.disconnect();
    runtime.stop();
    await running;
    await sink.close();
    await clients.close();
    process.stdout.write(
      `${JSON.stringify({ gcMs, gcPauses, gcMaxMs, measuredMs, cpuMs: (cpu.user + cpu.system) / 1000 })}\n`,
    );
    process.exit(0);
  }
}
