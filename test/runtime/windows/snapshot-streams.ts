import "../../support/fast-check.ts";
import fc from "fast-check";
import { Decimal128, Long } from "bson";
import type { Doc } from "../../../src/mql/index.ts";
import type { DriveStep } from "./snapshot-harness.ts";

export const T0 = 1_700_000_000_000;

export interface StreamShape {
  /** Distinct group / partitionBy keys. */
  readonly keys?: number;
  /** Source partitions the records come from. */
  readonly partitions?: number;
  /** How far an event may lag behind the stream's front (out-of-order and late data). */
  readonly maxLagMs?: number;
  /** Largest step of the stream's front between two events. */
  readonly maxGapMs?: number;
  /** Interleave idle polls (wall clock moves, no records), some naming idle partitions. */
  readonly idle?: boolean;
  readonly maxEvents?: number;
}

/** Every kind of value an accumulator may hold: ints, doubles, Long, Decimal128, null, strings, missing. */
const value: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: -50, max: 100 }) },
  { weight: 2, arbitrary: fc.double({ min: -1e6, max: 1e6, noNaN: true }) },
  { weight: 1, arbitrary: fc.integer({ min: -1000, max: 1000 }).map((n) => Long.fromNumber(n)) },
  {
    weight: 1,
    arbitrary: fc.integer({ min: -1000, max: 1000 }).map((n) => Decimal128.fromString(`${n}.25`)),
  },
  { weight: 1, arbitrary: fc.constantFrom(null, undefined, "x", "", -0) },
);

/** A small document with keys that need escaping in storage (`$`, `.`), for `$mergeObjects` and buffers. */
const extra: fc.Arbitrary<Doc | undefined> = fc.option(
  fc.dictionary(fc.constantFrom("$a", "b.c", "~", "d", "$date"), value, { maxKeys: 3 }),
  { nil: undefined },
);

const event = (shape: Required<StreamShape>) =>
  fc.record({
    gap: fc.nat({ max: shape.maxGapMs }),
    lag: fc.oneof(
      { weight: 4, arbitrary: fc.constant(0) },
      { weight: 1, arbitrary: fc.nat({ max: shape.maxLagMs }) },
    ),
    k: fc.nat({ max: shape.keys - 1 }),
    v: value,
    o: extra,
    partition: fc.nat({ max: shape.partitions - 1 }),
  });

/** A random event stream cut into batches (and idle polls), plus a cut point between two steps. */
export function streamWithCut(shape: StreamShape = {}): fc.Arbitrary<{ steps: DriveStep[]; cut: number }> {
  const s: Required<StreamShape> = {
    keys: 4,
    partitions: 1,
    maxLagMs: 4000,
    maxGapMs: 1500,
    idle: false,
    maxEvents: 60,
    ...shape,
  };
  const batch = fc.record({
    size: fc.integer({ min: 1, max: 6 }),
    advance: fc.nat({ max: 400 }),
    idleAfter: s.idle
      ? fc.option(
          fc.record({
            advance: fc.integer({ min: 100, max: 6000 }),
            idlePartitions: fc.option(fc.subarray([...Array(s.partitions).keys()]), { nil: undefined }),
          }),
          { nil: undefined, freq: 3 },
        )
      : fc.constant(undefined),
  });
  return fc
    .tuple(
      fc.array(event(s), { minLength: 1, maxLength: s.maxEvents }),
      fc.array(batch, { minLength: 1, maxLength: 40 }),
      fc.nat(),
    )
    .map(([events, batches, cutSeed]) => {
      const steps: DriveStep[] = [];
      let front = T0;
      let next = 0;
      for (let b = 0; next < events.length; b = (b + 1) % batches.length) {
        const { size, advance, idleAfter } = batches[b];
        const records = events.slice(next, next + size).map((e) => {
          front += e.gap;
          const doc: Doc = { t: front - e.lag, k: `k${e.k}`, n: { seq: next } };
          if (e.v !== undefined) doc.v = e.v;
          if (e.o !== undefined) doc.o = e.o;
          next++;
          return { doc, partition: e.partition };
        });
        steps.push({ records, advance });
        if (idleAfter) steps.push({ idle: true, ...idleAfter });
      }
      return { steps, cut: cutSeed % (steps.length + 1) };
    });
}

/** Every `$group` accumulator, so each kind of accumulator state goes through a checkpoint. */
export const ALL_ACCUMULATORS: Doc = {
  _id: "$k",
  sum: { $sum: "$v" },
  avg: { $avg: "$v" },
  min: { $min: "$v" },
  max: { $max: "$v" },
  count: { $count: {} },
  stdDevPop: { $stdDevPop: "$v" },
  stdDevSamp: { $stdDevSamp: "$v" },
  first: { $first: "$v" },
  last: { $last: "$v" },
  push: { $push: "$v" },
  set: { $addToSet: "$v" },
  merged: { $mergeObjects: "$o" },
  top: { $top: { sortBy: { v: -1, t: 1 }, output: "$v" } },
  bottom: { $bottom: { sortBy: { v: -1, t: 1 }, output: ["$v", "$t"] } },
  topN: { $topN: { n: 2, sortBy: { v: 1, t: 1 }, output: { v: "$v", o: "$o" } } },
  bottomN: { $bottomN: { n: 2, sortBy: { v: 1, t: 1 }, output: "$t" } },
  firstN: { $firstN: { n: 2, input: "$v" } },
  lastN: { $lastN: { n: 3, input: "$v" } },
  maxN: { $maxN: { n: 2, input: "$v" } },
  minN: { $minN: { n: 2, input: "$v" } },
  median: { $median: { input: "$v", method: "approximate" } },
  percentile: { $percentile: { input: "$v", p: [0.25, 0.9], method: "approximate" } },
};
