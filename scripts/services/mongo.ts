// mongo-java-server (in-memory backend, change streams on) through the small launcher in
// mongo/EddyMongoServer.java, compiled at set-up into the cache directory.
import { delimiter, join } from "node:path";
import { MongoClient } from "mongodb";
import { HOST, mongoReportedVersion, ports, timeouts } from "./config.ts";
import { makeRunDir, readyOrStop, startJavaServer, type JavaServer } from "./java-server.ts";
import { compileJava, resolveClasspath } from "./maven.ts";

const here = import.meta.dirname;

let classpathPromise: Promise<string> | undefined;

/** Fetches the jars (first call only) and returns their classpath; call early to queue Maven. */
export function mongoClasspath(): Promise<string> {
  return (classpathPromise ??= resolveClasspath("mongo", join(here, "mongo", "pom.xml")));
}

export const standInUri = `mongodb://${HOST}:${ports.mongo}/?directConnection=true`;

/** True if a MongoDB wire-protocol server at `uri` answers `ping`. */
export async function isMongoUp(uri: string, timeoutMs = 2000): Promise<boolean> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: timeoutMs, connectTimeoutMS: timeoutMs });
  try {
    await client.db("admin").command({ ping: 1 });
    return true;
  } catch {
    return false;
  } finally {
    await client.close().catch(() => undefined);
  }
}

let h2ClasspathPromise: Promise<string> | undefined;

/** The classpath with the H2 MVStore backend as well (only fault-injection tests need it). */
export function mongoH2Classpath(): Promise<string> {
  return (h2ClasspathPromise ??= resolveClasspath("mongo-h2", join(here, "mongo-h2", "pom.xml")));
}

export interface StartMongoOptions {
  /** Default: the shared test port from config.ts. */
  readonly port?: number;
  /**
   * Keep documents and the oplog in this H2 MVStore file (mongo-java-server-h2-backend) instead of
   * memory, so a restarted server still has them and change streams resume from earlier tokens.
   */
  readonly h2File?: string;
}

export async function startMongoStandIn(
  parentWatchJar: string,
  options: StartMongoOptions = {},
): Promise<JavaServer> {
  const classpath = await (options.h2File === undefined ? mongoClasspath() : mongoH2Classpath());
  const port = options.port ?? ports.mongo;
  const uri = `mongodb://${HOST}:${port}/?directConnection=true`;
  const launcherJar = await compileJava(
    "mongo-launcher",
    [join(here, "mongo", "EddyMongoServer.java")],
    // Compiled against the in-memory classpath (the H2 backend is loaded reflectively), so both share one jar.
    await mongoClasspath(),
  );
  const runDir = await makeRunDir("mongo");
  const server = startJavaServer(
    {
      name: "mongo",
      runDir,
      classpath: [launcherJar, ...classpath.split(delimiter)],
      jvmArgs: ["-Xmx4g", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"],
      mainClass: "EddyMongoServer",
      args: [
        HOST,
        String(port),
        mongoReportedVersion.version,
        String(mongoReportedVersion.wireVersion),
        ...(options.h2File === undefined ? [] : [options.h2File]),
      ],
    },
    parentWatchJar,
  );
  return readyOrStop(server, () => isMongoUp(uri, 1000), {
    what: `mongo-java-server on ${HOST}:${port}`,
    timeoutMs: timeouts.mongoReadyMs,
  });
}
