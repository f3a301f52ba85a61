package dev.eddy.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerInterceptor;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.EmitStrategy;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.processor.api.ContextualFixedKeyProcessor;
import org.apache.kafka.streams.processor.api.FixedKeyRecord;

/**
 * Kafka Streams side of `npm run bench:connectors -- --only peers` (docs/performance.md, "Peers").
 *
 * <pre>java -cp target/kafka-streams-peer-1.jar:target/lib/* dev.eddy.bench.KafkaStreamsPeer
 *     copy|window BOOTSTRAP INPUT EXPECTED OUTPUT[,OUTPUT...]</pre>
 *
 * One Kafka Streams application per output topic, run one after the other in this JVM (the first ones
 * warm the JIT up), each reading INPUT from the earliest offset. Each round ends when the broker has
 * acknowledged EXPECTED records on its output topic (counted by a producer interceptor); a JSON line per
 * round goes to stdout. EXPECTED 0 runs the first round until the process is killed (latency runs).
 */
public final class KafkaStreamsPeer {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final DateTimeFormatter ISO =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);
  /** Epoch ms of the first record the running round processed, and the process' CPU time then. */
  static final AtomicLong FIRST = new AtomicLong();
  static final AtomicLong FIRST_CPU = new AtomicLong();

  /** Called for every input record: starts the round's clocks at the first. */
  static void seen() {
    if (FIRST.get() == 0 && FIRST.compareAndSet(0, System.currentTimeMillis())) FIRST_CPU.set(cpuNanos());
  }

  public static void main(String[] args) throws Exception {
    String mode = args[0];
    String bootstrap = args[1];
    String input = args[2];
    long expected = Long.parseLong(args[3]);
    for (String output : args[4].split(",")) {
      FIRST.set(0);
      StreamsBuilder builder = new StreamsBuilder();
      if (mode.equals("copy")) copy(builder, input, output);
      else window(builder, input, output);
      KafkaStreams streams = new KafkaStreams(builder.build(), config(bootstrap, output));
      streams.start();
      if (expected == 0) {
        Thread.sleep(Long.MAX_VALUE);
      }
      AckCounter.await(output, expected);
      long cpu1 = cpuNanos();
      long last = AckCounter.last(output);
      System.out.println(
          "{\"output\":\"" + output + "\",\"firstMs\":" + FIRST.get() + ",\"lastMs\":" + last
              + ",\"records\":" + AckCounter.count(output) + ",\"cpuMs\":" + (cpu1 - FIRST_CPU.get()) / 1_000_000 + "}");
      System.out.flush();
      streams.close(Duration.ofSeconds(10));
      streams.cleanUp();
    }
    System.exit(0);
  }

  /**
   * The throughput configuration (docs/performance.md): one stream thread (one partition), at-least-once,
   * a 64 MiB record cache, larger fetches and producer batches than the defaults, acks=all like Eddy.
   */
  static Properties config(String bootstrap, String output) {
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, "eddy-bench-ks-" + output);
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
    p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.AT_LEAST_ONCE);
    p.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 64L * 1024 * 1024);
    p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 5_000);
    p.put(StreamsConfig.STATE_DIR_CONFIG, System.getProperty("java.io.tmpdir") + "/eddy-bench-ks");
    p.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
    p.put(StreamsConfig.consumerPrefix(ConsumerConfig.MAX_POLL_RECORDS_CONFIG), 2_000);
    p.put(StreamsConfig.consumerPrefix(ConsumerConfig.FETCH_MIN_BYTES_CONFIG), 1);
    p.put(StreamsConfig.consumerPrefix(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG), 4 * 1024 * 1024);
    p.put(StreamsConfig.producerPrefix(ProducerConfig.ACKS_CONFIG), "all");
    p.put(StreamsConfig.producerPrefix(ProducerConfig.LINGER_MS_CONFIG), 5);
    p.put(StreamsConfig.producerPrefix(ProducerConfig.BATCH_SIZE_CONFIG), 512 * 1024);
    p.put(StreamsConfig.producerPrefix(ProducerConfig.INTERCEPTOR_CLASSES_CONFIG), AckCounter.class.getName());
    return p;
  }

  /** (a) `$match: {v: {$gte: 0}}` and `$addFields: {doubled: v * 2}` on the document with `_ts`/`_stream_meta`. */
  static void copy(StreamsBuilder builder, String input, String output) {
    builder.stream(input, Consumed.with(Serdes.ByteArray(), Serdes.ByteArray()))
        .processValues(CopyProcessor::new)
        .to(output, Produced.with(Serdes.ByteArray(), Serdes.ByteArray()));
  }

  static final class CopyProcessor extends ContextualFixedKeyProcessor<byte[], byte[], byte[]> {
    @Override
    public void process(FixedKeyRecord<byte[], byte[]> record) {
      seen();
      try {
        ObjectNode doc = (ObjectNode) JSON.readTree(record.value());
        var meta = context().recordMetadata().orElseThrow();
        doc.putObject("_ts").put("$date", ISO.format(Instant.ofEpochMilli(record.timestamp())));
        ObjectNode source = doc.putObject("_stream_meta").putObject("source");
        source.put("type", "kafka").put("topic", meta.topic()).put("partition", meta.partition());
        source.put("offset", meta.offset());
        JsonNode v = doc.get("v");
        if (v == null || !v.isNumber() || v.asDouble() < 0) return;
        doc.put("doubled", v.isIntegralNumber() ? v.asLong() * 2 : v.asDouble() * 2);
        context().forward(record.withValue(JSON.writeValueAsBytes(doc)));
      } catch (Exception e) {
        // A bad record is skipped (the bench never produces one).
      }
    }
  }

  /** (b) 60 s windows every 10 s per `key`: avg/min/max/count of `v`, emitted when the window closes. */
  static void window(StreamsBuilder builder, String input, String output) {
    // The bench keys the input records by `key`: grouping by the record key needs no repartition topic.
    builder.stream(input, Consumed.with(Serdes.String(), Serdes.ByteArray()))
        .mapValues(value -> {
          seen();
          try {
            return JSON.readTree(value).get("v").asDouble();
          } catch (Exception e) {
            return 0.0;
          }
        })
        .groupByKey(Grouped.with(Serdes.String(), Serdes.Double()))
        .windowedBy(
            TimeWindows.ofSizeAndGrace(Duration.ofSeconds(60), Duration.ofSeconds(3))
                .advanceBy(Duration.ofSeconds(10)))
        .emitStrategy(EmitStrategy.onWindowClose())
        .aggregate(Agg::new, (key, v, agg) -> agg.add(v), Materialized.with(Serdes.String(), Agg.SERDE))
        .toStream()
        .map((windowed, agg) -> KeyValue.pair(windowed.key(), agg.json(windowed.key(),
            windowed.window().start(), windowed.window().end())))
        .to(output, Produced.with(Serdes.String(), Serdes.ByteArray()));
  }

  static final class Agg {
    long count;
    double sum;
    double min = Double.POSITIVE_INFINITY;
    double max = Double.NEGATIVE_INFINITY;

    Agg add(double v) {
      count++;
      sum += v;
      if (v < min) min = v;
      if (v > max) max = v;
      return this;
    }

    byte[] json(String key, long start, long end) {
      ObjectNode doc = JSON.createObjectNode();
      doc.put("_id", key).put("avg", sum / count).put("min", min).put("max", max).put("count", count);
      ObjectNode meta = doc.putObject("_stream_meta");
      meta.putObject("source").put("type", "kafka");
      ObjectNode window = meta.putObject("window");
      window.putObject("start").put("$date", ISO.format(Instant.ofEpochMilli(start)));
      window.putObject("end").put("$date", ISO.format(Instant.ofEpochMilli(end)));
      try {
        return JSON.writeValueAsBytes(doc);
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }

    static final Serializer<Agg> WRITE = (topic, agg) -> ByteBuffer.allocate(32)
        .putLong(agg.count).putDouble(agg.sum).putDouble(agg.min).putDouble(agg.max).array();
    static final Deserializer<Agg> READ = (topic, bytes) -> {
      ByteBuffer b = ByteBuffer.wrap(bytes);
      Agg agg = new Agg();
      agg.count = b.getLong();
      agg.sum = b.getDouble();
      agg.min = b.getDouble();
      agg.max = b.getDouble();
      return agg;
    };
    static final Serde<Agg> SERDE = Serdes.serdeFrom(WRITE, READ);
  }

  /** Counts the broker's acknowledgements per topic (the clock stops at the last one). */
  public static final class AckCounter implements ProducerInterceptor<Object, Object> {
    private static final Map<String, AtomicLong> COUNTS = new ConcurrentHashMap<>();
    private static final Map<String, AtomicLong> LAST = new ConcurrentHashMap<>();

    @Override
    public ProducerRecord<Object, Object> onSend(ProducerRecord<Object, Object> record) {
      return record;
    }

    @Override
    public void onAcknowledgement(RecordMetadata metadata, Exception exception) {
      if (exception != null || metadata == null) return;
      COUNTS.computeIfAbsent(metadata.topic(), t -> new AtomicLong()).incrementAndGet();
      LAST.computeIfAbsent(metadata.topic(), t -> new AtomicLong()).set(System.currentTimeMillis());
    }

    static long count(String topic) {
      AtomicLong n = COUNTS.get(topic);
      return n == null ? 0 : n.get();
    }

    static long last(String topic) {
      AtomicLong n = LAST.get(topic);
      return n == null ? 0 : n.get();
    }

    static void await(String topic, long expected) throws InterruptedException {
      while (count(topic) < expected) Thread.sleep(2);
    }

    @Override
    public void close() {}

    @Override
    public void configure(Map<String, ?> configs) {}
  }

  static long cpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
  }
}
