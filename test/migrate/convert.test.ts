import { describe, expect, it } from "vitest";
import { convertExport } from "../../src/migrate/convert.ts";
import { readAppExport } from "../../src/migrate/export-reader.ts";
import { CONNECTORS } from "../../src/connectors/registry.ts";
import { catalogOf } from "../../src/pipeline/connections.ts";
import { planProcessor } from "../../src/pipeline/index.ts";
import type { Doc } from "../../src/mql/index.ts";

const EXPORT = "examples/app-services-export";

describe("convertExport: scheduled triggers", () => {
  it("become a Scheduled $source running the function's query on the trigger's schedule", async () => {
    const conversion = convertExport(await readAppExport(EXPORT));
    const sweep = conversion.triggers.find((t) => t.trigger.name === "sweepUnprocessedOrders");
    expect(sweep?.status).toBe("needs-review");
    expect(sweep?.processor?.pipeline).toEqual([
      {
        $source: {
          connectionName: "mongodb-atlas-scheduled",
          schedule: "0 * * * *",
          db: "shop",
          coll: "orders",
          filter: { processed: false, modifiedAt: { $gte: "$$lastFiredAt" } },
          batchSize: 100,
        },
      },
      {
        $https: {
          connectionName: "http_warehouse_example_com",
          path: "/api/tables/orders",
          method: "POST",
        },
      },
    ]);
    expect(sweep?.notes.join("\n")).toMatch(/does not write back to the collection it sweeps/);
    expect(conversion.connections).toContainEqual({
      name: "mongodb-atlas-scheduled",
      type: "Scheduled",
      config: { uri: "{{MONGODB_URI}}" },
    });

    // The processor plans against the converted connections.
    planProcessor(sweep?.processor as Doc & { pipeline: unknown[] }, {
      connectors: CONNECTORS,
      connections: catalogOf(conversion.connections as never),
    });
  });
});
