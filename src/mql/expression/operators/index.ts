import type { OperatorTable } from "../context.ts";
import { arithmeticOperators } from "./arithmetic.ts";
import { arrayOperators } from "./array.ts";
import { bitwiseOperators } from "./bitwise.ts";
import { booleanOperators } from "./boolean.ts";
import { comparisonOperators } from "./comparison.ts";
import { conditionalOperators } from "./conditional.ts";
import { dateOperators } from "./date.ts";
import { objectOperators } from "./object.ts";
import { setOperators } from "./set.ts";
import { streamOperators } from "./stream.ts";
import { stringOperators } from "./string.ts";
import { typeOperators } from "./type.ts";
import { variableOperators } from "./variable.ts";

/** Every expression operator Eddy knows, by name. */
export const OPERATORS: OperatorTable = {
  ...arithmeticOperators,
  ...arrayOperators,
  ...bitwiseOperators,
  ...booleanOperators,
  ...comparisonOperators,
  ...conditionalOperators,
  ...dateOperators,
  ...objectOperators,
  ...setOperators,
  ...streamOperators,
  ...stringOperators,
  ...typeOperators,
  ...variableOperators,
};
