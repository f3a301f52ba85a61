/**
 * Stubs for connector-backed stages under `sp test`: `$https` answered from fixed responses (the real
 * stage builds and sends the request; only the transport is replaced), `$lookup` reading fixed documents
 * (the real stage runs; only the foreign collection is replaced).
 */
import { parseExtendedJson, stringifyExtendedJson } from "../codec/ejson.ts";
import type { ForeignCollection } from "../connectors/mongodb/lookup.ts";
import {
  compileAddFields,
  compileProject,
  compileQuery,
  compileReplaceRoot,
  compileReplaceWith,
  compileSort,
  compileUnset,
  compileUnwind,
  isPlainObject,
  type Doc,
} from "../mql/index.ts";
import { isSubset } from "./compare.ts";
import type { HttpsStub } from "./test-case.ts";

/** A request the stubs did not answer: the processor fails with this (the test shows it). */
export class UnstubbedRequestError extends Error {
  override readonly name = "UnstubbedRequestError";
}

/** A recorded `$https` request, for the test result. */
export interface StubbedRequest {
  readonly method: string;
  readonly url: string;
  readonly body: unknown;
  readonly status: number | undefined;
}

/** A `fetch` answering from `stubs` (first match wins); requests are appended to `log`. */
export function stubFetch(
  stubs: readonly HttpsStub[],
  log: StubbedRequest[],
): (url: string, init: RequestInit) => Promise<Response> {
  return async (url, init) => {
    const method = (init.method ?? "GET").toUpperCase();
    const parsed = new URL(url);
    const body = typeof init.body === "string" ? parseExtendedJson(init.body) : undefined;
    const stub = stubs.find((s) => matches(s, method, parsed, body));
    log.push({ method, url, body, status: stub?.response.status });
    if (!stub) {
      throw new UnstubbedRequestError(
        `no $https stub matches ${method} ${parsed.pathname}${parsed.search}` +
          (body === undefined ? "" : ` with body ${stringifyExtendedJson(body)}`),
      );
    }
    const { status, body: answer, headers } = stub.response;
    const text =
      answer === undefined ? "" : typeof answer === "string" ? answer : stringifyExtendedJson(answer);
    const type = typeof answer === "string" ? "text/plain" : "application/json";
    return new Response(status === 204 ? null : text, {
      status,
      headers: { "content-type": type, ...headers },
    });
  };
}

function matches(stub: HttpsStub, method: string, url: URL, body: unknown): boolean {
  const want = stub.request;
  if (want.method !== undefined && want.method !== method) return false;
  if (want.path !== undefined && !url.pathname.endsWith(normalizePath(want.path))) return false;
  for (const [name, value] of Object.entries(want.query ?? {}))
    if (url.searchParams.get(name) !== value) return false;
  if (want.body !== undefined && !(isPlainObject(body) && isSubset(want.body, body))) return false;
  return true;
}

function normalizePath(path: string): string {
  return path.startsWith("/") ? path : `/${path}`;
}

/**
 * Foreign collections holding fixed documents. `find` evaluates the equality filter with Eddy's query
 * compiler; `aggregate` runs the per-document stages Eddy compiles ($match, $project, $addFields/$set,
 * $unset, $replaceRoot/$replaceWith, $unwind, $sort, $limit). A missing collection is empty, as in MongoDB.
 */
export function stubCollections(
  collections: Readonly<Record<string, readonly Doc[]>>,
): (db: string, coll: string) => ForeignCollection {
  return (db, coll) => {
    const docs = (): Doc[] => structuredClone([...(collections[`${db}.${coll}`] ?? [])]);
    return {
      find: async (filter) => {
        const predicate = compileQuery(filter);
        return docs().filter((doc) => predicate(doc));
      },
      aggregate: async (stages) => runPipeline(docs(), stages),
    };
  };
}

function runPipeline(input: Doc[], stages: readonly Doc[]): Doc[] {
  let docs = input;
  for (const stage of stages) {
    const [name, spec] = Object.entries(stage)[0] ?? [];
    switch (name) {
      case "$match": {
        const predicate = compileQuery(spec as Doc);
        docs = docs.filter((doc) => predicate(doc));
        break;
      }
      case "$project":
        docs = mapDefined(docs, compileProject(spec));
        break;
      case "$addFields":
      case "$set": {
        const apply = compileAddFields(spec as Doc);
        docs = docs.map((doc) => apply(doc, {}));
        break;
      }
      case "$unset":
        docs = mapDefined(docs, compileUnset(spec));
        break;
      case "$replaceRoot":
        docs = mapDefined(docs, compileReplaceRoot(spec));
        break;
      case "$replaceWith":
        docs = mapDefined(docs, compileReplaceWith(spec));
        break;
      case "$unwind": {
        const expand = compileUnwind(spec);
        docs = docs.flatMap((doc) => expand(doc));
        break;
      }
      case "$sort":
        docs = [...docs].sort(compileSort(spec));
        break;
      case "$limit":
        docs = docs.slice(0, Number(spec));
        break;
      default:
        throw new UnstubbedRequestError(
          `a $lookup stub cannot run ${name ?? "an empty stage"} in its pipeline; test this lookup against MongoDB`,
        );
    }
  }
  return docs;
}

function mapDefined(docs: readonly Doc[], apply: (doc: Doc) => Doc | undefined): Doc[] {
  const out: Doc[] = [];
  for (const doc of docs) {
    const result = apply(doc);
    if (result !== undefined) out.push(result);
  }
  return out;
}
