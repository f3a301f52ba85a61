/**
 * One Eddy processor in its own process, for the latency runs of bench/connectors.ts: the paced producer
 * and the measuring consumer then do not share the processor's event loop (the peers run in their own
 * JVMs too).
 *
 *   node bench/eddy-processor.ts '<{"definition": {...}, "connections": [...]}>'
 *   node bench/eddy-processor.ts '<{"raw": {"brokers": [...], "input": "...", "output": "..."}}>'
 *
 * The second form is the baseline: the raw @platformatic/kafka client copying `input` to `output` with no
 * processing (each batch sent as soon as it was read, one send in flight, acks=all), in the same kind of
 * process.
 *
 * stdin lines: `mark` starts counting GC pauses (PerformanceObserver 'gc' entries); `stop` stops the
 * processor and prints one JSON line `{gcMs, gcPauses, gcMaxMs, measuredMs, cpuMs, heapMb, batches,
 * records}` for the time since `mark` (`heapMb`: the heap still reachable at `stop`, after a full GC,
 * before the processor stops;
 * `batches`/`records`: what Eddy's source handed over, non-empty batches only; the raw copy counts the
 * messages it read), then the process exits.
 *
 * `gcTrace: true` in the argument adds `gcTrace` to that line (bench/gc-trace.ts: allocation per event, scavenges,
 * the bytes they kept); `youngGenerationMb: n` caps V8's young generation as `sp process` does
 * (src/cli/young-generation.ts), to compare pauses under another cap.
 *
 * With EDDY_PROCESSOR_CPU_PROFILE=<file> the measured part is also CPU-profiled (V8's sampling profiler,
 * a `.cpuprofile` that Chrome DevTools opens); the raw client's copy writes `<file>-raw.cpuprofile`.
 */
import { Consumer, ProduceAcks, Producer, type Message } from "@platformatic/kafka";
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { performance, PerformanceObserver } from "node:perf_hooks";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { createInterface } from "node:readline";
import { capYoungGeneration } from "../src/cli/young-generation.ts";
import { ConnectorClients } from "../src/connectors/clients.ts";
import { createSink, createSource } from "../src/connectors/factory.ts";
import { CONNECTORS } from "../src/connectors/registry.ts";
import type { Doc } from "../src/mql/index.ts";
import { MapConnectionCatalog, planProcessor } from "../src/pipeline/index.ts";
import type { ConnectionEntry } from "../src/pipeline/plan.ts";
import { ProcessorRuntime } from "../src/runtime/index.ts";
import { startGcTrace, type GcTrace } from "./gc-trace.ts";

const { definition, connections, raw, gcTrace, youngGenerationMb } = JSON.parse(process.argv[2] ?? "{}") as {
  definition?: { name: string; pipeline: Doc[] };
  connections?: ConnectionEntry[];
  raw?: { brokers: string[]; input: string; output: string };
  gcTrace?: boolean;
  youngGenerationMb?: number;
};
if (youngGenerationMb !== undefined) capYoungGeneration(youngGenerationMb * 2 ** 20);

/** Runs until `stop()` resolves; then everything is closed. */
async function startProcessor(): Promise<() => Promise<void>> {
  if (raw) return startRawCopy(raw.brokers, raw.input, raw.output);
  if (!definition) throw new Error("no definition");
  const catalog = new MapConnectionCatalog(connections ?? []);
  const plan = planProcessor(definition, { connectors: CONNECTORS, connections: catalog });
  const clients = new ConnectorClients(catalog);
  const sink = await createSink(plan, catalog, process.stdout, clients);
  const source = await createSource(plan, catalog, process.stdin, clients);
  const next = source.next.bind(source);
  source.next = async () => {
    const batch = await next();
    if (measuring && batch && batch.records.length > 0) {
      batches++;
      records += batch.records.length;
    }
    return batch;
  };
  const runtime = new ProcessorRuntime(plan, { source, sink });
  const running = runtime.run();
  return async () => {
    runtime.stop();
    await running;
    await sink.close();
    await clients.close();
  };
}

async function startRawCopy(brokers: string[], input: string, output: string): Promise<() => Promise<void>> {
  const consumer = new Consumer({
    clientId: "bench-raw",
    groupId: `raw-${input}`,
    bootstrapBrokers: brokers,
  });
  const producer = new Producer({ clientId: "bench-raw", bootstrapBrokers: brokers, acks: ProduceAcks.ALL });
  const stream = await consumer.consume({
    topics: [input],
    mode: "earliest",
    autocommit: false,
    maxWaitTime: 500,
  });
  const pending: Array<{ topic: string; value: Buffer }> = [];
  let sending = false;
  const pump = async () => {
    if (sending) return;
    sending = true;
    // Up to 1,000 records a request, as bench/connectors.ts's raw copy (and Eddy's batches).
    while (pending.length > 0) await producer.send({ messages: pending.splice(0, 1000) });
    sending = false;
  };
  stream.on("data", (message: Message<Buffer, Buffer, Buffer, Buffer>) => {
    if (measuring) records++;
    pending.push({ topic: output, value: message.value });
    void pump();
  });
  return async () => {
    await stream.close();
    await consumer.close(true);
    await producer.close();
  };
}

setFlagsFromString("--expose-gc");
/** A full GC (after the measured part), so that `heapMb` is what the processor holds, not garbage. */
const collectGarbage = runInNewContext("gc") as () => void;

let measuring = false;
let batches = 0;
let records = 0;

const stop = await startProcessor();

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

const profileTo = process.env.EDDY_PROCESSOR_CPU_PROFILE?.replace(/(\.cpuprofile)?$/, raw ? "-raw$1" : "$1");
const profiler = profileTo ? new Session() : undefined;
let tracing: ReturnType<typeof startGcTrace> | undefined;

for await (const line of createInterface({ input: process.stdin })) {
  if (line === "mark") {
    if (profiler) {
      profiler.connect();
      await profiler.post("Profiler.enable");
      await profiler.post("Profiler.start");
    }
    measuring = true;
    if (gcTrace) tracing = startGcTrace();
    markedAt = performance.now();
    cpuAtMark = process.cpuUsage();
  } else if (line === "stop") {
    const measuredMs = performance.now() - markedAt;
    const cpu = process.cpuUsage(cpuAtMark);
    gc.disconnect();
    measuring = false;
    const traced: GcTrace | undefined = tracing?.stop(records);
    collectGarbage();
    const heapMb = Math.round(process.memoryUsage().heapUsed / 1e5) / 10;
    if (profiler && profileTo) {
      const { profile } = await profiler.post("Profiler.stop");
      writeFileSync(profileTo, JSON.stringify(profile));
    }
    await stop();
    const cpuMs = (cpu.user + cpu.system) / 1000;
    process.stdout.write(
      `${JSON.stringify({ gcMs, gcPauses, gcMaxMs, measuredMs, cpuMs, heapMb, batches, records, gcTrace: traced })}\n`,
    );
    process.exit(0);
  }
}
