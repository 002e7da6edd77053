import { createElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { Description, safeUrl } from "./TemplatePage";

const html = (text: string) => renderToStaticMarkup(createElement(Description, { text }));

describe("a template's Markdown description", () => {
  it("renders Markdown", () => {
    const out = html("# Evidence\n\nStores **hashes** only.\n\n- one\n- two\n\n[Docs](https://example.com/docs)");
    expect(out).toContain("<h2");
    expect(out).toContain("<strong>hashes</strong>");
    expect(out).toContain("<li>one</li>");
    expect(out).toContain('href="https://example.com/docs"');
    expect(out).toContain('rel="noopener noreferrer nofollow"');
  });
  it("renders tables (GitHub's Markdown, as template descriptions use)", () => {
    const out = html("| Parameter | Meaning |\n| --- | --- |\n| `retention_days` | days kept |");
    expect(out).toContain("<table");
    expect(out).toMatch(/<th[^>]*>Parameter<\/th>/);
    expect(out).toContain("<code>retention_days</code>");
  });
  it("never renders raw HTML, script links or images", () => {
    const out = html('<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n[click](javascript:alert(3))\n\n![x](https://example.com/x.png)\n\n<b onclick="x">bold</b>');
    expect(out).not.toMatch(/<script|<img|onerror|onclick|javascript:|<b /i);
    expect(out).toContain("click");
  });
  it("keeps web and mail links only", () => {
    expect(safeUrl("https://a.example")).toBe("https://a.example");
    expect(safeUrl("mailto:x@a.example")).toBe("mailto:x@a.example");
    expect(safeUrl("javascript:alert(1)")).toBe("");
    expect(safeUrl("data:text/html,x")).toBe("");
    expect(safeUrl("/relative")).toBe("");
  });
});
