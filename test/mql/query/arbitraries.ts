import fc from "fast-check";

/** Field names the generated documents and filters share, so that filters hit real data. */
const FIELDS = ["a", "b", "c"] as const;

const SCALARS: readonly unknown[] = [
  0,
  1,
  -1,
  2,
  3,
  1.5,
  -2.5,
  NaN,
  "",
  "a",
  "b",
  "ab",
  "B",
  null,
  true,
  false,
  new Date(0),
  new Date(86_400_000),
];

export const scalar = fc.constantFrom(...SCALARS);

/** Documents with nesting, arrays (of scalars, documents and arrays), nulls, missing fields, mixed types. */
export const value: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    { arbitrary: scalar, weight: 5 },
    { arbitrary: fc.array(tie("value"), { maxLength: 3 }), weight: 2 },
    {
      arbitrary: fc.dictionary(fc.constantFrom(...FIELDS, "0"), tie("value"), {
        maxKeys: 3,
        noNullPrototype: true,
      }),
      weight: 2,
    },
  ),
})).value;

export const document = fc.dictionary(fc.constantFrom(...FIELDS), value, {
  maxKeys: 3,
  noNullPrototype: true,
});

export const fieldPath = fc.constantFrom(
  "a",
  "b",
  "a.b",
  "a.c",
  "b.a",
  "a.0",
  "a.1",
  "a.0.b",
  "a.b.c",
  "a.b.0",
  "c.a.b",
);

const comparand = fc.oneof({ arbitrary: scalar, weight: 6 }, { arbitrary: value, weight: 1 });
const nonRegexList = fc.array(comparand, { maxLength: 3 });

const TYPE_ALIASES = ["string", "object", "array", "bool", "date", "null", "number", "regex", 2, 3, 4, 8, 10];

/** Operator expressions for one field, without logical operators. */
export const fieldOperator: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.record({ $eq: comparand }),
  fc.record({ $ne: comparand }),
  fc.record({ $gt: comparand }),
  fc.record({ $gte: comparand }),
  fc.record({ $lt: comparand }),
  fc.record({ $lte: comparand }),
  fc.record({ $in: nonRegexList }),
  fc.record({ $nin: nonRegexList }),
  fc.record({ $exists: fc.boolean() }),
  fc.record({
    $type: fc.oneof(
      fc.constantFrom(...TYPE_ALIASES),
      fc.array(fc.constantFrom(...TYPE_ALIASES), { minLength: 1, maxLength: 2 }),
    ),
  }),
  fc.record({ $size: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ $all: fc.array(scalar, { minLength: 1, maxLength: 2 }) }),
  fc.record({ $regex: fc.constantFrom("^a", "b$", "a", "^$", "A"), $options: fc.constantFrom("", "i") }),
  fc.record({ $mod: fc.tuple(fc.constantFrom(2, 3, -2), fc.constantFrom(0, 1, -1)) }),
  fc.record({ $gt: fc.integer({ min: -1, max: 2 }), $lt: fc.integer({ min: 1, max: 4 }) }),
);

const elemMatch = fc.oneof(
  fieldOperator.map((op) => ({ $elemMatch: op })),
  fc.tuple(fc.constantFrom("a", "b"), scalar).map(([k, v]) => ({ $elemMatch: { [k]: v } })),
);

const fieldCondition: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: comparand, weight: 3 },
  { arbitrary: fieldOperator, weight: 6 },
  { arbitrary: elemMatch, weight: 1 },
  { arbitrary: fieldOperator.map((op) => ({ $not: op })), weight: 1 },
  { arbitrary: fc.constantFrom(/^a/, /B/i), weight: 1 },
);

const fieldFilter = fc.tuple(fieldPath, fieldCondition).map(([path, cond]) => ({ [path]: cond }));

/** Filters: field conditions combined with $and / $or / $nor up to two levels deep. */
export const filter: fc.Arbitrary<Record<string, unknown>> = fc.letrec<{ filter: Record<string, unknown> }>(
  (tie) => ({
    filter: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      { arbitrary: fieldFilter, weight: 6 },
      { arbitrary: fc.tuple(fieldFilter, fieldFilter).map(([x, y]) => ({ ...x, ...y })), weight: 2 },
      {
        arbitrary: fc
          .tuple(
            fc.constantFrom("$and", "$or", "$nor"),
            fc.array(tie("filter"), { minLength: 1, maxLength: 3 }),
          )
          .map(([op, list]) => ({ [op]: list })),
        weight: 1,
      },
    ),
  }),
).filter;
