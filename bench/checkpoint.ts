/**
 * Checkpoint benchmark: what it costs to capture and reload window state.
 *
 *   node bench/checkpoint.ts          table
 *   node bench/checkpoint.ts --json   one JSON object with every figure
 *
 * A window with 10,000 open group keys (`$group` with `$sum`/`$avg`/`$max`/`$push` of a small number, 5 events
 * per key), as a tumbling window (10,000 entries) and a hopping window (60 s, hop 10 s ⇒ 60,000 entries).
 * Per case: `snapshot()` time, `encodeState` time, the checkpoint as stored now (operator state as BSON in
 * ≤ 8 MB binary chunks plus a small head record, `StateStoreCheckpoints` over a FileStateStore: fsync +
 * rename per file): encoded size, encode + save, load + decode + restore into a fresh runner. For
 * comparison, the layout before chunking (the encoded state as one canonical EJSON text record). Baselines
 * in the same run: the same keys and values as a plain object through `JSON.stringify` + write + fsync and
 * read + `JSON.parse`, and BSON of the raw (unencoded) snapshot. Also the cost of `stateSize()` after a batch
 * that touched 100 keys against a full re-measure. Each figure is the median of REPEATS runs after a
 * warm-up; the restored runners' results are checked against the original's.
 */
import { mkdtemp, open, readFile, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EJSON, serialize } from "bson";
import { DEFAULT_CHUNK_BYTES, StateStoreCheckpoints } from "../src/control/checkpoint-store.ts";
import { FileStateStore } from "../src/control/file-state-store.ts";
import { encodeBinaryRecord } from "../src/control/record-codec.ts";
import type { Doc } from "../src/mql/index.ts";
import { catalogOf, planProcessor } from "../src/pipeline/index.ts";
import type { ProcessorPlan } from "../src/pipeline/plan.ts";
import type { RunContext } from "../src/runtime/context.ts";
import { decodeState, encodeState } from "../src/runtime/state-codec.ts";
import { StatsCollector } from "../src/runtime/stats.ts";
import { NO_VARS, type Item } from "../src/runtime/types.ts";
import { createWindowRunner, type WindowRunner } from "../src/runtime/windows/index.ts";
import { CONNECTORS } from "../src/connectors/registry.ts";

const KEYS = 10_000;
const EVENTS_PER_KEY = 5;
const REPEATS = 5;
const TOUCHED_KEYS = 100;

const json = process.argv.includes("--json");

const GROUP = {
  $group: { _id: "$key", sum: { $sum: "$v" }, avg: { $avg: "$v" }, max: { $max: "$v" }, vs: { $push: "$v" } },
};

const CASES: Record<string, Doc> = {
  tumbling: { $tumblingWindow: { interval: { size: 60, unit: "second" }, pipeline: [GROUP] } },
  hopping: {
    $hoppingWindow: {
      interval: { size: 60, unit: "second" },
      hopSize: { size: 10, unit: "second" },
      pipeline: [GROUP],
    },
  },
};

function planOf(window: Doc): ProcessorPlan {
  return planProcessor(
    { name: "benchCheckpoint", pipeline: [{ $source: { documents: [], timeField: "$ts" } }, window] },
    { connectors: CONNECTORS, connections: catalogOf(), ephemeral: true },
  );
}

function newRunner(plan: ProcessorPlan): WindowRunner {
  const stage = plan.stages[0];
  if (stage?.kind !== "window") throw new Error("expected a window stage");
  const ctx: RunContext = { processorName: plan.name, clock: { now: () => 0 }, deadLetter: () => {} };
  return createWindowRunner(stage.window, stage.operatorName, {
    ctx,
    stats: new StatsCollector(plan.name),
    sourceType: "generated",
  });
}

/** Events at 55–59.99 s: inside one tumbling window and six hopping ones, none closed yet. */
function item(key: number, i: number): Item {
  const eventTime = 55_000 + ((key * EVENTS_PER_KEY + i) % 5000);
  return {
    doc: { key: `device-${key}`, v: (key * 7 + i) % 100 },
    vars: NO_VARS,
    eventTime,
    watermarkBefore: 0,
  };
}

function filledRunner(plan: ProcessorPlan): WindowRunner {
  const runner = newRunner(plan);
  for (let i = 0; i < EVENTS_PER_KEY; i++) {
    const batch: Item[] = [];
    for (let key = 0; key < KEYS; key++) batch.push(item(key, i));
    runner.process(batch);
  }
  return runner;
}

/** The same keys and values as a plain object: what a hand-written checkpoint of this `$group` would hold. */
function plainEquivalent(runner: WindowRunner): Doc {
  const out: Doc = {};
  for (const w of runner.snapshot().windows as Doc[]) {
    const entries: Doc = {};
    for (const [key, id, states] of (w.contents as Doc).entries as [string, unknown, unknown[]][])
      entries[key] = { id, sum: states[0], avg: states[1], max: states[2], vs: states[3] };
    out[String(w.start)] = entries;
  }
  return out;
}

function time<T>(run: () => T): { ms: number; value: T } {
  const t0 = performance.now();
  const value = run();
  return { ms: performance.now() - t0, value };
}

async function timeAsync<T>(run: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await run();
  return { ms: performance.now() - t0, value };
}

/** Baseline write: the file store's steps (temp file, fsync, rename) with plain JSON text. */
async function writeJson(path: string, value: unknown): Promise<void> {
  const temp = `${path}.tmp`;
  const handle = await open(temp, "w");
  try {
    await handle.writeFile(JSON.stringify(value));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, path);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function closeAll(runner: WindowRunner): string {
  return EJSON.stringify(
    runner.flush().map((i) => i.doc),
    { relaxed: false },
  );
}

async function runCase(name: string, window: Doc, dir: string) {
  const plan = planOf(window);
  const store = new FileStateStore(join(dir, name));
  const checkpoints = new StateStoreCheckpoints(store, name);
  const runner = filledRunner(plan);
  const summary = runner.stateSummary();
  const samples: Record<string, number[]> = {};
  const record = (metric: string, ms: number) => (samples[metric] ??= []).push(ms);
  let sizes = { ejson: 0, bson: 0, stored: 0, rawBson: 0, json: 0 };
  let restored: WindowRunner | undefined;
  let restoredEjson: WindowRunner | undefined;

  for (let r = 0; r <= REPEATS; r++) {
    const warm = r === 0;
    const snap = time(() => runner.snapshot());
    const encoded = time(() => encodeState(snap.value));
    const text = EJSON.stringify(encoded.value, { relaxed: false });
    const write = await timeAsync(async () =>
      checkpoints.save({
        id: r + 1,
        createdAt: Date.now(),
        sourcePositions: {},
        operatorState: { window: encodeState(runner.snapshot()) },
      }),
    );
    const read = await timeAsync(async () => {
      const checkpoint = await checkpoints.load();
      const fresh = newRunner(plan);
      fresh.restore(decodeState(checkpoint?.operatorState?.window as Doc) as Doc);
      return fresh;
    });
    // The layout before chunking: the encoded state as one canonical EJSON text record.
    const writeEjson = await timeAsync(async () =>
      store.put("checkpoints", `${name}-ejson`, encodeState(runner.snapshot())),
    );
    const readEjson = await timeAsync(async () => {
      const doc = await store.get<Doc>("checkpoints", `${name}-ejson`);
      const fresh = newRunner(plan);
      fresh.restore(decodeState(doc as Doc) as Doc);
      return fresh;
    });
    const plain = plainEquivalent(runner);
    const jsonText = time(() => JSON.stringify(plain));
    const jsonPath = join(dir, `${name}.json`);
    const jsonWrite = await timeAsync(() => writeJson(jsonPath, plain));
    const jsonRead = await timeAsync(async () => JSON.parse(await readFile(jsonPath, "utf8")) as unknown);
    const bson = time(() => serialize(encoded.value));
    const rawBson = time(() => serialize(snap.value));
    if (warm) {
      restored = read.value;
      restoredEjson = readEjson.value;
      sizes = {
        ejson: Buffer.byteLength(text),
        bson: bson.value.length,
        stored: encodeBinaryRecord({ window: encoded.value }).length,
        rawBson: rawBson.value.length,
        json: Buffer.byteLength(jsonText.value),
      };
      continue;
    }
    record("snapshotMs", snap.ms);
    record("encodeMs", encoded.ms);
    record("encodeWriteMs", write.ms);
    record("readRestoreMs", read.ms);
    record("encodeWriteEjsonMs", writeEjson.ms);
    record("readRestoreEjsonMs", readEjson.ms);
    record("jsonStringifyMs", jsonText.ms);
    record("jsonWriteMs", jsonWrite.ms + jsonText.ms);
    record("jsonReadMs", jsonRead.ms);
    record("bsonSerializeMs", bson.ms);
    record("rawBsonSerializeMs", rawBson.ms);
  }

  // stateSize after a batch touching TOUCHED_KEYS keys (incremental) vs a full re-measure (a restored runner).
  const touched: Item[] = [];
  for (let key = 0; key < TOUCHED_KEYS; key++) touched.push(item(key * 97, 0));
  runner.stateSize();
  for (let r = 0; r < REPEATS; r++) {
    runner.process(touched);
    record("stateSizeIncrementalMs", time(() => runner.stateSize()).ms);
    const fresh = newRunner(plan);
    fresh.restore(runner.snapshot());
    record("stateSizeFullMs", time(() => fresh.stateSize()).ms);
  }
  const bytes = runner.stateSize();
  // Same results after restore (the restored copy missed the touched batches: feed them too).
  for (let r = 0; r < REPEATS; r++) {
    restored?.process(touched);
    restoredEjson?.process(touched);
  }
  const expected = closeAll(runner);
  const verified =
    restored !== undefined &&
    restoredEjson !== undefined &&
    closeAll(restored) === expected &&
    closeAll(restoredEjson) === expected;

  const m = (metric: string) => Number(median(samples[metric]).toFixed(2));
  return {
    openWindows: summary.openWindows,
    entries: summary.entries,
    stateSizeBytes: bytes,
    snapshotMs: m("snapshotMs"),
    encodeMs: m("encodeMs"),
    ejsonBytes: sizes.ejson,
    bsonBytes: sizes.bson,
    storedBytes: sizes.stored,
    chunks: Math.max(1, Math.ceil(sizes.stored / DEFAULT_CHUNK_BYTES)),
    ejsonBytesPerEntry: Math.round(sizes.ejson / summary.entries),
    encodeWriteMs: m("encodeWriteMs"),
    readRestoreMs: m("readRestoreMs"),
    encodeWriteEjsonMs: m("encodeWriteEjsonMs"),
    readRestoreEjsonMs: m("readRestoreEjsonMs"),
    stateSizeIncrementalMs: m("stateSizeIncrementalMs"),
    stateSizeFullMs: m("stateSizeFullMs"),
    baseline: {
      jsonBytes: sizes.json,
      jsonStringifyMs: m("jsonStringifyMs"),
      jsonWriteMs: m("jsonWriteMs"),
      jsonReadMs: m("jsonReadMs"),
      rawBsonBytes: sizes.rawBson,
      rawBsonSerializeMs: m("rawBsonSerializeMs"),
    },
    ratios: {
      ejsonBytesToJson: Number((sizes.ejson / sizes.json).toFixed(2)),
      storedBytesToEjson: Number((sizes.stored / sizes.ejson).toFixed(2)),
      readRestoreToEjson: Number((m("readRestoreMs") / m("readRestoreEjsonMs")).toFixed(2)),
      bsonBytesToRawBson: Number((sizes.bson / sizes.rawBson).toFixed(2)),
      encodeWriteToJsonWrite: Number((m("encodeWriteMs") / m("jsonWriteMs")).toFixed(2)),
      readRestoreToJsonRead: Number((m("readRestoreMs") / m("jsonReadMs")).toFixed(2)),
      bsonSerializeToRaw: Number((m("bsonSerializeMs") / m("rawBsonSerializeMs")).toFixed(2)),
    },
    verified,
  };
}

const dir = await mkdtemp(join(tmpdir(), "eddy-bench-checkpoint-"));
const results: Record<string, Awaited<ReturnType<typeof runCase>>> = {};
try {
  for (const [name, window] of Object.entries(CASES)) results[name] = await runCase(name, window, dir);
} finally {
  await rm(dir, { recursive: true, force: true });
}

if (json) {
  console.log(JSON.stringify({ keys: KEYS, eventsPerKey: EVENTS_PER_KEY, repeats: REPEATS, cases: results }));
} else {
  const names = Object.keys(results);
  const rows: Array<[string, (r: (typeof results)[string]) => string]> = [
    ["open windows / entries", (r) => `${r.openWindows} / ${r.entries}`],
    ["stateSize (accounted bytes)", (r) => r.stateSizeBytes.toLocaleString()],
    ["snapshot()", (r) => `${r.snapshotMs} ms`],
    ["encodeState", (r) => `${r.encodeMs} ms`],
    ["stored: BSON chunks (≤ 8 MB)", (r) => `${r.storedBytes.toLocaleString()} B in ${r.chunks}`],
    ["stored: encode + save", (r) => `${r.encodeWriteMs} ms`],
    ["stored: load + decode + restore", (r) => `${r.readRestoreMs} ms`],
    [
      "before: EJSON canonical text record",
      (r) => `${r.ejsonBytes.toLocaleString()} B (${r.ejsonBytesPerEntry} B/entry)`,
    ],
    ["before: encode + put", (r) => `${r.encodeWriteEjsonMs} ms`],
    ["before: get + decode + restore", (r) => `${r.readRestoreEjsonMs} ms`],
    ["BSON of the encoded state", (r) => `${r.bsonBytes.toLocaleString()} B`],
    ["stateSize() after 100-key batch", (r) => `${r.stateSizeIncrementalMs} ms`],
    ["stateSize() full re-measure", (r) => `${r.stateSizeFullMs} ms`],
    ["baseline JSON text", (r) => `${r.baseline.jsonBytes.toLocaleString()} B`],
    ["baseline JSON stringify+write+fsync", (r) => `${r.baseline.jsonWriteMs} ms`],
    ["baseline JSON read+parse", (r) => `${r.baseline.jsonReadMs} ms`],
    ["baseline BSON of raw snapshot", (r) => `${r.baseline.rawBsonBytes.toLocaleString()} B`],
    ["ratio stored bytes / EJSON bytes", (r) => `${r.ratios.storedBytesToEjson}×`],
    ["ratio stored restore / EJSON restore", (r) => `${r.ratios.readRestoreToEjson}×`],
    ["ratio EJSON bytes / JSON bytes", (r) => `${r.ratios.ejsonBytesToJson}×`],
    ["ratio BSON bytes / raw BSON bytes", (r) => `${r.ratios.bsonBytesToRawBson}×`],
    ["ratio write / baseline write", (r) => `${r.ratios.encodeWriteToJsonWrite}×`],
    ["ratio read+restore / baseline read", (r) => `${r.ratios.readRestoreToJsonRead}×`],
    ["restored results identical", (r) => String(r.verified)],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  const colWidth = 28;
  console.log(
    `window checkpoint, ${KEYS.toLocaleString()} keys × ${EVENTS_PER_KEY} events, $sum/$avg/$max/$push (median of ${REPEATS})`,
  );
  console.log(`${"".padEnd(width)}  ${names.map((n) => n.padEnd(colWidth)).join("")}`);
  for (const [label, cell] of rows)
    console.log(`${label.padEnd(width)}  ${names.map((n) => cell(results[n]).padEnd(colWidth)).join("")}`);
}
