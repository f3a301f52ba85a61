// ProcessorSupervisor: retries with back-off while a real server refuses connections, resumes from the
// checkpoint once it answers (every document delivered once, stats cumulative), fails at once on a
// permanent error, gives up after its window, and stops cleanly during a back-off wait.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { DocumentsSource } from "../../src/connectors/documents/source.ts";
import type { Doc } from "../../src/mql/index.ts";
import {
  ConnectorError,
  MemoryCheckpointStore,
  ProcessorSupervisor,
  StoppedWhileFailingError,
  type ProcessorParts,
  type Sink,
  type SupervisorStatus,
} from "../../src/runtime/index.ts";
import { CollectSink, documentsPlan, HttpSink } from "./helpers.ts";

const docs = Array.from({ length: 40 }, (_, i) => ({ _id: i }));
const fastRetry = { initialDelayMs: 20, maxDelayMs: 100 };

/** A TCP port nothing listens on (yet). */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

function partsOf(source: DocumentsSource, sink: Sink): ProcessorParts {
  return { source, sink, close: async () => {} };
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
}

let server: Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

describe("ProcessorSupervisor", () => {
  it("retries with back-off while the server refuses connections, then resumes from the checkpoint", async () => {
    const port = await closedPort();
    const positions: Array<Doc | undefined> = [];
    const statuses: SupervisorStatus[] = [];
    const supervisor = new ProcessorSupervisor({
      plan: documentsPlan([]),
      open: async (from) => {
        positions.push(from);
        const source = new DocumentsSource(docs, { batchSize: 10, position: from?.position as number });
        return partsOf(source, new HttpSink(`http://127.0.0.1:${port}/`));
      },
      checkpointIntervalMs: 0,
      retry: fastRetry,
      onStatus: (status) => statuses.push(status),
    });
    await supervisor.start();
    // Each attempt is briefly "running" before its write fails: sample while it waits to retry.
    await until(() => supervisor.status().restarts >= 2 && supervisor.status().state === "retrying");
    const retrying = supervisor.stats();
    expect(retrying.status).toBe("error");
    expect(retrying.error).toEqual({
      reason: expect.stringMatching(/^fetch failed, retrying in \d+ s \(attempt \d+\)$/),
      retryable: true,
    });
    expect(supervisor.status().nextRetryAt).toBeGreaterThan(0);

    const received: Doc[] = [];
    server = createServer((request, response) => {
      let body = "";
      request.on("data", (chunk) => (body += chunk));
      request.on("end", () => {
        received.push(...(JSON.parse(body) as Doc[]));
        response.end();
      });
    });
    await new Promise<void>((resolve) => server!.listen(port, "127.0.0.1", resolve));

    const stats = await supervisor.done();
    expect(received.map((d) => d._id)).toEqual(docs.map((d) => d._id));
    expect(stats).toMatchObject({ status: "stopped", inputMessageCount: 40, outputMessageCount: 40 });
    expect(supervisor.status()).toMatchObject({ state: "stopped" });
    expect(statuses.map((s) => s.state)).toContain("retrying");
    // The first batch never reached a periodic checkpoint, so every retry started from checkpoint 0.
    expect(positions[0]).toBeUndefined();
    expect(positions.slice(1).every((p) => p?.position === 0)).toBe(true);
  });

  it("restarts from the last checkpoint with stats that continue, after a failure mid-stream", async () => {
    const store = new MemoryCheckpointStore();
    const positions: Array<Doc | undefined> = [];
    let writes = 0;
    const delivered = new CollectSink();
    const sink: Sink = {
      operatorName: "TestSinkOperator",
      write: async (batch) => {
        if (++writes === 3) throw new Error("connection reset by peer");
        return delivered.write(batch);
      },
      close: async () => {},
    };
    const supervisor = new ProcessorSupervisor({
      plan: documentsPlan([]),
      open: async (from) => {
        positions.push(from);
        return partsOf(
          new DocumentsSource(docs, { batchSize: 10, position: from?.position as number }),
          sink,
        );
      },
      checkpoints: store,
      checkpointIntervalMs: 0,
      retry: fastRetry,
    });
    await supervisor.start();
    const stats = await supervisor.done();
    expect(positions).toEqual([undefined, { position: 20 }]);
    expect(delivered.docs.map((d) => d._id)).toEqual(docs.map((d) => d._id));
    expect(stats).toMatchObject({ inputMessageCount: 40, outputMessageCount: 40 });
    expect(supervisor.status().restarts).toBe(1);
    expect((await store.load())?.sourcePositions).toEqual({ position: 40 });
  });

  it("fails at once on a permanent error, with its message in status and stats", async () => {
    let opens = 0;
    const supervisor = new ProcessorSupervisor({
      plan: documentsPlan([]),
      open: async () => {
        opens++;
        const sink: Sink = {
          operatorName: "TestSinkOperator",
          write: async () => {
            throw new ConnectorError(
              "authentication failed for user 'eddy'; check the connection's password",
              {
                retryable: false,
              },
            );
          },
          close: async () => {},
        };
        return partsOf(new DocumentsSource(docs), sink);
      },
      retry: fastRetry,
    });
    await supervisor.start();
    await expect(supervisor.done()).rejects.toThrow("authentication failed");
    expect(opens).toBe(1);
    expect(supervisor.status()).toMatchObject({
      state: "failed",
      restarts: 0,
      error: { retryable: false, message: expect.stringContaining("authentication failed") },
    });
    expect(supervisor.stats().error).toEqual({
      reason: "authentication failed for user 'eddy'; check the connection's password",
      retryable: false,
    });
  });

  it("rejects start() when the definition cannot be built (no retries)", async () => {
    const supervisor = new ProcessorSupervisor({
      plan: documentsPlan([
        { kind: "lookup", operatorName: "LookUpOperator", path: "pipeline[1].$lookup" } as never,
      ]),
      open: async () => partsOf(new DocumentsSource(docs), new CollectSink()),
      retry: fastRetry,
    });
    await expect(supervisor.start()).rejects.toThrow(/needs a connector/);
    expect(supervisor.status().state).toBe("failed");
  });

  it("gives up after giveUpAfterMs of failures without progress", async () => {
    const port = await closedPort();
    const supervisor = new ProcessorSupervisor({
      plan: documentsPlan([]),
      open: async () => partsOf(new DocumentsSource(docs), new HttpSink(`http://127.0.0.1:${port}/`)),
      retry: { ...fastRetry, giveUpAfterMs: 200 },
    });
    await supervisor.start();
    await expect(supervisor.done()).rejects.toThrow("fetch failed");
    const status = supervisor.status();
    expect(status.state).toBe("failed");
    expect(status.restarts).toBeGreaterThan(0);
    expect(status.error?.message).toMatch(/^fetch failed \(still failing after \d+ s of retries\)$/);
  });

  it("stops during a back-off wait without waiting for it, reporting what was not written", async () => {
    const port = await closedPort();
    const supervisor = new ProcessorSupervisor({
      plan: documentsPlan([]),
      open: async () => partsOf(new DocumentsSource(docs), new HttpSink(`http://127.0.0.1:${port}/`)),
      // A back-off far longer than the test's timeout: only an interrupted wait lets stop() return.
      retry: { initialDelayMs: 10 * 60_000, maxDelayMs: 10 * 60_000 },
    });
    await supervisor.start();
    await until(() => supervisor.status().state === "retrying");
    const stats = await supervisor.stop();
    expect(stats.status).toBe("stopped");
    expect(supervisor.status()).toMatchObject({ state: "stopped", error: { message: "fetch failed" } });
    // A stop must not pass for a clean end while nothing could be written (`sp process` exits 1 on it).
    const failure = await supervisor.done().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(StoppedWhileFailingError);
    expect((failure as StoppedWhileFailingError).documentsNotWritten).toBe(40);
    expect((failure as Error).message).toBe(
      "stopped while the processor was failing (fetch failed): 40 documents were not written",
    );
  });
});
