import type { OperatorTable } from "../context.ts";

export const typeOperators: OperatorTable = {};
