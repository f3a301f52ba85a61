import { describe, expect, it } from "vitest";
import { run } from "./support.ts";

describe("$let", () => {
  it("binds variables visible in 'in'", () => {
    expect(
      run(
        { $let: { vars: { total: { $add: ["$a", "$b"] }, k: 2 }, in: { $multiply: ["$$total", "$$k"] } } },
        { a: 1, b: 2 },
      ),
    ).toBe(6);
  });

  it("evaluates vars in the outer scope and nests", () => {
    const expr = {
      $let: {
        vars: { x: 1 },
        in: { $let: { vars: { x: { $add: ["$$x", 1] }, y: "$$x" }, in: ["$$x", "$$y"] } },
      },
    };
    expect(run(expr)).toEqual([2, 1]);
  });

  it("does not leak variables out of 'in'", () => {
    expect(() => run({ $add: [{ $let: { vars: { x: 1 }, in: "$$x" } }, "$$x"] })).toThrow(
      "Use of undefined variable: x",
    );
    expect(() => run({ $let: { vars: { x: 1, y: "$$x" }, in: "$$y" } })).toThrow(
      "e.$let.vars.y: Use of undefined variable: x",
    );
  });

  it("lets CURRENT be rebound so field paths read the new document", () => {
    expect(
      run(
        { $let: { vars: { CURRENT: "$inner" }, in: { $add: ["$a", "$$ROOT.a"] } } },
        { a: 1, inner: { a: 10 } },
      ),
    ).toBe(11);
  });

  it("keeps a variable bound to missing missing", () => {
    expect(run({ $let: { vars: { x: "$missing" }, in: { $ifNull: ["$$x", "none"] } } })).toBe("none");
  });

  it("validates its arguments", () => {
    expect(() => run({ $let: { vars: { Bad: 1 }, in: 1 } })).toThrow("'Bad' is not a valid variable name");
    expect(() => run({ $let: { vars: 1, in: 1 } })).toThrow("e.$let.vars: expected an object of variables");
    expect(() => run({ $let: { vars: {} } })).toThrow("e.$let: missing required argument 'in'");
  });
});

describe("$literal", () => {
  it("returns its argument unevaluated", () => {
    expect(run({ $literal: "$a" }, { a: 1 })).toBe("$a");
    expect(run({ $literal: { $add: [1, 2] } })).toEqual({ $add: [1, 2] });
    expect(run({ $literal: [1, "$$x"] })).toEqual([1, "$$x"]);
  });
});
