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

export async function startMongoStandIn(parentWatchJar: string): Promise<JavaServer> {
  const classpath = await mongoClasspath();
  const launcherJar = await compileJava(
    "mongo-launcher",
    [join(here, "mongo", "EddyMongoServer.java")],
    classpath,
  );
  const runDir = await makeRunDir("mongo");
  const server = startJavaServer(
    {
      name: "mongo",
      runDir,
      classpath: [launcherJar, ...classpath.split(delimiter)],
      jvmArgs: ["-Xmx1g", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"],
      mainClass: "EddyMongoServer",
      args: [
        HOST,
        String(ports.mongo),
        mongoReportedVersion.version,
        String(mongoReportedVersion.wireVersion),
      ],
    },
    parentWatchJar,
  );
  return readyOrStop(server, () => isMongoUp(standInUri, 1000), {
    what: `mongo-java-server on ${HOST}:${ports.mongo}`,
    timeoutMs: timeouts.mongoReadyMs,
  });
}
