/**
 * The web console (docs/console.md): its page and assets, served without a token (the page asks for it and
 * sends it on every API call), the live event stream and the recent dead letters. Assets ship with the
 * package: no CDN, it works offline.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import type { Observability } from "../observability.ts";
import { integerParam } from "../query.ts";
import type { Router } from "../router.ts";
import type { Handler, Reply } from "../routes.ts";
import type { Sample } from "./metrics-history.ts";

const ASSETS = join(import.meta.dirname, "assets");
const UPLOT_DIST = join(createRequire(import.meta.url).resolve("uplot/package.json"), "..", "dist");

interface Asset {
  readonly file: string;
  readonly contentType: string;
}

const PAGES: Record<string, Asset> = {
  "/": { file: join(ASSETS, "index.html"), contentType: "text/html; charset=utf-8" },
  "/console": { file: join(ASSETS, "index.html"), contentType: "text/html; charset=utf-8" },
  "/console/app.js": { file: join(ASSETS, "app.js"), contentType: "text/javascript; charset=utf-8" },
  "/console/app.css": { file: join(ASSETS, "app.css"), contentType: "text/css; charset=utf-8" },
  "/console/uplot.js": {
    file: join(UPLOT_DIST, "uPlot.iife.min.js"),
    contentType: "text/javascript; charset=utf-8",
  },
  "/console/uplot.css": { file: join(UPLOT_DIST, "uPlot.min.css"), contentType: "text/css; charset=utf-8" },
};

/** Paths that answer without a token: the page and its assets (they hold no data). */
export const CONSOLE_PUBLIC_PATHS: readonly string[] = Object.keys(PAGES);

const PROCESSOR = "/api/v1/workspaces/:ws/processors/:name";

export function consoleRoutes(router: Router<Handler>, observability: Observability): Router<Handler> {
  const cache = new Map<string, string>();
  const asset = (path: string, { file, contentType }: Asset): Reply => {
    let text = cache.get(path);
    if (text === undefined) {
      text = readFileSync(file, "utf8");
      cache.set(path, text);
    }
    return { status: 200, text, contentType };
  };
  for (const [path, file] of Object.entries(PAGES)) router.add("GET", path, async () => asset(path, file));
  return router
    .add("GET", "/api/v1/console/events", async ({ signal, plane }) => {
      const stream = new PassThrough();
      const send = (event: string, data: unknown): void => {
        stream.write(`event: ${event}\ndata: ${JSON.stringify(plane.redactor.redactDeep(data))}\n\n`);
      };
      const { history } = observability;
      send("history", { ...history.history(), sample: await history.current() });
      const unsubscribe = history.subscribe((sample: Sample) => send("sample", sample));
      const end = (): void => {
        unsubscribe();
        stream.end();
      };
      if (signal.aborted) end();
      else signal.addEventListener("abort", end, { once: true });
      return { status: 200, stream, contentType: "text/event-stream; charset=utf-8" };
    })
    .add("GET", `${PROCESSOR}/deadLetters`, async ({ plane, params, query }) => {
      const limit = integerParam(query, "limit", { min: 1, max: 100, default: 20 });
      return {
        status: 200,
        json: { results: await plane.processors.recentDeadLetters(params.ws, params.name, limit) },
      };
    });
}
