import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.Cursor;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.aggregation.Aggregation;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import de.bwaldvogel.mongo.bson.BsonTimestamp;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.oplog.Oplog;
import de.bwaldvogel.mongo.oplog.OplogCursor;
import de.bwaldvogel.mongo.oplog.OplogPosition;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * The MongoDB stand-in (mongo-java-server, in-memory backend) for the order-fulfillment demo, with change
 * events shaped the way a real replica set sends them. mongo-java-server's own oplog (1.47.0):
 * - reports a replacement (replaceOne, $merge whenMatched "replace") as an "update" event whose documentKey
 *   is the replacement and whose fullDocument is empty, where MongoDB sends a "replace" event with the new
 *   document;
 * - delivers nothing to database-wide change streams (db.watch()): it looks for a collection named "1";
 * - omits ns, wallTime and updateDescription, and fills fullDocument on updates without being asked.
 * The demo's processors need the first two, so this launcher replaces the oplog; everything else (queries,
 * writes, the wire protocol) is mongo-java-server's. Not modelled: pre-images (fullDocumentBeforeChange),
 * invalidate events, capped collections (creating one is still refused; the demo's set-up falls back).
 *
 * Usage: DemoMongoServer <host> <port> <reported version, e.g. 4.4.0> <wire version, e.g. 9>
 */
public final class DemoMongoServer {
  private DemoMongoServer() {}

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
      System.err.println("usage: DemoMongoServer <host> <port> <version> <wire version>");
      System.exit(2);
    }
    List<Integer> versionArray = new ArrayList<>();
    for (String part : args[2].split("\\.")) {
      versionArray.add(Integer.parseInt(part));
    }
    MemoryBackend backend = new ChangeEventBackend();
    backend.version(new ReportedVersion(List.copyOf(versionArray), Integer.parseInt(args[3])));
    MongoServer server = new MongoServer(backend);
    server.enableOplog();
    server.bind(args[0], Integer.parseInt(args[1]));
    Runtime.getRuntime().addShutdownHook(new Thread(server::shutdownNow, "mongo-shutdown"));
    System.out.println("eddy-demo-mongo-stand-in listening on " + args[0] + ":" + args[1]);
  }

  private static final class ChangeEventBackend extends MemoryBackend {
    @Override
    protected Oplog createOplog() {
      return new ChangeEventOplog(this, getCursorRegistry());
    }
  }

  /** One write as the oplog keeps it: enough to build the change event any stream asks for. */
  private record Entry(
      BsonTimestamp ts,
      Instant wall,
      String op,
      String db,
      String coll,
      Object id,
      Document document,
      Document updateDescription) {}

  /** An in-memory oplog (append-only, in timestamp order) that turns writes into MongoDB-shaped change events. */
  private static final class ChangeEventOplog implements Oplog {
    private final MemoryBackend backend;
    private final CursorRegistry cursors;
    private final List<Entry> entries = new ArrayList<>();
    private final AtomicInteger increment = new AtomicInteger();

    ChangeEventOplog(MemoryBackend backend, CursorRegistry cursors) {
      this.backend = backend;
      this.cursors = cursors;
    }

    @Override
    public void handleInsert(String namespace, List<Document> documents) {
      for (Document document : documents) {
        append("insert", namespace, document.get("_id"), document.cloneDeeply(), null);
      }
    }

    @Override
    public void handleUpdate(String namespace, Document selector, Document query, List<Object> modifiedIds) {
      boolean replacement = query.keySet().stream().noneMatch(key -> key.startsWith("$"));
      for (Object id : modifiedIds) {
        Document current = lookUp(namespace, id);
        if (replacement) {
          append("replace", namespace, id, current, null);
        } else {
          append("update", namespace, id, current, updateDescription(query));
        }
      }
    }

    @Override
    public void handleDelete(String namespace, Document query, List<Object> deletedIds) {
      for (Object id : deletedIds) {
        append("delete", namespace, id, null, null);
      }
    }

    @Override
    public void handleDropCollection(String namespace) {
      append("drop", namespace, null, null, null);
    }

    @Override
    public Cursor createCursor(Document changeStream, String namespace, Aggregation aggregation) {
      OplogPosition start;
      if (changeStream.get("startAfter") instanceof Document token) {
        start = OplogPosition.fromDocument(token);
      } else if (changeStream.get("resumeAfter") instanceof Document token) {
        start = OplogPosition.fromDocument(token);
      } else if (changeStream.get("startAtOperationTime") instanceof BsonTimestamp time) {
        start = new OplogPosition(time).inclusive();
      } else {
        start = new OplogPosition(new BsonTimestamp(Instant.now(), increment.get()));
      }
      Scope scope = Scope.of(namespace, Boolean.TRUE.equals(changeStream.get("allChangesForCluster")));
      Object fullDocument = changeStream.getOrDefault("fullDocument", "default");
      OplogCursor cursor =
          new OplogCursor(
              cursors.generateCursorId(),
              position -> aggregation.runStagesAsStream(
                  after(position).filter(scope::covers).map(entry -> toEvent(entry, fullDocument))),
              start);
      cursors.add(cursor);
      return cursor;
    }

    private synchronized void append(String op, String namespace, Object id, Document document, Document update) {
      int dot = namespace.indexOf('.');
      String db = namespace.substring(0, dot);
      String coll = namespace.substring(dot + 1);
      if (db.equals("local") || coll.startsWith("system.")) return;
      Instant now = Instant.now();
      entries.add(
          new Entry(new BsonTimestamp(now, increment.incrementAndGet()), now, op, db, coll, id, document, update));
    }

    /** The entries after a position (a snapshot, so writers are not blocked while a cursor reads). */
    private synchronized Stream<Entry> after(OplogPosition position) {
      int low = 0;
      int high = entries.size();
      while (low < high) {
        int middle = (low + high) >>> 1;
        if (new OplogPosition(entries.get(middle).ts()).isAfter(position)) high = middle;
        else low = middle + 1;
      }
      return List.copyOf(entries.subList(low, entries.size())).stream();
    }

    private Document lookUp(String namespace, Object id) {
      int dot = namespace.indexOf('.');
      var collection =
          backend.resolveDatabase(namespace.substring(0, dot)).resolveCollection(namespace.substring(dot + 1), false);
      if (collection == null) return null;
      Iterator<Document> found = collection.handleQuery(new Document("_id", id)).iterator();
      return found.hasNext() ? found.next().cloneDeeply() : null;
    }

    private Document toEvent(Entry entry, Object fullDocumentOption) {
      Document event =
          new Document("_id", new Document("_data", new OplogPosition(entry.ts()).toHexString()))
              .append("operationType", entry.op())
              .append("clusterTime", entry.ts())
              .append("wallTime", entry.wall())
              .append("ns", new Document("db", entry.db()).append("coll", entry.coll()));
      if (entry.op().equals("drop")) return event;
      event.append("documentKey", new Document("_id", entry.id()));
      switch (entry.op()) {
        case "insert", "replace" -> event.append("fullDocument", entry.document());
        case "update" -> {
          event.append("updateDescription", entry.updateDescription());
          if (fullDocumentOption.equals("updateLookup")) {
            event.append("fullDocument", lookUp(entry.db() + "." + entry.coll(), entry.id()));
          } else if (fullDocumentOption.equals("whenAvailable") || fullDocumentOption.equals("required")) {
            event.append("fullDocument", entry.document());
          }
        }
        default -> {}
      }
      return event;
    }

    /** `updatedFields` / `removedFields` from the operators the stand-in applied ($set, $unset, $inc…). */
    private static Document updateDescription(Document query) {
      Document updated = new Document();
      List<String> removed = new ArrayList<>();
      for (String operator : query.keySet()) {
        if (!(query.get(operator) instanceof Document fields)) continue;
        if (operator.equals("$unset")) removed.addAll(fields.keySet());
        else if (!operator.equals("$setOnInsert")) updated.putAll(fields);
      }
      return new Document("updatedFields", updated)
          .append("removedFields", removed)
          .append("truncatedArrays", List.of());
    }
  }

  /** What a change stream watches: one collection, one database (`db.watch()`), or the cluster. */
  private record Scope(String db, String coll, boolean cluster) {
    static Scope of(String namespace, boolean allChangesForCluster) {
      int dot = namespace.indexOf('.');
      String coll = namespace.substring(dot + 1);
      // db.watch() and client.watch() send `aggregate: 1`, which the server sees as a collection named "1".
      return new Scope(namespace.substring(0, dot), coll.equals("1") ? null : coll, allChangesForCluster);
    }

    boolean covers(Entry entry) {
      if (cluster) return !entry.db().equals("admin") && !entry.db().equals("config");
      if (!entry.db().equals(db)) return false;
      return coll == null || coll.equals(entry.coll());
    }
  }
}
