/**
 * `sp workspaces init DIR`: a starter workspace folder — a sample source, a local MongoDB connection and
 * two processors (sample → the server's log, sample → 10 s averages in MongoDB).
 */
import { mkdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { CliError, EXIT } from "./errors.ts";

const CONNECTIONS = {
  connections: [
    { name: "solar", type: "Sample", config: { dataset: "sample_stream_solar", rate: 2 } },
    {
      name: "mongodb",
      type: "Cluster",
      config: { uri: "{{MONGODB_URI}}" },
    },
  ],
};

const SOLAR_TO_LOG = {
  name: "solarToLog",
  pipeline: [
    { $source: { connectionName: "solar" } },
    { $match: { "obs.watts": { $gte: 100 } } },
    { $addFields: { load: { $divide: ["$obs.watts", "$max_watts"] } } },
    { $emit: { connectionName: "__testLog" } },
  ],
  options: {},
};

const SOLAR_TO_MONGODB = {
  name: "solarAverages",
  pipeline: [
    { $source: { connectionName: "solar", timeField: { $dateFromString: { dateString: "$timestamp" } } } },
    {
      $tumblingWindow: {
        interval: { size: 10, unit: "second" },
        pipeline: [
          { $group: { _id: "$device_id", avgWatts: { $avg: "$obs.watts" }, readings: { $sum: 1 } } },
        ],
      },
    },
    { $merge: { into: { connectionName: "mongodb", db: "solar", coll: "averages" } } },
  ],
  options: {},
};

const GUIDE = `# Eddy workspace

connections/  connection registry: {"connections": [{name, type, config}]}
processors/   one processor per file: {name, pipeline, options}

{{MONGODB_URI}} in connections/connections.json is resolved by the Eddy server when a processor that
uses it starts: set MONGODB_URI where \`sp serve\` runs (e.g. mongodb://127.0.0.1:27017/?directConnection=true).

  sp serve &                              # the server (API on http://127.0.0.1:8470)
  sp workspaces connections create        # deploy connections/*.json
  sp processors create                    # deploy processors/*.json
  sp start --processor solarToLog         # sample readings with watts >= 100, printed in the server's log
  sp start --processor solarAverages      # 10 s averages per device into solar.averages (needs MongoDB)
  sp stats --watch                        # live counts; Ctrl-C to stop watching
  sp stop                                 # stop every running processor (state is kept)
`;

/** Writes the starter files into `dir` (created if needed); refuses to overwrite existing ones. */
export async function initWorkspaceFolder(dir: string): Promise<string[]> {
  const files: Array<[string, string]> = [
    [join(dir, "connections", "connections.json"), json(CONNECTIONS)],
    [join(dir, "processors", "solarToLog.json"), json(SOLAR_TO_LOG)],
    [join(dir, "processors", "solarAverages.json"), json(SOLAR_TO_MONGODB)],
    [join(dir, "README.md"), GUIDE],
  ];
  const existing = [];
  for (const [path] of files) if (await exists(path)) existing.push(path);
  if (existing.length > 0) {
    throw new CliError(
      `${existing.join(", ")} already exist${existing.length === 1 ? "s" : ""}; nothing was written`,
      {
        exitCode: EXIT.usage,
        hint: "pick a new folder, or move those files away first",
      },
    );
  }
  for (const [path, text] of files) {
    await mkdir(join(path, ".."), { recursive: true });
    await writeFile(path, text, { flag: "wx" });
  }
  return files.map(([path]) => path);
}

function json(value: unknown): string {
  return JSON.stringify(value, null, 2) + "\n";
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
