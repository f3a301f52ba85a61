import type { OperatorTable } from "../context.ts";

export const arrayOperators: OperatorTable = {};
