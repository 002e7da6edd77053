// End-to-end harness: a real consortia-api (SQLite, local runtime) serving the built console,
// and Debian's Chromium driven by playwright-core.

import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import AxeBuilder from "@axe-core/playwright";

const here = new URL("..", import.meta.url).pathname;
export const outDir = join(here, "test-results");

/** The consortia-api binary: CONSORTIA_API_BIN, else the workspace's debug build. */
function apiBinary() {
  if (process.env.CONSORTIA_API_BIN) return process.env.CONSORTIA_API_BIN;
  const target = process.env.CARGO_TARGET_DIR ?? join(here, "..", "target");
  return join(target, "debug", "consortia-api");
}

function browserBinary() {
  for (const p of [process.env.CHROMIUM_BIN, "/usr/bin/chromium", "/usr/bin/chromium-browser"]) {
    if (p && existsSync(p)) return p;
  }
  throw new Error("Chromium is needed (Debian's chromium package; scripts/test installs it)");
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Starts consortia-api on a fresh data directory; resolves when it answers /healthz. */
export async function startServer(env = {}, port = undefined) {
  const dist = join(here, "dist");
  if (!existsSync(join(dist, "index.html"))) {
    throw new Error("dashboard/dist is not built: run `npm run build` (or ./scripts/build-console)");
  }
  const dataDir = mkdtempSync(join(tmpdir(), "consortia-e2e-"));
  port ??= await freePort();
  const base = `http://127.0.0.1:${port}`;
  const log = openSync(join(dataDir, "server.log"), "a");
  const child = spawn(apiBinary(), ["serve"], {
    env: {
      PATH: process.env.PATH,
      CONSORTIA_DATA_DIR: dataDir,
      CONSORTIA_LISTEN: `127.0.0.1:${port}`,
      CONSORTIA_METRICS_LISTEN: "off",
      CONSORTIA_WORKERS: "2",
      CONSORTIA_CONSOLE_DIR: dist,
      CONSORTIA_PUBLIC_URL: base,
      ...env,
    },
    stdio: ["ignore", log, log],
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`consortia-api exited: ${readFileSync(join(dataDir, "server.log"), "utf8")}`);
    }
    try {
      if ((await fetch(`${base}/healthz`)).ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error("consortia-api did not start");
    await new Promise((r) => setTimeout(r, 100));
  }
  const adminToken = readFileSync(join(dataDir, "bootstrap-token"), "utf8").trim();
  /** Calls the API as the platform administrator (or with another token). */
  const api = async (method, path, body, token = adminToken) => {
    const res = await fetch(base + path, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body ? { "content-type": "application/json" } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
  const stop = async () => {
    child.kill("SIGTERM");
    await new Promise((r) => (child.exitCode !== null ? r() : child.once("exit", r)));
    rmSync(dataDir, { recursive: true, force: true });
  };
  return { base, adminToken, api, stop, dataDir };
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: browserBinary(),
    headless: true,
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
}

/** Writes a full-page screenshot under test-results/ for review. */
export async function screenshot(page, name) {
  mkdirSync(outDir, { recursive: true });
  // Animations finished first: a screenshot taken mid-transition can leave one unfinished.
  await page.screenshot({ path: join(outDir, `${name}.png`), fullPage: true, animations: "disabled" });
}

/** Fails on any serious or critical accessibility violation axe-core finds on the page. */
export async function expectAccessible(page, what) {
  // Judge the page at rest: a dropdown or dialog half-way through its closing animation has
  // transparent text (contrast) and an unnamed listbox that the page at rest does not.
  await page.locator(".ant-select-dropdown:not(.ant-select-dropdown-hidden)").first().waitFor({ state: "hidden", timeout: 5_000 }).catch(() => {});
  await page.evaluate(() =>
    Promise.all(
      document
        .getAnimations()
        .filter((a) => a.effect?.getTiming().iterations !== Infinity)
        .map((a) => a.finished.catch(() => undefined)),
    ),
  );
  const result = await new AxeBuilder({ page }).analyze();
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  if (bad.length > 0) {
    const lines = bad.map(
      (v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`,
    );
    throw new Error(`${what}: accessibility violations:\n${lines.join("\n")}`);
  }
}

/**
 * Starts the test identity provider (npm oidc-provider, api-server/tests/oidc) with its
 * sign-in page on, for a console at `base`; resolves to its issuer, a control call and stop.
 */
export async function startIdp(base) {
  const dir = join(here, "..", "api-server", "tests", "oidc");
  if (!existsSync(join(dir, "node_modules"))) {
    throw new Error("the test identity provider is not installed: npm ci --prefix api-server/tests/oidc");
  }
  const clients = [{
    client_id: "consortia",
    client_secret: "s3cret",
    redirect_uris: [`${base}/auth/callback`],
    post_logout_redirect_uris: [`${base}/`],
    grant_types: ["authorization_code"],
    response_types: ["code"],
    token_endpoint_auth_method: "client_secret_basic",
  }];
  const child = spawn("node", ["provider.mjs"], {
    cwd: dir,
    env: { PATH: process.env.PATH, OIDC_PORT: "0", OIDC_CLIENTS: JSON.stringify(clients), OIDC_LOGIN_PAGE: "1" },
    stdio: ["pipe", "pipe", "ignore"],
  });
  const line = await new Promise((resolve, reject) => {
    let buf = "";
    child.stdout.on("data", (d) => {
      buf += d;
      if (buf.includes("\n")) resolve(buf.split("\n")[0]);
    });
    child.once("exit", (code) => reject(new Error(`the identity provider exited (${code})`)));
  });
  const { issuer } = JSON.parse(line);
  const control = async (path, body) => {
    const res = await fetch(issuer + path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  const stop = async () => {
    child.kill("SIGTERM");
    await new Promise((r) => (child.exitCode !== null ? r() : child.once("exit", r)));
  };
  return { issuer, control, stop };
}
