// Fails when src/api/schema.d.ts is not what `npm run gen:api` makes of
// ../api-server/openapi.json (which a Rust test keeps equal to the server's routes).

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const here = new URL("..", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "consortia-types-"));
try {
  const fresh = join(dir, "schema.d.ts");
  execFileSync(
    join(here, "node_modules/.bin/openapi-typescript"),
    [join(here, "../api-server/openapi.json"), "--empty-objects-unknown", "-o", fresh],
    { stdio: "pipe" },
  );
  const committed = readFileSync(join(here, "src/api/schema.d.ts"), "utf8");
  if (readFileSync(fresh, "utf8") !== committed) {
    console.error(
      "dashboard/src/api/schema.d.ts is stale: run `npm run gen:api` in dashboard/ and commit it",
    );
    process.exit(1);
  }
  console.log("dashboard/src/api/schema.d.ts matches api-server/openapi.json");
} finally {
  rmSync(dir, { recursive: true, force: true });
}
