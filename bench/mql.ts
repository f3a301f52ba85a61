/**
 * MQL hot-path benchmark: Eddy's compiled stages against mingo and a hand-written loop.
 *
 *   node bench/mql.ts          human-readable table
 *   node bench/mql.ts --json   one JSON object with every figure
 *
 * (a) $match + $addFields + $project over 200k IoT-like events; (b) $group by device (1,000 keys) with
 * $avg/$max/$count. Each contender is warmed up, run REPEATS times, and the median reported; Eddy and the
 * hand-written loop run in alternation and their ratio is the median of the per-round ratios, so a load
 * change on a shared machine hits both sides of a ratio alike. (No forced GC between runs: a full collection
 * shrinks the young generation and slows whichever contender allocates more.) mingo one
 * event at a time (a new aggregate call per event) is too slow for 200k events: it runs on a sample of
 * ONE_AT_A_TIME_SAMPLE events and its rate is extrapolated (reported as `extrapolatedFromSample`).
 */
import { deepStrictEqual } from "node:assert";
import { Aggregator } from "mingo";
import { compileGroup } from "../src/mql/accumulators/group.ts";
import { groupKeyOf } from "../src/mql/group-key.ts";
import { compileQuery } from "../src/mql/query/compile.ts";
import { compileAddFields } from "../src/mql/stages/add-fields.ts";
import { compileProject } from "../src/mql/stages/project.ts";
import type { Doc, Vars } from "../src/mql/types.ts";

const EVENTS = 200_000;
const DEVICES = 1_000;
const REPEATS = 15;
const MINGO_REPEATS = 3;
const ONE_AT_A_TIME_SAMPLE = 5_000;

interface Event {
  device_id: string;
  group_id: number;
  ts: Date;
  obs: { watts: number; temp: number };
  tags: string[];
}

/** Deterministic pseudo-random events (mulberry32), so every run measures the same data. */
function makeEvents(count: number): Event[] {
  let seed = 42;
  const random = (): number => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const start = Date.UTC(2026, 0, 1);
  const events: Event[] = [];
  for (let i = 0; i < count; i++) {
    const device = Math.floor(random() * DEVICES);
    events.push({
      device_id: `dev-${device}`,
      group_id: device % 10,
      ts: new Date(start + i * 100),
      obs: { watts: Math.round(random() * 1000) / 10, temp: Math.round(random() * 450) / 10 },
      tags: random() < 0.5 ? ["indoor", "v2"] : ["outdoor"],
    });
  }
  return events;
}

// ---------------------------------------------------------------------------------------------------------
// (a) $match + $addFields + $project

const MATCH = { group_id: { $lt: 3 }, "obs.watts": { $gte: 20 } };
const ADD_FIELDS = {
  watts_adj: { $multiply: ["$obs.watts", 1.1] },
  level: { $cond: [{ $gt: ["$obs.temp", 30] }, "hot", "ok"] },
};
const PROJECT = { _id: 0, device_id: 1, ts: 1, watts_adj: 1, level: 1, temp: "$obs.temp" };
const PIPELINE_A = [{ $match: MATCH }, { $addFields: ADD_FIELDS }, { $project: PROJECT }];

function eddyPipelineA(): (events: readonly Doc[]) => Doc[] {
  const match = compileQuery(MATCH, { path: "pipeline[0].$match" });
  const addFields = compileAddFields(ADD_FIELDS, { path: "pipeline[1].$addFields" });
  const project = compileProject(PROJECT, { path: "pipeline[2].$project" });
  const vars: Vars = {};
  return (events) => {
    const out: Doc[] = [];
    for (const event of events) {
      if (match(event, vars)) out.push(project(addFields(event, vars), vars));
    }
    return out;
  };
}

function handLoopA(events: readonly Event[]): Doc[] {
  const out: Doc[] = [];
  for (const e of events) {
    if (e.group_id < 3 && e.obs.watts >= 20) {
      const temp = e.obs.temp;
      out.push({
        device_id: e.device_id,
        ts: e.ts,
        watts_adj: e.obs.watts * 1.1,
        level: temp > 30 ? "hot" : "ok",
        temp,
      });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// (b) $group

const GROUP = {
  _id: "$device_id",
  avg_watts: { $avg: "$obs.watts" },
  max_temp: { $max: "$obs.temp" },
  n: { $count: {} },
};

function eddyGroup(): (events: readonly Doc[]) => Doc[] {
  const group = compileGroup(GROUP, { path: "pipeline[0].$group" });
  const { key, accumulators } = group;
  const vars: Vars = {};
  return (events) => {
    const groups = new Map<string, { id: unknown; states: unknown[] }>();
    for (const event of events) {
      const id = key(event, vars);
      const k = groupKeyOf(id);
      let entry = groups.get(k);
      if (entry === undefined) {
        entry = { id: id === undefined ? null : id, states: group.initStates() };
        groups.set(k, entry);
      }
      group.accumulate(entry.states, event, vars);
    }
    const out: Doc[] = [];
    for (const { id, states } of groups.values()) {
      const doc: Doc = { _id: id };
      for (let i = 0; i < accumulators.length; i++) {
        doc[accumulators[i].field] = accumulators[i].spec.result(states[i]);
      }
      out.push(doc);
    }
    return out;
  };
}

function handLoopGroup(events: readonly Event[]): Doc[] {
  const groups = new Map<string, { sum: number; count: number; max: number; n: number }>();
  for (const e of events) {
    let g = groups.get(e.device_id);
    if (g === undefined) {
      g = { sum: 0, count: 0, max: -Infinity, n: 0 };
      groups.set(e.device_id, g);
    }
    g.sum += e.obs.watts;
    g.count++;
    if (e.obs.temp > g.max) g.max = e.obs.temp;
    g.n++;
  }
  const out: Doc[] = [];
  for (const [id, g] of groups) out.push({ _id: id, avg_watts: g.sum / g.count, max_temp: g.max, n: g.n });
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Timing

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Events per second of `run` over `inputCount` events: one warm-up, then the median of `repeats` runs. */
function measure(inputCount: number, run: () => unknown, repeats: number): number {
  run();
  const rates: number[] = [];
  for (let i = 0; i < repeats; i++) rates.push(inputCount / secondsOf(run));
  return median(rates);
}

/**
 * Eddy against the hand-written loop, alternating one run of each per round (after a warm-up of both):
 * the median rate of each, and the median of the per-round ratios Eddy / hand loop.
 */
function measurePair(
  inputCount: number,
  eddy: () => unknown,
  handLoop: () => unknown,
): { eddy: number; handLoop: number; ratio: number } {
  eddy();
  handLoop();
  const eddyRates: number[] = [];
  const handRates: number[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const e = inputCount / secondsOf(eddy);
    const h = inputCount / secondsOf(handLoop);
    eddyRates.push(e);
    handRates.push(h);
    ratios.push(e / h);
  }
  return { eddy: median(eddyRates), handLoop: median(handRates), ratio: median(ratios) };
}

function secondsOf(run: () => unknown): number {
  const start = process.hrtime.bigint();
  run();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function sortById(docs: Doc[]): Doc[] {
  return [...docs].sort((a, b) => String(a._id).localeCompare(String(b._id)));
}

/** Fails loudly unless two result lists are identical (field order included). */
function assertIdentical(label: string, actual: Doc[], expected: Doc[]): void {
  deepStrictEqual(actual, expected, `${label}: Eddy's output differs from the hand-written loop`);
  for (let i = 0; i < actual.length; i++) {
    const a = Object.keys(actual[i]).join(",");
    const e = Object.keys(expected[i]).join(",");
    if (a !== e) throw new Error(`${label}: field order differs at result ${i}: ${a} vs ${e}`);
  }
}

function main(): void {
  const json = process.argv.includes("--json");
  const events = makeEvents(EVENTS);
  const docs = events as unknown as Doc[];

  // (a)
  const runEddyA = eddyPipelineA();
  const eddyOutA = runEddyA(docs);
  const handOutA = handLoopA(events);
  assertIdentical("pipeline", eddyOutA, handOutA);
  const mingoAgg = new Aggregator(PIPELINE_A);
  const mingoOutA = mingoAgg.run(docs) as Doc[];
  deepStrictEqual(mingoOutA, eddyOutA, "pipeline: mingo's output differs from Eddy's");

  const pairA = measurePair(
    EVENTS,
    () => runEddyA(docs),
    () => handLoopA(events),
  );
  const a = {
    events: EVENTS,
    matched: eddyOutA.length,
    eddy: pairA.eddy,
    handLoop: pairA.handLoop,
    mingoBatch: measure(EVENTS, () => new Aggregator(PIPELINE_A).run(docs), MINGO_REPEATS),
    mingoOneAtATime: measure(
      ONE_AT_A_TIME_SAMPLE,
      () => {
        for (let i = 0; i < ONE_AT_A_TIME_SAMPLE; i++) new Aggregator(PIPELINE_A).run([docs[i]]);
      },
      MINGO_REPEATS,
    ),
    extrapolatedFromSample: ONE_AT_A_TIME_SAMPLE,
  };

  // (b)
  const runEddyB = eddyGroup();
  const eddyOutB = sortById(runEddyB(docs));
  const handOutB = sortById(handLoopGroup(events));
  assertIdentical("group", eddyOutB, handOutB);
  const mingoGroup = [{ $group: GROUP }];
  const mingoOutB = sortById(new Aggregator(mingoGroup).run(docs) as Doc[]);
  if (mingoOutB.length !== eddyOutB.length) throw new Error("group: mingo's group count differs from Eddy's");

  const pairB = measurePair(
    EVENTS,
    () => runEddyB(docs),
    () => handLoopGroup(events),
  );
  const b = {
    events: EVENTS,
    groups: eddyOutB.length,
    eddy: pairB.eddy,
    handLoop: pairB.handLoop,
    mingoBatch: measure(EVENTS, () => new Aggregator(mingoGroup).run(docs), MINGO_REPEATS),
  };

  const result = {
    node: process.version,
    repeats: REPEATS,
    mingoRepeats: MINGO_REPEATS,
    pipeline: {
      ...a,
      ratioEddyToMingoOneAtATime: a.eddy / a.mingoOneAtATime,
      ratioEddyToMingoBatch: a.eddy / a.mingoBatch,
      ratioEddyToHandLoop: pairA.ratio,
      targets: { eddyToMingoOneAtATime: 100, eddyToHandLoop: 0.5 },
    },
    group: {
      ...b,
      ratioEddyToMingoBatch: b.eddy / b.mingoBatch,
      ratioEddyToHandLoop: pairB.ratio,
      targets: { eddyToHandLoop: 0.3 },
    },
  };
  if (json) {
    console.log(JSON.stringify(result));
    return;
  }
  const rate = (n: number): string => `${Math.round(n).toLocaleString("en-US")} events/s`;
  const ratio = (n: number): string => (n >= 10 ? `${n.toFixed(0)}×` : `${(n * 100).toFixed(0)}%`);
  console.log(
    `Node ${process.version}, ${EVENTS.toLocaleString("en-US")} events, median of ${REPEATS} runs (mingo: ${MINGO_REPEATS})\n`,
  );
  console.log(`(a) $match + $addFields + $project (${a.matched} of ${EVENTS} events match)`);
  console.log(`  Eddy compiled            ${rate(a.eddy)}`);
  console.log(`  hand-written loop        ${rate(a.handLoop)}`);
  console.log(`  mingo, whole batch       ${rate(a.mingoBatch)}`);
  console.log(
    `  mingo, one at a time     ${rate(a.mingoOneAtATime)} (extrapolated from ${ONE_AT_A_TIME_SAMPLE} events)`,
  );
  console.log(
    `  Eddy / mingo one-at-a-time ${ratio(result.pipeline.ratioEddyToMingoOneAtATime)} (target ≥ 100×)`,
  );
  console.log(`  Eddy / hand loop           ${ratio(result.pipeline.ratioEddyToHandLoop)} (target ≥ 50%)`);
  console.log(`\n(b) $group by device, ${b.groups} keys, $avg/$max/$count`);
  console.log(`  Eddy compiled            ${rate(b.eddy)}`);
  console.log(`  hand-written loop        ${rate(b.handLoop)}`);
  console.log(`  mingo, whole batch       ${rate(b.mingoBatch)}`);
  console.log(`  Eddy / hand loop           ${ratio(result.group.ratioEddyToHandLoop)} (target ≥ 30%)`);
}

main();
