import { EJSON } from "bson";

/**
 * Strict structural equality for state round-trip tests: same classes, -0 ≠ 0, NaN = NaN, Map/Set/object key
 * order, Long signedness, Binary subtype and UUID class. Returns where the values first differ, or undefined.
 */
export function differenceBetween(a: unknown, b: unknown, path = "$"): string | undefined {
  if (typeof a !== typeof b) return `${path}: ${typeof a} vs ${typeof b}`;
  if (typeof a !== "object" || a === null || b === null) {
    return Object.is(a, b) ? undefined : `${path}: ${show(a)} vs ${show(b)}`;
  }
  const x = a as object;
  const y = b as object;
  if (Object.getPrototypeOf(x) !== Object.getPrototypeOf(y))
    return `${path}: ${x.constructor?.name} vs ${y.constructor?.name}`;
  if (Array.isArray(x)) {
    const ys = y as unknown[];
    if (x.length !== ys.length) return `${path}: length ${x.length} vs ${ys.length}`;
    for (let i = 0; i < x.length; i++) {
      const d = differenceBetween(x[i], ys[i], `${path}[${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  if (x instanceof Date) return Object.is(x.getTime(), (y as Date).getTime()) ? undefined : `${path}: dates`;
  if (x instanceof RegExp) return String(x) === String(y) ? undefined : `${path}: ${x} vs ${y}`;
  if (x instanceof Map) return differenceBetween([...x], [...(y as Map<unknown, unknown>)], `${path}<map>`);
  if (x instanceof Set) return differenceBetween([...x], [...(y as Set<unknown>)], `${path}<set>`);
  if (x instanceof Uint8Array)
    return Buffer.from(x).equals(Buffer.from(y as Uint8Array)) ? undefined : `${path}: bytes`;
  const tag = (x as { _bsontype?: string })._bsontype;
  if (tag !== undefined) {
    if (tag === "Long" && (x as { unsigned: boolean }).unsigned !== (y as { unsigned: boolean }).unsigned)
      return `${path}: Long signedness`;
    if (tag === "Int32" || tag === "Double")
      return differenceBetween((x as { value: number }).value, (y as { value: number }).value, path);
    if (tag === "DBRef" || tag === "Code" || tag === "BSONSymbol")
      return differenceBetween(partsOf(x), partsOf(y), `${path}<${tag}>`);
    const ex = EJSON.stringify({ v: x }, { relaxed: false });
    const ey = EJSON.stringify({ v: y }, { relaxed: false });
    return ex === ey ? undefined : `${path}: ${ex} vs ${ey}`;
  }
  const kx = Object.keys(x);
  const ky = Object.keys(y);
  if (kx.join("\u0001") !== ky.join("\u0001")) return `${path}: keys ${show(kx)} vs ${show(ky)}`;
  for (const key of kx) {
    const d = differenceBetween(
      (x as Record<string, unknown>)[key],
      (y as Record<string, unknown>)[key],
      `${path}.${key}`,
    );
    if (d) return d;
  }
  return undefined;
}

/** The parts of bson classes that hold arbitrary values (EJSON cannot print every one of those). */
function partsOf(value: object): unknown[] {
  const v = value as {
    collection?: string;
    oid?: unknown;
    db?: string;
    fields?: unknown;
    code?: string;
    scope?: unknown;
  };
  return [v.collection, v.oid, v.db, v.fields, v.code, v.scope, String(value.valueOf())];
}

function show(value: unknown): string {
  if (Object.is(value, -0)) return "-0";
  if (typeof value === "bigint") return `${value}n`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
