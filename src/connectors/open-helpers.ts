import type { ConnectorClients } from "./clients.ts";
import { UnavailableConnectorError } from "./errors.ts";

/** The clients, or the error a command that may not connect to external servers reports. */
export function required(clients: ConnectorClients | undefined): ConnectorClients {
  if (!clients)
    throw new UnavailableConnectorError("this command cannot open connections to external servers");
  return clients;
}
