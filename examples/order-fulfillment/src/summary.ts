// The runner's summary as the tables the `sp` command prints.
import { formatTable } from "../../../src/cli/table.ts";
import type { DemoSummary } from "./runner.ts";

export function formatSummary(summary: DemoSummary): string {
  const ms = (value: number | undefined) => (value === undefined ? "-" : `${value} ms`);
  const lines = [
    `${summary.ok ? "OK" : "FAILED"}: ${summary.completed} of ${summary.orders} orders completed in ${summary.seconds} s ` +
      `(destination ${summary.destination}, seed ${summary.seed})`,
    `cart events generated: ${summary.eventsGenerated}`,
    `orders: ${summary.outcomes.fulfilled} fulfilled (${summary.outcomes.shipped} shipped, ${summary.outcomes.delayed} delayed), ` +
      `${summary.outcomes.invalid} invalid`,
    `order service calls: ${summary.serviceCalls.processOrder} processOrder, ${summary.serviceCalls.shipOrder} shipOrder ` +
      `(${summary.serviceCalls.repeated} repeated after a failure)`,
    `latency from cart event to order-history update: p50 ${ms(summary.latencyMs.p50)}, p99 ${ms(summary.latencyMs.p99)}`,
    `DLQ records (${"dlqDb.dlqColl"}): ${summary.dlqRecords}`,
  ];
  if (summary.outage) {
    lines.push(
      `fault drill: order service stopped for ${summary.outage.seconds} s after event ${summary.outage.startedAfterEvent}`,
    );
  }
  for (const order of summary.incomplete)
    lines.push(`incomplete: order ${order.orderId} has ${order.has.join(", ") || "no history"}`);
  for (const history of summary.overwritten)
    lines.push(
      `overwritten: order ${history.orderId}'s history lost ${history.lost.join(", ")} to a replace`,
    );
  for (const note of summary.setup.notes) lines.push(`set-up: ${note}`);
  const table = formatTable(
    [
      { header: "PROCESSOR" },
      { header: "STATE" },
      { header: "IN", align: "right" },
      { header: "OUT", align: "right" },
      { header: "DLQ", align: "right" },
      { header: "RESTARTS", align: "right" },
    ],
    summary.processors.map((p) => [
      p.name,
      p.state,
      String(p.in),
      String(p.out),
      String(p.dlq),
      String(p.restarts),
    ]),
  );
  return `${lines.join("\n")}\n\n${table}`;
}
