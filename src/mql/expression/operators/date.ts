import type { OperatorTable } from "../context.ts";

export const dateOperators: OperatorTable = {};
