/** Server write errors that concern one document: which one failed, and ASP's wording for the DLQ. */
import { MongoBulkWriteError } from "mongodb";

/** Index (within the ordered bulk write) of the first document the server rejected, if it was a document error. */
export function bulkFailureIndex(error: unknown): number | undefined {
  if (!(error instanceof MongoBulkWriteError)) return undefined;
  const first = error.writeErrors;
  const list = Array.isArray(first) ? first : [first];
  return list.length > 0 ? list[0].index : undefined;
}

interface ServerErrorLike {
  code?: number;
  codeName?: string;
  errmsg?: string;
  message?: string;
  writeErrors?: unknown;
}

/** ASP's wording: `code = <CodeName>, reason = <server message>`. */
export function writeErrorMessage(error: unknown): string {
  let e = error as ServerErrorLike;
  if (error instanceof MongoBulkWriteError) {
    const list = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
    const first = list[0] as unknown as { code?: number; errmsg?: string };
    e = { code: first.code, errmsg: first.errmsg };
  }
  const name = e.codeName ?? CODE_NAMES[e.code ?? -1] ?? `Location${e.code ?? "Unknown"}`;
  return `code = ${name}, reason = ${e.errmsg ?? e.message ?? String(error)}`;
}

export function isPerDocumentError(error: unknown): boolean {
  const code = (error as ServerErrorLike).code;
  return typeof code === "number" && PER_DOCUMENT_CODES.has(code);
}

/**
 * A refusal of one document that a later attempt may not meet: a duplicate key (an upsert racing another
 * writer, or a unique value another document is about to give up) or a write conflict.
 */
export function isRetryableDocumentError(error: unknown): boolean {
  let code = (error as ServerErrorLike).code;
  if (error instanceof MongoBulkWriteError) {
    const list = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
    code = (list[0] as unknown as { code?: number } | undefined)?.code;
  }
  return typeof code === "number" && RETRYABLE_DOCUMENT_CODES.has(code);
}

const RETRYABLE_DOCUMENT_CODES: ReadonlySet<number> = new Set([11000, 112]);

const CODE_NAMES: Readonly<Record<number, string>> = {
  2: "BadValue",
  10: "BSONObjectTooLarge",
  11000: "DuplicateKey",
  121: "DocumentValidationFailure",
  66: "ImmutableField",
  9: "FailedToParse",
  14: "TypeMismatch",
  52: "DollarPrefixedFieldName",
  17419: "Location17419",
};

/** Server errors that concern one document, not the connection. */
const PER_DOCUMENT_CODES: ReadonlySet<number> = new Set([2, 9, 10, 14, 52, 66, 121, 11000, 17419, 17280]);
