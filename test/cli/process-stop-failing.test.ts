// `sp process` stopped (--timeout, --limit, Ctrl-C) while its sink keeps failing: the run ends with an
// error that says what failed and how many documents were not written (exit 1), not as a clean stop, and
// a restart after a failed write reads stdin again from the checkpoint instead of losing those lines.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { PassThrough, Readable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { reportError } from "../../src/cli/errors.ts";
import { runProcessor } from "../../src/cli/run-processor.ts";
import type { Doc } from "../../src/mql/index.ts";
import { parseConnections } from "../../src/connectors/connections.ts";
import { CONNECTORS } from "../../src/connectors/registry.ts";
import { catalogOf, planProcessor } from "../../src/pipeline/index.ts";
import { StoppedWhileFailingError } from "../../src/runtime/index.ts";
import { HttpSink } from "../runtime/helpers.ts";

let server: Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

/** A server that answers 503 to the first `failures` writes, then records what it receives. */
async function flakyServer(failures: number): Promise<{ url: string; received: Doc[] }> {
  const received: Doc[] = [];
  let refused = 0;
  server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      if (refused++ < failures) response.statusCode = 503;
      else received.push(...(JSON.parse(body) as Doc[]));
      response.end();
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}/`, received };
}

function stdinPlan() {
  const catalog = catalogOf(parseConnections([{ name: "in", type: "File", config: { path: "-" } }]));
  const plan = planProcessor(
    { name: "stdin", pipeline: [{ $source: { connectionName: "in" } }, { $project: { _id: 0, n: 1 } }] },
    { connections: catalog, connectors: CONNECTORS, ephemeral: true },
  );
  return { plan, catalog };
}

const input = (count: number) => Array.from({ length: count }, (_, i) => `{"n": ${i + 1}}\n`).join("");

describe("sp process stopped while its sink fails", () => {
  it("ends with the error and the number of documents not written, and exits 1", async () => {
    const { url } = await flakyServer(Infinity);
    const { plan, catalog } = stdinPlan();
    const stderr = new PassThrough();
    const io = { stdin: Readable.from([input(3)]), stdout: new PassThrough(), stderr };
    const failure = await runProcessor(plan, catalog, io, {
      sink: new HttpSink(url),
      timeoutMs: 300,
      retry: { initialDelayMs: 20, maxDelayMs: 50 },
    }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(StoppedWhileFailingError);
    expect((failure as StoppedWhileFailingError).documentsNotWritten).toBe(3);

    const report = new PassThrough();
    expect(reportError(failure, { ...io, stderr: report }, true)).toBe(1);
    const logged = JSON.parse(String(report.read())) as Doc;
    expect(logged).toMatchObject({
      level: "error",
      msg: "processor failed",
      error: "stopped while the processor was failing (HTTP 503): 3 documents were not written",
      documentsNotWritten: 3,
    });
  });

  it("writes every stdin line once the sink recovers: a restart reads them again from the checkpoint", async () => {
    const { url, received } = await flakyServer(3);
    const { plan, catalog } = stdinPlan();
    const io = { stdin: Readable.from([input(5)]), stdout: new PassThrough(), stderr: new PassThrough() };
    const stats = await runProcessor(plan, catalog, io, {
      sink: new HttpSink(url),
      retry: { initialDelayMs: 20, maxDelayMs: 50 },
    });
    expect(received.map((doc) => doc.n)).toEqual([1, 2, 3, 4, 5]);
    expect(stats.outputMessageCount).toBe(5);
  });
});
