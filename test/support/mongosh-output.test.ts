import { ObjectId } from "bson";
import { describe, expect, it } from "vitest";
import { parseMongoshOutput } from "./mongosh-output.ts";

describe("parseMongoshOutput", () => {
  it("reads several documents printed by mongosh, skipping prompts and captions", () => {
    const text = `   ##OUTPUTS
   AtlasStreamProcessing>    sp.process([s,uw,w,rr])
{
  updates: [ { type: 'insert', id: "doc2" } ],
  deletes: [],
  at: ISODate('2025-01-01T00:00:01.000Z'),
  _id: ObjectId('6894c1b92d42dfd54a366283'),
  n: -1.5, ok: true, none: null
}
Topic: x gets
{ "f1": 1,"f2": 2 }`;
    const docs = parseMongoshOutput(text) as Array<Record<string, unknown>>;
    expect(docs).toHaveLength(2);
    expect(docs[0]).toMatchObject({
      updates: [{ type: "insert", id: "doc2" }],
      deletes: [],
      n: -1.5,
      ok: true,
      none: null,
    });
    expect(docs[0].at).toEqual(new Date("2025-01-01T00:00:01.000Z"));
    expect((docs[0]._id as ObjectId).toHexString()).toBe("6894c1b92d42dfd54a366283");
    expect(docs[1]).toEqual({ f1: 1, f2: 2 });
  });

  it("flattens a top-level array of documents", () => {
    expect(parseMongoshOutput("db.x.find()\n[\n  { a: 1 },\n  { a: 2 }\n]")).toEqual([{ a: 1 }, { a: 2 }]);
  });
});
