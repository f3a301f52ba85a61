/**
 * `$emit` to Kafka (asp-compat §3.2): topic, key, headers and tombstones per document; the value is the
 * document as relaxed (or canonical) Extended JSON. A document whose topic, key or headers cannot be
 * produced fails alone (DLQ). Broker errors are retried here with back-off (a broker restart or a network
 * blip is invisible; a retried batch may be produced twice: at-least-once, as ASP); a batch is reported as
 * written only after the broker acknowledged it (`acks`). What is still failing after the retries, or cannot
 * heal (authentication, unknown topic with auto-creation off), is thrown as a {@link ConnectorError}.
 */
import { Producer } from "@platformatic/kafka";
import type { Doc, Evaluator, Vars } from "../../mql/index.ts";
import type { SinkPlan } from "../../pipeline/plan.ts";
import type { Sink, SinkResult } from "../../runtime/sink.ts";
import { stringifyExtendedJson, type DateFormat, type OutputFormat } from "../../codec/ejson.ts";
import { encodeHeaders, encodeKey, type KeyFormat } from "./codec.ts";
import type { KafkaClientOptions } from "./connection.ts";
import { isTransientKafkaError, kafkaFailure } from "./errors.ts";
import { withRetries, type RetryPolicy } from "../retry.ts";

export interface KafkaEmitSinkOptions {
  /** Retries of a batch whose send failed transiently (default 8 attempts, about 16 s of back-off). */
  readonly retry?: RetryPolicy;
  readonly onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

export type EmitSinkPlan = Extract<SinkPlan, { kind: "emit" }>;

const ACKS: Readonly<Record<string, number>> = { all: -1, "-1": -1, "0": 0, "1": 1 };
const NO_VARS: Vars = Object.freeze({});

interface Outgoing {
  topic: string;
  key?: Buffer;
  value?: Buffer;
  headers?: Map<Buffer, Buffer>;
}

export class KafkaEmitSink implements Sink {
  readonly operatorName = "KafkaEmitOperator";
  private readonly producer: Producer<Buffer, Buffer, Buffer, Buffer>;
  private readonly topic: Evaluator;
  private readonly fixedTopic: string | undefined;
  private readonly key: Evaluator | undefined;
  private readonly keyFormat: KeyFormat;
  private readonly headers: Evaluator | undefined;
  private readonly tombstoneWhen: Evaluator | undefined;
  private readonly format: { outputFormat: OutputFormat; dateFormat: DateFormat };
  private readonly options: KafkaEmitSinkOptions;

  constructor(client: KafkaClientOptions, plan: EmitSinkPlan, options: KafkaEmitSinkOptions = {}) {
    this.options = options;
    const config = (plan.options.config as Doc | undefined) ?? {};
    const evaluators = plan.evaluators ?? {};
    const topic = evaluators.topic;
    if (!topic) throw new Error(`${plan.path}: $emit to Kafka needs a topic`);
    this.topic = topic;
    // A literal topic needs no evaluation per document.
    const literal = plan.options.topic;
    this.fixedTopic =
      typeof literal === "string" && !literal.startsWith("$") && literal !== "" ? literal : undefined;
    this.key = evaluators["config.key"];
    this.keyFormat = (config.keyFormat as KeyFormat | undefined) ?? "binData";
    this.headers = evaluators["config.headers"];
    this.tombstoneWhen = evaluators["config.tombstoneWhen"];
    this.format = {
      outputFormat: (config.outputFormat as OutputFormat | undefined) ?? "relaxedJson",
      dateFormat: (config.dateFormat as DateFormat | undefined) ?? "default",
    };
    this.producer = new Producer({
      ...client,
      acks: ACKS[String(config.acks ?? "all")] ?? -1,
      compression:
        (config.compression_type as "none" | "gzip" | "snappy" | "lz4" | "zstd" | undefined) ?? "none",
      autocreateTopics: true,
    });
  }

  async write(docs: readonly Doc[]): Promise<SinkResult> {
    const failures: Array<{ index: number; message: string }> = [];
    const messages: Outgoing[] = [];
    let bytes = 0;
    docs.forEach((doc, index) => {
      try {
        const message = this.messageFor(doc);
        bytes += message.value?.length ?? 0;
        messages.push(message);
      } catch (error) {
        failures.push({ index, message: (error as Error).message });
      }
    });
    if (messages.length > 0) await this.send(messages);
    return failures.length > 0 ? { bytes, failures } : { bytes };
  }

  private async send(messages: Outgoing[]): Promise<void> {
    try {
      await withRetries(() => this.producer.send({ messages }), isTransientKafkaError, {
        attempts: 8,
        ...this.options.retry,
        onRetry: this.options.onRetry,
      });
    } catch (error) {
      const topics = [...new Set(messages.map((m) => `'${m.topic}'`))].slice(0, 3).join(", ");
      throw kafkaFailure(error, `Kafka $emit to ${topics} failed`);
    }
  }

  async close(): Promise<void> {
    await this.producer.close();
  }

  private messageFor(doc: Doc): Outgoing {
    const vars = doc._stream_meta === undefined ? NO_VARS : { $stream: doc._stream_meta };
    const topic = this.fixedTopic ?? this.topic(doc, vars);
    if (typeof topic !== "string" || topic === "") {
      throw new Error(
        `$emit topic must evaluate to a non-empty string, got ${JSON.stringify(topic) ?? "missing"}`,
      );
    }
    const message: Outgoing = { topic };
    if (this.key) {
      const key = this.key(doc, vars);
      if (key !== undefined && key !== null) message.key = Buffer.from(encodeKey(key, this.keyFormat));
    }
    if (this.headers) {
      const headers = encodeHeaders(this.headers(doc, vars));
      if (headers.length > 0) {
        message.headers = new Map(
          headers.map(([k, v]) => [Buffer.from(k), v ? Buffer.from(v) : Buffer.alloc(0)]),
        );
      }
    }
    if (this.tombstoneWhen) {
      const tombstone = this.tombstoneWhen(doc, vars);
      if (typeof tombstone !== "boolean") throw new Error("tombstoneWhen must evaluate to a boolean");
      if (tombstone) return message;
    }
    message.value = Buffer.from(stringifyExtendedJson(doc, this.format));
    return message;
  }
}
