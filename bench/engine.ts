/**
 * Engine benchmark (runtime end to end).
 *
 *   node bench/engine.ts          human-readable summary
 *   node bench/engine.ts --json   one JSON object with every figure
 *
 * (a) JSON Lines in → $match/$addFields/$project → JSON Lines out through the real runtime (FileSource,
 *     JsonLinesSink), against a baseline that only splits, parses and serialises the same lines with the
 *     same parser (parseExtendedJson) and serialiser (EJSON.stringify). Target: engine ≥ 70 % of baseline.
 * (b) Hopping window (60 s, hop 10 s ⇒ 6 windows per event), 10,000 keys, $avg/$min/$max/$count:
 *     events/s and accounted state bytes per open (window, key) entry at the peak. Target: < 200 bytes.
 * Each case runs REPEATS times after a warm-up; the median is reported.
 */
import { Readable, Writable } from "node:stream";
import { EJSON } from "bson";
import { parseExtendedJson } from "../src/connectors/file/parse-line.ts";
import { FileSource } from "../src/connectors/file/source.ts";
import { JsonLinesSink } from "../src/connectors/file/sink.ts";
import { seededRandom } from "../src/connectors/sample/solar.ts";
import type { Doc } from "../src/mql/index.ts";
import { catalogOf, planProcessor } from "../src/pipeline/index.ts";
import { ProcessorRuntime, type Source, type SourceBatch, type SourceRecord } from "../src/runtime/index.ts";
import { CONNECTORS } from "../src/connectors/registry.ts";

const LINES = 200_000;
const WINDOW_EVENTS = 600_000;
const KEYS = 10_000;
const REPEATS = 3;
const CHUNK = 64 * 1024;

const json = process.argv.includes("--json");

function makeLines(count: number): string[] {
  const random = seededRandom(42);
  const start = Date.UTC(2024, 0, 1);
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const doc = {
      device_id: `device_${Math.floor(random() * 1000)}`,
      group_id: Math.floor(random() * 10),
      timestamp: new Date(start + i * 10).toISOString(),
      event_type: random() < 0.05 ? 1 : 0,
      obs: { watts: Math.floor(random() * 450), temp: 5 + Math.floor(random() * 20) },
      tags: ["roof", random() < 0.5 ? "east" : "west"],
    };
    lines.push(JSON.stringify(doc));
  }
  return lines;
}

function chunksOf(text: string): string[] {
  const chunks: string[] = [];
  for (let i = 0; i < text.length; i += CHUNK) chunks.push(text.slice(i, i + CHUNK));
  return chunks;
}

/** A writable that discards everything but counts bytes. */
function nullSink(): Writable & { bytes: number } {
  const w = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      w.bytes += chunk.length;
      cb();
    },
  }) as Writable & { bytes: number };
  w.bytes = 0;
  return w;
}

async function baseline(chunks: readonly string[]): Promise<number> {
  const out = nullSink();
  const t0 = performance.now();
  let carry = "";
  let text = "";
  let batch = 0;
  for await (const chunk of Readable.from(chunks)) {
    const parts = (carry + String(chunk)).split("\n");
    carry = parts.pop() ?? "";
    for (const line of parts) {
      if (line.length === 0) continue;
      const doc = parseExtendedJson(line) as Doc;
      text += EJSON.stringify(doc, { relaxed: true }) + "\n";
      if (++batch === 1000) {
        if (!out.write(text)) await new Promise((r) => out.once("drain", r));
        text = "";
        batch = 0;
      }
    }
  }
  if (carry) text += EJSON.stringify(parseExtendedJson(carry), { relaxed: true }) + "\n";
  out.write(text);
  return performance.now() - t0;
}

const statelessDefinition = {
  name: "benchStateless",
  pipeline: [
    { $source: { connectionName: "lines" } },
    { $match: { event_type: 0, "obs.watts": { $gte: 10 } } },
    { $addFields: { kw: { $divide: ["$obs.watts", 1000] }, hot: { $gt: ["$obs.temp", 20] } } },
    { $project: { _id: 0, device_id: 1, group_id: 1, kw: 1, hot: 1, temp: "$obs.temp" } },
  ],
};

async function engine(chunks: readonly string[]): Promise<{ ms: number; output: number }> {
  const catalog = catalogOf([{ name: "lines", type: "File", config: { path: "-" } }]);
  const plan = planProcessor(statelessDefinition, {
    connectors: CONNECTORS,
    connections: catalog,
    ephemeral: true,
  });
  const out = nullSink();
  const runtime = new ProcessorRuntime(plan, {
    source: new FileSource(Readable.from(chunks)),
    sink: new JsonLinesSink(out),
  });
  const t0 = performance.now();
  const stats = await runtime.run();
  return { ms: performance.now() - t0, output: stats.outputMessageCount };
}

/** In-memory events for the window case (no JSON: this measures the window operator). */
class EventSource implements Source {
  readonly type = "generated";
  readonly operatorName = "BenchSourceOperator";
  private emitted = 0;
  private readonly random = seededRandom(7);
  private readonly total: number;
  private readonly onHalf: () => void;
  constructor(total: number, onHalf: () => void) {
    this.total = total;
    this.onHalf = onHalf;
  }
  async start(): Promise<void> {}
  async next(): Promise<SourceBatch | undefined> {
    if (this.emitted >= this.total) return undefined;
    if (this.emitted >= this.total / 2 && this.emitted - 1000 < this.total / 2) this.onHalf();
    const records: SourceRecord[] = [];
    const start = Date.UTC(2024, 0, 1);
    for (let i = 0; i < 1000 && this.emitted < this.total; i++, this.emitted++) {
      // 2,000 events per second of event time: 120,000 events per 60 s window, every key in every window.
      const ts = new Date(start + Math.floor(this.emitted / 2));
      const doc = {
        key: `sensor-${Math.floor(this.random() * KEYS)}`,
        v: Math.floor(this.random() * 1000),
        ts,
      };
      records.push({ doc, partition: 0, timestamp: ts.getTime(), meta: undefined, size: 64 });
    }
    return { records };
  }
  positions(): Doc {
    return { emitted: this.emitted };
  }
  async close(): Promise<void> {}
}

const windowDefinition = {
  name: "benchWindow",
  pipeline: [
    { $source: { documents: [], timeField: "$ts" } },
    {
      $hoppingWindow: {
        interval: { size: 60, unit: "second" },
        hopSize: { size: 10, unit: "second" },
        allowedLateness: 0,
        pipeline: [
          {
            $group: {
              _id: "$key",
              avg: { $avg: "$v" },
              min: { $min: "$v" },
              max: { $max: "$v" },
              n: { $count: {} },
            },
          },
        ],
      },
    },
  ],
};

async function windowCase(): Promise<{
  ms: number;
  bytesPerEntry: number;
  entries: number;
  openWindows: number;
  output: number;
}> {
  const plan = planProcessor(windowDefinition, {
    connectors: CONNECTORS,
    connections: catalogOf(),
    ephemeral: true,
  });
  let peak = { openWindows: 0, entries: 0, bytes: 0 };
  const source = new EventSource(WINDOW_EVENTS, () => {
    peak = runtime.windowState();
  });
  const runtime = new ProcessorRuntime(plan, {
    source,
    sink: { operatorName: "Null", write: async () => ({ bytes: 0 }), close: async () => {} },
  });
  const t0 = performance.now();
  const stats = await runtime.run();
  const ms = performance.now() - t0;
  return {
    ms,
    bytesPerEntry: peak.entries ? peak.bytes / peak.entries : 0,
    entries: peak.entries,
    openWindows: peak.openWindows,
    output: stats.outputMessageCount,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const lines = makeLines(LINES);
const chunks = chunksOf(lines.join("\n") + "\n");
await baseline(chunks);
await engine(chunks);
const baseMs: number[] = [];
const engineMs: number[] = [];
let engineOutput = 0;
for (let i = 0; i < REPEATS; i++) {
  baseMs.push(await baseline(chunks));
  const e = await engine(chunks);
  engineMs.push(e.ms);
  engineOutput = e.output;
}
const baselineRate = LINES / (median(baseMs) / 1000);
const engineRate = LINES / (median(engineMs) / 1000);

await windowCase();
const windowRuns = [];
for (let i = 0; i < REPEATS; i++) windowRuns.push(await windowCase());
const windowMs = median(windowRuns.map((r) => r.ms));
const peak = windowRuns[0];

const result = {
  stateless: {
    lines: LINES,
    outputDocuments: engineOutput,
    baselineEventsPerSec: Math.round(baselineRate),
    engineEventsPerSec: Math.round(engineRate),
    ratioToBaseline: Number((engineRate / baselineRate).toFixed(3)),
    target: 0.7,
  },
  window: {
    events: WINDOW_EVENTS,
    keys: KEYS,
    windowsPerEvent: 6,
    eventsPerSec: Math.round(WINDOW_EVENTS / (windowMs / 1000)),
    outputDocuments: peak.output,
    peakOpenWindows: peak.openWindows,
    peakEntries: peak.entries,
    stateBytesPerKey: Math.round(peak.bytesPerEntry),
    target: 200,
  },
};

if (json) {
  console.log(JSON.stringify(result));
} else {
  const s = result.stateless;
  const w = result.window;
  console.log(`stateless JSON Lines pipeline (${s.lines} lines, ${s.outputDocuments} out)`);
  console.log(`  baseline parse+serialise  ${s.baselineEventsPerSec.toLocaleString()} events/s`);
  console.log(
    `  engine                    ${s.engineEventsPerSec.toLocaleString()} events/s  (${(s.ratioToBaseline * 100).toFixed(1)} % of baseline, target ≥ 70 %)`,
  );
  console.log(`hopping window (${w.events} events, ${w.keys} keys, ${w.windowsPerEvent} windows per event)`);
  console.log(`  ${w.eventsPerSec.toLocaleString()} events/s, ${w.outputDocuments} results`);
  console.log(
    `  state at peak: ${w.peakOpenWindows} windows, ${w.peakEntries} entries, ${w.stateBytesPerKey} bytes per key (target < 200)`,
  );
}
