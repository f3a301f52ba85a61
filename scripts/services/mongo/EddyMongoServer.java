import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.AbstractMongoBackend;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import de.bwaldvogel.mongo.bson.BsonTimestamp;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.wire.message.MongoMessage;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * mongo-java-server with its in-memory backend and the oplog enabled (change streams need it).
 *
 * Usage: EddyMongoServer <host> <port> <reported version, e.g. 4.4.0> <wire version, e.g. 9> [h2 file]
 *
 * With an h2 file, data (and the oplog, so change streams resume across restarts) is kept in an H2
 * MVStore file through mongo-java-server-h2-backend, which must then be on the classpath
 * (mongo-h2/pom.xml); it is loaded reflectively so the in-memory launcher compiles without it.
 *
 * The reported version matters: the official Node driver refuses servers whose maxWireVersion is
 * below its minimum (driver 7 needs wire 9, MongoDB 4.4), and mongo-java-server's newest built-in
 * version (MONGO_5_0) reports wire 8. See docs/testing.md.
 *
 * Resume tokens are checked as MongoDB checks them (mongo-java-server resumes from any token it can parse
 * and fails on others without an error code): a change stream resumed (resumeAfter / startAfter) from a
 * point older than the retained history answers MongoDB's error 286 ChangeStreamHistoryLost, and from a
 * token this server cannot have issued 280 ChangeStreamFatalError, both labelled
 * NonResumableChangeStreamError, as a replica set answers them. The history starts at the oldest oplog
 * entry, or at this process's start when that is earlier (an in-memory oplog starts empty at each start).
 */
public final class EddyMongoServer {
  private EddyMongoServer() {}

  private record ReportedVersion(List<Integer> versionArray, int wireVersion) implements MongoVersion {
    @Override
    public List<Integer> getVersionArray() {
      return versionArray;
    }

    @Override
    public int getWireVersion() {
      return wireVersion;
    }
  }

  public static void main(String[] args) {
    if (args.length != 4 && args.length != 5) {
      System.err.println("usage: EddyMongoServer <host> <port> <version> <wire version> [h2 file]");
      System.exit(2);
    }
    String host = args[0];
    int port = Integer.parseInt(args[1]);
    List<Integer> versionArray = new ArrayList<>();
    for (String part : args[2].split("\\.")) {
      versionArray.add(Integer.parseInt(part));
    }
    int wireVersion = Integer.parseInt(args[3]);

    AbstractMongoBackend backend = args.length == 5 ? h2Backend(args[4]) : new MemoryBackend();
    backend.version(new ReportedVersion(List.copyOf(versionArray), wireVersion));
    MongoServer server = new MongoServer(checkingResumeTokens(backend));
    server.enableOplog();
    server.bind(host, port);
    Runtime.getRuntime().addShutdownHook(new Thread(server::shutdownNow, "mongo-shutdown"));
    System.out.println("eddy-mongo-stand-in listening on " + host + ":" + port);
  }

  private static final String NON_RESUMABLE = "NonResumableChangeStreamError";

  /** The backend, with OP_MSG aggregate commands that resume a change stream checked first. */
  private static MongoBackend checkingResumeTokens(MongoBackend backend) {
    BsonTimestamp started = new BsonTimestamp(Instant.now(), 0);
    return (MongoBackend)
        Proxy.newProxyInstance(
            MongoBackend.class.getClassLoader(),
            new Class<?>[] {MongoBackend.class},
            (proxy, method, args) -> {
              if (method.getName().equals("handleMessage") && args[0] instanceof MongoMessage message) {
                Document refusal = resumeRefusal(backend, message.getDocument(), started);
                if (refusal != null) return refusal;
              }
              try {
                return method.invoke(backend, args);
              } catch (InvocationTargetException e) {
                throw e.getCause();
              }
            });
  }

  /** MongoDB's error document when `command` resumes a change stream from a point this server cannot resume from. */
  private static Document resumeRefusal(MongoBackend backend, Document command, BsonTimestamp started) {
    if (!command.containsKey("aggregate") || !(command.get("pipeline") instanceof List<?> pipeline)) return null;
    if (pipeline.isEmpty() || !(pipeline.get(0) instanceof Document first)) return null;
    if (!(first.get("$changeStream") instanceof Document options)) return null;
    Object token = options.containsKey("resumeAfter") ? options.get("resumeAfter") : options.get("startAfter");
    if (!(token instanceof Document tokenDocument)) return null;
    long position;
    try {
      position = Long.parseLong(String.valueOf(tokenDocument.get("_data")), 16);
    } catch (NumberFormatException e) {
      return error(
          280,
          "ChangeStreamFatalError",
          "cannot resume stream; the resume token was not found. " + tokenDocument.toString());
    }
    if (Long.compareUnsigned(position, historyStart(backend, started).getValue()) < 0) {
      return error(
          286,
          "ChangeStreamHistoryLost",
          "Resume of change stream was not possible, as the resume point may no longer be in the oplog.");
    }
    return null;
  }

  /** The oldest point a change stream can resume from: the oldest oplog entry, or this process's start if earlier. */
  private static BsonTimestamp historyStart(MongoBackend backend, BsonTimestamp started) {
    MongoCollection<?> oplog = backend.resolveDatabase("local").resolveCollection("oplog.rs", false);
    if (oplog == null) return started;
    return oplog.queryAllAsStream()
        .map(entry -> entry.get("ts"))
        .filter(BsonTimestamp.class::isInstance)
        .map(BsonTimestamp.class::cast)
        .filter(ts -> ts.compareTo(started) < 0)
        .min(BsonTimestamp::compareTo)
        .orElse(started);
  }

  private static Document error(int code, String codeName, String message) {
    return new Document("ok", 0.0)
        .append("errmsg", message)
        .append("code", code)
        .append("codeName", codeName)
        .append("errorLabels", List.of(NON_RESUMABLE));
  }

  private static AbstractMongoBackend h2Backend(String file) {
    try {
      return (AbstractMongoBackend)
          Class.forName("de.bwaldvogel.mongo.backend.h2.H2Backend")
              .getConstructor(String.class)
              .newInstance(file);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("cannot open the H2 backend (is mongo-java-server-h2-backend on the classpath?)", e);
    }
  }
}
