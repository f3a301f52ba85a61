import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.AbstractCursor;
import de.bwaldvogel.mongo.backend.Cursor;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.aggregation.Aggregation;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import de.bwaldvogel.mongo.bson.BsonTimestamp;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.oplog.Oplog;
import io.netty.channel.Channel;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The MongoDB stand-in (mongo-java-server, in-memory backend) for the order-fulfillment demo, with change
 * events shaped the way a real replica set sends them. mongo-java-server's own oplog (1.47.0):
 * - reports a replacement (replaceOne, $merge whenMatched "replace") as an "update" event whose documentKey
 *   is the replacement and whose fullDocument is empty, where MongoDB sends a "replace" event with the new
 *   document;
 * - delivers nothing to database-wide change streams (db.watch()): it looks for a collection named "1";
 * - sends no postBatchResumeToken, so a stream that has seen no event yet has no resume token, and a
 *   processor restarted from such a checkpoint starts at "now", losing what happened in between;
 * - omits ns, wallTime and updateDescription, and fills fullDocument on updates without being asked.
 * The demo needs the first three, so this launcher replaces the oplog and adds postBatchResumeToken to
 * change-stream cursor replies; everything else (queries, writes, the wire protocol) is mongo-java-server's. Not modelled: pre-images (fullDocumentBeforeChange),
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

    /** Change-stream replies (aggregate's first batch, getMore's next batch) carry postBatchResumeToken. */
    @Override
    public Document handleCommand(Channel channel, String databaseName, String command, Document query) {
      Document response = super.handleCommand(channel, databaseName, command, query);
      if (response != null
          && response.get("cursor") instanceof Document cursor
          && cursor.get("id") instanceof Number id
          && id.longValue() != 0) {
        try {
          if (getCursorRegistry().getCursor(id.longValue()) instanceof ChangeStreamCursor stream) {
            cursor.put("postBatchResumeToken", stream.resumeToken());
          }
        } catch (RuntimeException notFound) {
          // not a live cursor: nothing to add
        }
      }
      return response;
    }
  }

  /** A change stream's cursor: where it is in the oplog, which it reports as postBatchResumeToken. */
  private static final class ChangeStreamCursor extends AbstractCursor {
    private final ChangeEventOplog oplog;
    private final Scope scope;
    private final Object fullDocument;
    private final Aggregation aggregation;
    private long position;
    private boolean inclusive;

    ChangeStreamCursor(
        long id, ChangeEventOplog oplog, Scope scope, Object fullDocument, Aggregation aggregation, long position, boolean inclusive) {
      super(id);
      this.oplog = oplog;
      this.scope = scope;
      this.fullDocument = fullDocument;
      this.aggregation = aggregation;
      this.position = position;
      this.inclusive = inclusive;
    }

    @Override
    public boolean isEmpty() {
      return false;
    }

    @Override
    public synchronized List<Document> takeDocuments(int numberToReturn) {
      ChangeEventOplog.Snapshot snapshot = oplog.after(position, inclusive);
      Stream<Document> events = aggregation.runStagesAsStream(
          snapshot.entries().stream().filter(scope::covers).map(entry -> oplog.toEvent(entry, fullDocument)));
      if (numberToReturn > 0) events = events.limit(numberToReturn);
      List<Document> documents = events.collect(Collectors.toList());
      Long last = documents.isEmpty() ? null : tokenValue(documents.get(documents.size() - 1));
      if (last != null) {
        position = last;
        inclusive = false;
      } else if (documents.isEmpty() && snapshot.head() != null) {
        // Everything up to the head was scanned: MongoDB's post-batch token moves past it.
        position = Math.max(position, snapshot.head());
        inclusive = false;
      }
      return documents;
    }

    synchronized Document resumeToken() {
      return new Document("_data", Long.toHexString(inclusive ? position - 1 : position));
    }

    private static Long tokenValue(Document event) {
      if (event.get("_id") instanceof Document id && id.get("_data") instanceof String data) {
        return Long.parseUnsignedLong(data, 16);
      }
      return null;
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
      long start;
      boolean inclusive = false;
      if (changeStream.get("startAfter") instanceof Document token) {
        start = Long.parseUnsignedLong((String) token.get("_data"), 16);
      } else if (changeStream.get("resumeAfter") instanceof Document token) {
        start = Long.parseUnsignedLong((String) token.get("_data"), 16);
      } else if (changeStream.get("startAtOperationTime") instanceof BsonTimestamp time) {
        start = time.getValue();
        inclusive = true;
      } else {
        start = new BsonTimestamp(Instant.now(), increment.get()).getValue();
      }
      Scope scope = Scope.of(namespace, Boolean.TRUE.equals(changeStream.get("allChangesForCluster")));
      Object fullDocument = changeStream.getOrDefault("fullDocument", "default");
      ChangeStreamCursor cursor =
          new ChangeStreamCursor(cursors.generateCursorId(), this, scope, fullDocument, aggregation, start, inclusive);
      cursors.add(cursor);
      return cursor;
    }

    /** The entries after a position, and the newest entry's time (copies, so writers never wait on a reader). */
    record Snapshot(List<Entry> entries, Long head) {}

    private synchronized void append(String op, String namespace, Object id, Document document, Document update) {
      int dot = namespace.indexOf('.');
      String db = namespace.substring(0, dot);
      String coll = namespace.substring(dot + 1);
      if (db.equals("local") || coll.startsWith("system.")) return;
      Instant now = Instant.now();
      entries.add(
          new Entry(new BsonTimestamp(now, increment.incrementAndGet()), now, op, db, coll, id, document, update));
    }

    synchronized Snapshot after(long position, boolean inclusive) {
      int low = 0;
      int high = entries.size();
      while (low < high) {
        int middle = (low + high) >>> 1;
        long ts = entries.get(middle).ts().getValue();
        if (inclusive ? ts >= position : ts > position) high = middle;
        else low = middle + 1;
      }
      Long head = entries.isEmpty() ? null : entries.get(entries.size() - 1).ts().getValue();
      return new Snapshot(List.copyOf(entries.subList(low, entries.size())), head);
    }

    private Document lookUp(String namespace, Object id) {
      int dot = namespace.indexOf('.');
      var collection =
          backend.resolveDatabase(namespace.substring(0, dot)).resolveCollection(namespace.substring(dot + 1), false);
      if (collection == null) return null;
      Iterator<Document> found = collection.handleQuery(new Document("_id", id)).iterator();
      return found.hasNext() ? found.next().cloneDeeply() : null;
    }

    Document toEvent(Entry entry, Object fullDocumentOption) {
      Document event =
          new Document("_id", new Document("_data", Long.toHexString(entry.ts().getValue())))
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
