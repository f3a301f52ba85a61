// Fetches a pom's dependencies into the local Maven repository (~/.m2 unless EDDY_MAVEN_ARGS says
// otherwise) and returns their classpath. The classpath is cached by pom content, so warm runs skip
// Maven entirely (a no-op `mvn` still costs seconds of JVM start-up).
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { cacheDir, timeouts } from "./config.ts";

/** Extra Maven arguments, e.g. `-Dmaven.repo.local=/tmp/empty-m2` to measure a cold set-up. */
function extraMavenArgs(): string[] {
  return (process.env.EDDY_MAVEN_ARGS ?? "").split(/\s+/).filter(Boolean);
}

// Concurrent `mvn` runs can race on a cold ~/.m2 (both fetching the same plugin), so resolutions
// queue in call order: callers ask for the quick one (the MongoDB stand-in) first.
let queue: Promise<unknown> = Promise.resolve();

export function resolveClasspath(name: string, pomPath: string): Promise<string> {
  const result = queue.then(() => resolveNow(name, pomPath));
  queue = result.catch(() => undefined);
  return result;
}

async function resolveNow(name: string, pomPath: string): Promise<string> {
  const pom = await readFile(pomPath, "utf8");
  const args = extraMavenArgs();
  const key = createHash("sha256").update(pom).update("\0").update(args.join(" ")).digest("hex").slice(0, 16);
  const cached = join(cacheDir, `${name}-${key}.classpath`);
  const hit = await readCachedClasspath(cached);
  if (hit !== undefined) return hit;
  await runMaven(name, pomPath, args, cached);
  const fresh = await readCachedClasspath(cached);
  if (fresh === undefined) throw new Error(`mvn did not produce a usable classpath for ${pomPath}`);
  return fresh;
}

async function readCachedClasspath(file: string): Promise<string | undefined> {
  if (!existsSync(file)) return undefined;
  const classpath = (await readFile(file, "utf8")).trim();
  // A cleaned ~/.m2 invalidates the cache.
  const entries = classpath.split(delimiter);
  return entries.length > 0 && entries.every((entry) => existsSync(entry)) ? classpath : undefined;
}

async function runMaven(name: string, pomPath: string, args: string[], target: string): Promise<void> {
  await mkdir(cacheDir, { recursive: true });
  const partial = `${target}.${process.pid}.tmp`;
  const mvnArgs = [
    "-B",
    "-q",
    ...args,
    "-f",
    pomPath,
    "dependency:build-classpath",
    `-Dmdep.outputFile=${partial}`,
  ];
  const output: string[] = [];
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn("mvn", mvnArgs, { stdio: ["ignore", "pipe", "pipe"] });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeouts.mavenMs);
    child.stdout.on("data", (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => output.push(chunk.toString()));
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot run mvn (is Maven on the PATH?): ${error.message}`));
    });
    child.once("exit", (exitCode) => {
      clearTimeout(timer);
      resolve(exitCode);
    });
  });
  if (code !== 0) {
    const tail = output.join("").split("\n").slice(-30).join("\n");
    throw new Error(`mvn failed to fetch the ${name} jars (exit ${code}): mvn ${mvnArgs.join(" ")}\n${tail}`);
  }
  await rename(partial, target);
}

/**
 * Compiles Java sources into a jar in the cache directory, keyed by their content and classpath.
 * A jar, not a class directory: JVM class-data sharing refuses non-empty directories on the classpath.
 */
export async function compileJava(name: string, sources: string[], classpath: string): Promise<string> {
  const hash = createHash("sha256").update(classpath);
  for (const source of sources) hash.update(await readFile(source));
  const jar = join(cacheDir, `${name}-${hash.digest("hex").slice(0, 16)}.jar`);
  if (existsSync(jar)) return jar;
  const classesDir = await mkdtemp(join(tmpdir(), `eddy-javac-${name}-`));
  try {
    const classpathArgs = classpath === "" ? [] : ["-cp", classpath];
    await runTool("javac", ["-d", classesDir, ...classpathArgs, ...sources]);
    await mkdir(cacheDir, { recursive: true });
    const partial = `${jar}.${process.pid}.tmp`;
    await runTool("jar", ["--create", "--file", partial, "-C", classesDir, "."]);
    await rename(partial, jar);
    return jar;
  } finally {
    await rm(classesDir, { recursive: true, force: true });
  }
}

async function runTool(tool: string, args: string[]): Promise<void> {
  const output: string[] = [];
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(tool, args, { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.on("data", (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => output.push(chunk.toString()));
    child.once("error", (error) =>
      reject(new Error(`cannot run ${tool} (is a JDK on the PATH?): ${error.message}`, { cause: error })),
    );
    child.once("exit", resolve);
  });
  if (code !== 0) throw new Error(`${tool} ${args.join(" ")} failed (exit ${code}):\n${output.join("")}`);
}
