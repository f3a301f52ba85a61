import type { Doc, Vars } from "../mql/index.ts";

/** Wall-clock time source, injectable so tests can run timers (idleTimeout, processing time) deterministically. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/**
 * One document travelling through the pipeline. `vars` is what expressions receive (`vars.$stream` holds the
 * per-document stream metadata once `$setStreamMeta` wrote to it); `eventTime` and `watermarkBefore` come
 * from the source and drive windows.
 */
export interface Item {
  doc: Doc;
  vars: Vars;
  /** Event time in epoch ms (`timeField` value, else the source's timestamp). */
  eventTime: number;
  /** Combined source watermark just before this document was read (epoch ms). */
  watermarkBefore: number;
  /** Where the document came from, stable across replays (see replay-ids.ts); set by the runtime. */
  origin?: string;
}

/** Shared variables object for documents without per-document metadata (never mutated). */
export const NO_VARS: Vars = Object.freeze({}) as Vars;
