import { describe, expect, it } from "vitest";
import { receiptName, sha256Hex } from "./evidence";

describe("evidence helpers", () => {
  it("hashes with SHA-256 (FIPS 180-4 test vector)", async () => {
    expect(await sha256Hex(new TextEncoder().encode("abc"))).toBe(
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
    expect(await sha256Hex(new Uint8Array())).toBe(
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    );
  });

  it("names receipt files safely", () => {
    expect(receiptName("contract v2.pdf", "evidence")).toBe("contract_v2.pdf.evidence.receipt.json");
    expect(receiptName("../../etc/passwd", "a/b")).toBe("etc_passwd.a_b.receipt.json");
    expect(receiptName("合同.pdf", "链")).toBe("pdf.deposit.receipt.json");
  });
});
