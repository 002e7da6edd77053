// Prints each JavaScript chunk of the build with its gzipped size, and the initial load (the
// entry and what index.html preloads). Fails above the budget: 300 KB gzipped initially.

import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const BUDGET = 300 * 1024;
const dist = new URL("../dist/", import.meta.url).pathname;
const index = readFileSync(join(dist, "index.html"), "utf8");
const initial = new Set(
  [...index.matchAll(/(?:src|href)="\/(assets\/[^"]+\.js)"/g)].map((m) => m[1]),
);
let initialBytes = 0;
const rows = readdirSync(join(dist, "assets"))
  .filter((f) => f.endsWith(".js") || f.endsWith(".css"))
  .map((f) => {
    const path = `assets/${f}`;
    const raw = readFileSync(join(dist, path));
    const gz = gzipSync(raw, { level: 9 }).length;
    if (initial.has(path)) initialBytes += gz;
    return { path, raw: raw.length, gz, initial: initial.has(path) };
  })
  .sort((a, b) => b.gz - a.gz);
for (const r of rows) {
  console.log(
    `${r.initial ? "initial" : "lazy   "}  ${(r.gz / 1024).toFixed(1).padStart(7)} KB gz  ${(r.raw / 1024).toFixed(1).padStart(8)} KB  ${r.path}`,
  );
}
console.log(`initial JavaScript: ${(initialBytes / 1024).toFixed(1)} KB gzipped (budget ${BUDGET / 1024} KB)`);
if (initialBytes > BUDGET) process.exit(1);
