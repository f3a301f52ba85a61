// Connection info for tests that talk to real servers, from the vitest global set-up
// (test/support/global-setup.ts), plus helpers for tests that need real MongoDB.
import { randomBytes } from "node:crypto";
import { describe, inject, it } from "vitest";
import type { ServiceEndpoints } from "../../scripts/services/services.ts";

export type { ServiceEndpoints };

/** Endpoints of MongoDB, Kafka, Redis and PostgreSQL for this test run. */
export function testServices(): ServiceEndpoints {
  const services = inject("services");
  if (services === undefined) {
    throw new Error(
      "test services are off (EDDY_TEST_SERVICES=off); unset it to run tests that need servers",
    );
  }
  return services;
}

/**
 * True when MONGODB_URI points at a real MongoDB (a replica set, for change streams), false when the
 * tests run against the mongo-java-server stand-in.
 */
export function hasRealMongo(): boolean {
  return inject("services")?.mongoIsStandIn === false;
}

/**
 * For behaviour the MongoDB stand-in lacks (see docs/testing.md): these suites and tests run only
 * when MONGODB_URI points at a real MongoDB, and are reported as skipped otherwise.
 *
 *   requiresRealMongo.describe("change event updateDescription", () => { ... });
 *   requiresRealMongo.it("reports updateDescription.removedFields", async () => { ... });
 */
export const requiresRealMongo = {
  describe: describe.runIf(hasRealMongo()),
  it: it.runIf(hasRealMongo()),
};

/**
 * A name no other test (or earlier run against a reused server) uses: for Kafka topics and groups,
 * MongoDB databases, Redis keys and PostgreSQL tables.
 */
/** The test MongoDB's URI with database `db`. */
export function databaseUri(db: string): string {
  const uri = new URL(testServices().mongodbUri);
  uri.pathname = `/${db}`;
  return uri.toString();
}

export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString("hex")}`;
}
