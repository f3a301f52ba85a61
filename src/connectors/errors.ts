import { ConnectorError } from "../runtime/errors.ts";

/**
 * A connector cannot be opened as configured (a missing setting, a connector this build lacks): retrying
 * cannot help, so the processor fails at once.
 */
export class UnavailableConnectorError extends ConnectorError {
  override readonly name = "UnavailableConnectorError";

  constructor(message: string) {
    super(message, { retryable: false });
  }
}
