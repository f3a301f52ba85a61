/** An Https connection's settings as `$https` uses them. */
import type { Doc } from "../../mql/index.ts";
import { UnavailableConnectorError } from "../errors.ts";
import type { HttpsConnection } from "./https-stage.ts";

/**
 * `url` (base URL; `baseUrl`, the seed `sp` tool's name for it, is read the same way), static `headers`
 * (values may come from `{{VAR}}`), terminal-`$https` retry settings.
 */
export function httpsConnection(settings: Doc, name: string): HttpsConnection {
  const url = settings.url ?? settings.baseUrl;
  if (typeof url !== "string" || url === "") {
    throw new UnavailableConnectorError(
      `connection '${name}' needs config.url, the base URL of the HTTP API`,
    );
  }
  return {
    url,
    headers: (settings.headers as Record<string, string> | undefined) ?? {},
    ...(typeof settings.maxRetries === "number" ? { maxRetries: settings.maxRetries } : {}),
    ...(typeof settings.retryDelayMs === "number" ? { retryDelayMs: settings.retryDelayMs } : {}),
  };
}
