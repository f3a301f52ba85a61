// The receiver's Prometheus metrics on `/metrics` of a real Eddy server: requests by status, accepted and
// rejected items, bytes, the acknowledgement latency histogram, and the spool's backlog and lag.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../../server/helpers.ts";
import { startIngest, type Ingest } from "./ingest.ts";

const span = (spanId: string) => ({
  traceId: "5b8efff798038103d269b633813fc60c",
  spanId,
  name: "op",
  startTimeUnixNano: "1700000000000000000",
  endTimeUnixNano: "1700000000500000000",
});
const request = (spans: object[]) =>
  JSON.stringify({ resourceSpans: [{ scopeSpans: [{ scope: { name: "m" }, spans }] }] });

describe("OTLP receiver metrics", () => {
  let ingest: Ingest;
  let server: TestServer;

  beforeAll(async () => {
    ingest = await startIngest({});
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.close();
    await ingest?.stop();
  });

  const post = async (body: string) =>
    (
      await fetch(`${ingest.url}/v1/traces`, {
        method: "POST",
        body,
        headers: { "content-type": "application/json" },
      })
    ).status;

  it("counts requests, items and bytes, and shows the spool's backlog", async () => {
    const good = request([span("eee19b7ec3c1b174"), span("eee19b7ec3c1b175")]);
    expect(await post(good)).toBe(200);
    // One valid span, one with an all-zero span id (left out: partial success).
    expect(await post(request([span("eee19b7ec3c1b176"), span("0000000000000000")]))).toBe(200);
    expect(await post("{not json")).toBe(400);

    const text = (await server.api("GET", "/metrics")).text;
    const connection = ingest.lease.receiver.name;
    const line = (series: string) => {
      const match = new RegExp(`^${series.replace(/[{}.+]/g, "\\$&")} (\\S+)$`, "m").exec(text);
      if (!match) throw new Error(`no series ${series} in:\n${text}`);
      return Number(match[1]);
    };
    const at = (labels: string) => `{connection="${connection}",${labels}}`;
    expect(line(`eddy_otlp_requests_total${at('signal="traces",status="200"')}`)).toBe(2);
    expect(line(`eddy_otlp_requests_total${at('signal="traces",status="400"')}`)).toBe(1);
    expect(line(`eddy_otlp_accepted_items_total${at('signal="traces"')}`)).toBe(3);
    expect(line(`eddy_otlp_rejected_items_total${at('signal="traces",reason="invalid"')}`)).toBe(1);
    expect(line(`eddy_otlp_received_bytes_total${at('signal="traces"')}`)).toBeGreaterThan(good.length);
    expect(line(`eddy_otlp_ack_latency_seconds_count${at('signal="traces"')}`)).toBe(2);
    expect(line(`eddy_otlp_ack_latency_seconds_bucket${at('signal="traces",le="+Inf"')}`)).toBe(2);
    expect(text).toContain("# TYPE eddy_otlp_ack_latency_seconds histogram");
    // No processor reads this receiver: both requests wait in the spool.
    const backlog = ingest.lease.receiver.spool("traces").backlogBytes;
    expect(backlog).toBeGreaterThan(0);
    expect(line(`eddy_otlp_spool_backlog_bytes${at('signal="traces"')}`)).toBe(backlog);
    expect(line(`eddy_otlp_spool_lag_seconds${at('signal="traces"')}`)).toBeGreaterThanOrEqual(0);
    expect(line(`eddy_otlp_spool_backlog_bytes${at('signal="logs"')}`)).toBe(0);
    expect(line(`eddy_otlp_spool_lag_seconds${at('signal="logs"')}`)).toBe(0);
  });
});
