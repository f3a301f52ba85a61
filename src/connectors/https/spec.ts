/** Https: an HTTP API called by `$https` (the stage's grammar is planned with the other stages). */
import { isPlainObject } from "../../mql/bson-types.ts";
import type { ConnectionSettings, SettingProblem, StageForm } from "../../pipeline/connector-specs.ts";
import { UnavailableConnectorError } from "../errors.ts";
import { defineConnector } from "../spec.ts";
import { httpsConnection } from "./connection.ts";
import { requireStringSetting, typeName } from "../setting-checks.ts";

const HTTPS_STAGE: StageForm = {
  mismatch: "Only https connection type is supported for $https",
  fields: {
    properties: {
      connectionName: { type: "string" },
      path: {
        anyOf: [{ type: "string" }, { type: "object" }],
        description: "Appended to the connection's url.",
      },
      method: {
        enum: ["GET", "POST", "PUT", "PATCH", "DELETE"],
        description: "GET mid-pipeline, POST as the sink.",
      },
      parameters: { type: "object", description: "Query parameters: name → string or expression." },
      headers: { type: "object", description: "Request headers: name → string or field path." },
      as: {
        type: "string",
        description: "Where the response goes; omitted on the last stage, `$https` is the sink.",
      },
      onError: { enum: ["dlq", "ignore", "fail"], description: "For 400/404/410/413/414/431 (dlq)." },
      payload: { type: "array", items: { type: "object" }, description: "Stages building the request body." },
      config: {
        type: "object",
        additionalProperties: false,
        description: "`connectionTimeoutSec`, `requestTimeoutSec` (1–899), `parseJsonStrings`.",
        properties: {
          connectionTimeoutSec: { type: "integer" },
          requestTimeoutSec: { type: "integer" },
          parseJsonStrings: { type: "boolean" },
        },
      },
    },
    required: ["connectionName"],
  },
};

export const https = defineConnector({
  type: "Https",
  aliases: ["https", "http"],
  description: "An HTTP API called by `$https`.",
  connection: {
    properties: {
      url: { type: "string", description: "Base URL of the API (http:// or https://)." },
      baseUrl: {
        type: "string",
        description: "The seed `sp` tool's name for `url` (used when `url` is absent).",
      },
      headers: {
        type: "object",
        additionalProperties: { type: "string" },
        description: "Headers sent with every request; values may be `{{VAR}}` placeholders.",
      },
    },
  },
  checkConnection: checkHttps,
  stages: { $https: HTTPS_STAGE },
  async openStageSink(sink, ctx) {
    if (sink.kind !== "connector" || sink.stage !== "$https")
      throw new UnavailableConnectorError(`an Https ${sink.kind} sink does not exist`);
    const { HttpsSink } = await import("./https-sink.ts");
    return new HttpsSink(sink, httpsConnection(ctx.settings, sink.connectionName));
  },
  async loadStages() {
    const { createHttpsStage } = await import("./https-stage.ts");
    return (stage, ctx) => {
      if (stage.kind !== "https")
        throw new UnavailableConnectorError(`${stage.path}: an Https connection does not run ${stage.kind}`);
      return createHttpsStage(
        stage,
        httpsConnection(ctx.settings, stage.connectionName ?? ""),
        ctx.run,
        ctx.stats,
      );
    };
  },
});

function checkHttps(connection: ConnectionSettings): SettingProblem[] {
  const key =
    connection.settings.url === undefined && connection.settings.baseUrl !== undefined ? "baseUrl" : "url";
  const problems = requireStringSetting(
    connection,
    key,
    "an Https connection needs url (or baseUrl), the base URL of the API",
    {
      pattern: /^https?:\/\//,
      text: "an http:// or https:// URL",
    },
  );
  const { settings, pathOf } = connection;
  if (settings.headers === undefined) return problems;
  if (!isPlainObject(settings.headers)) {
    problems.push({
      path: pathOf("headers"),
      message: "headers must be an object of header name → string value",
      expected: "object",
      got: typeName(settings.headers),
    });
    return problems;
  }
  for (const [name, value] of Object.entries(settings.headers)) {
    if (typeof value !== "string") {
      problems.push({
        path: `${pathOf("headers")}.${name}`,
        message: "a header value must be a string",
        expected: "string",
        got: typeName(value),
      });
    }
  }
  return problems;
}
