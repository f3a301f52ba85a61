import { PassThrough, Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { kafkaClientOptions } from "../../../src/connectors/kafka/connection.ts";
import {
  exactlyOnceSettings,
  KafkaEmitSink,
  type EmitSinkPlan,
} from "../../../src/connectors/kafka/emit-sink.ts";
import { fenceAndReadMarker, SHARED_MARKER_TOPIC } from "../../../src/connectors/kafka/transactions.ts";
import { runProcessor } from "../../../src/cli/run-processor.ts";
import type { Doc } from "../../../src/mql/index.ts";
import { MapConnectionCatalog, planProcessor, PlanError } from "../../../src/pipeline/index.ts";
import {
  ConnectorError,
  MemoryCheckpointStore,
  TwoPhaseCheckpoints,
  type Checkpoint,
  type CheckpointStore,
} from "../../../src/runtime/index.ts";
import { testServices, uniqueName } from "../../support/services.ts";
import { readCommitted } from "../../support/kafka.ts";
import { CONNECTORS } from "../../../src/connectors/registry.ts";

const kafka = () => ({
  name: "k",
  type: "Kafka" as const,
  config: { bootstrapServers: testServices().kafkaBrokers.join(",") },
});

function plan(emit: Doc, documents: Doc[] = [], name = "eos") {
  return planProcessor(
    { name, pipeline: [{ $source: { documents } }, { $emit: { connectionName: "k", ...emit } }] },
    { connectors: CONNECTORS, connections: new MapConnectionCatalog([kafka()]) },
  );
}

function planProblems(emit: Doc): string[] {
  try {
    plan(emit);
    return [];
  } catch (error) {
    if (!(error instanceof PlanError)) throw error;
    return error.errors.map((issue) => `${issue.path}: ${issue.message}`);
  }
}

const silentIo = () => ({ stdout: new PassThrough(), stderr: new PassThrough(), stdin: Readable.from([]) });

describe("exactly-once Kafka $emit: definitions", () => {
  it("reads config.exactlyOnce and config.transactionalId (default eddy-<processor>)", () => {
    const sink = plan({ topic: "out", config: { exactlyOnce: true } }).sink!;
    expect(exactlyOnceSettings("orders", sink)).toEqual({
      transactionalId: "eddy-orders",
      markerTopic: "out",
      sharedMarkerTopic: false,
    });
    const custom = plan({ topic: "$t", config: { exactlyOnce: true, transactionalId: "tx-1" } }).sink!;
    expect(exactlyOnceSettings("orders", custom)).toEqual({
      transactionalId: "tx-1",
      markerTopic: SHARED_MARKER_TOPIC,
      sharedMarkerTopic: true,
    });
    expect(exactlyOnceSettings("orders", plan({ topic: "out" }).sink!)).toBeUndefined();
  });

  it("rejects acks other than all, a transactionalId without exactlyOnce, and a non-boolean exactlyOnce", () => {
    expect(planProblems({ topic: "out", config: { exactlyOnce: true, acks: "1" } })).toEqual([
      expect.stringMatching(/config\.acks: config\.exactlyOnce needs acks 'all'.*got '1'/),
    ]);
    expect(planProblems({ topic: "out", config: { transactionalId: "x" } })).toEqual([
      expect.stringMatching(
        /config\.transactionalId: config\.transactionalId needs config\.exactlyOnce: true/,
      ),
    ]);
    expect(planProblems({ topic: "out", config: { exactlyOnce: "yes" } })).toEqual([
      expect.stringMatching(/config\.exactlyOnce/),
    ]);
  });
});

describe("TwoPhaseCheckpoints", () => {
  const checkpoint = (id: number, commitMarker?: number): Checkpoint => ({
    id,
    createdAt: id,
    sourcePositions: { position: id },
    ...(commitMarker === undefined ? {} : { commitMarker }),
  });

  it("alternates slots and loads the checkpoint whose marker the sink committed last", async () => {
    const slots: [MemoryCheckpointStore, MemoryCheckpointStore] = [
      new MemoryCheckpointStore(),
      new MemoryCheckpointStore(),
    ];
    let committed: number | undefined;
    const store = new TwoPhaseCheckpoints(slots, async () => committed);
    expect(await store.load()).toBeUndefined();
    await store.save(checkpoint(1, 101));
    committed = 101;
    await store.save(checkpoint(2, 102)); // saved, but the crash came before the sink committed 102
    expect((await slots[0].load())?.id).toBe(1);
    expect((await slots[1].load())?.id).toBe(2);
    expect((await store.load())?.id).toBe(1);
    // The next save must not overwrite checkpoint 1, the one that counts.
    await store.save(checkpoint(2, 202));
    expect((await slots[0].load())?.id).toBe(1);
    committed = 202;
    expect((await store.load())?.id).toBe(2);
    await store.clear();
    expect(await store.load()).toBeUndefined();
  });

  it("ignores a checkpoint whose marker never committed and a stale marker from an earlier history", async () => {
    const slots: [CheckpointStore, CheckpointStore] = [
      new MemoryCheckpointStore(),
      new MemoryCheckpointStore(),
    ];
    await slots[0].save(checkpoint(1, 7));
    expect(await new TwoPhaseCheckpoints(slots, async () => undefined).load()).toBeUndefined();
    expect(await new TwoPhaseCheckpoints(slots, async () => 99).load()).toBeUndefined();
  });

  it("keeps a checkpoint taken before the processor became exactly-once", async () => {
    const slots: [CheckpointStore, CheckpointStore] = [
      new MemoryCheckpointStore(),
      new MemoryCheckpointStore(),
    ];
    await slots[0].save(checkpoint(5));
    expect((await new TwoPhaseCheckpoints(slots, async () => undefined).load())?.id).toBe(5);
    await slots[1].save(checkpoint(6, 66));
    expect((await new TwoPhaseCheckpoints(slots, async () => 66).load())?.id).toBe(6);
  });
});

describe("exactly-once Kafka $emit against the broker", () => {
  const documents = Array.from({ length: 3_000 }, (_, i) => ({ i }));

  it("a crash after a checkpoint was saved but before its transaction committed loses and doubles nothing", async () => {
    const topic = uniqueName("eos_crash");
    const processor = plan({ topic, config: { exactlyOnce: true } }, documents, uniqueName("eos_crash"));
    const memory: [MemoryCheckpointStore, MemoryCheckpointStore] = [
      new MemoryCheckpointStore(),
      new MemoryCheckpointStore(),
    ];
    const saved: number[] = [];
    let crashed = false;
    const crashingAfterSave = (inner: CheckpointStore): CheckpointStore => ({
      load: () => inner.load(),
      clear: () => inner.clear(),
      async save(checkpoint) {
        await inner.save(checkpoint);
        saved.push(checkpoint.id);
        if (checkpoint.id === 2 && !crashed) {
          crashed = true;
          throw new ConnectorError("simulated crash between checkpoint save and commit", { retryable: true });
        }
      },
    });
    const stats = await runProcessor(processor, new MapConnectionCatalog([kafka()]), silentIo(), {
      checkpoints: (slot) => crashingAfterSave(memory[slot]),
      checkpointIntervalMs: 0,
      retry: { initialDelayMs: 10, maxDelayMs: 10 },
    });
    expect(crashed).toBe(true);
    // Checkpoint 2 was saved and then discarded: the retry resumed from checkpoint 1 and saved a new 2.
    expect(saved.filter((id) => id === 2)).toHaveLength(2);
    expect(stats.outputMessageCount).toBe(documents.length);
    const received = await readCommitted(topic);
    expect(received.map((d) => d.i).sort((a, b) => Number(a) - Number(b))).toEqual(documents.map((d) => d.i));
  }, 60_000);

  it("a newer instance fences the old one: its open transaction is aborted and its commit fails for good", async () => {
    const topic = uniqueName("eos_fence");
    const sinkPlan = plan({ topic, config: { exactlyOnce: true } }).sink as EmitSinkPlan;
    const settings = exactlyOnceSettings(uniqueName("eos_fence"), sinkPlan)!;
    const client = kafkaClientOptions(
      { bootstrapServers: testServices().kafkaBrokers.join(",") },
      "eddy-test-fence",
    );
    const old = new KafkaEmitSink(client, sinkPlan, { exactlyOnce: settings });
    try {
      expect(await fenceAndReadMarker(client, settings)).toBeUndefined();
      await old.write([{ n: 1 }]);
      await old.commit!(41);
      await old.write([{ n: 2 }]); // left open: the old instance "hangs" here
      expect(await fenceAndReadMarker(client, settings)).toBe(41);
      const error = await old.commit!(42).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ConnectorError);
      expect((error as ConnectorError).retryable).toBe(false);
      expect((error as Error).message).toMatch(/taken over by another producer/);
      expect(await fenceAndReadMarker(client, settings)).toBe(41);
    } finally {
      await old.close();
    }
    expect((await readCommitted(topic)).map((d) => d.n)).toEqual([1]);
  }, 60_000);

  it("without a checkpoint store, output still becomes visible (committed at each interval and at the end)", async () => {
    const topic = uniqueName("eos_plain");
    const processor = plan(
      { topic, config: { exactlyOnce: true } },
      documents.slice(0, 500),
      uniqueName("eos_plain"),
    );
    await runProcessor(processor, new MapConnectionCatalog([kafka()]), silentIo(), {});
    expect(await readCommitted(topic)).toHaveLength(500);
  }, 60_000);
});
