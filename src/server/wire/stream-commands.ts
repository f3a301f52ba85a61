/**
 * The commands mongosh's `sp` sends to `admin` (shell-api `streams.ts`, `stream-processor.ts`), each a thin
 * translation to a control-plane call in the connection's workspace, answered in ASP's shapes.
 */
import { randomBytes } from "node:crypto";
import type { Document } from "bson";
import type { ProcessorView } from "../../control/processor-manager.ts";
import { compileQuery, isPlainObject, MqlCompileError, type Doc } from "../../mql/index.ts";
import { connection } from "../connection-shape.ts";
import { badValue } from "./command-error.ts";
import type { CommandContext, CommandTable } from "./command-types.ts";

const name = (command: Document, key: string): string => {
  const value = command[key];
  if (typeof value !== "string" || value === "") throw badValue(`${key} needs the processor's name`);
  return value;
};

/** Options mongosh passes either at the top level (`start({...})`) or under `options` (the docs' form). */
const optionsOf = (command: Document): Document => ({
  ...command,
  ...(isPlainObject(command.options) ? (command.options as Document) : {}),
});

const pipelineOf = (value: unknown, field: string): unknown[] => {
  if (!Array.isArray(value)) throw badValue(`${field} must be an array of stages`);
  return value;
};

/** A processor as `listStreamProcessors` shows it (ASP's field names). */
function listed(view: ProcessorView): Document {
  return {
    id: view.id,
    name: view.name,
    state: view.state,
    pipeline: view.pipeline,
    ...(Object.keys(view.options).length > 0 ? { options: view.options } : {}),
    last_modified: new Date(view.lastModified),
    lastStateChange: new Date(view.lastStateChange),
    ...(view.errorMsg !== undefined ? { error_msg: view.errorMsg } : {}),
  };
}

function filterOf(filter: unknown): (doc: Doc) => boolean {
  if (filter === undefined || filter === null) return () => true;
  try {
    return compileQuery(filter, { path: "filter" });
  } catch (error) {
    if (error instanceof MqlCompileError) throw badValue(error.message);
    throw error;
  }
}

/** `sp.process()`'s temporary processor: mongosh drops it when it is done, else it goes when its cursor expires. */
async function processPipeline(command: Document, ctx: CommandContext): Promise<Document> {
  const pipeline = pipelineOf(command.processStreamProcessor, "processStreamProcessor");
  const processorName = `process-${randomBytes(6).toString("hex")}`;
  const options = isPlainObject(command.options) ? (command.options as Doc) : {};
  const { processors } = ctx.plane;
  await processors.create(ctx.workspace, { name: processorName, pipeline, options }, { ephemeral: true });
  try {
    await processors.start(ctx.workspace, processorName);
  } catch (error) {
    await processors.drop(ctx.workspace, processorName).catch(() => undefined);
    throw error;
  }
  const cursorId = await ctx.cursors.open(ctx.workspace, processorName, { fromStart: true, ephemeral: true });
  return { ok: 1, name: processorName, cursorId };
}

export const STREAM_COMMANDS: CommandTable = {
  createStreamProcessor: {
    run: async (command, ctx) => {
      const definition = {
        name: name(command, "createStreamProcessor"),
        pipeline: pipelineOf(command.pipeline, "pipeline"),
        ...(command.options !== undefined ? { options: command.options } : {}),
      };
      await ctx.plane.processors.create(ctx.workspace, definition);
      return { ok: 1 };
    },
  },
  processStreamProcessor: { run: processPipeline },
  startStreamProcessor: {
    run: async (command, ctx) => {
      const options = optionsOf(command);
      await ctx.plane.processors.start(ctx.workspace, name(command, "startStreamProcessor"), {
        ...(typeof options.resumeFromCheckpoint === "boolean"
          ? { resumeFromCheckpoint: options.resumeFromCheckpoint }
          : {}),
        ...(options.startAtOperationTime !== undefined
          ? { startAtOperationTime: options.startAtOperationTime }
          : {}),
        ...(isPlainObject(options.startAfter) ? { startAfter: options.startAfter as Doc } : {}),
      });
      return { ok: 1 };
    },
  },
  stopStreamProcessor: {
    run: async (command, ctx) => {
      await ctx.plane.processors.stop(ctx.workspace, name(command, "stopStreamProcessor"));
      return { ok: 1 };
    },
  },
  dropStreamProcessor: {
    run: async (command, ctx) => {
      const processor = name(command, "dropStreamProcessor");
      await ctx.plane.processors.drop(ctx.workspace, processor);
      return { ok: 1 };
    },
  },
  modifyStreamProcessor: {
    run: async (command, ctx) => {
      const options = optionsOf(command);
      const processorOptions: Doc = {};
      if (options.dlq !== undefined) processorOptions.dlq = options.dlq;
      await ctx.plane.processors.modify(ctx.workspace, name(command, "modifyStreamProcessor"), {
        ...(typeof command.name === "string" ? { name: command.name } : {}),
        ...(options.pipeline !== undefined ? { pipeline: pipelineOf(options.pipeline, "pipeline") } : {}),
        ...(Object.keys(processorOptions).length > 0 ? { options: processorOptions } : {}),
        ...(typeof options.resumeFromCheckpoint === "boolean"
          ? { resumeFromCheckpoint: options.resumeFromCheckpoint }
          : {}),
      });
      return { ok: 1 };
    },
  },
  getStreamProcessorStats: {
    run: async (command, ctx) => {
      const options = optionsOf(command);
      const scale = options.scale === undefined ? 1 : Number(options.scale);
      if (!Number.isInteger(scale) || scale < 1) throw badValue("scale must be a positive integer");
      return ctx.plane.processors.stats(ctx.workspace, name(command, "getStreamProcessorStats"), {
        verbose: options.verbose === true,
        scale,
      });
    },
  },
  startSampleStreamProcessor: {
    run: async (command, ctx) => {
      const processor = name(command, "startSampleStreamProcessor");
      const { limit } = optionsOf(command);
      if (limit !== undefined && !(Number.isInteger(Number(limit)) && Number(limit) > 0)) {
        throw badValue("limit must be a positive integer");
      }
      await ctx.plane.processors.get(ctx.workspace, processor);
      return {
        ok: 1,
        cursorId: await ctx.cursors.open(
          ctx.workspace,
          processor,
          limit !== undefined ? { limit: Number(limit) } : {},
        ),
      };
    },
  },
  getMoreSampleStreamProcessor: {
    run: async (command, ctx) => {
      const page = await ctx.cursors.next(
        command.cursorId,
        name(command, "getMoreSampleStreamProcessor"),
        ctx.signal,
      );
      return { ok: 1, messages: page.messages, cursorId: page.cursorId };
    },
  },
  listStreamProcessors: {
    run: async (command, ctx) => {
      const matches = filterOf(command.filter);
      const all = (await ctx.plane.processors.list(ctx.workspace)).map(listed);
      return { ok: 1, streamProcessors: all.filter((doc) => matches(doc as Doc)) };
    },
  },
  listStreamConnections: {
    run: async (command, ctx) => {
      const matches = filterOf(command.filter);
      const all = (await ctx.plane.listConnections(ctx.workspace)).map(connection);
      return { ok: 1, connections: all.filter((doc) => matches(doc)) };
    },
  },
  listWorkspaceDefaults: {
    // Eddy has no tiers: a processor gets what its server has.
    run: async () => ({ ok: 1, defaultTierSize: "SP10", maxTierSize: "SP50" }),
  },
};
