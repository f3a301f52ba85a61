import { PassThrough } from "node:stream";

/** Standard streams for a CLI command run in-process, with what it wrote to stdout and stderr. */
export function captureIo(): {
  io: { stdout: PassThrough; stderr: PassThrough; stdin: PassThrough };
  out(): string;
  err(): string;
} {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (chunk) => (out += String(chunk)));
  stderr.on("data", (chunk) => (err += String(chunk)));
  return { io: { stdout, stderr, stdin: new PassThrough() }, out: () => out, err: () => err };
}
