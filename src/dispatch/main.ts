/**
 * Runs the dispatch service from the environment until SIGINT/SIGTERM (examples/event-dispatch/run.ts).
 * Prints one JSON line `{"metrics", "db", "matcher", "dispatcher"}` on stdout once started; logs are JSON
 * lines on stderr.
 */
import { jsonLogger } from "../runtime/log.ts";
import { DispatchConfigError, dispatchConfigFromEnv } from "./config.ts";
import { DispatchService } from "./service.ts";

export async function runDispatchFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const logger = jsonLogger();
  let config;
  try {
    config = dispatchConfigFromEnv(env);
  } catch (error) {
    if (!(error instanceof DispatchConfigError)) throw error;
    process.stderr.write(`event-dispatch: ${error.message}\n`);
    return 2;
  }
  let service: DispatchService;
  try {
    service = await DispatchService.start(config, logger);
  } catch (error) {
    logger.error("dispatch service failed to start", { error: (error as Error).message });
    process.stderr.write(
      `event-dispatch: could not start: ${(error as Error).message}; check FC_MONGO_URL and that the server is reachable\n`,
    );
    return 1;
  }
  process.stdout.write(
    JSON.stringify({
      metrics: service.metricsUrl ?? null,
      db: config.db,
      matcher: config.matcher,
      dispatcher: config.dispatcher,
    }) + "\n",
  );
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      logger.info("stopping", { signal });
      process.once(signal, () => process.exit(1));
      void service.close().then(resolve, (error: unknown) => {
        logger.error("stop failed", { error: (error as Error).message });
        resolve();
      });
    };
    process.once("SIGINT", () => stop("SIGINT"));
    process.once("SIGTERM", () => stop("SIGTERM"));
  });
  return 0;
}
