// Byte helpers: a borsh writer (RECEIPTS.md §2), hex, comparison.

export function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

export function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export const utf8 = (s: string) => new TextEncoder().encode(s);

/** Little-endian borsh, and the few big-endian fields the vote bytes use. */
export class Writer {
  private parts: Uint8Array[] = [];

  bytes(b: Uint8Array): this {
    this.parts.push(b);
    return this;
  }
  private int(n: bigint, size: number, little: boolean): this {
    const b = new Uint8Array(size);
    for (let i = 0; i < size; i++) {
      b[little ? i : size - 1 - i] = Number((n >> BigInt(8 * i)) & 0xffn);
    }
    return this.bytes(b);
  }
  u8(n: number | bigint) {
    return this.int(BigInt(n), 1, true);
  }
  u32(n: number | bigint) {
    return this.int(BigInt(n), 4, true);
  }
  u64(n: bigint) {
    return this.int(n, 8, true);
  }
  u16be(n: number | bigint) {
    return this.int(BigInt(n), 2, false);
  }
  u32be(n: number | bigint) {
    return this.int(BigInt(n), 4, false);
  }
  u64be(n: bigint) {
    return this.int(n, 8, false);
  }
  /** `Vec<u8>`: length, then the bytes. */
  vecBytes(b: Uint8Array) {
    return this.u32(b.length).bytes(b);
  }
  string(s: string) {
    return this.vecBytes(utf8(s));
  }
  option<T>(v: T | null, each: (w: this, v: T) => void) {
    if (v === null) return this.u8(0);
    this.u8(1);
    each(this, v);
    return this;
  }
  vec<T>(items: T[], each: (w: this, v: T) => void) {
    this.u32(items.length);
    for (const it of items) each(this, it);
    return this;
  }
  done(): Uint8Array {
    return concat(...this.parts);
  }
}
