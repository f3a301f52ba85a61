// `npm run demo:orders -- …`: the order-fulfillment demo in one command (see README.md here).
import { MongoClient } from "mongodb";
import { UsageError } from "../../src/cli/args.ts";
import { parseDemoArgs, USAGE } from "./src/options.ts";
import { HISTORY_DB } from "./src/order-service.ts";
import { runDemo } from "./src/runner.ts";
import { formatSummary } from "./src/summary.ts";

async function main(args: readonly string[]): Promise<number> {
  let command;
  try {
    command = parseDemoArgs(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`demo:orders: ${error.message}\n${USAGE}\n`);
    return 2;
  }
  if (command.kind === "help") {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (command.kind === "history") return printHistory(command.orderId, command.json);
  const log = (line: string) => process.stderr.write(`[demo] ${line}\n`);
  const summary = await runDemo(command.options, {
    log,
    keepUntil: async (partial) => {
      process.stdout.write(`${formatSummary(partial)}\n`);
      log(`still running: MONGODB_URI=${partial.mongodbUri}, order service ${partial.orderServiceUrl}`);
      log(`try: curl '${partial.orderServiceUrl}/getOrderHistory?orderId=<id>'  — Ctrl-C stops everything`);
      await new Promise<void>((resolve) => process.once("SIGINT", () => resolve()));
    },
  });
  if (command.options.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else if (!command.options.keep) process.stdout.write(`${formatSummary(summary)}`);
  return summary.ok ? 0 : 1;
}

/** One order's history document, as the demo's get_order_history.py prints it. */
async function printHistory(orderId: string, json: boolean): Promise<number> {
  const uri = process.env.MONGODB_URI?.trim();
  if (!uri) {
    process.stderr.write(
      "demo:orders: --history reads MONGODB_URI, which is not set\n" +
        "hint: run the demo with --keep (it prints the MongoDB URI to use), or point MONGODB_URI at your server\n",
    );
    return 2;
  }
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 5000 });
  try {
    const history = await client
      .db(HISTORY_DB)
      .collection("order_history")
      .findOne({ _id: orderId as never });
    if (history === null) {
      process.stderr.write(`demo:orders: order ${orderId} not found in ${HISTORY_DB}.order_history\n`);
      return 1;
    }
    process.stdout.write(`${JSON.stringify(history, null, json ? undefined : 2)}\n`);
    return 0;
  } finally {
    await client.close();
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  // Everything the run started is stopped by now (runDemo cleans up in `finally`).
  process.stderr.write(`demo:orders: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
