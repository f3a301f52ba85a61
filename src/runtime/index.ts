/** Public API of the stream runtime. */
export { ProcessorRuntime, type RuntimeOptions } from "./runtime.ts";
export type {
  KafkaPartitionLag,
  Source,
  SourceBatch,
  SourceLag,
  SourceReachability,
  SourceRecord,
} from "./source.ts";
export type { Sink, SinkFailure, SinkResult, SinkWriteContext } from "./sink.ts";
export {
  DEFAULT_CHECKPOINT_INTERVAL_MS,
  MemoryCheckpointStore,
  type Checkpoint,
  type CheckpointInfo,
  type CheckpointStore,
} from "./checkpoint.ts";
export { TwoPhaseCheckpoints, slotKey, type CheckpointSlots } from "./two-phase-checkpoints.ts";
export { ConnectorError, isRetryable } from "./errors.ts";
export {
  ProcessorSupervisor,
  StoppedWhileFailingError,
  type ProcessorParts,
  type SupervisorOptions,
  type SupervisorStatus,
} from "./supervisor.ts";
export {
  JsonLinesDlqWriter,
  lateRecord,
  operatorErrorRecord,
  operatorFailureReason,
  type DlqWriter,
} from "./dlq.ts";
export type { ProcessorStats, OperatorStatsOutput, LatencyStats } from "./stats.ts";
export { systemClock, type Clock, type Item } from "./types.ts";
export type { RunContext } from "./context.ts";
export type { StageRunner } from "./stages.ts";
export { jsonLogger, silentLogger, type Logger } from "./log.ts";
