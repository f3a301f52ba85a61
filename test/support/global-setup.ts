// vitest global set-up: starts (or reuses) the test services once per run, hands their endpoints to
// the test files through `provide`/`inject` and environment variables, and stops what it started.
// EDDY_TEST_SERVICES=off skips all of it, for a quick run of tests that need no server.
import type { TestProject } from "vitest/node";
import { startServices, type ServiceEndpoints } from "../../scripts/services/services.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** Undefined when EDDY_TEST_SERVICES=off. */
    services: ServiceEndpoints | undefined;
  }
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  if (process.env.EDDY_TEST_SERVICES === "off") {
    project.provide("services", undefined);
    return undefined;
  }
  const start = Date.now();
  const services = await startServices();
  const seconds = ((Date.now() - start) / 1000).toFixed(1);
  console.log(`test services ready in ${seconds} s (${services.summary.join(", ")})`);

  project.provide("services", services.endpoints);
  // For code under test that reads its configuration from the environment; workers start after
  // this runs, so they inherit these.
  process.env.MONGODB_URI ??= services.endpoints.mongodbUri;
  process.env.KAFKA_BROKERS ??= services.endpoints.kafkaBrokers.join(",");
  process.env.REDIS_URL ??= services.endpoints.redisUrl;
  process.env.DATABASE_URL ??= services.endpoints.databaseUrl;

  return async () => {
    await services.stop();
  };
}
