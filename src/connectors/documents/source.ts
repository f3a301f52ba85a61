import { calculateObjectSize } from "bson";
import { isPlainObject, type Doc, type Evaluator } from "../../mql/index.ts";
import type { Clock, Source, SourceBatch } from "../../runtime/index.ts";
import { systemClock } from "../../runtime/index.ts";
import { ConnectorError } from "../../runtime/errors.ts";

export const NOT_AN_ARRAY = "The documents list expression does not evaluate to an array.";
export const NOT_AN_ARRAY_OF_OBJECTS =
  "The documents list expression does not evaluate to an array of objects.";

/** Raised by `start()` when `documents` does not produce an array of objects (the processor fails, no retry). */
export class DocumentsSourceError extends ConnectorError {
  override readonly name = "DocumentsSourceError";

  constructor(message: string) {
    super(message, { retryable: false });
  }
}

/**
 * `$source: {documents: [...]}`: the inline array (or an expression evaluated once at start) handed over in
 * batches. Source type `generated`; each document's timestamp is the wall clock when it is read.
 */
export class DocumentsSource implements Source {
  readonly type = "generated";
  readonly operatorName = "DocumentsDataSourceOperator";
  readonly timestampIsReadTime = true;
  private readonly spec: readonly Doc[] | Evaluator;
  private readonly batchSize: number;
  private readonly clock: Clock;
  private docs: readonly Doc[] = [];
  private position = 0;

  /** `position` resumes after that many documents (a checkpoint's `positions().position`). */
  constructor(
    documents: readonly Doc[] | Evaluator,
    options: { batchSize?: number; clock?: Clock; position?: number } = {},
  ) {
    this.spec = documents;
    this.position = options.position ?? 0;
    this.batchSize = options.batchSize ?? 1000;
    this.clock = options.clock ?? systemClock;
  }

  async start(): Promise<void> {
    const value = typeof this.spec === "function" ? this.spec({}, {}) : this.spec;
    if (!Array.isArray(value)) throw new DocumentsSourceError(NOT_AN_ARRAY);
    if (!value.every((doc) => isPlainObject(doc))) throw new DocumentsSourceError(NOT_AN_ARRAY_OF_OBJECTS);
    this.docs = value as Doc[];
  }

  async next(): Promise<SourceBatch | undefined> {
    if (this.position >= this.docs.length) return undefined;
    const end = Math.min(this.docs.length, this.position + this.batchSize);
    const now = this.clock.now();
    const records = [];
    for (let i = this.position; i < end; i++) {
      // A shallow copy: the runtime adds `_ts` and `_stream_meta` and the inline array must stay untouched.
      const doc = { ...this.docs[i] };
      records.push({ doc, partition: 0, timestamp: now, meta: undefined, size: calculateObjectSize(doc) });
    }
    this.position = end;
    return { records };
  }

  positions(): Doc {
    return { position: this.position };
  }

  async close(): Promise<void> {}
}
