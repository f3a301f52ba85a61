/**
 * Reads documents out of text that mongosh printed (as the ASP corpus fixtures hold it): unquoted keys,
 * single-quoted strings, ISODate(…), ObjectId(…), NumberLong(…) and friends. Lines that do not start
 * with `{` or `[` (prompts, comments, captions) are skipped; a top-level array contributes its elements.
 */
import { Decimal128, Long, ObjectId } from "bson";

export function parseMongoshOutput(text: string): unknown[] {
  const docs: unknown[] = [];
  const lines = text.split("\n");
  let offset = 0;
  let consumedUpTo = 0;
  for (const line of lines) {
    const start = offset + (line.length - line.trimStart().length);
    offset += line.length + 1;
    if (start < offset && (text[start] === "{" || text[start] === "[")) {
      if (start < consumedUpTo) continue;
      const parser = new Parser(text, start);
      const value = parser.value();
      consumedUpTo = parser.position;
      if (Array.isArray(value)) docs.push(...value);
      else docs.push(value);
    }
  }
  return docs;
}

const CONSTRUCTORS: Record<string, (arg: unknown) => unknown> = {
  ISODate: (arg) => new Date(String(arg)),
  Date: (arg) => new Date(String(arg)),
  ObjectId: (arg) => new ObjectId(String(arg)),
  NumberLong: (arg) => Long.fromString(String(arg)),
  Long: (arg) => Long.fromString(String(arg)),
  NumberInt: (arg) => Number(arg),
  Int32: (arg) => Number(arg),
  Double: (arg) => Number(arg),
  NumberDecimal: (arg) => Decimal128.fromString(String(arg)),
  Decimal128: (arg) => Decimal128.fromString(String(arg)),
};

class Parser {
  private readonly text: string;
  position: number;

  constructor(text: string, position: number) {
    this.text = text;
    this.position = position;
  }

  value(): unknown {
    this.skip();
    const c = this.text[this.position];
    if (c === "{") return this.object();
    if (c === "[") return this.array();
    if (c === "'" || c === '"') return this.string();
    const word = /^[-+]?[\w.$]+/.exec(this.text.slice(this.position, this.position + 64));
    if (!word) throw new SyntaxError(`unexpected '${c}' at ${this.position}`);
    this.position += word[0].length;
    const token = word[0];
    if (token === "true" || token === "false") return token === "true";
    if (token === "null") return null;
    if (token === "undefined") return undefined;
    this.skip();
    if (this.text[this.position] === "(") {
      this.position++;
      const arg = this.text[this.skipAndPeek()] === ")" ? undefined : this.value();
      this.skip();
      this.expect(")");
      const make = CONSTRUCTORS[token];
      if (!make) throw new SyntaxError(`unknown constructor ${token}()`);
      return make(arg);
    }
    const n = Number(token);
    if (Number.isNaN(n) && token !== "NaN") throw new SyntaxError(`unexpected token ${token}`);
    return n;
  }

  private object(): Record<string, unknown> {
    this.expect("{");
    const out: Record<string, unknown> = {};
    while (this.text[this.skipAndPeek()] !== "}") {
      const c = this.text[this.position];
      const key = c === "'" || c === '"' ? this.string() : this.identifier();
      this.skip();
      this.expect(":");
      out[key] = this.value();
      if (this.text[this.skipAndPeek()] === ",") this.position++;
    }
    this.position++;
    return out;
  }

  private array(): unknown[] {
    this.expect("[");
    const out: unknown[] = [];
    while (this.text[this.skipAndPeek()] !== "]") {
      out.push(this.value());
      if (this.text[this.skipAndPeek()] === ",") this.position++;
    }
    this.position++;
    return out;
  }

  private string(): string {
    const quote = this.text[this.position++];
    let out = "";
    while (this.text[this.position] !== quote) {
      if (this.position >= this.text.length) throw new SyntaxError("unterminated string");
      if (this.text[this.position] === "\\") this.position++;
      out += this.text[this.position++];
    }
    this.position++;
    return out;
  }

  private identifier(): string {
    const match = /^[\w$]+/.exec(this.text.slice(this.position, this.position + 256));
    if (!match) throw new SyntaxError(`expected a key at ${this.position}`);
    this.position += match[0].length;
    return match[0];
  }

  private skip(): void {
    while (this.position < this.text.length) {
      if (/\s/.test(this.text[this.position])) this.position++;
      else if (this.text.startsWith("//", this.position))
        this.position = this.text.indexOf("\n", this.position) >>> 0;
      else break;
    }
  }

  private skipAndPeek(): number {
    this.skip();
    return this.position;
  }

  private expect(c: string): void {
    if (this.text[this.position] !== c) throw new SyntaxError(`expected '${c}' at ${this.position}`);
    this.position++;
  }
}
