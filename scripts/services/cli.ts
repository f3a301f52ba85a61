// Runs the test services in the foreground for fast local iteration: while this runs, `npm test`
// and `vitest` reuse the servers instead of starting their own. Ctrl-C stops them.
//   node scripts/services/cli.ts          start, print endpoints, wait for Ctrl-C
//   node scripts/services/cli.ts --check  start, print endpoints, stop (a set-up timing probe)
import { startServices } from "./services.ts";

const checkOnly = process.argv.includes("--check");
const start = Date.now();
const services = await startServices();
console.log(services.summary.join("\n"));
console.log(`ready in ${((Date.now() - start) / 1000).toFixed(1)} s`);
console.log(JSON.stringify(services.endpoints, null, 2));

if (checkOnly) {
  const stopping = Date.now();
  await services.stop();
  console.log(`stopped in ${((Date.now() - stopping) / 1000).toFixed(1)} s`);
} else {
  console.log("Ctrl-C stops what this process started.");
  const stop = async () => {
    await services.stop();
    process.exit(0);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  setInterval(() => undefined, 1 << 30);
}
