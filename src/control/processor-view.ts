/** A processor as the API shows it: its stored record, its live or last supervisor status, secrets redacted. */
import type { Doc } from "../mql/index.ts";
import type { SupervisorStatus } from "../runtime/supervisor.ts";
import type { ProcessorState } from "./lifecycle.ts";
import type { ProcessorRecord } from "./processor-registry.ts";
import type { Redactor } from "./redactor.ts";

export interface ProcessorView {
  readonly id: string;
  readonly name: string;
  readonly workspace: string;
  readonly pipeline: readonly unknown[];
  readonly options: Doc;
  readonly state: ProcessorState;
  readonly createdAt: string;
  readonly lastModified: string;
  readonly lastStateChange: string;
  readonly errorMsg?: string;
  readonly status?: SupervisorStatus;
}

export function processorView(
  record: ProcessorRecord,
  status: SupervisorStatus | undefined,
  redactor: Redactor,
): ProcessorView {
  return {
    id: record.id,
    name: record.name,
    workspace: record.workspace,
    pipeline: record.pipeline,
    options: record.options,
    state: record.state,
    createdAt: record.createdAt.toISOString(),
    lastModified: record.lastModified.toISOString(),
    lastStateChange: record.lastStateChange.toISOString(),
    ...(record.errorMsg !== undefined ? { errorMsg: redactor.redact(record.errorMsg) } : {}),
    ...(status ? { status } : {}),
  };
}
