import { compileConcatArraysAccumulator, compileSetUnionAccumulator } from "./array-inputs.ts";
import { compileAddToSet, compileMergeObjects, compilePush } from "./collect.ts";
import { compileFirst, compileLast } from "./first-last.ts";
import { compileMax, compileMin } from "./min-max.ts";
import { compileFirstN, compileLastN, compileMaxN, compileMinN } from "./n-family.ts";
import { compileUserAccumulator } from "./javascript.ts";
import { compileMedian, compilePercentile } from "./percentile.ts";
import { compileStdDevPop, compileStdDevSamp } from "./std-dev.ts";
import { compileAvg, compileCount, compileSum } from "./sum-avg.ts";
import { compileBottom, compileBottomN, compileTop, compileTopN } from "./top-bottom.ts";
import type { AccumulatorCompiler } from "./types.ts";

/** Every `$group` accumulator Eddy knows, by name. */
export const ACCUMULATORS: Readonly<Record<string, AccumulatorCompiler>> = {
  $sum: compileSum,
  $avg: compileAvg,
  $count: compileCount,
  $min: compileMin,
  $max: compileMax,
  $first: compileFirst,
  $last: compileLast,
  $push: compilePush,
  $addToSet: compileAddToSet,
  $mergeObjects: compileMergeObjects,
  $stdDevPop: compileStdDevPop,
  $stdDevSamp: compileStdDevSamp,
  $top: compileTop,
  $bottom: compileBottom,
  $topN: compileTopN,
  $bottomN: compileBottomN,
  $firstN: compileFirstN,
  $lastN: compileLastN,
  $maxN: compileMaxN,
  $minN: compileMinN,
  $median: compileMedian,
  $percentile: compilePercentile,
  $concatArrays: compileConcatArraysAccumulator,
  $setUnion: compileSetUnionAccumulator,
  $accumulator: compileUserAccumulator,
};
