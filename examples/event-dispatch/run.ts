// Matcher + dispatcher for the FlowCatalyst event-dispatch workspace, configured by FC_* variables
// (see README.md here and docs/event-dispatch.md). Run: npm exec -- node examples/event-dispatch/run.ts
import { runDispatchFromEnv } from "../../src/dispatch/main.ts";

process.exitCode = await runDispatchFromEnv();
