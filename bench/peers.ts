/**
 * The peers of `bench:connectors -- --only peers`: Kafka Streams and Apache Flink, each a small Maven
 * project in bench/peers/<name> (one Java class), built with `mvn -q package` on first use (the jars stay
 * in its target/, never committed) and run in its own JVM on the same broker and topics as Eddy.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

export type PeerName = "kafka-streams" | "flink";
export type PeerJob = "copy" | "window";

const MAIN_CLASS: Readonly<Record<PeerName, string>> = {
  "kafka-streams": "dev.eddy.bench.KafkaStreamsPeer",
  flink: "dev.eddy.bench.FlinkPeer",
};
const ARTIFACT: Readonly<Record<PeerName, string>> = {
  "kafka-streams": "kafka-streams-peer-1.jar",
  flink: "flink-peer-1.jar",
};
/** Heap and collector of both JVMs (docs/performance.md, "Peers"). */
const JVM_OPTIONS = ["-Xms1g", "-Xmx1g", "-XX:+UseG1GC"];

const peersDir = join(import.meta.dirname, "peers");

/** One timed round of a peer: epoch ms of its first input record and of its last acknowledged output. */
export interface PeerRound {
  readonly output: string;
  readonly firstMs: number;
  readonly lastMs: number;
  readonly records: number;
  readonly cpuMs: number;
}

/** Newest modification time under `dir` (the pom and the Java sources). */
function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === "target") continue;
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

/**
 * Builds the peer when its jar is missing or older than its sources; a reason to skip it when it cannot
 * be built (no `java`, no `mvn`), else undefined.
 */
export function preparePeer(name: PeerName): string | undefined {
  const dir = join(peersDir, name);
  const jar = join(dir, "target", ARTIFACT[name]);
  if (spawnSync("java", ["-version"], { stdio: "ignore" }).error) return "no java on the PATH";
  if (existsSync(jar) && statSync(jar).mtimeMs >= newest(dir)) return undefined;
  if (spawnSync("mvn", ["-v"], { stdio: "ignore" }).error) return "no mvn on the PATH to build it";
  const build = spawnSync("mvn", ["-B", "-q", "package"], { cwd: dir, encoding: "utf8", timeout: 900_000 });
  if (build.status !== 0)
    return `mvn -q package failed in ${dir}: ${`${build.stdout}${build.stderr}`.split("\n").slice(-15).join("\n")}`;
  return undefined;
}

/** One JVM's work: `job` from `input` to each of `outputs` in turn, until `expected` outputs (0: forever). */
export interface PeerRun {
  readonly name: PeerName;
  readonly job: PeerJob;
  readonly broker: string;
  readonly input: string;
  readonly expected: number;
  readonly outputs: readonly string[];
}

function javaArgs({ name, job, broker, input, expected, outputs }: PeerRun) {
  const target = join(peersDir, name, "target");
  const classpath = [join(target, ARTIFACT[name]), join(target, "lib", "*")].join(":");
  return [
    ...JVM_OPTIONS,
    "-cp",
    classpath,
    MAIN_CLASS[name],
    job,
    broker,
    input,
    String(expected),
    outputs.join(","),
  ];
}

/**
 * Runs one JVM of the peer over `outputs` rounds (each a fresh application/job reading `input` from the
 * start), each until `expected` outputs were acknowledged; the rounds' timings in order.
 */
export async function runPeer(run: PeerRun, timeoutMs: number): Promise<PeerRound[]> {
  const { name, job, outputs } = run;
  const child = spawn("java", javaArgs(run), {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const rounds: PeerRound[] = [];
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
    for (let at = stdout.indexOf("\n"); at >= 0; at = stdout.indexOf("\n")) {
      const line = stdout.slice(0, at).trim();
      stdout = stdout.slice(at + 1);
      if (line.startsWith("{")) rounds.push(JSON.parse(line) as PeerRound);
    }
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  clearTimeout(timer);
  if (rounds.length < outputs.length)
    throw new Error(
      `${name} ${job}: ${rounds.length} of ${outputs.length} rounds done (exit ${code}` +
        `${code === null ? ", killed after the time budget" : ""})\n${stderr}`,
    );
  return rounds;
}

/** Starts the peer on `input` → `output` until {@link stopPeer} (latency runs). */
export function startPeer(
  name: PeerName,
  job: PeerJob,
  broker: string,
  input: string,
  output: string,
): ChildProcess {
  const child = spawn("java", javaArgs({ name, job, broker, input, expected: 0, outputs: [output] }), {
    stdio: "ignore",
  });
  child.unref();
  return child;
}

export async function stopPeer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  // Started unref'd (a peer left running must not hold the run open): waiting for its exit must hold it.
  child.ref();
  child.kill("SIGKILL");
  await exited;
}
