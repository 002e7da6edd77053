// The console's receipt verifier and `consortia-node verify-receipt` on the same files: every
// test vector, and tampered copies of the valid ones (a hex digit changed, an integer
// changed, a digit in uppercase, the file cut short). Both must give the same verdict.

import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadGenesis, verifyReceipt } from "../src/receipts/verify";

const root = join(__dirname, "../..");
const vectors = join(root, "crates/chain/tests/vectors");
const target = process.env.CARGO_TARGET_DIR ?? join(root, "target");
const node = process.env.CONSORTIA_NODE_BIN ?? join(target, "debug/consortia-node");
const spec = JSON.parse(readFileSync(join(vectors, "vectors.json"), "utf8")) as {
  cases: { name: string; genesis: string; receipt: string; verdict: { valid: boolean } }[];
};
const work = mkdtempSync(join(tmpdir(), "consortia-verifier-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

type Short = { valid: boolean; code?: string };

function rust(genesis: string, receipt: string): Short & Record<string, unknown> {
  try {
    return JSON.parse(execFileSync(node, ["verify-receipt", "--json", "--genesis", genesis, receipt], { encoding: "utf8" }));
  } catch (e) {
    const out = (e as { stdout?: string }).stdout;
    if (!out) throw e;
    return JSON.parse(out);
  }
}

function ours(genesis: string, receipt: string) {
  return verifyReceipt(loadGenesis(new Uint8Array(readFileSync(genesis))), new Uint8Array(readFileSync(receipt)));
}

/** A small deterministic generator, so a failure names a reproducible copy. */
function rng(seed: number) {
  let s = seed >>> 0;
  return (n: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
}

function tampered(text: string, seed: number): { how: string; text: string }[] {
  const pick = rng(seed);
  const hexRuns = [...text.matchAll(/"([0-9a-f]{64,})"/g)];
  const ints = [...text.matchAll(/:\s*([0-9]+)/g)];
  const out: { how: string; text: string }[] = [];
  for (let i = 0; i < 6; i++) {
    const m = hexRuns[pick(hexRuns.length)]!;
    const at = m.index! + 1 + pick(m[1]!.length);
    const was = text[at]!;
    const now = "0123456789abcdef".replace(was, "")[pick(15)]!;
    out.push({ how: `hex digit ${at}: ${was}→${now}`, text: text.slice(0, at) + now + text.slice(at + 1) });
  }
  for (let i = 0; i < 3; i++) {
    const m = ints[pick(ints.length)]!;
    const start = m.index! + m[0].length - m[1]!.length;
    const bumped = (BigInt(m[1]!) + 1n).toString();
    out.push({ how: `integer at ${start}: ${m[1]}→${bumped}`, text: text.slice(0, start) + bumped + text.slice(start + m[1]!.length) });
  }
  const m = hexRuns[pick(hexRuns.length)]!;
  const letter = m[1]!.search(/[a-f]/);
  if (letter >= 0) {
    const at = m.index! + 1 + letter;
    out.push({ how: `uppercase at ${at}`, text: text.slice(0, at) + text[at]!.toUpperCase() + text.slice(at + 1) });
  }
  const cut = pick(text.length);
  out.push({ how: `cut at ${cut}`, text: text.slice(0, cut) });
  return out;
}

describe("the browser's verifier agrees with consortia-node verify-receipt", () => {
  if (!existsSync(node)) {
    // scripts/test names the binary it built: then a missing one is a failure, not a skip.
    if (process.env.CONSORTIA_NODE_BIN) throw new Error(`${node} does not exist`);
    it.skip(`needs ${node} (cargo build -p consortia-node)`, () => {});
    return;
  }

  for (const c of spec.cases) {
    it(`vector ${c.name}`, () => {
      const g = join(vectors, c.genesis);
      const r = join(vectors, c.receipt);
      const a = rust(g, r);
      const b = ours(g, r);
      if (a.valid) expect(b).toEqual(a);
      else expect({ valid: b.valid, code: b.valid ? undefined : b.code }).toEqual({ valid: false, code: a.code });
    });
  }

  spec.cases
    .filter((c) => c.verdict.valid)
    .forEach((c, n) => {
      it(`tampered copies of ${c.name}`, () => {
        const g = join(vectors, c.genesis);
        const text = readFileSync(join(vectors, c.receipt), "utf8");
        let refused = 0;
        for (const [i, t] of tampered(text, 1000 + n).entries()) {
          const file = join(work, `${c.name}-${i}.json`);
          writeFileSync(file, t.text);
          const a = rust(g, file);
          const b = ours(g, file);
          const short = (v: Short) => ({ valid: v.valid, code: v.valid ? undefined : v.code });
          expect(short(b), `${c.name} with ${t.how}`).toEqual(short(a));
          if (!a.valid) refused++;
        }
        // Nearly every change breaks a receipt (a digit of a state root or of an unchecked
        // part may not): most copies must be refused.
        expect(refused).toBeGreaterThan(6);
      });
    });
});
