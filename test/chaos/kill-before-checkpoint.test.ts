// Chaos: `sp process` killed with SIGKILL at its first written document, before its first periodic
// checkpoint, then restarted. Documents without an `_id` get ids Eddy derives from a run id; the run id is
// in checkpoint 0 (saved before anything is read), so the restarted run derives the same ids and `$merge`
// overwrites what the killed run wrote: exactly the input, nothing twice.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testServices, uniqueName } from "../support/services.ts";
import { killAll, processArgs, sleep, SpChild } from "./support.ts";

const EVENTS = 20_000;

describe("chaos: SIGKILL before the first checkpoint", () => {
  const { mongodbUri } = testServices();
  const dir = mkdtempSync(join(tmpdir(), "eddy-chaos-first-"));
  let mongo: MongoClient;

  beforeAll(async () => {
    mongo = new MongoClient(mongodbUri);
    await mongo.connect();
  });

  afterAll(async () => {
    killAll();
    await mongo?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("File → $merge of documents without _id: the first batch is not written twice", async () => {
    const db = uniqueName("chaos_first");
    const target = mongo.db(db).collection("out");
    const input = join(dir, "input.jsonl");
    writeFileSync(input, Array.from({ length: EVENTS }, (_, n) => `{"n": ${n}}\n`).join(""));
    const connections = join(dir, "connections.json");
    writeFileSync(
      connections,
      JSON.stringify({
        connections: [
          { name: "atlas", type: "Cluster", config: { uri: mongodbUri } },
          { name: "events", type: "File", config: { path: input } },
        ],
      }),
    );
    const definition = join(dir, "first.json");
    writeFileSync(
      definition,
      JSON.stringify({
        name: "first_chaos",
        pipeline: [
          { $source: { connectionName: "events" } },
          { $merge: { into: { connectionName: "atlas", db, coll: "out" } } },
        ],
      }),
    );
    try {
      // A long interval: only the first batch boundary's checkpoint could come before the kill, and the kill
      // comes at the first document of that batch's write.
      const args = processArgs(definition, connections, join(dir, db), 600_000);
      const first = new SpChild(args);
      while ((await target.estimatedDocumentCount()) === 0) {
        if (first.process.exitCode !== null) throw new Error(`sp process exited early:\n${first.stderr}`);
        await sleep(1);
      }
      first.kill();
      await first.exited;
      const killedWith = await target.countDocuments();
      // The file is finite: the restarted run ends by itself once it has read it all.
      const second = new SpChild(args);
      expect(await second.exited).toBe(0);
      const written = await target.find({}, { projection: { _id: 0, n: 1 } }).toArray();
      expect({ killedWith: killedWith > 0, written: written.length }).toEqual({
        killedWith: true,
        written: EVENTS,
      });
      expect(new Set(written.map((d) => d.n)).size).toBe(EVENTS);
    } finally {
      await mongo.db(db).dropDatabase();
    }
  }, 120_000);
});
