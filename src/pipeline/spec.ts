import { bsonTypeOf, isPlainObject, toJsNumber } from "../mql/bson-types.ts";
import type { Doc } from "../mql/index.ts";
import type { IssueList } from "./errors.ts";

/**
 * A strict reader over one options document (ASP parses stage options with IDL `strict: true`): unknown
 * fields, wrong types and missing required fields are reported in the server's IDL wording, each with its
 * JSON path. Readers return `undefined` after reporting, so a stage can keep checking its other fields.
 */
export class Spec {
  /** JSON path of this document, e.g. `pipeline[2].$tumblingWindow.interval`. */
  readonly path: string;
  /** IDL context used in messages, e.g. `$tumblingWindow.interval`. */
  readonly ctx: string;
  readonly value: Doc;
  readonly issues: IssueList;
  /** `issues.size` right after `open` reported the unknown fields. */
  private issuesAtOpen = 0;

  private constructor(value: Doc, path: string, ctx: string, issues: IssueList) {
    this.value = value;
    this.path = path;
    this.ctx = ctx;
    this.issues = issues;
  }

  /** Opens `value` as an options document with the given fields, reporting any other field. */
  static open(
    value: unknown,
    path: string,
    ctx: string,
    issues: IssueList,
    allowed: readonly string[],
  ): Spec | undefined {
    if (!isPlainObject(value)) {
      issues.add(path, wrongType(ctx, value, "object"));
      return undefined;
    }
    const spec = new Spec(value, path, ctx, issues);
    for (const field of Object.keys(value)) {
      if (!allowed.includes(field))
        spec.error(field, `BSON field '${spec.fieldCtx(field)}' is an unknown field.`);
    }
    spec.issuesAtOpen = issues.size;
    return spec;
  }

  /** True once any issue was reported after `open` (its own unknown-field reports do not count). */
  hasIssuesSinceOpen(): boolean {
    return this.issues.size > this.issuesAtOpen;
  }

  has(field: string): boolean {
    return this.value[field] !== undefined;
  }

  raw(field: string): unknown {
    return this.value[field];
  }

  fieldPath(field: string): string {
    return this.path ? `${this.path}.${field}` : field;
  }

  fieldCtx(field: string): string {
    return this.ctx ? `${this.ctx}.${field}` : field;
  }

  /** Reports a problem with `field` (or with this document when `field` is undefined). */
  error(field: string | undefined, message: string): undefined {
    this.issues.add(field === undefined ? this.path : this.fieldPath(field), message);
    return undefined;
  }

  missing(field: string): undefined {
    return this.error(field, `BSON field '${this.fieldCtx(field)}' is missing but a required field`);
  }

  wrongType(field: string, expected: string): undefined {
    return this.error(field, wrongType(this.fieldCtx(field), this.value[field], expected));
  }

  string(field: string, required = false): string | undefined {
    const value = this.value[field];
    if (value === undefined) return required ? this.missing(field) : undefined;
    if (typeof value !== "string") return this.wrongType(field, "string");
    return value;
  }

  bool(field: string): boolean | undefined {
    const value = this.value[field];
    if (value === undefined) return undefined;
    if (typeof value !== "boolean") return this.wrongType(field, "bool");
    return value;
  }

  /** An integral number (int, long or an integral double, as IDL's `safeInt` accepts). */
  int(field: string, required = false): number | undefined {
    const value = this.value[field];
    if (value === undefined) return required ? this.missing(field) : undefined;
    const type = bsonTypeOf(value);
    if (type !== "int" && type !== "long" && type !== "double" && type !== "decimal")
      return this.wrongType(field, "int");
    const n = toJsNumber(value);
    if (!Number.isInteger(n))
      return this.error(field, `BSON field '${this.fieldCtx(field)}' must be an integer, got ${n}`);
    return n;
  }

  /** A string from a fixed set (IDL enumeration). */
  enumOf<T extends string>(field: string, values: readonly T[], required = false): T | undefined {
    const value = this.string(field, required);
    if (value === undefined) return undefined;
    if (!(values as readonly string[]).includes(value)) {
      return this.error(
        field,
        `Enumeration value '${value}' for field '${this.fieldCtx(field)}' is not a valid value.`,
      );
    }
    return value as T;
  }

  /** A nested options document with its own strict field list. */
  object(field: string, allowed: readonly string[], required = false): Spec | undefined {
    const value = this.value[field];
    if (value === undefined) return required ? this.missing(field) : undefined;
    return Spec.open(value, this.fieldPath(field), this.fieldCtx(field), this.issues, allowed);
  }

  /** A plain document whose fields are not checked (e.g. a query filter or an expression object). */
  doc(field: string, required = false): Doc | undefined {
    const value = this.value[field];
    if (value === undefined) return required ? this.missing(field) : undefined;
    if (!isPlainObject(value)) return this.wrongType(field, "object");
    return value;
  }

  array(field: string, required = false): unknown[] | undefined {
    const value = this.value[field];
    if (value === undefined) return required ? this.missing(field) : undefined;
    if (!Array.isArray(value)) return this.wrongType(field, "array");
    return value;
  }

  /** A string or an array of strings (e.g. Kafka `topic`, change-stream `coll`). */
  stringOrStrings(field: string, required = false): string | string[] | undefined {
    const value = this.value[field];
    if (value === undefined) return required ? this.missing(field) : undefined;
    if (typeof value === "string") return value;
    if (Array.isArray(value)) {
      let ok = true;
      value.forEach((item, i) => {
        if (typeof item !== "string") {
          this.issues.add(
            `${this.fieldPath(field)}[${i}]`,
            wrongType(`${this.fieldCtx(field)}.${i}`, item, "string"),
          );
          ok = false;
        }
      });
      return ok ? (value as string[]) : undefined;
    }
    return this.wrongType(field, "[string, array]");
  }
}

/** IDL's type-mismatch message. */
export function wrongType(ctx: string, value: unknown, expected: string): string {
  const label = expected.startsWith("[") ? "types" : "type";
  return `BSON field '${ctx}' is the wrong type '${bsonTypeOf(value)}', expected ${label} '${expected}'`;
}
