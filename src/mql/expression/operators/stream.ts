import type { OperatorTable } from "../context.ts";

export const streamOperators: OperatorTable = {};
