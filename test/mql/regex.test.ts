import { BSONRegExp } from "bson";
import { describe, expect, it } from "vitest";
import { compileMongoRegex, regexSpecOf } from "../../src/mql/regex.ts";

describe("regexSpecOf", () => {
  it("reads RegExp flags as MongoDB options and BSONRegExp as is", () => {
    expect(regexSpecOf(/a.b/gimsy)).toEqual({ pattern: "a.b", options: "ims" });
    expect(regexSpecOf(new BSONRegExp("^x", "ix"))).toEqual({ pattern: "^x", options: "ix" });
    expect(regexSpecOf("^x")).toBeUndefined();
  });
});

describe("compileMongoRegex", () => {
  it("maps options to flags once, adds the extra flags and strips extended-mode whitespace and comments", () => {
    const re = compileMongoRegex({ pattern: "a b # comment\n[ ]c", options: "xiix" }, "g");
    expect(re).toBeInstanceOf(RegExp);
    expect((re as RegExp).flags).toBe("giu");
    expect((re as RegExp).source).toBe("ab[ ]c");
  });

  it("falls back to non-unicode mode for PCRE escapes unicode mode rejects", () => {
    expect((compileMongoRegex({ pattern: "a\\_b", options: "" }) as RegExp).test("a_b")).toBe(true);
  });

  it("reports an invalid option before an embedded null byte, then an invalid pattern", () => {
    expect(compileMongoRegex({ pattern: "a\0", options: "q" })).toEqual({
      kind: "invalidOption",
      option: "q",
    });
    expect(compileMongoRegex({ pattern: "a\0", options: "i" })).toEqual({ kind: "nullByte" });
    expect(compileMongoRegex({ pattern: "(", options: "" })).toMatchObject({ kind: "invalidPattern" });
  });
});
