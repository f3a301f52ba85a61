/**
 * The clients a running processor opens, one per named connection and shared by its source, stages, sink
 * and DLQ; all closed together when the processor stops.
 */
import { createRequire } from "node:module";
import type { MongoClient } from "mongodb";
import { connectionSettings } from "./connection-settings.ts";
import { UnavailableConnectorError } from "./errors.ts";
import type { Doc } from "../mql/index.ts";
import type { ConnectionCatalog } from "../pipeline/plan.ts";
import {
  consumerTuning,
  kafkaClientOptions,
  type KafkaClientOptions,
  type KafkaConsumerTuning,
} from "./kafka/connection.ts";

const requireModule = createRequire(import.meta.url);

/** The MongoDB driver, loaded at the first Cluster connection: a processor without one never loads it. */
function mongoDriver(): typeof import("mongodb") {
  return requireModule("mongodb") as typeof import("mongodb");
}

export class ConnectorClients {
  private readonly catalog: ConnectionCatalog;
  private readonly mongo = new Map<string, MongoClient>();

  constructor(catalog: ConnectionCatalog) {
    this.catalog = catalog;
  }

  /** A MongoClient for a Cluster connection; `config.uri` holds the connection string. */
  mongoClient(connectionName: string): MongoClient {
    let client = this.mongo.get(connectionName);
    if (!client) {
      const uri = this.settings(connectionName).uri;
      if (typeof uri !== "string" || uri === "") {
        throw new UnavailableConnectorError(
          `connection '${connectionName}' needs config.uri, a MongoDB connection string (e.g. "{{MONGODB_URI}}")`,
        );
      }
      // The driver lets these options win over the URI's: keep a timeout the connection string sets.
      const timeoutInUri = /[?&]serverSelectionTimeoutMS=/i.test(uri);
      client = new (mongoDriver().MongoClient)(uri, {
        ...(timeoutInUri ? {} : { serverSelectionTimeoutMS: 30_000 }),
        appName: "eddy",
      });
      this.mongo.set(connectionName, client);
    }
    return client;
  }

  kafka(connectionName: string, clientId: string): KafkaClientOptions {
    return kafkaClientOptions(this.settings(connectionName), clientId);
  }

  kafkaConsumerTuning(connectionName: string): KafkaConsumerTuning {
    return consumerTuning(this.settings(connectionName));
  }

  async close(): Promise<void> {
    await Promise.all([...this.mongo.values()].map((client) => client.close().catch(() => undefined)));
    this.mongo.clear();
  }

  /** The entry's `config` merged over its top-level settings (ASP API bodies keep them at the top). */
  private settings(connectionName: string): Doc {
    const entry = this.catalog.get(connectionName);
    if (!entry) throw new UnavailableConnectorError(`unknown connection '${connectionName}'`);
    return connectionSettings(entry);
  }
}
