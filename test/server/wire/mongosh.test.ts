// The real mongosh (the npm package, on Node) runs `sp` scripts against `sp serve`'s wire-protocol listener.
import { execFile, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseMongoshOutput } from "../../support/mongosh-output.ts";
import { spawnServe, type ServeProcess } from "../../support/sp-serve.ts";

const MONGOSH = resolve(import.meta.dirname, "../../../node_modules/mongosh/bin/mongosh.js");
const SCRIPTS = join(import.meta.dirname, "mongosh-scripts");
const TOKEN = "mongosh-test-token";

let serve: ServeProcess;
let dir: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "eddy-mongosh-"));
  serve = await spawnServe(
    ["--port", "0", "--wire-port", "0", "--token", TOKEN, "--data-dir", join(dir, "data")],
    {
      cwd: dir,
      children,
    },
  );
}, 30_000);

afterAll(async () => {
  for (const child of children) child.kill("SIGTERM");
  await rm(dir, { recursive: true, force: true });
});

/** `mongosh <uri> --file <script>`: its stdout, or it throws with stderr. */
async function mongosh(script: string, password = TOKEN): Promise<string> {
  const uri = serve.started.wireUrl!.replace("mongodb://", `mongodb://eddy:${password}@`);
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [MONGOSH, uri, "--quiet", "--norc", "--file", join(SCRIPTS, script)],
    // mongosh keeps its logs and history under HOME; no telemetry from tests.
    { env: { ...process.env, HOME: dir, DO_NOT_TRACK: "1" }, timeout: 60_000 },
  );
  return stdout;
}

const lines = (output: string, marker: string): string[] =>
  output
    .split("\n")
    .filter((line) => line.startsWith(marker + " "))
    .map((line) => line.slice(marker.length + 1));

// Each script uses its own processor names, so they run side by side (mongosh takes seconds to start).
describe.concurrent("mongosh's sp against sp serve", () => {
  it("sp.process() of a finite pipeline prints its documents and drops its processor", async () => {
    const output = await mongosh("process-hello-world.js");
    expect(parseMongoshOutput(output)).toEqual([
      { _id: 2, msg: "hello", shout: "HELLO" },
      { _id: 3, msg: "hello world", shout: "HELLO WORLD" },
    ]);
    expect(lines(output, "PROCESSORS LEFT")).toEqual(["0"]);
  }, 60_000);

  it("creates, starts, reads stats of, stops and drops a processor", async () => {
    const output = await mongosh("solar-lifecycle.js");
    expect(lines(output, "CREATED")).toEqual(["CREATED"]);
    expect(JSON.parse(lines(output, "STATS")[0])).toEqual({
      ok: 1,
      name: "solarDemo",
      status: "running",
      scaleFactor: 1,
      read: true,
    });
    expect(lines(output, "VERBOSE")).toEqual(["true"]);
    expect(lines(output, "STOPPED")).toEqual(["STOPPED"]);
    expect(lines(output, "LEFT")).toEqual(["0"]);
  }, 60_000);

  it("samples a running processor", async () => {
    const output = await mongosh("sample.js");
    const docs = parseMongoshOutput(output) as Array<Record<string, unknown>>;
    expect(docs).toHaveLength(3);
    for (const doc of docs) {
      expect(doc.device_id).toMatch(/^device_\d+$/);
      expect(doc.kw).toBe((doc.obs as { watts: number }).watts / 1000);
      expect(doc._ts).toBeInstanceOf(Date);
    }
    expect(output).toContain("SAMPLED");
  }, 60_000);

  it("modifies a processor's pipeline and renames it", async () => {
    const output = await mongosh("modify.js");
    expect(lines(output, "STAGES")).toEqual(["3"]);
    expect(lines(output, "NAMES")).toEqual(["renamed"]);
    expect(lines(output, "OUTPUT")).toEqual(["2"]);
  }, 60_000);

  it("answers failing commands with MongoDB's error codes", async () => {
    const output = await mongosh("errors.js");
    expect(lines(output, "DUPLICATE")).toEqual(["NamespaceExists 48"]);
    expect(lines(output, "BAD_PIPELINE")).toEqual(["BadValue 2"]);
    expect(lines(output, "NOT_FOUND")).toEqual(["NamespaceNotFound 26"]);
    expect(lines(output, "STOP_NOT_STARTED")).toEqual(["IllegalOperation 20"]);
    expect(lines(output, "UNKNOWN_COMMAND")).toEqual(["CommandNotFound 59"]);
    expect(lines(output, "CONNECTIONS")).toEqual(["__testLog,sample_stream_solar"]);
  }, 60_000);

  it("refuses a wrong password", async () => {
    await expect(mongosh("errors.js", "not-the-token")).rejects.toThrow(/Authentication failed/);
  }, 60_000);
});
