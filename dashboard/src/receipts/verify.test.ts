// Every test vector of crates/chain/tests/vectors (RECEIPTS.md §13) through this verifier:
// the same files `consortia-node verify-receipt` and the Rust crate are held to.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { toHex } from "./bytes";
import { genesisHash, loadGenesis, validatorsHash, verifyReceipt } from "./verify";

const dir = join(__dirname, "../../../crates/chain/tests/vectors");
const vectors = JSON.parse(readFileSync(join(dir, "vectors.json"), "utf8")) as {
  genesis: { file: string; valid: boolean; hash?: string; validators_hash?: string }[];
  cases: { name: string; genesis: string; receipt: string; verdict: { valid: boolean; code?: string } }[];
};
const read = (f: string) => new Uint8Array(readFileSync(join(dir, f)));

describe("genesis vectors", () => {
  for (const g of vectors.genesis) {
    it(g.file, () => {
      if (!g.valid) {
        expect(() => loadGenesis(read(g.file))).toThrow();
        return;
      }
      const genesis = loadGenesis(read(g.file));
      expect(toHex(genesisHash(genesis))).toBe(g.hash);
      expect(toHex(validatorsHash(genesis))).toBe(g.validators_hash);
    });
  }
});

describe("receipt vectors", () => {
  for (const c of vectors.cases) {
    it(c.name, () => {
      const verdict = verifyReceipt(loadGenesis(read(c.genesis)), read(c.receipt));
      if (c.verdict.valid) {
        expect(verdict).toEqual(c.verdict);
      } else {
        expect(verdict.valid).toBe(false);
        expect(verdict.valid === false && verdict.code).toBe(c.verdict.code);
      }
    });
  }
});
