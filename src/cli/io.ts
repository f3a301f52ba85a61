/** The streams a command talks to (injectable for tests). */
export interface CliIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly stdin: NodeJS.ReadableStream;
}

export const processIo: CliIo = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin };

/** A command: arguments after its name, the streams; resolves to the exit code. */
export type Command = (args: readonly string[], io: CliIo) => Promise<number>;
