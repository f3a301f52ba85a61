import type { CliIo } from "../io.ts";

export const USAGE = `sp — Eddy, a self-hosted stream processor that runs Atlas Stream Processing pipelines

usage: sp <command> [options]

commands:
  process <file.json | ->   run a processor ephemerally (like sp.process); output on stdout
  lint <file.json ...>      validate processor definitions without running them
  demo                      live solar-panel demo: 5 s tumbling windows over sample_stream_solar
  help                      show this help

Run "sp <command> --help" for a command's options.`;

export async function helpCommand(_args: readonly string[], io: CliIo): Promise<number> {
  io.stdout.write(USAGE + "\n");
  return 0;
}
