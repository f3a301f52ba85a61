// Where the tasks of a scaled-out processor run (docs/scale-out.md, "Joining"): an instance runs at most one
// task of a processor, so once it takes one task lease it stops competing for the others — it neither holds
// them while its task starts nor takes them from a paused holder, and an instance joining meanwhile gets one.
import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LeasePlacement, type PlacedProcessor } from "../../src/control/lease-placement.ts";
import { MongoLeaseStore } from "../../src/control/leases/mongo-lease-store.ts";
import { silentLogger } from "../../src/runtime/log.ts";
import { testServices, uniqueName } from "../support/services.ts";

const db = uniqueName("eddy_placement");
let mongo: MongoClient;

beforeAll(async () => {
  mongo = new MongoClient(testServices().mongodbUri, { serverSelectionTimeoutMS: 10_000 });
  await mongo.connect();
});

afterAll(async () => {
  await mongo.db(db).dropDatabase();
  await mongo.close();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("LeasePlacement of a scaled-out processor's tasks", () => {
  it("takes one task lease per instance, leaving the others to an instance that joins", async () => {
    const store = new MongoLeaseStore(mongo, { db });
    const recordId = uniqueName("record");
    const tasks: PlacedProcessor[] = [0, 1, 2].map((task) => ({
      id: `${recordId}/task/${task}`,
      key: "default/scaled",
      recordId,
      task,
    }));
    const started = new Map<string, number[]>();
    const placement = (owner: string) =>
      new LeasePlacement({
        store,
        owner,
        ttlMs: 60_000,
        logger: silentLogger,
        wanted: async () => tasks,
        // A task that takes a while to start: it is still starting when the next instance joins.
        runHere: async (processor) => {
          started.set(owner, [...(started.get(owner) ?? []), processor.task ?? -1]);
          await sleep(60_000);
        },
        haltHere: async () => undefined,
      });
    const holders = async () =>
      Promise.all(tasks.map(async (task) => (await store.holder(`processor/${task.id}`))?.owner ?? "-"));
    const first = placement("first");
    const second = placement("second");
    try {
      first.start();
      const deadline = Date.now() + 15_000;
      while (!started.has("first") && Date.now() < deadline) await sleep(20);
      // Give its other keepers time to have tried too: none of them holds a lease.
      await sleep(500);
      expect((await holders()).filter((owner) => owner === "first")).toHaveLength(1);

      second.start();
      while (!started.has("second") && Date.now() < deadline) await sleep(20);
      await sleep(500);
      const owners = await holders();
      expect(owners.filter((owner) => owner === "first")).toHaveLength(1);
      expect(owners.filter((owner) => owner === "second")).toHaveLength(1);
      expect(started.get("first")).toHaveLength(1);
      expect(started.get("second")).toHaveLength(1);
      expect(started.get("second")).not.toEqual(started.get("first"));
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });
});
