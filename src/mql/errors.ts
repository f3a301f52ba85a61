/** A spec that cannot be compiled. The message starts with the JSON path of the offending part. */
export class MqlCompileError extends Error {
  override readonly name = "MqlCompileError";
  readonly path: string;
  readonly detail: string;

  constructor(path: string, detail: string) {
    super(path ? `${path}: ${detail}` : detail);
    this.path = path;
    this.detail = detail;
  }
}

/**
 * A failure while evaluating a compiled spec against one document (division by zero, a failed conversion…).
 * The message is MongoDB's own text where it has one; `operator` and `path` locate the failing expression.
 */
export class MqlRuntimeError extends Error {
  override readonly name = "MqlRuntimeError";
  readonly operator: string;
  readonly path: string;
  /** MongoDB's numeric error code where one is known. */
  readonly code: number | undefined;

  constructor(operator: string, path: string, message: string, code?: number) {
    super(message);
    this.operator = operator;
    this.path = path;
    this.code = code;
  }
}
