/** Https: an HTTP API called by `$https` (the stage's options are planned with the other stages). */
import { isPlainObject } from "../../mql/bson-types.ts";
import type { ConnectionSettings, SettingProblem } from "../../pipeline/connector-specs.ts";
import { defineConnector } from "../spec.ts";
import { requireStringSetting, typeName } from "../setting-checks.ts";

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
