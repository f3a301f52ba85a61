/** TestLog: ASP's built-in `__testLog` connection; `$emit` to it prints the documents (a server logs them). */
import { defineConnector } from "../spec.ts";

export const testLog = defineConnector<never, Record<string, never>>({
  type: "TestLog",
  aliases: ["testlog"],
  description: "ASP's built-in `__testLog`: `$emit` prints each document as a JSON line.",
  connection: { properties: {} },
  emit: {
    operatorName: "TestLogEmitOperator",
    unlisted: true,
    fields: { properties: {} },
    plan: () => ({}),
  },
  async openSink(_sink, ctx) {
    const { JsonLinesSink } = await import("../file/sink.ts");
    return new JsonLinesSink(ctx.stdout, { operatorName: "TestLogSinkOperator" });
  },
});
