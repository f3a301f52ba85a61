// The runtime runs the next batches while the sink write of the previous one is in flight, and writes
// what they produced together next: writes stay sequential and in order, and no checkpoint or
// acknowledgement ever covers a write that has not completed.
import { describe, expect, it } from "vitest";
import { DocumentsSource } from "../../src/connectors/documents/source.ts";
import type { Doc } from "../../src/mql/index.ts";
import { MemoryCheckpointStore, ProcessorRuntime, type SinkResult } from "../../src/runtime/index.ts";
import { CollectSink, documentsPlan, match, MemoryDlq } from "./helpers.ts";

const docs = Array.from({ length: 50 }, (_, i) => ({ _id: i }));

/** Each write waits until the test releases it; records how many writes ever overlapped. */
class GatedSink extends CollectSink {
  inFlight = 0;
  maxInFlight = 0;
  private readonly gates: Array<() => void> = [];
  private readonly failOnWrite: number | undefined;
  private writes = 0;

  constructor(failOnWrite?: number) {
    super();
    this.failOnWrite = failOnWrite;
  }

  /** Documents per write. */
  readonly sizes: number[] = [];

  override async write(batch: readonly Doc[]): Promise<SinkResult> {
    const n = ++this.writes;
    this.sizes.push(batch.length);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    await new Promise<void>((resolve) => this.gates.push(resolve));
    this.inFlight--;
    if (n === this.failOnWrite) throw new Error("connection reset");
    return super.write(batch);
  }

  /** Releases the oldest waiting write, once there is one. */
  async release(): Promise<void> {
    while (this.gates.length === 0) await new Promise((resolve) => setImmediate(resolve));
    this.gates.shift()?.();
  }
}

/** Records the `_id`s each batch brings to the first stage, i.e. what the runtime has processed so far. */
function recordingMatch(seen: number[]) {
  return match((doc) => {
    seen.push(doc._id as number);
    return true;
  });
}

describe("sink writes overlap the next batch", () => {
  it("runs the next batches while write N is in flight and writes them together next, one write at a time, in order", async () => {
    const sink = new GatedSink();
    const seen: number[] = [];
    const runtime = new ProcessorRuntime(documentsPlan([recordingMatch(seen)]), {
      source: new DocumentsSource(docs, { batchSize: 10 }),
      sink,
    });
    const running = runtime.run();
    // Write 1 (the first batch) is in flight: every other batch goes through the pipeline meanwhile.
    while (seen.length < 50) await new Promise((resolve) => setImmediate(resolve));
    expect(sink.docs).toEqual([]);
    await sink.release();
    await sink.release();
    const stats = await running;
    expect(sink.maxInFlight).toBe(1);
    expect(sink.sizes).toEqual([10, 40]);
    expect(sink.docs.map((d) => d._id)).toEqual(docs.map((d) => d._id));
    expect(stats.outputMessageCount).toBe(50);
  });

  it("collects at most maxDocsPerWrite documents for the next write, then waits for the write in flight", async () => {
    const sink = new GatedSink();
    const seen: number[] = [];
    const runtime = new ProcessorRuntime(documentsPlan([recordingMatch(seen)]), {
      source: new DocumentsSource(docs, { batchSize: 10 }),
      sink,
      maxDocsPerWrite: 20,
    });
    const running = runtime.run();
    // Write 1 in flight, batches 2 and 3 collected for write 2, batch 4 run and waiting for room.
    while (seen.length < 40) await new Promise((resolve) => setImmediate(resolve));
    for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toHaveLength(40);
    for (let i = 0; i < 3; i++) await sink.release();
    await running;
    expect(sink.sizes).toEqual([10, 20, 20]);
    expect(sink.docs.map((d) => d._id)).toEqual(docs.map((d) => d._id));
  });

  it("dead-letters the per-document failures of the last write before the run ends", async () => {
    const dlq = new MemoryDlq();
    const sink = new (class extends CollectSink {
      override async write(batch: readonly Doc[]): Promise<SinkResult> {
        await super.write(batch);
        return { bytes: 0, failures: [{ index: batch.length - 1, message: "too large" }] };
      }
    })();
    await new ProcessorRuntime(documentsPlan([]), {
      source: new DocumentsSource(docs, { batchSize: 10 }),
      sink,
      dlq,
    }).run();
    expect(dlq.records.map((r) => (r.doc as Doc)._id)).toEqual([9, 19, 29, 39, 49]);
  });

  it("never checkpoints or acknowledges a batch whose write failed while the next one ran", async () => {
    const store = new MemoryCheckpointStore();
    const acks: Doc[] = [];
    const source = new (class extends DocumentsSource {
      async acknowledge(positions: Doc): Promise<void> {
        acks.push(positions);
      }
    })(docs, { batchSize: 10 });
    const sink = new GatedSink(3);
    const runtime = new ProcessorRuntime(documentsPlan([]), {
      source,
      sink,
      checkpoints: store,
      checkpointIntervalMs: 60_000,
    });
    const running = runtime.run();
    const failed = expect(running).rejects.toThrow("connection reset");
    for (let i = 0; i < 3; i++) await sink.release();
    await failed;
    // The first checkpoint (at the first batch boundary) covers batch 1 only; write 3 failed, so nothing after.
    expect((await store.load())?.sourcePositions).toEqual({ position: 10 });
    expect(acks).toEqual([{ position: 10 }]);
    expect(sink.docs.map((d) => d._id)).toEqual(docs.slice(0, 20).map((d) => d._id));
  });

  it("runs the next batch while an exactly-once commit is in flight; its write and acknowledgement wait for it", async () => {
    const events: string[] = [];
    const gates: Array<() => void> = [];
    const sink = new (class extends CollectSink {
      override async write(batch: readonly Doc[]): Promise<SinkResult> {
        events.push(`write ${batch[0]._id as number}`);
        return super.write(batch);
      }
      readonly commit = async (marker: number): Promise<void> => {
        events.push("commit starts");
        await new Promise<void>((resolve) => gates.push(resolve));
        events.push(`commit ${typeof marker} ends`);
      };
      commitDue = () => true;
    })();
    const source = new (class extends DocumentsSource {
      async acknowledge(positions: Doc): Promise<void> {
        events.push(`ack ${positions.position as number}`);
      }
    })(docs.slice(0, 20), { batchSize: 10 });
    const seen: number[] = [];
    const running = new ProcessorRuntime(documentsPlan([recordingMatch(seen)]), {
      source,
      sink,
      checkpoints: new MemoryCheckpointStore(),
    }).run();
    while (gates.length === 0) await new Promise((resolve) => setImmediate(resolve));
    // The first commit waits: the second batch has gone through the stages, but is not written.
    while (seen.length < 20) await new Promise((resolve) => setImmediate(resolve));
    expect(events).toEqual(["write 0", "commit starts"]);
    gates.shift()?.();
    while (gates.length === 0) await new Promise((resolve) => setImmediate(resolve));
    expect(events).toEqual([
      "write 0",
      "commit starts",
      "commit number ends",
      "ack 10",
      "write 10",
      "commit starts",
    ]);
    gates.shift()?.();
    await running;
    expect(events.slice(-2)).toEqual(["commit number ends", "ack 20"]);
  });
});
