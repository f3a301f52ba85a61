/**
 * `$emit` to Kafka (docs/asp-semantics.md §3.2): topic, key, headers and tombstones per document; the value is the
 * document as relaxed (or canonical) Extended JSON. A document whose topic, key or headers cannot be
 * produced fails alone (DLQ). Broker errors are retried here with back-off (a broker restart or a network
 * blip is invisible; a retried batch may be produced twice: at-least-once, as ASP); a batch is reported as
 * written only after the broker acknowledged it (`acks`). What is still failing after the retries, or cannot
 * heal (authentication, unknown topic with auto-creation off), is thrown as a {@link ConnectorError}.
 */
import { Admin, Producer } from "@platformatic/kafka";
import type { Doc, Evaluator, Vars } from "../../mql/index.ts";
import type { EmitPlan, ProcessorPlan, SinkPlan } from "../../pipeline/plan.ts";
import type { KafkaEmitOptions } from "./spec.ts";
import type { Sink, SinkFailure, SinkResult, SinkWriteContext } from "../../runtime/sink.ts";
import type { DateFormat, OutputFormat } from "../../codec/ejson.ts";
import { ByteBuffer } from "../../codec/byte-buffer.ts";
import { writeExtendedJson } from "../../codec/json-bytes.ts";
import { encodeHeaders, encodeKey, type KeyFormat } from "./codec.ts";
import type { KafkaClientOptions } from "./connection.ts";
import { isRecordError, isTransientKafkaError, kafkaFailure } from "./errors.ts";
import { retryDocuments, type DocumentRetryPolicy } from "../document-retries.ts";
import { assertRecordFits, DirectProducer } from "./direct-producer.ts";
import { withRetries, type RetryPolicy } from "../retry.ts";
import {
  addMarker,
  SHARED_MARKER_TOPIC,
  transactionalProducer,
  type ExactlyOnceSettings,
  type KafkaTransaction,
} from "./transactions.ts";

export interface KafkaEmitSinkOptions {
  /** Retries of a batch whose send failed transiently (default 8 attempts, about 16 s of back-off). */
  readonly retry?: RetryPolicy;
  readonly onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** Attempts of a record the broker refuses (too large, invalid, its topic) before the DLQ (default 3). */
  readonly documentRetries?: DocumentRetryPolicy;
  /** `config.exactlyOnce`: write through Kafka transactions, one per checkpoint (see transactions.ts). */
  readonly exactlyOnce?: ExactlyOnceSettings;
}

export type EmitSinkPlan = EmitPlan<KafkaEmitOptions>;

/** `$emit`'s topic when it is a literal name rather than an expression. */
function literalTopic(plan: EmitSinkPlan): string | undefined {
  const topic = plan.options.topic;
  return typeof topic === "string" && topic !== "" && !topic.startsWith("$") ? topic : undefined;
}

/** The settings of an exactly-once Kafka `$emit`, or undefined when the sink is anything else. */
export function exactlyOnceSettings(processorName: string, sink: SinkPlan): ExactlyOnceSettings | undefined {
  if (sink.kind !== "emit" || sink.type !== "Kafka") return undefined;
  // A Kafka-typed $emit plan was produced by the Kafka spec's form.
  const kafkaSink = sink as EmitSinkPlan;
  const { config } = kafkaSink.options;
  if (!config.exactlyOnce) return undefined;
  const literal = literalTopic(kafkaSink);
  return {
    transactionalId: config.transactionalId ?? `eddy-${processorName}`,
    markerTopic: literal ?? SHARED_MARKER_TOPIC,
    sharedMarkerTopic: literal === undefined,
  };
}

const ACKS: Readonly<Record<string, number>> = { all: -1, "-1": -1, "0": 0, "1": 1 };
const NO_VARS: Vars = Object.freeze({});
const MIN_VALUES_BUFFER = 16 * 1024;

/** A batch turned into records, with the documents that could not be (by index). */
interface EncodedBatch {
  readonly messages: Outgoing[];
  /** The document index of each message. */
  readonly indices: number[];
  readonly failures: SinkFailure[];
  readonly bytes: number;
}

interface Outgoing {
  topic: string;
  key?: Buffer;
  value?: Buffer;
  headers?: Map<Buffer, Buffer>;
}

export class KafkaEmitSink implements Sink {
  readonly operatorName = "KafkaEmitOperator";
  private readonly producer: Producer<Buffer, Buffer, Buffer, Buffer>;
  /** Uncompressed, non-transactional output goes through Eddy's own request encoding. */
  private readonly direct: DirectProducer | undefined;
  private readonly topic: Evaluator;
  private readonly fixedTopic: string | undefined;
  private readonly key: Evaluator | undefined;
  private readonly keyFormat: KeyFormat;
  private readonly headers: Evaluator | undefined;
  private readonly tombstoneWhen: Evaluator | undefined;
  private readonly format: { outputFormat: OutputFormat; dateFormat: DateFormat };
  private readonly options: KafkaEmitSinkOptions;
  /** Exactly-once only: the open transaction (begun by the first write after a commit) and the marker admin. */
  private transaction: KafkaTransaction | undefined;
  private readonly admin: Admin | undefined;
  /** Present only for exactly-once: commits the open transaction together with `marker`. */
  readonly commit?: (marker: number) => Promise<void>;

  constructor(client: KafkaClientOptions, plan: EmitSinkPlan, options: KafkaEmitSinkOptions = {}) {
    this.options = options;
    const { config } = plan.options;
    const evaluators = plan.evaluators;
    const topic = evaluators.topic;
    if (!topic) throw new Error(`${plan.path}: $emit to Kafka needs a topic`);
    this.topic = topic;
    // A literal topic needs no evaluation per document.
    this.fixedTopic = literalTopic(plan);
    this.key = evaluators["config.key"];
    this.keyFormat = config.keyFormat;
    this.headers = evaluators["config.headers"];
    this.tombstoneWhen = evaluators["config.tombstoneWhen"];
    this.format = {
      outputFormat: config.outputFormat,
      dateFormat: config.dateFormat,
    };
    const compression = config.compression_type;
    const exactlyOnce = options.exactlyOnce;
    if (exactlyOnce) {
      this.producer = transactionalProducer(client, exactlyOnce, { compression });
      const admin = new Admin(client);
      this.admin = admin;
      this.commit = (marker) => this.commitTransaction(exactlyOnce, admin, marker);
      return;
    }
    const acks = ACKS[config.acks];
    this.producer = new Producer({ ...client, acks, compression, autocreateTopics: true });
    if (compression === "none") this.direct = new DirectProducer(this.producer, { acks });
  }

  /** The size of the last batch's values (plus a margin): the next batch's buffer starts that large. */
  private valuesSizeHint = MIN_VALUES_BUFFER;

  /** Batches `prepare` encoded while the previous send was in flight, until their `write`. */
  private readonly prepared = new WeakMap<readonly Doc[], EncodedBatch>();

  prepare(docs: readonly Doc[]): void {
    this.prepared.set(docs, this.encode(docs));
  }

  async write(docs: readonly Doc[], context?: SinkWriteContext): Promise<SinkResult> {
    const { messages, indices, failures, bytes } = this.encoded(docs, context?.parts);
    let written = bytes;
    const refused = messages.length > 0 ? await this.send(messages) : [];
    for (const failure of refused) {
      written -= messages[failure.index].value?.length ?? 0;
      failures.push({ ...failure, index: indices[failure.index] });
    }
    // Sent and acknowledged: an array that lived through a scavenge would keep its messages alive through each
    // later one until a full collection. A transaction's client may still hold its messages until the commit.
    if (!this.options.exactlyOnce) messages.length = 0;
    if (refused.length > 0) failures.sort((a, b) => a.index - b.index);
    return failures.length > 0 ? { bytes: written, failures } : { bytes };
  }

  /** What `prepare` encoded for `docs` (or for each of its `parts`), else `docs` encoded now. */
  private encoded(docs: readonly Doc[], parts: readonly (readonly Doc[])[] | undefined): EncodedBatch {
    const whole = this.prepared.get(docs);
    if (whole !== undefined || parts === undefined) {
      this.prepared.delete(docs);
      return whole ?? this.encode(docs);
    }
    const batches: EncodedBatch[] = [];
    for (const part of parts) {
      const batch = this.prepared.get(part);
      this.prepared.delete(part);
      batches.push(batch ?? this.encode(part));
    }
    return concatBatches(batches, parts);
  }

  private encode(docs: readonly Doc[]): EncodedBatch {
    const failures: SinkFailure[] = [];
    const messages: Outgoing[] = [];
    const indices: number[] = [];
    // Every value of the batch is written into one buffer; each record's value is a view of it.
    const values = new ByteBuffer(this.valuesSizeHint);
    let bytes = 0;
    docs.forEach((doc, index) => {
      const start = values.position;
      try {
        const message = this.messageFor(doc, values);
        assertRecordFits(message);
        bytes += message.value?.length ?? 0;
        messages.push(message);
        indices.push(index);
      } catch (error) {
        values.position = start;
        failures.push({ index, message: (error as Error).message });
      }
    });
    this.valuesSizeHint = Math.max(MIN_VALUES_BUFFER, Math.ceil(values.position * 1.25));
    return { messages, indices, failures, bytes };
  }

  /**
   * Sends the batch; the records the broker refused (by index in `messages`) when the batch failed for
   * them rather than for the connection: each is then sent again alone (document-retries.ts).
   */
  private async send(messages: Outgoing[]): Promise<SinkFailure[]> {
    if (this.options.exactlyOnce) {
      await this.sendInTransaction(messages);
      return [];
    }
    const perDocumentTopics = this.fixedTopic === undefined;
    const recordError = (error: unknown) => isRecordError(error, perDocumentTopics);
    try {
      await withRetries(
        () => this.sendOnce(messages),
        (error) => isTransientKafkaError(error) && !recordError(error),
        { attempts: 8, ...this.options.retry, onRetry: this.options.onRetry },
      );
      return [];
    } catch (error) {
      try {
        if (!recordError(error)) throw error;
        return await retryDocuments(
          messages.map((item, index) => ({ index, item, error })),
          (message) => this.sendOnce([message]),
          recordError,
          (failure, message) => kafkaFailure(failure, `Kafka $emit to '${message.topic}' failed`).message,
          this.options.documentRetries,
        );
      } catch (failure) {
        const topics = [...new Set(messages.map((m) => `'${m.topic}'`))].slice(0, 3).join(", ");
        throw kafkaFailure(failure, `Kafka $emit to ${topics} failed`);
      }
    }
  }

  private async sendOnce(messages: Outgoing[]): Promise<void> {
    if (this.direct && (await this.direct.available())) await this.direct.send(messages);
    else await this.producer.send({ messages });
  }

  /**
   * No retries inside a transaction: a failed send fails the run, the transaction is aborted (here, or by
   * the fencing of the next run) and the processor restarts from its last checkpoint, whose output is
   * exactly what Kafka committed.
   */
  private async sendInTransaction(messages: Outgoing[]): Promise<void> {
    try {
      this.transaction ??= await this.producer.beginTransaction();
      await this.transaction.send({ messages });
    } catch (error) {
      throw kafkaFailure(
        error,
        `Kafka transactional $emit (${this.options.exactlyOnce?.transactionalId}) failed`,
      );
    }
  }

  private async commitTransaction(
    settings: ExactlyOnceSettings,
    admin: Admin,
    marker: number,
  ): Promise<void> {
    try {
      const transaction = (this.transaction ??= await this.producer.beginTransaction());
      await addMarker(transaction, admin, settings, marker);
      await transaction.commit();
      this.transaction = undefined;
    } catch (error) {
      throw kafkaFailure(error, `Kafka transaction commit (${settings.transactionalId}) failed`);
    }
  }

  async close(): Promise<void> {
    const open = this.transaction;
    this.transaction = undefined;
    // Uncommitted output must never become visible; the next run's fencing would abort it too.
    if (open && !open.completed) await open.abort().catch(() => undefined);
    await Promise.allSettled([this.producer.close(), this.admin?.close()]);
  }

  private messageFor(doc: Doc, values: ByteBuffer): Outgoing {
    // `$$stream` only for the expressions that may read it (none with a literal topic and no key/headers).
    const evaluates = this.fixedTopic === undefined || this.key || this.headers || this.tombstoneWhen;
    const vars = !evaluates || doc._stream_meta === undefined ? NO_VARS : { $stream: doc._stream_meta };
    const topic = this.fixedTopic ?? this.topic(doc, vars);
    if (typeof topic !== "string" || topic === "") {
      throw new Error(
        `$emit topic must evaluate to a non-empty string, got ${JSON.stringify(topic) ?? "missing"}`,
      );
    }
    let key: Buffer | undefined;
    if (this.key) {
      const value = this.key(doc, vars);
      if (value !== undefined && value !== null) key = Buffer.from(encodeKey(value, this.keyFormat));
    }
    let headers: Map<Buffer, Buffer> | undefined;
    if (this.headers) {
      const encoded = encodeHeaders(this.headers(doc, vars));
      if (encoded.length > 0) {
        headers = new Map(encoded.map(([k, v]) => [Buffer.from(k), v ? Buffer.from(v) : Buffer.alloc(0)]));
      }
    }
    if (this.tombstoneWhen) {
      const tombstone = this.tombstoneWhen(doc, vars);
      if (typeof tombstone !== "boolean") throw new Error("tombstoneWhen must evaluate to a boolean");
      if (tombstone) return { topic, key, value: undefined, headers };
    }
    const start = values.position;
    writeExtendedJson(values, doc, this.format);
    // One literal with every field: a field added later would give each message a separate property store.
    return { topic, key, value: values.view(start), headers };
  }
}

/** The encoded `parts` as one batch: indices shift by the documents of the parts before. */
function concatBatches(batches: readonly EncodedBatch[], parts: readonly (readonly Doc[])[]): EncodedBatch {
  const messages: Outgoing[] = [];
  const indices: number[] = [];
  const failures: SinkFailure[] = [];
  let bytes = 0;
  let offset = 0;
  batches.forEach((batch, i) => {
    for (const message of batch.messages) messages.push(message);
    for (const index of batch.indices) indices.push(index + offset);
    for (const failure of batch.failures) failures.push({ ...failure, index: failure.index + offset });
    bytes += batch.bytes;
    offset += parts[i].length;
    batch.messages.length = 0; // carried over: the part's own array is done with (see `write`)
  });
  return { messages, indices, failures, bytes };
}

/**
 * The plan with its exactly-once Kafka `$emit` writing under transactional id `transactionalId`: each
 * partition of a scaled-out processor commits its own transactions (docs/scale-out.md), as a Kafka
 * Streams task does, so partitions moving between tasks never fence each other.
 */
export function withTransactionalId(plan: ProcessorPlan, transactionalId: string): ProcessorPlan {
  const sink = plan.sink as EmitSinkPlan;
  const options = sink.options;
  return {
    ...plan,
    sink: { ...sink, options: { ...options, config: { ...options.config, transactionalId } } },
  };
}
