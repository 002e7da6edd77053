// A strict JSON reader for receipts and genesis files (RECEIPTS.md §9, "JSON rules"):
// UTF-8 without a byte-order mark, nothing after the value, no member given twice, and
// numbers kept as their digits so that integers are read exactly (u64 does not fit a
// double). JSON.parse can do none of this.

export type JsonValue =
  | { t: "object"; members: Map<string, JsonValue> }
  | { t: "array"; items: JsonValue[] }
  | { t: "string"; value: string }
  | { t: "number"; raw: string }
  | { t: "bool"; value: boolean }
  | { t: "null" };

/** A file that does not follow the format: the verdict is `malformed`. */
export class Malformed extends Error {
  constructor(message: string) {
    super(message);
    this.name = "Malformed";
  }
}

const WS = new Set([" ", "\t", "\n", "\r"]);

class Reader {
  private i = 0;
  constructor(private readonly s: string) {}

  parse(): JsonValue {
    const v = this.value(0);
    this.ws();
    if (this.i !== this.s.length) throw new Malformed(`unexpected text after the JSON value at ${this.i}`);
    return v;
  }

  private ws() {
    while (this.i < this.s.length && WS.has(this.s[this.i]!)) this.i++;
  }

  private fail(what: string): never {
    throw new Malformed(`${what} at character ${this.i}`);
  }

  private value(depth: number): JsonValue {
    if (depth > 64) this.fail("nesting too deep");
    this.ws();
    const c = this.s[this.i];
    if (c === "{") return this.object(depth);
    if (c === "[") return this.array(depth);
    if (c === '"') return { t: "string", value: this.string() };
    if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) return this.number();
    for (const [word, v] of [
      ["true", { t: "bool", value: true }],
      ["false", { t: "bool", value: false }],
      ["null", { t: "null" }],
    ] as const) {
      if (this.s.startsWith(word, this.i)) {
        this.i += word.length;
        return v;
      }
    }
    return this.fail(c === undefined ? "unexpected end of text" : "unexpected character");
  }

  private object(depth: number): JsonValue {
    this.i++;
    const members = new Map<string, JsonValue>();
    this.ws();
    if (this.s[this.i] === "}") {
      this.i++;
      return { t: "object", members };
    }
    for (;;) {
      this.ws();
      if (this.s[this.i] !== '"') this.fail("expected a member name");
      const key = this.string();
      if (members.has(key)) this.fail(`member "${key}" given twice`);
      this.ws();
      if (this.s[this.i] !== ":") this.fail("expected ':'");
      this.i++;
      members.set(key, this.value(depth + 1));
      this.ws();
      const c = this.s[this.i++];
      if (c === "}") return { t: "object", members };
      if (c !== ",") this.fail("expected ',' or '}'");
    }
  }

  private array(depth: number): JsonValue {
    this.i++;
    const items: JsonValue[] = [];
    this.ws();
    if (this.s[this.i] === "]") {
      this.i++;
      return { t: "array", items };
    }
    for (;;) {
      items.push(this.value(depth + 1));
      this.ws();
      const c = this.s[this.i++];
      if (c === "]") return { t: "array", items };
      if (c !== ",") this.fail("expected ',' or ']'");
    }
  }

  private number(): JsonValue {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(this.s.slice(this.i));
    if (!m) this.fail("bad number");
    this.i += m[0].length;
    return { t: "number", raw: m[0] };
  }

  private string(): string {
    this.i++; // opening quote
    let out = "";
    for (;;) {
      const c = this.s[this.i++];
      if (c === undefined) this.fail("unterminated string");
      if (c === '"') break;
      if (c < " ") this.fail("control character in a string");
      if (c !== "\\") {
        out += c;
        continue;
      }
      const e = this.s[this.i++];
      const simple: Record<string, string> = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };
      if (e !== undefined && e in simple) {
        out += simple[e];
        continue;
      }
      if (e !== "u") this.fail("bad escape");
      const unit = this.hex4();
      if (unit >= 0xd800 && unit <= 0xdbff) {
        if (this.s[this.i] !== "\\" || this.s[this.i + 1] !== "u") this.fail("lone surrogate escape");
        this.i += 2;
        const low = this.hex4();
        if (low < 0xdc00 || low > 0xdfff) this.fail("lone surrogate escape");
        out += String.fromCharCode(unit, low);
      } else if (unit >= 0xdc00 && unit <= 0xdfff) {
        this.fail("lone surrogate escape");
      } else {
        out += String.fromCharCode(unit);
      }
    }
    return out;
  }

  private hex4(): number {
    const h = this.s.slice(this.i, this.i + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(h)) this.fail("bad \\u escape");
    this.i += 4;
    return parseInt(h, 16);
  }
}

/** Reads a file's bytes as strict JSON. */
export function parseJson(bytes: Uint8Array | string): JsonValue {
  let text: string;
  if (typeof bytes === "string") {
    text = bytes;
  } else {
    if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) throw new Malformed("a byte-order mark");
    try {
      text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
    } catch {
      throw new Malformed("not UTF-8");
    }
  }
  if (text.charCodeAt(0) === 0xfeff) throw new Malformed("a byte-order mark");
  return new Reader(text).parse();
}

// Typed access with paths in the messages.

export type Obj = Map<string, JsonValue>;

/** The members of an object, refusing unknown ones and missing required ones. */
export function object(v: JsonValue | undefined, at: string, required: string[], optional: string[] = []): Obj {
  if (!v || v.t !== "object") throw new Malformed(`${at} must be an object`);
  for (const k of v.members.keys()) {
    if (!required.includes(k) && !optional.includes(k)) throw new Malformed(`${at} has an unknown member "${k}"`);
  }
  for (const k of required) {
    if (!v.members.has(k)) throw new Malformed(`${at} lacks "${k}"`);
  }
  return v.members;
}

export function array(v: JsonValue | undefined, at: string): JsonValue[] {
  if (!v || v.t !== "array") throw new Malformed(`${at} must be an array`);
  return v.items;
}

export function string(v: JsonValue | undefined, at: string): string {
  if (!v || v.t !== "string") throw new Malformed(`${at} must be a string`);
  return v.value;
}

/** An unsigned integer of `bits` bits, exactly. */
export function uint(v: JsonValue | undefined, at: string, bits: 8 | 16 | 32 | 64): bigint {
  if (!v || v.t !== "number" || !/^(0|[1-9][0-9]*)$/.test(v.raw)) {
    throw new Malformed(`${at} must be an unsigned integer`);
  }
  const n = BigInt(v.raw);
  if (n >= 1n << BigInt(bits)) throw new Malformed(`${at} is larger than u${bits}`);
  return n;
}

/** Lowercase hex, of exactly `len` bytes when given. */
export function hex(v: JsonValue | undefined, at: string, len?: number): Uint8Array {
  const s = string(v, at);
  if (!/^([0-9a-f]{2})*$/.test(s)) throw new Malformed(`${at} must be lowercase hex`);
  if (len !== undefined && s.length !== len * 2) throw new Malformed(`${at} must be ${len} bytes`);
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}
