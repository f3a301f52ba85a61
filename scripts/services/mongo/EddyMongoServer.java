import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import java.util.ArrayList;
import java.util.List;

/**
 * mongo-java-server with its in-memory backend and the oplog enabled (change streams need it).
 *
 * Usage: EddyMongoServer <host> <port> <reported version, e.g. 4.4.0> <wire version, e.g. 9>
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
    if (args.length != 4) {
      System.err.println("usage: EddyMongoServer <host> <port> <version> <wire version>");
      System.exit(2);
    }
    String host = args[0];
    int port = Integer.parseInt(args[1]);
    List<Integer> versionArray = new ArrayList<>();
    for (String part : args[2].split("\\.")) {
      versionArray.add(Integer.parseInt(part));
    }
    int wireVersion = Integer.parseInt(args[3]);

    MemoryBackend backend = new MemoryBackend();
    backend.version(new ReportedVersion(List.copyOf(versionArray), wireVersion));
    MongoServer server = new MongoServer(backend);
    server.enableOplog();
    server.bind(host, port);
    Runtime.getRuntime().addShutdownHook(new Thread(server::shutdownNow, "mongo-shutdown"));
    System.out.println("eddy-mongo-stand-in listening on " + host + ":" + port);
  }
}
