import type { CliIo } from "../io.ts";

export const USAGE = `sp — Eddy, a self-hosted stream processor that runs Atlas Stream Processing pipelines

usage: sp <command> [options]

run a processor once, locally:
  process <file.json | ->   run a processor ephemerally (like sp.process); output on stdout
  lint <file.json ...>      validate processor definitions without running them (--atlas: portability)
  test [PATH ...]           run processor tests (*.test.json) with virtual time, no servers
  schema [--connection TYPE]  print the JSON Schema of a processor definition or a connection type
  demo                      live solar-panel demo: 5 s tumbling windows over sample_stream_solar

run processors on a server (a workspace folder holds connections/*.json and processors/*.json):
  serve                                 start the Eddy server (HTTP API on http://127.0.0.1:8470)
  workspaces list|create|delete|init    server workspaces; init DIR writes a starter folder
  workspaces connections create|list|delete
                                        deploy connections/*.json, list or delete connections
  processors create|list|start|stop|restart|drop|stats [--processor NAME]
                                        deploy processors/*.json and manage their lifecycle
  list | start | stop | restart | stats shortcuts for sp processors <action>
  create connections | processors       the seed sp tool's spellings of the two deploy commands
  jobs list|retry|cancel                event-dispatch jobs of a server run with FC_MONGO_URL

move off Atlas Triggers (docs/migrating-from-triggers.md):
  migrate triggers EXPORT_DIR --out DIR convert an App Services export into a workspace folder
  validate --left C.db.coll --right C.db.coll
                                        compare the trigger-fed and the stream-fed copies
  validate latency                      time probe documents until they reach both copies

  help [command]                        show this help, or a command's

A typical session, in the workspace folder:
  sp serve &
  sp workspaces connections create
  sp processors create
  sp start
  sp stats --watch
  sp stop

Server commands take --server URL (default $EDDY_SERVER or http://127.0.0.1:8470), --token TOKEN
($EDDY_API_TOKEN, or .eddy/api-token for a local server), --workspace NAME (default "default"),
--dir DIR (the workspace folder, default "."), --json.
Exit status: 0 ok, 1 failed or refused by the server, 2 usage error or invalid files (nothing sent),
3 no server at the URL, 4 API token missing or wrong. Details: docs/cli.md.

Run "sp <command> --help" for a command's options.`;

export async function helpCommand(args: readonly string[], io: CliIo): Promise<number> {
  const topic = args[0];
  if (topic !== undefined && topic !== "help") {
    const { main } = await import("../main.ts");
    return main([topic, "--help"], io);
  }
  io.stdout.write(USAGE + "\n");
  return 0;
}
