import type { OperatorTable } from "../context.ts";

export const objectOperators: OperatorTable = {};
