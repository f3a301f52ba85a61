/**
 * Export requests → documents: one per span, log record and metric data point, with the resource's and
 * the scope's attributes flattened into sub-documents, times as BSON dates next to the original
 * nanoseconds, ids as hex, and a stable `_id` so that a replayed or re-sent record overwrites itself.
 * The same code reads both encodings: protobufjs messages and OTLP/JSON objects share field names.
 */
import { hash } from "node:crypto";
import { Binary, Long } from "bson";
import type { Doc } from "../../mql/index.ts";
import type { Signal } from "./signals.ts";
import {
  anyValue,
  attributes,
  countValue,
  doubleValue,
  has,
  idHex,
  intValue,
  isZeroId,
  list,
  message,
  nanoTime,
  OtlpInputError,
  stringValue,
} from "./values.ts";

/** One mapped record and its event time (epoch ms), the source's timestamp for windows. */
export interface TelemetryRecord {
  readonly doc: Doc;
  readonly timestamp: number;
}

export interface MappedRequest {
  readonly records: TelemetryRecord[];
  /** Items left out as invalid (OTLP's `rejected_spans` / `rejected_log_records` / `rejected_data_points`). */
  readonly rejected: number;
  /** Why items were rejected (the first few reasons), "" when none were. */
  readonly errorMessage: string;
}

const SPAN_KINDS = ["unspecified", "internal", "server", "client", "producer", "consumer"];
const STATUS_CODES = ["unset", "ok", "error"];
const TEMPORALITIES = ["unspecified", "delta", "cumulative"];

/** Throws {@link OtlpInputError} when the request breaks the data model as a whole (400, nothing kept). */
export function mapRequest(signal: Signal, request: unknown, receivedAt: number): MappedRequest {
  const root = message(request, "") ?? {};
  const out = new Collector();
  switch (signal) {
    case "traces":
      forEachScope(root.resourceSpans, "resourceSpans", "scopeSpans", (scope, ctx, path) =>
        list(scope.spans, `${path}.spans`).forEach((span, i) =>
          mapSpan(span, ctx, `${path}.spans[${i}]`, out),
        ),
      );
      break;
    case "logs":
      forEachScope(root.resourceLogs, "resourceLogs", "scopeLogs", (scope, ctx, path) =>
        list(scope.logRecords, `${path}.logRecords`).forEach((record, i) =>
          mapLogRecord(record, ctx, `${path}.logRecords[${i}]`, receivedAt, out),
        ),
      );
      break;
    case "metrics":
      forEachScope(root.resourceMetrics, "resourceMetrics", "scopeMetrics", (scope, ctx, path) =>
        list(scope.metrics, `${path}.metrics`).forEach((metric, i) =>
          mapMetric(metric, ctx, `${path}.metrics[${i}]`, out),
        ),
      );
      break;
  }
  return { records: out.records, rejected: out.rejected, errorMessage: out.reasons.join("; ") };
}

/** What every record of one scope shares. */
interface ScopeContext {
  readonly serviceName: string | undefined;
  readonly resource: Doc;
  readonly scope: Doc;
  /** A canonical text of resource and scope, part of the dedupe ids of logs and data points. */
  readonly key: string;
}

class Collector {
  readonly records: TelemetryRecord[] = [];
  rejected = 0;
  readonly reasons: string[] = [];

  reject(count: number, reason: string): void {
    this.rejected += count;
    if (this.reasons.length < 5) this.reasons.push(reason);
  }
}

function forEachScope(
  resources: unknown,
  resourceField: string,
  scopeField: string,
  each: (scope: Record<string, unknown>, ctx: ScopeContext, path: string) => void,
): void {
  list(resources, resourceField).forEach((resourceItem, r) => {
    const rPath = `${resourceField}[${r}]`;
    const resourceMessage = message(resourceItem.resource, `${rPath}.resource`);
    const resource = attributes(resourceMessage?.attributes, `${rPath}.resource.attributes`);
    const serviceName = typeof resource["service.name"] === "string" ? resource["service.name"] : undefined;
    list(resourceItem[scopeField], `${rPath}.${scopeField}`).forEach((scopeItem, s) => {
      const path = `${rPath}.${scopeField}[${s}]`;
      const scopeMessage = message(scopeItem.scope, `${path}.scope`);
      const scope: Doc = {
        name: stringValue(scopeMessage?.name, `${path}.scope.name`),
        version: stringValue(scopeMessage?.version, `${path}.scope.version`),
        attributes: attributes(scopeMessage?.attributes, `${path}.scope.attributes`),
      };
      const schemaUrl = stringValue(scopeItem.schemaUrl, `${path}.schemaUrl`);
      if (schemaUrl !== "") scope.schemaUrl = schemaUrl;
      const key = canonical([resource, scope]);
      each(scopeItem, { serviceName, resource, scope, key }, path);
    });
  });
}

function common(ctx: ScopeContext, doc: Doc): Doc {
  if (ctx.serviceName !== undefined) doc.serviceName = ctx.serviceName;
  doc.resource = ctx.resource;
  doc.scope = ctx.scope;
  return doc;
}

function mapSpan(span: Record<string, unknown>, ctx: ScopeContext, path: string, out: Collector): void {
  const traceId = idHex(span.traceId, 16, `${path}.traceId`);
  const spanId = idHex(span.spanId, 8, `${path}.spanId`);
  const parentSpanId = idHex(span.parentSpanId, 8, `${path}.parentSpanId`);
  const start = nanoTime(span.startTimeUnixNano, `${path}.startTimeUnixNano`);
  const end = nanoTime(span.endTimeUnixNano, `${path}.endTimeUnixNano`);
  const name = stringValue(span.name, `${path}.name`);
  if (traceId === "" || isZeroId(traceId) || spanId === "" || isZeroId(spanId)) {
    out.reject(1, `${path}: a span needs a non-zero traceId and spanId`);
    return;
  }
  const kind = intValue(span.kind, `${path}.kind`);
  const status = message(span.status, `${path}.status`);
  // Below 2^53 ns (104 days): a plain number.
  const durationNanos = end.nanos.subtract(start.nanos).toNumber();
  const doc: Doc = {
    _id: traceId + spanId,
    traceId,
    spanId,
    parentSpanId,
    name,
    kind: SPAN_KINDS[kind] ?? String(kind),
    startTime: start.date,
    endTime: end.date,
    startTimeUnixNano: start.nanos,
    endTimeUnixNano: end.nanos,
    durationNanos,
    durationMs: durationNanos / 1e6,
    attributes: attributes(span.attributes, `${path}.attributes`),
    status: {
      code: statusCode(intValue(status?.code, `${path}.status.code`)),
      message: stringValue(status?.message, `${path}.status.message`),
    },
  };
  const traceState = stringValue(span.traceState, `${path}.traceState`);
  if (traceState !== "") doc.traceState = traceState;
  const flags = intValue(span.flags, `${path}.flags`);
  if (flags !== 0) doc.flags = flags;
  const events = list(span.events, `${path}.events`);
  if (events.length > 0)
    doc.events = events.map((event, i) => {
      const at = `${path}.events[${i}]`;
      const time = nanoTime(event.timeUnixNano, `${at}.timeUnixNano`);
      return {
        name: stringValue(event.name, `${at}.name`),
        time: time.date,
        timeUnixNano: time.nanos,
        attributes: attributes(event.attributes, `${at}.attributes`),
      };
    });
  const links = list(span.links, `${path}.links`);
  if (links.length > 0)
    doc.links = links.map((link, i) => {
      const at = `${path}.links[${i}]`;
      const linked: Doc = {
        traceId: idHex(link.traceId, 16, `${at}.traceId`),
        spanId: idHex(link.spanId, 8, `${at}.spanId`),
        attributes: attributes(link.attributes, `${at}.attributes`),
      };
      const state = stringValue(link.traceState, `${at}.traceState`);
      if (state !== "") linked.traceState = state;
      return linked;
    });
  dropped(doc, "droppedAttributesCount", span.droppedAttributesCount, path);
  dropped(doc, "droppedEventsCount", span.droppedEventsCount, path);
  dropped(doc, "droppedLinksCount", span.droppedLinksCount, path);
  out.records.push({ doc: common(ctx, doc), timestamp: start.date.getTime() });
}

function statusCode(code: number): string {
  return STATUS_CODES[code] ?? String(code);
}

function mapLogRecord(
  record: Record<string, unknown>,
  ctx: ScopeContext,
  path: string,
  receivedAt: number,
  out: Collector,
): void {
  const time = nanoTime(record.timeUnixNano, `${path}.timeUnixNano`);
  const observed = nanoTime(record.observedTimeUnixNano, `${path}.observedTimeUnixNano`);
  const doc: Doc = {
    _id: "",
    time: time.date,
    timeUnixNano: time.nanos,
    observedTime: observed.date,
    observedTimeUnixNano: observed.nanos,
    severityNumber: intValue(record.severityNumber, `${path}.severityNumber`),
    severityText: stringValue(record.severityText, `${path}.severityText`),
    body: anyValue(record.body, `${path}.body`),
    attributes: attributes(record.attributes, `${path}.attributes`),
  };
  const traceId = idHex(record.traceId, 16, `${path}.traceId`);
  const spanId = idHex(record.spanId, 8, `${path}.spanId`);
  if (traceId !== "") doc.traceId = traceId;
  if (spanId !== "") doc.spanId = spanId;
  const flags = intValue(record.flags, `${path}.flags`);
  if (flags !== 0) doc.flags = flags;
  const eventName = stringValue(record.eventName, `${path}.eventName`);
  if (eventName !== "") doc.eventName = eventName;
  dropped(doc, "droppedAttributesCount", record.droppedAttributesCount, path);
  doc._id = dedupeId(ctx.key, doc);
  const at = !time.nanos.isZero() ? time : !observed.nanos.isZero() ? observed : undefined;
  out.records.push({ doc: common(ctx, doc), timestamp: at ? at.date.getTime() : receivedAt });
}

type PointKind = "gauge" | "sum" | "histogram" | "exponentialHistogram" | "summary";
const POINT_KINDS: readonly PointKind[] = ["gauge", "sum", "histogram", "exponentialHistogram", "summary"];

function mapMetric(metric: Record<string, unknown>, ctx: ScopeContext, path: string, out: Collector): void {
  const name = stringValue(metric.name, `${path}.name`);
  const kind = POINT_KINDS.find((candidate) => has(metric, candidate));
  const data = kind && message(metric[kind], `${path}.${kind}`);
  const points = data ? list(data.dataPoints, `${path}.${kind}.dataPoints`) : [];
  if (!kind || !data) {
    out.reject(
      0,
      `${path}: metric '${name}' has no data (gauge, sum, histogram, exponentialHistogram or summary)`,
    );
    return;
  }
  if (name === "") {
    out.reject(points.length, `${path}: a metric needs a name`);
    return;
  }
  const base: Doc = { name, type: kind };
  const description = stringValue(metric.description, `${path}.description`);
  const unit = stringValue(metric.unit, `${path}.unit`);
  if (description !== "") base.description = description;
  if (unit !== "") base.unit = unit;
  if (kind !== "gauge" && kind !== "summary")
    base.aggregationTemporality =
      TEMPORALITIES[intValue(data.aggregationTemporality, `${path}.${kind}.aggregationTemporality`)] ??
      "unspecified";
  if (kind === "sum") base.isMonotonic = data.isMonotonic === true;
  points.forEach((point, i) => {
    const at = `${path}.${kind}.dataPoints[${i}]`;
    const time = nanoTime(point.timeUnixNano, `${at}.timeUnixNano`);
    const start = nanoTime(point.startTimeUnixNano, `${at}.startTimeUnixNano`);
    const doc: Doc = {
      _id: "",
      ...base,
      time: time.date,
      timeUnixNano: time.nanos,
      attributes: attributes(point.attributes, `${at}.attributes`),
    };
    if (!start.nanos.isZero()) {
      doc.startTime = start.date;
      doc.startTimeUnixNano = start.nanos;
    }
    POINT_FIELDS[kind](point, doc, at);
    const exemplars = list(point.exemplars, `${at}.exemplars`);
    if (exemplars.length > 0) doc.exemplars = exemplars.map((e, j) => exemplar(e, `${at}.exemplars[${j}]`));
    const flags = intValue(point.flags, `${at}.flags`);
    if (flags !== 0) doc.flags = flags;
    doc._id = dedupeId(ctx.key, {
      name,
      type: kind,
      attributes: doc.attributes,
      start: doc.startTimeUnixNano,
      time: doc.timeUnixNano,
    });
    out.records.push({ doc: common(ctx, doc), timestamp: time.date.getTime() });
  });
}

const POINT_FIELDS: Readonly<
  Record<PointKind, (point: Record<string, unknown>, doc: Doc, path: string) => void>
> = {
  gauge: numberPoint,
  sum: numberPoint,
  histogram(point, doc, path) {
    doc.count = countValue(point.count, `${path}.count`);
    optionalDouble(point, doc, "sum", path);
    optionalDouble(point, doc, "min", path);
    optionalDouble(point, doc, "max", path);
    doc.bucketCounts = numbers(point.bucketCounts, `${path}.bucketCounts`, (v, p) => countValue(v, p));
    doc.explicitBounds = numbers(point.explicitBounds, `${path}.explicitBounds`, doubleValue);
  },
  exponentialHistogram(point, doc, path) {
    doc.count = countValue(point.count, `${path}.count`);
    optionalDouble(point, doc, "sum", path);
    optionalDouble(point, doc, "min", path);
    optionalDouble(point, doc, "max", path);
    doc.scale = intValue(point.scale, `${path}.scale`);
    doc.zeroCount = countValue(point.zeroCount, `${path}.zeroCount`);
    if (has(point, "zeroThreshold"))
      doc.zeroThreshold = doubleValue(point.zeroThreshold, `${path}.zeroThreshold`);
    for (const side of ["positive", "negative"] as const) {
      const buckets = message(point[side], `${path}.${side}`);
      if (!buckets) continue;
      doc[side] = {
        offset: intValue(buckets.offset, `${path}.${side}.offset`),
        bucketCounts: numbers(buckets.bucketCounts, `${path}.${side}.bucketCounts`, (v, p) =>
          countValue(v, p),
        ),
      };
    }
  },
  summary(point, doc, path) {
    doc.count = countValue(point.count, `${path}.count`);
    doc.sum = !has(point, "sum") ? 0 : doubleValue(point.sum, `${path}.sum`);
    doc.quantileValues = list(point.quantileValues, `${path}.quantileValues`).map((q, i) => ({
      quantile: !has(q, "quantile") ? 0 : doubleValue(q.quantile, `${path}.quantileValues[${i}].quantile`),
      value: !has(q, "value") ? 0 : doubleValue(q.value, `${path}.quantileValues[${i}].value`),
    }));
  },
};

/** Gauge and sum points: `asDouble` or `asInt` as `value`. */
function numberPoint(point: Record<string, unknown>, doc: Doc, path: string): void {
  if (has(point, "asDouble")) doc.value = doubleValue(point.asDouble, `${path}.asDouble`);
  else if (has(point, "asInt")) doc.value = countValue(point.asInt, `${path}.asInt`, false);
  else doc.value = null;
}

function exemplar(e: Record<string, unknown>, path: string): Doc {
  const time = nanoTime(e.timeUnixNano, `${path}.timeUnixNano`);
  const doc: Doc = {
    time: time.date,
    timeUnixNano: time.nanos,
    value: has(e, "asDouble")
      ? doubleValue(e.asDouble, `${path}.asDouble`)
      : has(e, "asInt")
        ? countValue(e.asInt, `${path}.asInt`, false)
        : null,
    filteredAttributes: attributes(e.filteredAttributes, `${path}.filteredAttributes`),
  };
  const traceId = idHex(e.traceId, 16, `${path}.traceId`);
  const spanId = idHex(e.spanId, 8, `${path}.spanId`);
  if (traceId !== "") doc.traceId = traceId;
  if (spanId !== "") doc.spanId = spanId;
  return doc;
}

function optionalDouble(point: Record<string, unknown>, doc: Doc, field: string, path: string): void {
  if (has(point, field)) doc[field] = doubleValue(point[field], `${path}.${field}`);
}

function numbers<T>(value: unknown, path: string, convert: (v: unknown, p: string) => T): T[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new OtlpInputError(`${path}: expected an array, got ${typeof value}`);
  return value.map((v, i) => convert(v, `${path}[${i}]`));
}

function dropped(doc: Doc, field: string, value: unknown, path: string): void {
  const count = intValue(value, `${path}.${field}`);
  if (count !== 0) doc[field] = count;
}

/** A stable id from what identifies a record: the same record sent twice (or replayed) gets the same id. */
function dedupeId(scopeKey: string, identity: Doc): string {
  return hash("sha256", `${scopeKey}\u0000${canonical(identity)}`, "base64url").slice(0, 32);
}

/** JSON text of a mapped value in which Long, Date and Binary values keep their exact identity. */
function canonical(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key: string, converted: unknown) {
    const raw = key === "" ? converted : this[key];
    if (raw instanceof Long) return `L${raw.toString()}`;
    if (raw instanceof Date) return `D${raw.getTime()}`;
    if (raw instanceof Binary) return `B${raw.toString("base64")}`;
    if (typeof raw === "number" && !Number.isFinite(raw)) return `N${raw}`;
    return converted;
  });
}
