/**
 * Sample: ASP's generated sample data (`sample_stream_solar`, which every workspace has). Eddy's optional
 * settings pace it. This is the smallest connector, and the worked example of docs/connectors.md.
 */
import type { ConnectionSettings, SettingProblem } from "../../pipeline/connector-specs.ts";
import { defineConnector } from "../spec.ts";
import { typeName } from "../setting-checks.ts";

export const SAMPLE_DATASETS = ["sample_stream_solar"] as const;

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
        description: "Dataset to generate; default: the connection's name.",
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
      const dataset = connection.config?.dataset;
      return { options: { dataset: typeof dataset === "string" ? dataset : connection.name } };
    },
  },
  async openSource(source, ctx) {
    const { SampleSource } = await import("./source.ts");
    const rate = ctx.settings.rate;
    return new SampleSource(source.options.dataset, {
      rate: rate === "unlimited" ? Infinity : numberSetting(rate),
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
  const dataset = settings.dataset ?? name;
  if (!(SAMPLE_DATASETS as readonly unknown[]).includes(dataset)) {
    problems.push({
      path: pathOf("dataset"),
      message: `a Sample connection generates one of the sample datasets (${SAMPLE_DATASETS.join(", ")}): name it so, or set config.dataset`,
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
