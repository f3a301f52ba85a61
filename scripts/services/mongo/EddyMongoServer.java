import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.AbstractMongoBackend;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
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
    MongoServer server = new MongoServer(backend);
    server.enableOplog();
    server.bind(host, port);
    Runtime.getRuntime().addShutdownHook(new Thread(server::shutdownNow, "mongo-shutdown"));
    System.out.println("eddy-mongo-stand-in listening on " + host + ":" + port);
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
