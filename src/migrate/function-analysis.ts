/**
 * What a trigger function does, read from its source with patterns rather than run: the HTTP calls it
 * makes, the collections it writes, and the object it builds from the changed document. Function bodies
 * are code, so this is a starting point for the conversion, never a proof: MIGRATION.md says what to check.
 */

export interface HttpCall {
  readonly method: "POST" | "PUT" | "PATCH";
  /** The literal URL, when the call names one. */
  readonly url: string | undefined;
}

export interface CollectionWrite {
  readonly db: string;
  readonly coll: string;
  readonly operation: string;
}

/** A `find` on a collection (what a scheduled trigger sweeps), with what could be read of its filter. */
export interface CollectionQuery {
  readonly db: string;
  readonly coll: string;
  /** The filter's fields whose value is a literal (`processed: false`). */
  readonly literals: Readonly<Record<string, unknown>>;
  /** Fields compared with `$gte`/`$gt` to a value computed at run time (`modifiedAt: {$gte: since}`). */
  readonly sinceFields: readonly string[];
  /** The `.limit(n)` of the query, if any. */
  readonly limit: number | undefined;
}

export interface FunctionAnalysis {
  readonly httpCalls: readonly HttpCall[];
  readonly collectionWrites: readonly CollectionWrite[];
  readonly collectionQueries: readonly CollectionQuery[];
  /**
   * Fields of the first object literal built from the event's document (`order_id: doc.orderId`):
   * output name → path in the full document. Empty when no such literal was found.
   */
  readonly fieldMapping: ReadonlyMap<string, string>;
  /** Things the processor cannot do for the function, each a sentence for the report. */
  readonly cautions: readonly string[];
}

const HTTP_CALL = /context\.http\.(post|put|patch)\s*\(\s*\{([\s\S]*?)\}\s*\)/gi;
const FETCH_CALL = /fetch\s*\(\s*["'`]([^"'`]+)["'`]\s*,\s*\{[^}]*method\s*:\s*["'](POST|PUT|PATCH)["']/gi;
const URL_LITERAL = /url\s*:\s*["'`]([^"'`$]+)["'`]/i;
const COLLECTION_WRITE =
  /\.db\(\s*["']([^"']+)["']\s*\)\s*\.collection\(\s*["']([^"']+)["']\s*\)\s*\.(insertOne|insertMany|updateOne|updateMany|replaceOne|deleteOne|deleteMany|findOneAndUpdate|findOneAndReplace)\b/g;
/** `const audit = context.services.get(…).db("audit").collection("log")`: a collection kept in a variable. */
const COLLECTION_VARIABLE =
  /(?:const|let|var)\s+([A-Za-z_$][A-Za-z0-9_$]*)\s*=\s*[^;]*?\.db\(\s*["']([^"']+)["']\s*\)\s*\.collection\(\s*["']([^"']+)["']\s*\)/g;
const WRITE_METHODS =
  "insertOne|insertMany|updateOne|updateMany|replaceOne|deleteOne|deleteMany|findOneAndUpdate|findOneAndReplace";
const COLLECTION_FIND =
  /\.db\(\s*["']([^"']+)["']\s*\)\s*\.collection\(\s*["']([^"']+)["']\s*\)\s*\.find\(\s*(\{[^;]*?\})\s*\)([^;]*)/g;
const LITERAL_FIELD =
  /([A-Za-z_][A-Za-z0-9_.]*)\s*:\s*(true|false|null|-?\d+(?:\.\d+)?|"[^"]*"|'[^']*')\s*[,}]/g;
const SINCE_FIELD = /([A-Za-z_][A-Za-z0-9_.]*)\s*:\s*\{\s*\$gte?\s*:\s*[A-Za-z_$][A-Za-z0-9_$.]*\s*\}/g;
/** `doc`, `fullDocument`, `changeEvent.fullDocument`, `event.fullDocument`… as the document variable. */
const FIELD_FROM_DOC =
  /([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(?:[A-Za-z_][A-Za-z0-9_]*\.)?(?:fullDocument|doc|document|order|record)\.([A-Za-z_][A-Za-z0-9_.]*)(?:\.toString\(\))?\s*[,}\n]/g;

export function analyseFunction(source: string): FunctionAnalysis {
  const code = stripComments(source);
  const httpCalls: HttpCall[] = [];
  for (const match of code.matchAll(HTTP_CALL)) {
    httpCalls.push({
      method: match[1].toUpperCase() as HttpCall["method"],
      url: URL_LITERAL.exec(match[2])?.[1],
    });
  }
  for (const match of code.matchAll(FETCH_CALL))
    httpCalls.push({ method: match[2].toUpperCase() as HttpCall["method"], url: match[1] });
  const collectionWrites: CollectionWrite[] = [];
  for (const match of code.matchAll(COLLECTION_WRITE))
    collectionWrites.push({ db: match[1], coll: match[2], operation: match[3] });
  for (const match of code.matchAll(COLLECTION_VARIABLE)) {
    const call = new RegExp(`\\b${match[1].replace(/\$/g, "\\$")}\\.(${WRITE_METHODS})\\b`).exec(code);
    if (call) collectionWrites.push({ db: match[2], coll: match[3], operation: call[1] });
  }
  const collectionQueries = findQueries(code);
  const fieldMapping = new Map<string, string>();
  for (const match of code.matchAll(FIELD_FROM_DOC))
    if (!fieldMapping.has(match[1])) fieldMapping.set(match[1], match[2]);
  const cautions: string[] = [];
  if (/context\.values\.get|context\.environment/.test(code))
    cautions.push("reads App Services values or environment: put them in `{{VAR}}` connection settings");
  if (/context\.functions\.execute/.test(code))
    cautions.push(
      "calls other functions: their logic must be rebuilt as pipeline stages or behind the endpoint",
    );
  if (/context\.user|context\.request/.test(code))
    cautions.push("reads the calling user or request, which a change stream processor does not have");
  if (/require\(|import\s/.test(code))
    cautions.push("uses npm dependencies: whatever they do must move to the endpoint or a stage");
  if (/\bif\s*\(/.test(code))
    cautions.push("branches on the event: check that the processor's $match covers the same cases");
  return { httpCalls, collectionWrites, collectionQueries, fieldMapping, cautions };
}

/** `find({…})` calls on a `.db(…).collection(…)` chain, or on a variable holding one. */
function findQueries(code: string): CollectionQuery[] {
  const queries: CollectionQuery[] = [];
  const read = (db: string, coll: string, filter: string, rest: string) => {
    const literals: Record<string, unknown> = {};
    for (const match of filter.matchAll(LITERAL_FIELD))
      literals[match[1]] = JSON.parse(match[2].replace(/^'|'$/g, '"'));
    const sinceFields = [...filter.matchAll(SINCE_FIELD)].map((match) => match[1]);
    const limit = /\.limit\(\s*(\d+)\s*\)/.exec(rest)?.[1];
    queries.push({ db, coll, literals, sinceFields, limit: limit === undefined ? undefined : Number(limit) });
  };
  for (const match of code.matchAll(COLLECTION_FIND)) read(match[1], match[2], match[3], match[4]);
  for (const match of code.matchAll(COLLECTION_VARIABLE)) {
    const variable = match[1].replace(/\$/g, "\\$");
    const find = new RegExp(`\\b${variable}\\s*\\.find\\(\\s*(\\{[^;]*?\\})\\s*\\)([^;]*)`).exec(code);
    if (find) read(match[2], match[3], find[1], find[2]);
  }
  return queries;
}

function stripComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:])\/\/.*$/gm, "$1");
}
