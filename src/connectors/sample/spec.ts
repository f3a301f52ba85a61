/**
 * Sample: ASP's generated sample data (`sample_stream_solar`, which every workspace has). Eddy's optional
 * settings pace it. This is the smallest connector, and the worked example of docs/connectors.md.
 */
import { isPlainObject } from "../../mql/bson-types.ts";
import type { ConnectionSettings, SettingProblem } from "../../pipeline/connector-specs.ts";
import { DURATION_UNITS } from "../../pipeline/duration.ts";
import { defineConnector } from "../spec.ts";
import { typeName } from "../setting-checks.ts";
import { SAMPLE_GENERATORS, type SampleDataset } from "./datasets.ts";

export const SAMPLE_DATASETS = Object.keys(SAMPLE_GENERATORS) as SampleDataset[];

/** `interval` units as the seed \`sp\` tool writes them (`millisecond`) and as ASP durations do (`ms`). */
const INTERVAL_UNITS: Readonly<Record<string, number>> = { ...DURATION_UNITS, millisecond: 1 };

/** The dataset a connection generates: `dataset`, else `format` (the seed tool's name), else its name. */
function datasetOf(name: string, settings: Readonly<Record<string, unknown>>): unknown {
  return settings.dataset ?? settings.format ?? name;
}

/** Documents per second: `rate`, else one per `interval` ({size, unit}), else undefined. */
function rateOf(settings: Readonly<Record<string, unknown>>): number | undefined {
  if (settings.rate === "unlimited") return Infinity;
  if (typeof settings.rate === "number") return settings.rate;
  const interval = settings.interval;
  if (isPlainObject(interval) && typeof interval.size === "number" && typeof interval.unit === "string") {
    const ms = interval.size * (INTERVAL_UNITS[interval.unit] ?? Number.NaN);
    if (ms > 0) return 1000 / ms;
  }
  return undefined;
}

/** `$source` on a Sample connection: only the common fields; the dataset comes from the connection. */
export interface SampleOptions {
  readonly dataset: string;
}

export const sample = defineConnector<SampleOptions>({
  type: "Sample",
  aliases: ["sample", "sample_solar"],
  description: "Generated sample data (ASP's `sample_stream_solar`), paced by Eddy's optional settings.",
  connection: {
    properties: {
      dataset: {
        enum: [...SAMPLE_DATASETS],
        description: "Dataset to generate; default: `format`, else the connection's name.",
      },
      format: {
        enum: [...SAMPLE_DATASETS],
        description: "The seed `sp` tool's name for `dataset` (e.g. `sampleiot`).",
      },
      interval: {
        type: "object",
        description: "One document per `{size, unit}` (the seed `sp` tool's pacing; `rate` wins).",
      },
      rate: {
        anyOf: [{ type: "number", exclusiveMinimum: 0 }, { const: "unlimited" }],
        description: 'Documents per second, or "unlimited" (default 1).',
      },
      count: { type: "integer", minimum: 0, description: "Stop after this many documents (default: never)." },
      seed: { type: "integer", minimum: 0, description: "Random seed, for repeatable data." },
    },
  },
  checkConnection: checkSample,
  source: {
    fields: { properties: {} },
    positionless: true,
    plan: (_spec, _ctx, connection) => {
      const dataset = datasetOf(connection.name, { ...connection, ...(connection.config ?? {}) });
      return { options: { dataset: typeof dataset === "string" ? dataset : connection.name } };
    },
  },
  async openSource(source, ctx) {
    const { SampleSource } = await import("./source.ts");
    return new SampleSource(source.options.dataset, {
      rate: rateOf(ctx.settings),
      count: numberSetting(ctx.settings.count),
      seed: numberSetting(ctx.settings.seed),
    });
  },
});

function numberSetting(value: unknown): number | undefined {
  return typeof value === "number" ? value : undefined;
}

function checkSample({ name, settings, pathOf }: ConnectionSettings): SettingProblem[] {
  const problems: SettingProblem[] = [];
  const dataset = datasetOf(name, settings);
  if (!(SAMPLE_DATASETS as readonly unknown[]).includes(dataset)) {
    problems.push({
      path: pathOf(settings.dataset === undefined && settings.format !== undefined ? "format" : "dataset"),
      message: `a Sample connection generates one of the sample datasets (${SAMPLE_DATASETS.join(", ")}): name it so, or set config.dataset (or format)`,
      expected: SAMPLE_DATASETS.map((d) => JSON.stringify(d)).join(" or "),
      got: settings.dataset === undefined ? "missing" : JSON.stringify(settings.dataset),
    });
  }
  const rate = settings.rate;
  if (rate !== undefined && rate !== "unlimited" && !(typeof rate === "number" && rate > 0)) {
    problems.push({
      path: pathOf("rate"),
      message: 'rate is documents per second, or "unlimited"',
      expected: 'positive number or "unlimited"',
      got: typeName(rate),
    });
  }
  const interval = settings.interval;
  if (interval !== undefined && settings.rate === undefined && rateOf(settings) === undefined) {
    problems.push({
      path: pathOf("interval"),
      message: `interval is {size, unit} with a positive size and unit one of ${Object.keys(INTERVAL_UNITS).join(", ")}`,
      expected: "{size, unit}",
      got: JSON.stringify(interval) ?? typeName(interval),
    });
  }
  for (const key of ["count", "seed"]) {
    const value = settings[key];
    if (value !== undefined && !(typeof value === "number" && Number.isInteger(value) && value >= 0)) {
      problems.push({
        path: pathOf(key),
        message: `${key} must be a non-negative integer`,
        expected: "non-negative integer",
        got: typeName(value),
      });
    }
  }
  return problems;
}
