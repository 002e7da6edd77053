import { describe, expect, it } from "vitest";
import { en } from "./en";
import { zh } from "./zh";
import { format } from "./format";

describe("messages", () => {
  it("has every English key in Chinese, translated and with the same placeholders", () => {
    const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const [key, text] of Object.entries(en)) {
      const other = zh[key as keyof typeof en];
      expect(other, key).toBeTruthy();
      expect(placeholders(other), key).toEqual(placeholders(text));
    }
    expect(Object.keys(zh).sort()).toEqual(Object.keys(en).sort());
  });

  it("fills placeholders and leaves unknown ones", () => {
    expect(format("Sign in with {issuer}", { issuer: "Acme" })).toBe("Sign in with Acme");
    expect(format("{a} and {b}", { a: 1 })).toBe("1 and {b}");
  });
});
