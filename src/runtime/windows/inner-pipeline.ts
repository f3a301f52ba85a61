import type { CompiledGroup, Doc, Vars } from "../../mql/index.ts";
import type { WindowStagePlan } from "../../pipeline/plan.ts";
import { failDocument, isDocumentError, type RunContext } from "../context.ts";
import { operatorErrorRecord, operatorFailureReason } from "../dlq.ts";
import { createStatelessRunner, isStatelessStage, type StageRunner } from "../stages.ts";
import type { OperatorStats, StatsCollector } from "../stats.ts";
import type { Item } from "../types.ts";
import { groupKeyOf } from "../../mql/group-key.ts";
import type { ItemTableReader, ItemTableWriter } from "./item-table.ts";

/** `_stream_meta.window` of one window instance. */
export interface WindowMeta {
  readonly start: Date;
  readonly end: Date;
  readonly partition?: unknown;
}

/** A document's group key and accumulator inputs, evaluated once even when it joins several windows. */
export interface PreparedEntry {
  readonly key: string;
  readonly id: unknown;
  readonly values: readonly unknown[];
}

interface GroupEntry {
  readonly key: string;
  readonly id: unknown;
  readonly states: unknown[];
  /** Bytes counted for this entry when it was last measured. */
  size: number;
  /** Changed since last measured (queued in `GroupContents.dirty`). */
  dirty: boolean;
}

/** What one open window holds: accumulator state per group key, or the documents themselves. */
export interface WindowContents {
  add(item: Item, prepared: PreparedEntry | undefined): void;
  /** Group keys (incremental `$group`) or buffered documents held. */
  entryCount(): number;
  /** Runs the rest of the inner pipeline and returns the window's results. */
  close(meta: WindowMeta): Item[];
  /** Approximate bytes held; kept up to date incrementally, cheap to call per batch. */
  stateSize(): number;
  /** What a checkpoint needs to rebuild these contents (buffered documents go into `items`). */
  snapshot(items: ItemTableWriter): Doc;
}

const ENTRY_OVERHEAD_BYTES = 16;

/**
 * The window's inner pipeline split where ASP splits it: stateless stages run per document on entry; when the
 * first blocking stage is `$group` it runs incrementally (state per key, no buffered documents); everything
 * else runs over the window's contents when it closes.
 */
export class InnerPipeline {
  private readonly entry: StageRunner[] = [];
  private readonly incremental: { group: CompiledGroup; stats: OperatorStats } | undefined;
  private readonly atClose: Array<(items: Item[], meta: WindowMeta) => Item[]> = [];
  private readonly ctx: RunContext;
  private readonly sourceType: string;

  constructor(
    stages: readonly WindowStagePlan[],
    options: { ctx: RunContext; stats: StatsCollector; sourceType: string; allowIncremental: boolean },
  ) {
    this.ctx = options.ctx;
    this.sourceType = options.sourceType;
    let i = 0;
    for (; i < stages.length; i++) {
      const stage = stages[i];
      if (!isStatelessStage(stage)) break;
      this.entry.push(createStatelessRunner(stage, options.ctx, options.stats));
    }
    const first = stages[i];
    if (first?.kind === "group" && options.allowIncremental) {
      this.incremental = { group: first.group, stats: options.stats.operator(first.operatorName) };
      i++;
    }
    for (; i < stages.length; i++) this.atClose.push(this.closeStep(stages[i], options.stats));
  }

  /** Applies the stateless prefix to arriving documents. */
  enter(items: Item[]): Item[] {
    let current = items;
    for (const runner of this.entry) {
      runner.stats.inputMessageCount += current.length;
      current = runner.process(current) as Item[];
      runner.stats.outputMessageCount += current.length;
    }
    return current;
  }

  /** Evaluates the incremental `$group`'s key and inputs; undefined (after dead-lettering) when that fails. */
  prepare(item: Item): PreparedEntry | undefined | "failed" {
    if (!this.incremental) return undefined;
    const { group, stats } = this.incremental;
    stats.inputMessageCount++;
    try {
      return prepareEntry(group, item);
    } catch (error) {
      failDocument(this.ctx, stats, item, error);
      return "failed";
    }
  }

  /** What the window's contents are made of, to check a checkpoint's state still fits (e.g. `group(n:$sum)`). */
  describeContents(): string {
    if (!this.incremental) return "buffered documents";
    const fields = this.incremental.group.accumulators.map((a) => `${a.field}: ${a.spec.name}`);
    return `$group {${fields.join(", ")}}`;
  }

  /** Rebuilds contents from {@link WindowContents.snapshot} (of a window built for the same plan). */
  restoreContents(state: Doc, items: ItemTableReader): WindowContents {
    if (state.kind === "group") {
      if (!this.incremental) throw new Error("window snapshot holds $group state, but the window buffers");
      return GroupContents.restore(state, this.incremental.group, this.incremental.stats, this);
    }
    return BufferContents.restore(state, items, this);
  }

  newContents(): WindowContents {
    return this.incremental
      ? new GroupContents(this.incremental.group, this.incremental.stats, this)
      : new BufferContents(this);
  }

  /** Contents that buffer documents regardless of `$group` (session windows merge buffers). */
  newBufferContents(): BufferContents {
    return new BufferContents(this);
  }

  /** Runs the stages after the incremental part over a closing window's documents. */
  finish(items: Item[], meta: WindowMeta): Item[] {
    let current = items;
    for (const step of this.atClose) current = step(current, meta);
    return current;
  }

  /**
   * Closes a window's contents. A per-document error escaping the close-time stages (an accumulator's
   * result, a sort) dead-letters the whole window: a record with the window meta and no `doc`, as ASP does.
   */
  closeWindow(contents: WindowContents, meta: WindowMeta, windowStats: OperatorStats): Item[] {
    try {
      return contents.close(meta);
    } catch (error) {
      if (!isDocumentError(error)) throw error;
      this.ctx.deadLetter(
        operatorErrorRecord({
          streamMeta: this.groupMeta(meta),
          reason: operatorFailureReason(windowStats.name, error.message),
          operatorName: windowStats.name,
          doc: undefined,
          processorName: this.ctx.processorName,
          now: this.ctx.clock.now(),
        }),
        windowStats,
      );
      return [];
    }
  }

  /** Variables of the documents a window closes with: `$$NOW` is the processor's clock at the close. */
  closeVars(): Vars {
    return Object.freeze({ NOW: new Date(this.ctx.clock.now()) });
  }

  groupMeta(meta: WindowMeta): Doc {
    return { source: { type: this.sourceType }, window: meta };
  }

  private closeStep(
    stage: WindowStagePlan,
    stats: StatsCollector,
  ): (items: Item[], meta: WindowMeta) => Item[] {
    if (isStatelessStage(stage)) {
      const runner = createStatelessRunner(stage, this.ctx, stats);
      return (items) => {
        runner.stats.inputMessageCount += items.length;
        const out = runner.process(items) as Item[];
        runner.stats.outputMessageCount += out.length;
        return out;
      };
    }
    const op = stats.operator(stage.operatorName);
    switch (stage.kind) {
      case "group":
        return (items, meta) => {
          op.inputMessageCount += items.length;
          const contents = new GroupContents(stage.group, op, this);
          for (const item of items) {
            try {
              contents.add(item, prepareEntry(stage.group, item));
            } catch (error) {
              failDocument(this.ctx, op, item, error);
            }
          }
          return contents.results(meta);
        };
      case "sort":
        return (items) => {
          op.inputMessageCount += items.length;
          op.outputMessageCount += items.length;
          return items.sort((a, b) => stage.compare(a.doc, b.doc));
        };
      case "limit":
        return (items) => {
          op.inputMessageCount += items.length;
          const out = items.slice(0, stage.limit);
          op.outputMessageCount += out.length;
          return out;
        };
      case "count":
        return (items, meta) => {
          op.inputMessageCount += items.length;
          if (items.length === 0) return [];
          op.outputMessageCount++;
          const doc: Doc = { [stage.field]: items.length, _stream_meta: this.groupMeta(meta) };
          return [resultItem(doc, meta, this.closeVars())];
        };
      default:
        throw new Error(`${stage.path}: ${stage.kind} is not supported inside a window by this runtime`);
    }
  }
}

function prepareEntry(group: CompiledGroup, item: Item): PreparedEntry {
  const id = group.key(item.doc, item.vars);
  const values = group.evaluate(item.doc, item.vars);
  return { key: groupKeyOf(id), id: id === undefined ? null : id, values };
}

export function resultItem(doc: Doc, meta: WindowMeta, vars: Vars): Item {
  const t = meta.end.getTime() - 1;
  return { doc, vars, eventTime: t, watermarkBefore: t };
}

/** Incremental `$group`: accumulator states per key. */
class GroupContents implements WindowContents {
  private readonly entries = new Map<string, GroupEntry>();
  /** Entries changed since `stateSize()` last measured them; `bytes` is exact for all the others. */
  private dirty: GroupEntry[] = [];
  private bytes = 0;
  private readonly group: CompiledGroup;
  private readonly stats: OperatorStats;
  private readonly pipeline: InnerPipeline;

  constructor(group: CompiledGroup, stats: OperatorStats, pipeline: InnerPipeline) {
    this.group = group;
    this.stats = stats;
    this.pipeline = pipeline;
  }

  entryCount(): number {
    return this.entries.size;
  }

  add(_item: Item, prepared: PreparedEntry | undefined): void {
    if (!prepared) return;
    let entry = this.entries.get(prepared.key);
    if (!entry) {
      entry = { key: prepared.key, id: prepared.id, states: this.group.initStates(), size: 0, dirty: false };
      this.entries.set(prepared.key, entry);
    }
    if (!entry.dirty) {
      entry.dirty = true;
      this.dirty.push(entry);
    }
    this.group.addValues(entry.states, prepared.values);
  }

  close(meta: WindowMeta): Item[] {
    return this.pipeline.finish(this.results(meta), meta);
  }

  /** One document per key, `{_id, ...accumulators, _stream_meta}`; clears the state. */
  results(meta: WindowMeta): Item[] {
    const accumulators = this.group.accumulators;
    const streamMeta = this.pipeline.groupMeta(meta);
    const vars = this.pipeline.closeVars();
    const out: Item[] = [];
    for (const entry of this.entries.values()) {
      const doc: Doc = { _id: entry.id };
      for (let i = 0; i < accumulators.length; i++)
        doc[accumulators[i].field] = accumulators[i].spec.result(entry.states[i]);
      doc._stream_meta = streamMeta;
      out.push(resultItem(doc, meta, vars));
    }
    this.stats.outputMessageCount += out.length;
    this.entries.clear();
    this.dirty = [];
    this.bytes = 0;
    return out;
  }

  /** Re-measures only the entries that changed since the last call (accumulator `stateSize` may walk arrays). */
  stateSize(): number {
    if (this.dirty.length > 0) {
      for (const entry of this.dirty) {
        this.bytes -= entry.size;
        entry.size = this.measure(entry);
        this.bytes += entry.size;
        entry.dirty = false;
      }
      this.dirty = [];
    }
    return this.bytes;
  }

  snapshot(): Doc {
    const entries: unknown[][] = [];
    for (const entry of this.entries.values()) entries.push([entry.key, entry.id, entry.states]);
    return { kind: "group", entries };
  }

  static restore(
    state: Doc,
    group: CompiledGroup,
    stats: OperatorStats,
    pipeline: InnerPipeline,
  ): GroupContents {
    const contents = new GroupContents(group, stats, pipeline);
    const width = group.accumulators.length;
    for (const [key, id, states] of state.entries as [string, unknown, unknown[]][]) {
      if (states.length !== width)
        throw new Error(`window snapshot has ${states.length} accumulator states per key, expected ${width}`);
      const entry: GroupEntry = { key, id, states, size: 0, dirty: true };
      contents.entries.set(key, entry);
      contents.dirty.push(entry);
    }
    return contents;
  }

  private measure(entry: GroupEntry): number {
    const accumulators = this.group.accumulators;
    let bytes = ENTRY_OVERHEAD_BYTES + entry.key.length;
    for (let i = 0; i < accumulators.length; i++) bytes += accumulators[i].spec.stateSize(entry.states[i]);
    return bytes;
  }
}

/** Buffered documents (no incremental `$group`), emitted or processed at close. */
class BufferContents implements WindowContents {
  private items: Item[] = [];
  private bytes = 0;
  private readonly pipeline: InnerPipeline;

  constructor(pipeline: InnerPipeline) {
    this.pipeline = pipeline;
  }

  entryCount(): number {
    return this.items.length;
  }

  add(item: Item): void {
    this.items.push(item);
    this.bytes += ENTRY_OVERHEAD_BYTES + approximateSize(item.doc);
  }

  /** Moves everything from `other` into this buffer (session merges). */
  absorb(other: BufferContents): void {
    for (const item of other.items) this.items.push(item);
    this.bytes += other.bytes;
  }

  close(meta: WindowMeta): Item[] {
    const items = this.items.map((item) => withWindowMeta(item, meta));
    this.items = [];
    this.bytes = 0;
    return this.pipeline.finish(items, meta);
  }

  stateSize(): number {
    return this.bytes;
  }

  snapshot(items: ItemTableWriter): Doc {
    return { kind: "buffer", items: this.items.map((item) => items.ref(item)), bytes: this.bytes };
  }

  static restore(state: Doc, items: ItemTableReader, pipeline: InnerPipeline): BufferContents {
    const contents = new BufferContents(pipeline);
    contents.items = (state.items as number[]).map((index) => items.item(index));
    contents.bytes = state.bytes as number;
    return contents;
  }
}

export { BufferContents };

function withWindowMeta(item: Item, meta: WindowMeta): Item {
  const current = item.doc._stream_meta;
  const streamMeta =
    current !== null && typeof current === "object"
      ? { ...(current as Doc), window: meta }
      : { window: meta };
  const stream = item.vars.$stream;
  const vars =
    stream !== null && typeof stream === "object"
      ? { ...item.vars, $stream: { ...(stream as Doc), window: meta } }
      : item.vars;
  return {
    doc: { ...item.doc, _stream_meta: streamMeta },
    vars,
    eventTime: item.eventTime,
    watermarkBefore: item.watermarkBefore,
  };
}

/** Cheap size estimate of a buffered document (exact BSON sizing per document would dominate the hot path). */
function approximateSize(doc: Doc): number {
  let bytes = 5;
  for (const key in doc) {
    const value = doc[key];
    bytes += key.length + 2;
    if (typeof value === "string") bytes += value.length + 5;
    else if (value !== null && typeof value === "object" && !(value instanceof Date))
      bytes += approximateSize(value as Doc);
    else bytes += 8;
  }
  return bytes;
}
