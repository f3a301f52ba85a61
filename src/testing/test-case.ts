/**
 * The test-case model of `sp test` (docs/testing-processors.md) and its parser: a test file's JSON,
 * already read as relaxed Extended JSON, turned into typed cases. Every problem is reported with its JSON
 * path, all at once (a PlanError, as for processor definitions).
 */
import { EJSON } from "bson";
import { isPlainObject, type Doc } from "../mql/index.ts";
import { IssueList, typeName } from "../pipeline/errors.ts";

/** One step of a case, run in order against the virtual clock. */
export type TestStep =
  | {
      /** Documents the source delivers in one batch. */
      readonly kind: "input";
      readonly docs: readonly Doc[];
      /** The source's timestamp for them (epoch ms); default the virtual clock. The clock moves to it. */
      readonly time: number | undefined;
      /** Source partition (Kafka partition…); default 0. */
      readonly partition: string | number;
    }
  /** The virtual clock moves forward (idle timeouts, processing-time windows, `$$NOW`). */
  | { readonly kind: "advance"; readonly ms: number }
  /** The source declares a watermark: event-time windows ending before it close. */
  | { readonly kind: "watermark"; readonly time: number };

/** A fixed `$https` answer for the requests it matches. */
export interface HttpsStub {
  readonly request: {
    readonly method: string | undefined;
    /** The path after the connection's base URL (e.g. `/weather`); undefined: any. */
    readonly path: string | undefined;
    /** Query parameters that must be present with these values. */
    readonly query: Readonly<Record<string, string>> | undefined;
    /** The request body must contain these fields (subset match). */
    readonly body: Doc | undefined;
  };
  readonly response: {
    readonly status: number;
    readonly body: unknown;
    readonly headers: Readonly<Record<string, string>>;
  };
}

export interface TestStubs {
  readonly https: readonly HttpsStub[];
  /** `$lookup`/`$cachedLookup` foreign collections, keyed `db.coll`. */
  readonly collections: Readonly<Record<string, readonly Doc[]>>;
}

/** How a list of expected documents is compared with what the processor produced. */
export interface Expectation {
  readonly docs: readonly Doc[];
  /** `exact`: the same fields; `subset`: the expected fields must be there, others are ignored. */
  readonly match: "exact" | "subset";
  /** Dotted paths left out of the comparison on both sides. */
  readonly ignoreFields: readonly string[];
  /** False: any order. */
  readonly ordered: boolean;
}

export interface TestCase {
  readonly name: string;
  /** Virtual clock at the start (epoch ms). */
  readonly start: number;
  readonly steps: readonly TestStep[];
  readonly stubs: TestStubs;
  /** End of input closes every open window (as a finite source does); default false: only the watermark does. */
  readonly flush: boolean;
  readonly output: Expectation | undefined;
  /** Expected documents per sink target (`db.coll`, Kafka topic): for a `$merge` into `coll: "$field"`… */
  readonly targets: Readonly<Record<string, Expectation>>;
  readonly dlq: Expectation | undefined;
}

/** Where the virtual clock starts when a case does not say. */
export const DEFAULT_START = Date.UTC(2026, 0, 1);

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/;
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

const CASE_KEYS = new Set(["name", "start", "steps", "input", "stubs", "flush", "expect"]);
const STEP_KEYS = new Set(["input", "time", "partition", "advance", "watermark"]);

/**
 * Parses the cases of a test file (`cases[...]`); throws a PlanError with every problem. Extended JSON
 * (`{"$date": …}`, `{"$oid": …}`) is read as BSON values, whether `value` is parsed text or objects.
 */
export function parseCases(input: unknown, path = "cases"): TestCase[] {
  const value: unknown =
    input === undefined
      ? undefined
      : EJSON.parse(EJSON.stringify(input, { relaxed: true }), { relaxed: true });
  const issues = new IssueList();
  const cases: TestCase[] = [];
  if (!Array.isArray(value) || value.length === 0) {
    issues.add(path, `expected a non-empty array of test cases, got ${typeName(value)}`);
  } else {
    value.forEach((raw, i) => {
      const parsed = parseCase(raw, `${path}[${i}]`, issues);
      if (parsed) cases.push(parsed);
    });
  }
  issues.throwIfAny();
  return cases;
}

export function parseCase(raw: unknown, path: string, issues: IssueList): TestCase | undefined {
  if (!isPlainObject(raw)) {
    issues.add(path, `expected a test case object, got ${typeName(raw)}`);
    return undefined;
  }
  for (const key of Object.keys(raw))
    if (!CASE_KEYS.has(key))
      issues.add(`${path}.${key}`, `unknown field (expected one of ${[...CASE_KEYS].join(", ")})`);
  const name = typeof raw.name === "string" && raw.name !== "" ? raw.name : undefined;
  if (name === undefined)
    issues.add(`${path}.name`, `expected a non-empty string, got ${typeName(raw.name)}`);
  const start = raw.start === undefined ? DEFAULT_START : readTime(raw.start, `${path}.start`, issues);
  if (raw.steps !== undefined && raw.input !== undefined)
    issues.add(`${path}.input`, "give either steps or input (a shorthand for one input step), not both");
  const steps =
    raw.input !== undefined
      ? [readStep({ input: raw.input }, `${path}.input`, issues, true)]
      : readSteps(raw.steps, `${path}.steps`, issues);
  if (raw.flush !== undefined && typeof raw.flush !== "boolean")
    issues.add(`${path}.flush`, `expected true or false, got ${typeName(raw.flush)}`);
  const stubs = readStubs(raw.stubs, `${path}.stubs`, issues);
  const expect = isPlainObject(raw.expect) ? raw.expect : undefined;
  if (!expect)
    issues.add(`${path}.expect`, `expected {output?, targets?, dlq?}, got ${typeName(raw.expect)}`);
  else
    for (const key of Object.keys(expect))
      if (key !== "output" && key !== "dlq" && key !== "targets")
        issues.add(`${path}.expect.${key}`, "unknown field (output, targets, dlq)");
  const output =
    expect?.output === undefined
      ? undefined
      : readExpectation(expect.output, `${path}.expect.output`, "exact", issues);
  const targets: Record<string, Expectation> = {};
  if (expect?.targets !== undefined) {
    if (!isPlainObject(expect.targets))
      issues.add(
        `${path}.expect.targets`,
        `expected {"db.coll" or topic: documents}, got ${typeName(expect.targets)}`,
      );
    else
      for (const [target, raw] of Object.entries(expect.targets)) {
        const expectation = readExpectation(raw, `${path}.expect.targets.${target}`, "exact", issues);
        if (expectation) targets[target] = expectation;
      }
  }
  const dlq =
    expect?.dlq === undefined
      ? undefined
      : readExpectation(expect.dlq, `${path}.expect.dlq`, "subset", issues);
  if (expect && expect.output === undefined && expect.dlq === undefined && expect.targets === undefined)
    issues.add(`${path}.expect`, "expect at least one of output, targets, dlq");
  if (name === undefined || start === undefined || steps.some((s) => s === undefined) || !stubs)
    return undefined;
  return {
    name,
    start,
    steps: steps as TestStep[],
    stubs,
    flush: raw.flush === true,
    output,
    targets,
    dlq,
  };
}

function readSteps(raw: unknown, path: string, issues: IssueList): Array<TestStep | undefined> {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) {
    issues.add(path, `expected an array of steps, got ${typeName(raw)}`);
    return [undefined];
  }
  return raw.map((step, i) => readStep(step, `${path}[${i}]`, issues, false));
}

function readStep(raw: unknown, path: string, issues: IssueList, shorthand: boolean): TestStep | undefined {
  if (!isPlainObject(raw)) {
    issues.add(path, `expected {input} | {advance} | {watermark}, got ${typeName(raw)}`);
    return undefined;
  }
  for (const key of Object.keys(raw))
    if (!STEP_KEYS.has(key))
      issues.add(`${path}.${key}`, "unknown field (input, time, partition, advance, watermark)");
  const kinds = ["input", "advance", "watermark"].filter((k) => raw[k] !== undefined);
  if (kinds.length !== 1) {
    issues.add(path, "a step has exactly one of input, advance, watermark");
    return undefined;
  }
  if (raw.advance !== undefined) {
    const ms = readDurationMs(raw.advance, `${path}.advance`, issues);
    return ms === undefined ? undefined : { kind: "advance", ms };
  }
  if (raw.watermark !== undefined) {
    const time = readTime(raw.watermark, `${path}.watermark`, issues);
    return time === undefined ? undefined : { kind: "watermark", time };
  }
  const docsPath = shorthand ? path : `${path}.input`;
  if (!Array.isArray(raw.input) || !raw.input.every(isPlainObject)) {
    issues.add(docsPath, `expected an array of documents, got ${typeName(raw.input)}`);
    return undefined;
  }
  const time = raw.time === undefined ? undefined : readTime(raw.time, `${path}.time`, issues);
  const partition = raw.partition ?? 0;
  if (typeof partition !== "string" && typeof partition !== "number") {
    issues.add(`${path}.partition`, `expected a string or a number, got ${typeName(partition)}`);
    return undefined;
  }
  return { kind: "input", docs: raw.input as Doc[], time, partition };
}

function readStubs(raw: unknown, path: string, issues: IssueList): TestStubs | undefined {
  if (raw === undefined) return { https: [], collections: {} };
  if (!isPlainObject(raw)) {
    issues.add(path, `expected {https?, collections?}, got ${typeName(raw)}`);
    return undefined;
  }
  for (const key of Object.keys(raw))
    if (key !== "https" && key !== "collections")
      issues.add(`${path}.${key}`, "unknown field (https, collections)");
  const https: HttpsStub[] = [];
  if (raw.https !== undefined) {
    if (!Array.isArray(raw.https))
      issues.add(`${path}.https`, `expected an array, got ${typeName(raw.https)}`);
    else
      raw.https.forEach((stub, i) => {
        const parsed = readHttpsStub(stub, `${path}.https[${i}]`, issues);
        if (parsed) https.push(parsed);
      });
  }
  const collections: Record<string, Doc[]> = {};
  if (raw.collections !== undefined) {
    if (!isPlainObject(raw.collections))
      issues.add(
        `${path}.collections`,
        `expected {"db.coll": [documents]}, got ${typeName(raw.collections)}`,
      );
    else
      for (const [ns, docs] of Object.entries(raw.collections)) {
        if (!ns.includes("."))
          issues.add(`${path}.collections.${ns}`, "expected a db.coll namespace as the key");
        else if (!Array.isArray(docs) || !docs.every(isPlainObject))
          issues.add(`${path}.collections.${ns}`, `expected an array of documents, got ${typeName(docs)}`);
        else collections[ns] = docs as Doc[];
      }
  }
  return { https, collections };
}

function readHttpsStub(raw: unknown, path: string, issues: IssueList): HttpsStub | undefined {
  if (!isPlainObject(raw) || !isPlainObject(raw.response)) {
    issues.add(
      path,
      "expected {request?: {method?, path?, query?, body?}, response: {status?, body?, headers?}}",
    );
    return undefined;
  }
  const request = raw.request === undefined ? {} : raw.request;
  if (!isPlainObject(request)) {
    issues.add(`${path}.request`, `expected an object, got ${typeName(request)}`);
    return undefined;
  }
  const strings = (value: unknown, at: string): Record<string, string> | undefined => {
    if (value === undefined) return undefined;
    if (
      isPlainObject(value) &&
      Object.values(value).every((v) => typeof v === "string" || typeof v === "number")
    )
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, String(v)]));
    issues.add(at, `expected an object of strings, got ${typeName(value)}`);
    return undefined;
  };
  const status = raw.response.status ?? 200;
  if (typeof status !== "number" || !Number.isInteger(status) || status < 200 || status > 599)
    issues.add(`${path}.response.status`, `expected an HTTP status (200-599), got ${String(status)}`);
  for (const key of ["method", "path"] as const)
    if (request[key] !== undefined && typeof request[key] !== "string")
      issues.add(`${path}.request.${key}`, `expected a string, got ${typeName(request[key])}`);
  if (request.body !== undefined && !isPlainObject(request.body))
    issues.add(
      `${path}.request.body`,
      `expected an object (matched as a subset), got ${typeName(request.body)}`,
    );
  return {
    request: {
      method: typeof request.method === "string" ? request.method.toUpperCase() : undefined,
      path: typeof request.path === "string" ? request.path : undefined,
      query: strings(request.query, `${path}.request.query`),
      body: isPlainObject(request.body) ? request.body : undefined,
    },
    response: {
      status: typeof status === "number" ? status : 200,
      body: raw.response.body,
      headers: strings(raw.response.headers, `${path}.response.headers`) ?? {},
    },
  };
}

function readExpectation(
  raw: unknown,
  path: string,
  defaultMatch: "exact" | "subset",
  issues: IssueList,
): Expectation | undefined {
  const spec = Array.isArray(raw) ? { docs: raw } : raw;
  if (!isPlainObject(spec)) {
    issues.add(
      path,
      `expected an array of documents or {docs, match?, ignoreFields?, ordered?}, got ${typeName(raw)}`,
    );
    return undefined;
  }
  for (const key of Object.keys(spec))
    if (!["docs", "match", "ignoreFields", "ordered"].includes(key))
      issues.add(`${path}.${key}`, "unknown field (docs, match, ignoreFields, ordered)");
  const docsPath = Array.isArray(raw) ? path : `${path}.docs`;
  if (!Array.isArray(spec.docs) || !spec.docs.every(isPlainObject)) {
    issues.add(docsPath, `expected an array of documents, got ${typeName(spec.docs)}`);
    return undefined;
  }
  const match = spec.match ?? defaultMatch;
  if (match !== "exact" && match !== "subset") issues.add(`${path}.match`, `expected "exact" or "subset"`);
  const ignore = spec.ignoreFields ?? [];
  if (!Array.isArray(ignore) || !ignore.every((f) => typeof f === "string"))
    issues.add(`${path}.ignoreFields`, "expected an array of field paths");
  if (spec.ordered !== undefined && typeof spec.ordered !== "boolean")
    issues.add(`${path}.ordered`, `expected true or false, got ${typeName(spec.ordered)}`);
  return {
    docs: spec.docs as Doc[],
    match: match === "subset" ? "subset" : "exact",
    ignoreFields: Array.isArray(ignore) ? (ignore as string[]) : [],
    ordered: spec.ordered !== false,
  };
}

/** An instant: ISO text, a date (`{"$date": …}` is read as one), or epoch milliseconds. */
function readTime(raw: unknown, path: string, issues: IssueList): number | undefined {
  const ms =
    raw instanceof Date
      ? raw.getTime()
      : typeof raw === "string"
        ? Date.parse(raw)
        : typeof raw === "number"
          ? raw
          : Number.NaN;
  if (Number.isFinite(ms)) return ms;
  issues.add(
    path,
    `expected a time (ISO 8601 text, {"$date": …} or epoch ms), got ${JSON.stringify(raw) ?? typeName(raw)}`,
  );
  return undefined;
}

/** `"90s"`, `"1h"`, `"250ms"`, `"2d"`, or milliseconds. */
function readDurationMs(raw: unknown, path: string, issues: IssueList): number | undefined {
  if (typeof raw === "number" && raw >= 0) return raw;
  const m = typeof raw === "string" ? DURATION.exec(raw.trim()) : null;
  if (m) return Number(m[1]) * UNIT_MS[m[2]];
  issues.add(
    path,
    `expected a duration ("500ms", "10s", "5m", "1h", "1d" or milliseconds), got ${JSON.stringify(raw) ?? typeName(raw)}`,
  );
  return undefined;
}
