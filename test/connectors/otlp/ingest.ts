// A raw-ingest processor for the OTLP tests: the connection's receiver on a free port, its spool in a
// temporary directory, `$source {signal}` → `$merge` into a MongoDB collection, under the supervisor.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readOtlpConfig } from "../../../src/connectors/otlp/config.ts";
import { acquireReceiver, type ReceiverLease } from "../../../src/connectors/otlp/receivers.ts";
import type { Signal } from "../../../src/connectors/otlp/signals.ts";
import type { Doc } from "../../../src/mql/index.ts";
import type { ProcessorSupervisor } from "../../../src/runtime/supervisor.ts";
import { uniqueName } from "../../support/services.ts";
import { superviseProcessor } from "../../faults/helpers.ts";

export interface Ingest {
  readonly url: string;
  readonly lease: ReceiverLease;
  readonly supervisor: ProcessorSupervisor | undefined;
  stop(): Promise<void>;
}

/** The receiver alone (no processor reads it) unless `into` names where `signals` go. */
export async function startIngest(options: {
  signals?: readonly Signal[];
  into?: { uri: string; db: string; coll: (signal: Signal) => string };
  config?: Doc;
}): Promise<Ingest> {
  const dir = await mkdtemp(join(tmpdir(), "eddy-otlp-"));
  const name = uniqueName("otel");
  const rawConfig: Doc = { port: 0, spool: { dir }, ...options.config };
  const { config, problems } = readOtlpConfig(name, rawConfig);
  if (problems.length > 0) throw new Error(JSON.stringify(problems));
  const lease = await acquireReceiver(name, config, { lingerMs: 0 });
  const supervisors: ProcessorSupervisor[] = [];
  if (options.into) {
    for (const signal of options.signals ?? ["traces"]) {
      const { supervisor } = await superviseProcessor(
        {
          name: uniqueName(`ingest_${signal}`),
          pipeline: [
            { $source: { connectionName: name, signal } },
            {
              $merge: {
                into: { connectionName: "mongo", db: options.into.db, coll: options.into.coll(signal) },
              },
            },
          ],
        },
        [
          { name, type: "OTLP", config: rawConfig },
          { name: "mongo", type: "Cluster", config: { uri: options.into.uri } },
        ],
      );
      supervisors.push(supervisor);
    }
  }
  return {
    url: lease.receiver.url,
    lease,
    supervisor: supervisors[0],
    async stop() {
      for (const supervisor of supervisors) await supervisor.stop();
      lease.release();
      await lease.receiver.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Polls until `check` returns a value other than undefined (or throws after `timeoutMs`). */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
