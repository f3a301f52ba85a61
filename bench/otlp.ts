/**
 * OTLP ingest benchmark: protobuf export requests of 512 spans (serialized by the OpenTelemetry SDK's own
 * serializer) from concurrent senders into the receiver, through a raw-ingest processor
 * (`$source {signal: "traces"}` → `$merge`) into MongoDB.
 *
 *   node bench/otlp.ts [--batches 300] [--senders 8] [--seconds 10] [--json]
 *
 * (i)   Throughput: `--senders` clients post `--batches` distinct batches back to back; spans/s counts
 *       from the first request to the moment every span is in MongoDB (a count of the collection).
 *       Baseline in the same run: the reference bridge's design — an HTTP handler that decodes and maps
 *       the same bodies with the same code and answers after `insertMany` — on the same MongoDB.
 * (ii)  Acknowledgement latency: requests at half the measured stored rate for `--seconds`, each timed
 *       from send to its 200 (the spool's fsync included); p50/p99.
 * (iii) Decoding cost: µs per span of protobuf decoding alone, and of decoding plus mapping to documents.
 *
 * MongoDB is a private in-memory stand-in started for the run, or MONGODB_URI when set.
 */
import { createServer } from "node:http";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { context, trace } from "@opentelemetry/api";
import { ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { MongoClient } from "mongodb";
import { ConnectorClients } from "../src/connectors/clients.ts";
import { CONNECTORS } from "../src/connectors/registry.ts";
import { createSink, createSource } from "../src/connectors/factory.ts";
import { decodeRequest } from "../src/connectors/otlp/decode.ts";
import { decodeProtobufRequest } from "../src/connectors/otlp/protobuf.ts";
import { closeAllReceivers } from "../src/connectors/otlp/receivers.ts";
import { MapConnectionCatalog, planProcessor } from "../src/pipeline/index.ts";
import { ProcessorRuntime } from "../src/runtime/index.ts";
import { startPrivateMongo, type PrivateMongo } from "../scripts/services/private.ts";
import { freePort } from "../scripts/services/private.ts";

const { values: args } = parseArgs({
  options: {
    batches: { type: "string", default: "300" },
    senders: { type: "string", default: "8" },
    seconds: { type: "string", default: "10" },
    json: { type: "boolean", default: false },
  },
});
const BATCHES = Number(args.batches);
const SENDERS = Number(args.senders);
const SECONDS = Number(args.seconds);
const SPANS_PER_BATCH = 512;

const log = (text: string) => {
  if (!args.json) process.stderr.write(`${text}\n`);
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `count` protobuf bodies of 512 distinct spans each, as the SDK's exporter would send them. */
function makeBodies(count: number): Uint8Array[] {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      "service.name": "bench",
      "service.version": "1.0.0",
      "host.name": "h1",
    }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer("bench-scope", "1.0.0");
  const bodies: Uint8Array[] = [];
  for (let b = 0; b < count; b++) {
    for (let i = 0; i < SPANS_PER_BATCH / 2; i++) {
      const parent = tracer.startSpan("GET /api/orders", {
        attributes: {
          "http.method": "GET",
          "http.route": "/api/orders",
          "http.status_code": 200,
          "user.id": i,
        },
      });
      const child = tracer.startSpan(
        "SELECT orders",
        { attributes: { "db.system": "mongodb", "db.name": "shop" } },
        trace.setSpan(context.active(), parent),
      );
      child.end();
      parent.end();
    }
    bodies.push(ProtobufTraceSerializer.serializeRequest(memory.getFinishedSpans())!);
    memory.reset();
  }
  return bodies;
}

async function post(url: string, body: Uint8Array): Promise<number> {
  const started = performance.now();
  for (;;) {
    const response = await fetch(url, {
      method: "POST",
      body,
      headers: { "content-type": "application/x-protobuf" },
    });
    if (response.status === 200 && (await response.arrayBuffer())) return performance.now() - started;
    if (response.status !== 429 && response.status !== 503)
      throw new Error(`HTTP ${response.status}: ${Buffer.from(await response.arrayBuffer()).toString()}`);
    await sleep(Number(response.headers.get("retry-after") ?? 1) * 1000);
  }
}

/** Posts every body from `SENDERS` concurrent clients; resolves when all were acknowledged. */
async function sendAll(url: string, bodies: Uint8Array[]): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: SENDERS }, async () => {
      while (next < bodies.length) await post(url, bodies[next++]!);
    }),
  );
}

async function waitForCount(
  client: MongoClient,
  db: string,
  coll: string,
  expected: number,
): Promise<number> {
  for (;;) {
    const count = await client.db(db).collection(coll).estimatedDocumentCount();
    if (count >= expected) return performance.now();
    await sleep(20);
  }
}

/** Eddy: receiver + spool + raw-ingest processor → $merge. */
async function startEddy(uri: string, db: string, spoolDir: string) {
  const port = await freePort();
  const catalog = new MapConnectionCatalog([
    { name: "otel", type: "OTLP", config: { port, spool: { dir: spoolDir, maxBytes: 8 * 1024 ** 3 } } },
    { name: "mongo", type: "Cluster", config: { uri } },
  ]);
  const plan = planProcessor(
    {
      name: "otlp_bench",
      pipeline: [
        { $source: { connectionName: "otel", signal: "traces" } },
        { $merge: { into: { connectionName: "mongo", db, coll: "traces" } } },
      ],
    },
    { connections: catalog, connectors: CONNECTORS },
  );
  const clients = new ConnectorClients(catalog);
  const runtime = new ProcessorRuntime(plan, {
    source: await createSource(plan, catalog, process.stdin, clients),
    sink: await createSink(plan, catalog, process.stdout, clients),
  });
  const running = runtime.run();
  await sleep(300);
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    async stop() {
      runtime.stop();
      await running;
      await clients.close();
      await closeAllReceivers();
    },
  };
}

/** The baseline: decode + map + insertMany in the request handler, answered after the insert. */
async function startBaseline(client: MongoClient, db: string) {
  const coll = client.db(db).collection("traces");
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      let records;
      try {
        records = decodeRequest("traces", "protobuf", Buffer.concat(chunks), Date.now()).records;
      } catch (error) {
        res.writeHead(400).end((error as Error).message);
        return;
      }
      coll
        .insertMany(
          records.map((r) => r.doc),
          { ordered: false },
        )
        .then(() => res.writeHead(200, { "content-type": "application/x-protobuf" }).end())
        .catch((error: Error) => res.writeHead(503).end(error.message));
    });
  });
  server.on("clientError", (error) => log(`baseline clientError: ${error.message}`));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}/v1/traces`, stop: () => new Promise((r) => server.close(r)) };
}

function percentile(sorted: number[], p: number): number {
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]! * 10) / 10;
}

function decodingCost(bodies: Uint8Array[]) {
  const sample = bodies.slice(0, Math.min(50, bodies.length));
  const spans = sample.length * SPANS_PER_BATCH;
  for (const body of sample) decodeRequest("traces", "protobuf", body, 0); // warm-up
  let t0 = performance.now();
  for (const body of sample) decodeProtobufRequest("traces", body);
  const decodeUs = ((performance.now() - t0) * 1000) / spans;
  t0 = performance.now();
  for (const body of sample) decodeRequest("traces", "protobuf", body, 0);
  const decodeMapUs = ((performance.now() - t0) * 1000) / spans;
  const bytesPerSpan = sample.reduce((n, b) => n + b.length, 0) / spans;
  return {
    decodeMicrosPerSpan: Math.round(decodeUs * 100) / 100,
    decodeAndMapMicrosPerSpan: Math.round(decodeMapUs * 100) / 100,
    bytesPerSpan: Math.round(bytesPerSpan),
  };
}

let privateMongo: PrivateMongo | undefined;
const spoolDir = await mkdtemp(join(tmpdir(), "eddy-otlp-bench-"));
try {
  if (!process.env.MONGODB_URI) privateMongo = await startPrivateMongo({ persistent: false });
  const uri = process.env.MONGODB_URI ?? privateMongo!.uri;
  const client = new MongoClient(uri);
  await client.connect();
  const latencyBatches = Math.ceil((40_000 * SECONDS) / SPANS_PER_BATCH);
  log(`generating ${BATCHES * 2 + latencyBatches + 10} batches of ${SPANS_PER_BATCH} spans with the SDK…`);
  const bodies = makeBodies(BATCHES * 2 + latencyBatches + 10);
  const cost = decodingCost(bodies);
  log(
    `decoding: ${cost.decodeMicrosPerSpan} µs/span, decode + map: ${cost.decodeAndMapMicrosPerSpan} µs/span`,
  );
  const expected = BATCHES * SPANS_PER_BATCH;

  // (i) baseline
  const baseDb = `otlp_bench_base_${Date.now().toString(36)}`;
  const baseline = await startBaseline(client, baseDb);
  await sendAll(baseline.url, bodies.slice(BATCHES * 2, BATCHES * 2 + 10)); // warm-up
  let t0 = performance.now();
  await sendAll(baseline.url, bodies.slice(0, BATCHES));
  const baseDone = await waitForCount(client, baseDb, "traces", expected + 10 * SPANS_PER_BATCH);
  const baselineSpansPerSec = Math.round(expected / ((baseDone - t0) / 1000));
  await baseline.stop();
  await client.db(baseDb).dropDatabase();
  log(`baseline (decode + insertMany per request): ${baselineSpansPerSec} spans/s`);

  // (i) Eddy
  const db = `otlp_bench_${Date.now().toString(36)}`;
  const eddy = await startEddy(uri, db, spoolDir);
  const warm = bodies.slice(BATCHES * 2, BATCHES * 2 + 10);
  await sendAll(eddy.url, warm);
  await waitForCount(client, db, "traces", warm.length * SPANS_PER_BATCH);
  t0 = performance.now();
  await sendAll(eddy.url, bodies.slice(BATCHES, BATCHES * 2));
  const ackedAt = performance.now();
  const eddyDone = await waitForCount(client, db, "traces", expected + warm.length * SPANS_PER_BATCH);
  const spansPerSec = Math.round(expected / ((eddyDone - t0) / 1000));
  const ackedSpansPerSec = Math.round(expected / ((ackedAt - t0) / 1000));
  log(`eddy: ${spansPerSec} spans/s stored (${ackedSpansPerSec} spans/s acknowledged)`);

  // (ii) acknowledgement latency at half the stored rate
  const rate = Math.round(spansPerSec / 2);
  const interval = (SPANS_PER_BATCH / rate) * 1000;
  const latencies: number[] = [];
  const pending: Promise<void>[] = [];
  const start = performance.now();
  let sent = 0;
  const latencyBodies = bodies.slice(BATCHES * 2 + 10);
  while (performance.now() - start < SECONDS * 1000 && sent < latencyBodies.length) {
    const due = start + sent * interval;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const body = latencyBodies[sent++]!;
    pending.push(post(eddy.url, body).then((ms) => void latencies.push(ms)));
  }
  await Promise.all(pending);
  const achievedRate = Math.round((sent * SPANS_PER_BATCH) / ((performance.now() - start) / 1000));
  latencies.sort((a, b) => a - b);
  await eddy.stop();
  await client.db(db).dropDatabase();
  await client.close();

  const result = {
    spansPerSec,
    p99AckMs: percentile(latencies, 0.99),
    p50AckMs: percentile(latencies, 0.5),
    maxAckMs: percentile(latencies, 1),
    latencyRateSpansPerSec: rate,
    achievedLatencyRateSpansPerSec: achievedRate,
    ackedSpansPerSec,
    baselineSpansPerSec,
    ratioToBaseline: Math.round((spansPerSec / baselineSpansPerSec) * 1000) / 1000,
    ...cost,
    spans: expected,
    senders: SENDERS,
    batchSpans: SPANS_PER_BATCH,
    target: { spansPerSec: 30_000, p99AckMs: 50 },
    met: { spansPerSec: spansPerSec >= 30_000, p99AckMs: percentile(latencies, 0.99) < 50 },
    mongo: process.env.MONGODB_URI ? "MONGODB_URI" : "private stand-in",
    node: process.version,
  };
  if (args.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else console.table(result);
} finally {
  await privateMongo?.dispose();
  await rm(spoolDir, { recursive: true, force: true });
}
