import { describe, expect, it } from "vitest";
import { MongoDlqWriter } from "../../../src/connectors/mongodb/dlq-writer.ts";
import { operatorErrorRecord } from "../../../src/runtime/dlq.ts";
import { ASP_DLQ_RECORD_KEYS } from "../../support/dlq.ts";
import { useMongoDatabase } from "../../support/mongo.ts";

describe("MongoDlqWriter", () => {
  const mongo = useMongoDatabase("dlq");
  const { db } = mongo;

  it("writes ASP-shaped DLQ records to the configured collection, in order", async () => {
    const writer = new MongoDlqWriter(mongo.client, { db, coll: "orders_dlq" });
    const records = [1, 2].map((n) =>
      operatorErrorRecord({
        streamMeta: { source: { type: "generated" } },
        reason: "Failed to process input document in AddFieldsOperator with error: can't $divide by zero",
        operatorName: "AddFieldsOperator",
        doc: { n },
        processorName: "orders",
        now: 1_700_000_000_000,
      }),
    );
    await writer.write(records);
    await writer.write([]);
    const stored = await mongo.client
      .db(db)
      .collection("orders_dlq")
      .find({}, { projection: { _id: 0 } })
      .toArray();
    expect(stored.map((r) => r.doc)).toEqual([{ n: 1 }, { n: 2 }]);
    expect(Object.keys(stored[0])).toEqual(ASP_DLQ_RECORD_KEYS);
    expect(stored[0].dlqTime).toEqual(new Date(1_700_000_000_000));
  });
});
