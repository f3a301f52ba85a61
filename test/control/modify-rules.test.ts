import { describe, expect, it } from "vitest";
import { modifyRefusalReason } from "../../src/control/modify-rules.ts";

const source = { $source: { connectionName: "kafka", topic: "in" } };
const merge = { $merge: { into: { connectionName: "atlas", db: "d", coll: "c" } } };
const tumbling = (size: number, inner: unknown[] = [{ $group: { _id: null, n: { $count: {} } } }]) => ({
  $tumblingWindow: { interval: { size, unit: "second" }, pipeline: inner },
});

describe("modifyRefusalReason (resumeFromCheckpoint: true)", () => {
  it("allows changing stateless stages and the sink", () => {
    expect(
      modifyRefusalReason(
        [source, { $match: { a: 1 } }, merge],
        [source, { $match: { a: 2 } }, { $addFields: { b: 1 } }, merge],
        false,
      ),
    ).toBeUndefined();
  });

  it("refuses a changed $source, with ASP's text", () => {
    expect(
      modifyRefusalReason(
        [source, merge],
        [{ $source: { connectionName: "kafka", topic: "other" } }, merge],
        false,
      ),
    ).toBe("resumeFromCheckpoint must be false to modify a stream processor's $source stage");
  });

  it("refuses adding, removing or reshaping a window", () => {
    expect(modifyRefusalReason([source, merge], [source, tumbling(1), merge], false)).toBe(
      "resumeFromCheckpoint must be false to add a window to a stream processor",
    );
    expect(modifyRefusalReason([source, tumbling(1), merge], [source, merge], false)).toBe(
      "resumeFromCheckpoint must be false to remove a window from a stream processor",
    );
    expect(modifyRefusalReason([source, tumbling(1), merge], [source, tumbling(2), merge], false)).toBe(
      "resumeFromCheckpoint must be false to change a window stage's interval",
    );
    const hopping = {
      $hoppingWindow: {
        interval: { size: 1, unit: "second" },
        hopSize: { size: 1, unit: "second" },
        pipeline: [],
      },
    };
    expect(modifyRefusalReason([source, tumbling(1), merge], [source, hopping, merge], false)).toBe(
      "resumeFromCheckpoint must be false to change a stream processor's window type",
    );
  });

  it("allows changing a window's blocking stage but not a window without one", () => {
    const avg = [{ $group: { _id: null, avg: { $avg: "$a" } } }];
    expect(
      modifyRefusalReason([source, tumbling(1), merge], [source, tumbling(1, avg), merge], false),
    ).toBeUndefined();
    expect(
      modifyRefusalReason(
        [source, tumbling(1, [{ $match: { a: 1 } }]), merge],
        [source, tumbling(1, avg), merge],
        false,
      ),
    ).toBe(
      "resumeFromCheckpoint must be false to modify a processor that has a window without a blocking stage",
    );
  });

  it("puts no limit on a source without positions (sample, documents)", () => {
    expect(
      modifyRefusalReason([source, merge], [{ $source: { connectionName: "x" } }, tumbling(1), merge], true),
    ).toBeUndefined();
  });
});
