import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import {
  ChangeStreamSource,
  type ChangeStreamSourcePlan,
} from "../../src/connectors/mongodb/change-stream-source.ts";
import { CONNECTORS } from "../../src/connectors/registry.ts";
import { MapConnectionCatalog, planProcessor } from "../../src/pipeline/index.ts";
import { useMongoDatabase } from "../support/mongo.ts";

function sourcePlan(db: string, coll: string): ChangeStreamSourcePlan {
  const plan = planProcessor(
    { pipeline: [{ $source: { connectionName: "db", db, coll } }] },
    {
      connectors: CONNECTORS,
      connections: new MapConnectionCatalog([{ name: "db", type: "Cluster", config: {} }]),
      ephemeral: true,
    },
  );
  return plan.source as ChangeStreamSourcePlan;
}

describe("change stream source lag", () => {
  const mongo = useMongoDatabase("cslag");

  it("reports how old the last handed-over event is while more wait, and 0 once caught up", async () => {
    const coll = mongo.client.db(mongo.db).collection("events");
    const source = new ChangeStreamSource(mongo.client, sourcePlan(mongo.db, "events"), { maxBatchSize: 1 });
    await source.start();
    try {
      await coll.insertMany([{ n: 1 }, { n: 2 }, { n: 3 }]);
      await sleep(1_500);
      let first = 0;
      for (let i = 0; i < 20 && first === 0; i++) first = (await source.next())?.records.length ?? 0;
      expect(first).toBe(1);
      const behind = source.lag();
      expect(behind.changeStreamTimeDifferenceSecs).toBeGreaterThanOrEqual(1);
      expect(behind.sourceStatus).toMatchObject({ reachable: true });

      for (let i = 0; i < 20 && !(await source.next())?.idle; i++);
      expect(source.lag().changeStreamTimeDifferenceSecs).toBe(0);
    } finally {
      await source.close();
    }
  });
});
