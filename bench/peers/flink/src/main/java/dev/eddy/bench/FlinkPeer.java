package dev.eddy.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.AggregateFunction;
import org.apache.flink.api.common.serialization.SerializationSchema;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.api.java.tuple.Tuple4;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.windowing.ProcessWindowFunction;
import org.apache.flink.streaming.api.windowing.assigners.SlidingEventTimeWindows;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerInterceptor;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;

/**
 * Apache Flink side of `npm run bench:connectors -- --only peers` (docs/performance.md, "Peers").
 *
 * <pre>java -cp target/flink-peer-1.jar:target/lib/* dev.eddy.bench.FlinkPeer
 *     copy|window BOOTSTRAP INPUT EXPECTED OUTPUT[,OUTPUT...]</pre>
 *
 * One job per output topic in a local execution environment (parallelism 1), run one after the other in
 * this JVM (the first ones warm the JIT up), each reading INPUT from the earliest offset. A round ends when
 * the broker has acknowledged EXPECTED records on its output topic (counted by a producer interceptor);
 * a JSON line per round goes to stdout. EXPECTED 0 runs the first round until the process is killed.
 */
public final class FlinkPeer {
  static final ObjectMapper JSON = new ObjectMapper();
  static final DateTimeFormatter ISO =
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
    // The throughput configuration (docs/performance.md): parallelism 1 (one partition), object reuse
    // between chained operators, checkpoints every 5 s (at-least-once Kafka output flushes on them).
    Configuration conf = new Configuration();
    conf.set(PipelineOptions.OBJECT_REUSE, true);
    for (String output : args[4].split(",")) {
      FIRST.set(0);
      StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(1, conf);
      env.enableCheckpointing(5_000);
      if (mode.equals("copy")) copy(env, bootstrap, input, output);
      else window(env, bootstrap, input, output);
      JobClient job = env.executeAsync("eddy-bench-" + mode);
      if (expected == 0) Thread.sleep(Long.MAX_VALUE);
      AckCounter.await(output, expected);
      long cpu1 = cpuNanos();
      System.out.println(
          "{\"output\":\"" + output + "\",\"firstMs\":" + FIRST.get() + ",\"lastMs\":" + AckCounter.last(output)
              + ",\"records\":" + AckCounter.count(output) + ",\"cpuMs\":" + (cpu1 - FIRST_CPU.get()) / 1_000_000 + "}");
      System.out.flush();
      job.cancel().get();
    }
    System.exit(0);
  }

  static KafkaSource<ObjectNode> source(String bootstrap, String input, String output) {
    return KafkaSource.<ObjectNode>builder()
        .setBootstrapServers(bootstrap)
        .setTopics(input)
        .setGroupId("eddy-bench-flink-" + output)
        .setStartingOffsets(OffsetsInitializer.earliest())
        .setProperty(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "2000")
        .setProperty(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, String.valueOf(4 * 1024 * 1024))
        .setDeserializer(new Decoder())
        .build();
  }

  static <T> KafkaSink<T> sink(String bootstrap, String output, SerializationSchema<T> value) {
    Properties producer = new Properties();
    producer.put(ProducerConfig.ACKS_CONFIG, "all");
    producer.put(ProducerConfig.LINGER_MS_CONFIG, "5");
    producer.put(ProducerConfig.BATCH_SIZE_CONFIG, String.valueOf(512 * 1024));
    producer.put(ProducerConfig.INTERCEPTOR_CLASSES_CONFIG, AckCounter.class.getName());
    return KafkaSink.<T>builder()
        .setBootstrapServers(bootstrap)
        .setKafkaProducerConfig(producer)
        .setDeliveryGuarantee(DeliveryGuarantee.AT_LEAST_ONCE)
        .setRecordSerializer(
            KafkaRecordSerializationSchema.<T>builder().setTopic(output).setValueSerializationSchema(value).build())
        .build();
  }

  /** The record's value parsed, with `_ts` and `_stream_meta` as Eddy's `$source` adds them. */
  static final class Decoder implements KafkaRecordDeserializationSchema<ObjectNode> {
    @Override
    public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<ObjectNode> out) {
      seen();
      try {
        ObjectNode doc = (ObjectNode) JSON.readTree(record.value());
        doc.putObject("_ts").put("$date", ISO.format(Instant.ofEpochMilli(record.timestamp())));
        ObjectNode source = doc.putObject("_stream_meta").putObject("source");
        source.put("type", "kafka").put("topic", record.topic()).put("partition", record.partition());
        source.put("offset", record.offset());
        out.collect(doc);
      } catch (Exception e) {
        // A bad record is skipped (the bench never produces one).
      }
    }

    @Override
    public TypeInformation<ObjectNode> getProducedType() {
      return TypeInformation.of(ObjectNode.class);
    }
  }

  /** (a) `$match: {v: {$gte: 0}}` and `$addFields: {doubled: v * 2}`. */
  static void copy(StreamExecutionEnvironment env, String bootstrap, String input, String output) {
    env.fromSource(source(bootstrap, input, output), WatermarkStrategy.noWatermarks(), "kafka")
        .filter(doc -> {
          JsonNode v = doc.get("v");
          return v != null && v.isNumber() && v.asDouble() >= 0;
        })
        .map(doc -> {
          JsonNode v = doc.get("v");
          return doc.put("doubled", v.isIntegralNumber() ? v.asLong() * 2 : v.asDouble() * 2);
        })
        .returns(ObjectNode.class)
        .sinkTo(sink(bootstrap, output, new DocBytes()));
  }

  /** Named classes, not lambdas: the Kafka sink's lineage reads their type parameter. */
  static final class DocBytes implements SerializationSchema<ObjectNode> {
    @Override
    public byte[] serialize(ObjectNode doc) {
      return bytes(doc);
    }
  }

  static final class RawBytes implements SerializationSchema<byte[]> {
    @Override
    public byte[] serialize(byte[] value) {
      return value;
    }
  }

  static byte[] bytes(JsonNode doc) {
    try {
      return JSON.writeValueAsBytes(doc);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** (b) 60 s windows every 10 s per `key` on the record timestamp: avg/min/max/count of `v`. */
  static void window(StreamExecutionEnvironment env, String bootstrap, String input, String output) {
    WatermarkStrategy<ObjectNode> watermarks = WatermarkStrategy.forBoundedOutOfOrderness(Duration.ofSeconds(3));
    DataStream<Tuple2<String, Double>> values =
        env.fromSource(source(bootstrap, input, output), watermarks, "kafka")
            .map(doc -> Tuple2.of(doc.get("key").asText(), doc.get("v").asDouble()))
            .returns(Types.TUPLE(Types.STRING, Types.DOUBLE));
    values
        .keyBy(value -> value.f0)
        .window(SlidingEventTimeWindows.of(Duration.ofSeconds(60), Duration.ofSeconds(10)))
        .aggregate(new Stats(), new Emit())
        .sinkTo(sink(bootstrap, output, new RawBytes()));
  }

  /** count, sum, min, max. */
  static final class Stats implements AggregateFunction<Tuple2<String, Double>, Tuple4<Long, Double, Double, Double>,
      Tuple4<Long, Double, Double, Double>> {
    @Override
    public Tuple4<Long, Double, Double, Double> createAccumulator() {
      return Tuple4.of(0L, 0.0, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY);
    }

    @Override
    public Tuple4<Long, Double, Double, Double> add(Tuple2<String, Double> value, Tuple4<Long, Double, Double, Double> acc) {
      double v = value.f1;
      return Tuple4.of(acc.f0 + 1, acc.f1 + v, Math.min(acc.f2, v), Math.max(acc.f3, v));
    }

    @Override
    public Tuple4<Long, Double, Double, Double> getResult(Tuple4<Long, Double, Double, Double> acc) {
      return acc;
    }

    @Override
    public Tuple4<Long, Double, Double, Double> merge(Tuple4<Long, Double, Double, Double> a,
        Tuple4<Long, Double, Double, Double> b) {
      return Tuple4.of(a.f0 + b.f0, a.f1 + b.f1, Math.min(a.f2, b.f2), Math.max(a.f3, b.f3));
    }
  }

  /** The window result as Eddy writes it: `{_id, avg, min, max, count, _stream_meta: {source, window}}`. */
  static final class Emit extends ProcessWindowFunction<Tuple4<Long, Double, Double, Double>, byte[], String, TimeWindow> {
    @Override
    public void process(String key, Context context, Iterable<Tuple4<Long, Double, Double, Double>> results,
        Collector<byte[]> out) {
      Tuple4<Long, Double, Double, Double> acc = results.iterator().next();
      ObjectNode doc = JSON.createObjectNode();
      doc.put("_id", key).put("avg", acc.f1 / acc.f0).put("min", acc.f2).put("max", acc.f3).put("count", acc.f0);
      ObjectNode meta = doc.putObject("_stream_meta");
      meta.putObject("source").put("type", "kafka");
      ObjectNode window = meta.putObject("window");
      window.putObject("start").put("$date", ISO.format(Instant.ofEpochMilli(context.window().getStart())));
      window.putObject("end").put("$date", ISO.format(Instant.ofEpochMilli(context.window().getEnd())));
      out.collect(bytes(doc));
    }
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
