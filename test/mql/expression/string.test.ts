import { BSONRegExp } from "bson";
import { describe, expect, it } from "vitest";
import { MqlCompileError } from "../../../src/mql/errors.ts";
import { run, runtimeError } from "./support.ts";

const EMOJI = "a😀b"; // 😀 is 1 code point, 2 UTF-16 units, 4 UTF-8 bytes
const CJK = "世界x"; // 3 bytes per ideograph

describe("$concat", () => {
  it("joins strings and returns null when any argument is null or missing", () => {
    expect(run({ $concat: ["a", "$s", "c"] }, { s: "b" })).toBe("abc");
    expect(run({ $concat: [] })).toBe("");
    expect(run({ $concat: ["a", null] })).toBeNull();
    expect(run({ $concat: ["a", "$missing"] })).toBeNull();
  });

  it("rejects non-strings with MongoDB's message", () => {
    const err = runtimeError({ $concat: ["a", 1] });
    expect(err.message).toBe("$concat only supports strings, not int");
    expect(err.code).toBe(16702);
    expect(runtimeError({ $concat: ["a", "$d"] }, { d: new Date(0) }).message).toBe(
      "$concat only supports strings, not date",
    );
  });
});

describe("code points versus bytes", () => {
  it("measures lengths", () => {
    expect(run({ $strLenCP: EMOJI })).toBe(3);
    expect(run({ $strLenBytes: EMOJI })).toBe(6);
    expect(run({ $strLenCP: CJK })).toBe(3);
    expect(run({ $strLenBytes: CJK })).toBe(7);
    expect(runtimeError({ $strLenCP: "$missing" }).message).toBe(
      "$strLenCP requires a string argument, found: missing",
    );
    expect(runtimeError({ $strLenBytes: null }).message).toBe(
      "$strLenBytes requires a string argument, found: null",
    );
  });

  it("$substrCP counts code points, never splitting a surrogate pair", () => {
    expect(run({ $substrCP: [EMOJI, 1, 1] })).toBe("😀");
    expect(run({ $substrCP: [EMOJI, 1, 100] })).toBe("😀b");
    expect(run({ $substrCP: [EMOJI, 10, 1] })).toBe("");
    expect(run({ $substrCP: [null, 0, 1] })).toBe("");
    expect(run({ $substrCP: [12345, 1, 2] })).toBe("23");
    expect(runtimeError({ $substrCP: [EMOJI, -1, 1] }).message).toContain("nonnegative");
    expect(runtimeError({ $substrCP: [EMOJI, 1.5, 1] }).message).toContain("32-bit integral");
    expect(runtimeError({ $substrCP: [EMOJI, "1", 1] }).message).toContain(
      "must be a numeric type (is BSON type string)",
    );
  });

  it("$substrBytes slices UTF-8 bytes and refuses to split a character", () => {
    expect(run({ $substrBytes: [CJK, 0, 3] })).toBe("世");
    expect(run({ $substrBytes: [CJK, 3, 4] })).toBe("界x");
    expect(run({ $substrBytes: [CJK, 0, -1] })).toBe(CJK);
    expect(run({ $substrBytes: [CJK, 50, 1] })).toBe("");
    expect(run({ $substr: [EMOJI, 1, 4] })).toBe("😀");
    expect(runtimeError({ $substrBytes: [CJK, 1, 2] }).message).toContain(
      "starting index is a UTF-8 continuation byte",
    );
    expect(runtimeError({ $substrBytes: [CJK, 0, 2] }).message).toContain(
      "ending index is in the middle of a UTF-8 character",
    );
    expect(runtimeError({ $substrBytes: [EMOJI, 0, 3] }).code).toBe(28657);
  });

  it("$indexOfCP and $indexOfBytes report positions in their own units", () => {
    expect(run({ $indexOfCP: [`${EMOJI}${CJK}`, "界"] })).toBe(4);
    expect(run({ $indexOfBytes: [`${EMOJI}${CJK}`, "界"] })).toBe(9);
    expect(run({ $indexOfCP: ["abcabc", "b", 2] })).toBe(4);
    expect(run({ $indexOfCP: ["abcabc", "bc", 2, 5] })).toBe(-1);
    expect(run({ $indexOfCP: ["abcabc", "bc", 2, 6] })).toBe(4);
    expect(run({ $indexOfBytes: ["abc", "", 3] })).toBe(3);
    expect(run({ $indexOfBytes: ["abc", "b", 3, 1] })).toBe(-1);
    expect(run({ $indexOfCP: [null, "a"] })).toBeNull();
    expect(runtimeError({ $indexOfCP: ["abc", null] }).message).toBe(
      "$indexOfCP requires a string as the second argument, found: null",
    );
    expect(runtimeError({ $indexOfBytes: ["abc", "a", -1] }).message).toContain("nonnegative starting index");
    expect(runtimeError({ $indexOfBytes: ["abc", "a", 1.5] }).message).toContain("integral starting index");
  });
});

describe("case, comparison, split", () => {
  it("maps ASCII letters only", () => {
    expect(run({ $toUpper: "héllo ß 😀" })).toBe("HéLLO ß 😀");
    expect(run({ $toLower: "ÀBC" })).toBe("Àbc");
    expect(run({ $toUpper: null })).toBe("");
    expect(run({ $toUpper: 1.5 })).toBe("1.5");
  });

  it("$strcasecmp compares ignoring ASCII case", () => {
    expect(run({ $strcasecmp: ["abc", "ABC"] })).toBe(0);
    expect(run({ $strcasecmp: ["abc", "ABD"] })).toBe(-1);
    expect(run({ $strcasecmp: ["b", null] })).toBe(1);
  });

  it("$split keeps empty pieces and validates its arguments", () => {
    expect(run({ $split: ["a,,b,", ","] })).toEqual(["a", "", "b", ""]);
    expect(run({ $split: ["😀x😀", "x"] })).toEqual(["😀", "😀"]);
    expect(run({ $split: [null, ","] })).toBeNull();
    expect(runtimeError({ $split: ["a", ""] }).message).toBe("$split requires a non-empty separator");
    expect(runtimeError({ $split: [1, ","] }).code).toBe(40085);
  });
});

describe("$trim family", () => {
  it("trims MongoDB's default whitespace set, including NUL and Unicode spaces", () => {
    expect(run({ $trim: { input: "\u0000 \t\n\u000b\f\r\u00a0\u1680\u2000\u200ax\u3000" } })).toBe("x\u3000");
    expect(run({ $ltrim: { input: "  x  " } })).toBe("x  ");
    expect(run({ $rtrim: { input: "  x  " } })).toBe("  x");
  });

  it("trims given code points, including multi-unit ones", () => {
    expect(run({ $trim: { input: "😀ab😀", chars: "😀a" } })).toBe("b");
    expect(run({ $trim: { input: "xx", chars: "x" } })).toBe("");
    expect(run({ $trim: { input: null } })).toBeNull();
    expect(run({ $trim: { input: "a", chars: null } })).toBeNull();
    expect(runtimeError({ $trim: { input: 5 } }).message).toBe(
      "$trim requires its input to be a string, got int with value 5 instead.",
    );
  });

  it("rejects unknown arguments at compile time", () => {
    expect(() => run({ $trim: { input: "a", what: 1 } })).toThrow(MqlCompileError);
  });
});

describe("$replaceOne / $replaceAll", () => {
  it("replace the first or every occurrence", () => {
    expect(run({ $replaceOne: { input: "a.b.c", find: ".", replacement: "-" } })).toBe("a-b.c");
    expect(run({ $replaceAll: { input: "a.b.c", find: ".", replacement: "-" } })).toBe("a-b-c");
    expect(run({ $replaceAll: { input: "😀😀", find: "", replacement: "|" } })).toBe("|😀|😀|");
    expect(run({ $replaceAll: { input: "abc", find: null, replacement: "x" } })).toBeNull();
    expect(runtimeError({ $replaceOne: { input: 1, find: "a", replacement: "b" } }).message).toBe(
      "$replaceOne requires that 'input' be a string, found: int with value 1",
    );
  });
});

describe("regex operators", () => {
  it("report idx in code points and null for unmatched groups", () => {
    expect(run({ $regexFind: { input: "😀é世x", regex: "(世)(y)?x" } })).toEqual({
      match: "世x",
      idx: 2,
      captures: ["世", null],
    });
    expect(run({ $regexFindAll: { input: "a😀a", regex: "a" } })).toEqual([
      { match: "a", idx: 0, captures: [] },
      { match: "a", idx: 2, captures: [] },
    ]);
    // No empty match at the end of the input (MongoDB stops once the search would start there).
    expect(run({ $regexFindAll: { input: "😀b", regex: "x*" } })).toEqual([
      { match: "", idx: 0, captures: [] },
      { match: "", idx: 1, captures: [] },
    ]);
    expect(run({ $regexMatch: { input: "ABC", regex: "^abc$", options: "i" } })).toBe(true);
  });

  it("accept RegExp and BSONRegExp with their own options", () => {
    expect(run({ $regexMatch: { input: "ABC", regex: /abc/i } })).toBe(true);
    expect(run({ $regexMatch: { input: "a\nb", regex: new BSONRegExp("^b", "m") } })).toBe(true);
    expect(run({ $regexMatch: { input: "a\nb", regex: "a.b", options: "s" } })).toBe(true);
    expect(run({ $regexMatch: { input: "ab", regex: " a  b # comment", options: "x" } })).toBe(true);
  });

  it("handle null input and regex", () => {
    expect(run({ $regexFind: { input: null, regex: "a" } })).toBeNull();
    expect(run({ $regexFindAll: { input: "$missing", regex: "a" } })).toEqual([]);
    expect(run({ $regexMatch: { input: "a", regex: null } })).toBe(false);
  });

  it("reject bad arguments with MongoDB's messages", () => {
    expect(() => run({ $regexMatch: { input: "a", regex: /a/i, options: "m" } })).toThrow(
      "found regex option(s) specified in both 'regex' and 'option' fields",
    );
    expect(() => run({ $regexMatch: { input: "a", regex: "a", options: "g" } })).toThrow(
      "invalid flag in regex options: g",
    );
    expect(runtimeError({ $regexFind: { input: 1, regex: "a" } }).message).toBe(
      "$regexFind needs 'input' to be of type string",
    );
    expect(runtimeError({ $regexFind: { input: "a", regex: "$r" } }, { r: 5 }).code).toBe(51105);
  });
});
