import type { OperatorTable } from "../context.ts";

export const arithmeticOperators: OperatorTable = {};
