// Single sign-on in the browser: two people sign in through the identity provider's own
// sign-in page (npm oidc-provider), each lands in their tenant through the group mapping,
// and the two tenants form an alliance from two browsers: invite, vote, accept.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { expectAccessible, freePort, launchBrowser, screenshot, startIdp, startServer } from "./harness.mjs";

let idp;
let server;
let browser;

before(async () => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  idp = await startIdp(base);
  server = await startServer(
    {
      CONSORTIA_OIDC_ISSUER: idp.issuer,
      CONSORTIA_OIDC_CLIENT_ID: "consortia",
      CONSORTIA_OIDC_CLIENT_SECRET: "s3cret",
      CONSORTIA_OIDC_REDIRECT_URL: `${base}/auth/callback`,
      CONSORTIA_OIDC_SCOPES: "openid email profile groups",
      CONSORTIA_OIDC_GROUP_MAP: "acme-ops=sso-acme:admin,globex-ops=sso-globex:admin",
    },
    port,
  );
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await idp?.stop();
});

/** Signs `username` in through the provider's page; resolves on the console's overview. */
async function signInWithProvider(page, username, what) {
  await page.goto(server.base + "/");
  await page.getByRole("button", { name: /^Sign in with / }).click();
  await page.getByRole("heading", { name: "Sign in to the test identity provider" }).waitFor();
  if (what) await screenshot(page, what);
  // The provider's own check: a password is required.
  await page.getByLabel("Username").fill(username);
  await page.getByRole("button", { name: "Sign in" }).click();
  assert.ok(await page.getByLabel("Password").evaluate((e) => !e.validity.valid));
  await page.getByLabel("Password").fill("any password will do");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Overview" }).waitFor();
}

test("two people sign in through the identity provider's page and their tenants form an alliance", async () => {
  for (const [slug, name] of [["sso-acme", "SSO Acme"], ["sso-globex", "SSO Globex"]]) {
    const r = await server.api("POST", "/api/v1/tenants", { slug, name, kind: "customer" });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
  await idp.control("/test/accounts", { sub: "alice", email: "alice@acme.example", name: "Alice Acme", groups: ["acme-ops"] });
  await idp.control("/test/accounts", { sub: "bob", email: "bob@globex.example", name: "Bob Globex", groups: ["globex-ops"] });
  const globex = (await server.api("GET", "/api/v1/tenants?limit=200")).body.items.find((t) => t.slug === "sso-globex");

  const open = async (username, what) => {
    const context = await browser.newContext({ locale: "en-US" });
    const page = await context.newPage();
    await signInWithProvider(page, username, what);
    return { context, page };
  };
  const a = await open("alice", "idp-sign-in");
  const b = await open("bob");
  // Each is who the provider said, in the tenant their group maps to, and nowhere else.
  await a.page.getByText("Alice Acme").waitFor();
  await b.page.getByText("Bob Globex").waitFor();
  assert.equal(await a.page.getByLabel("Tenant").locator("..").innerText(), "SSO Acme");
  assert.equal(await b.page.getByLabel("Tenant").locator("..").innerText(), "SSO Globex");
  await a.page.getByLabel("Tenant").click();
  assert.equal(await a.page.locator(".ant-select-item-option").count(), 1, "alice sees only her tenant");
  await a.page.keyboard.press("Escape");
  await expectAccessible(a.page, "overview-sso");

  // Alice founds an alliance and proposes Bob's tenant; her vote approves it.
  await a.page.getByRole("link", { name: "Alliances" }).click();
  const found = a.page.locator(".ant-card").filter({ has: a.page.getByRole("heading", { name: "Found an alliance" }) });
  await found.getByLabel("Name", { exact: true }).fill("SSO consortium");
  await found.getByLabel("Organisation").fill("Acme");
  await found.getByLabel("MSP id").fill("AcmeSsoMSP");
  await found.locator('button[type="submit"]').click();
  await a.page.getByRole("link", { name: "SSO consortium" }).click();
  await a.page.getByRole("heading", { name: /SSO consortium/, level: 1 }).waitFor();
  await a.page.getByLabel("Tenant id to invite").fill(globex.id);
  await a.page.getByRole("button", { name: "Propose" }).click();
  await a.page.getByRole("button", { name: "Yes" }).click();
  await a.page.getByText("Vote recorded: the proposal is approved.").waitFor();

  // Bob sees the invitation arrive (live) and accepts it.
  await b.page.getByRole("link", { name: "Alliances" }).click();
  await b.page.getByText("SSO consortium").waitFor();
  await b.page.getByLabel("Organisation").first().fill("Globex");
  await b.page.getByLabel("MSP id").first().fill("GlobexSsoMSP");
  await b.page.getByRole("button", { name: "Accept" }).click();
  await b.page.getByText("You joined SSO consortium.").waitFor();
  await a.page.getByText("GlobexSsoMSP").waitFor();
  await screenshot(a.page, "alliance-sso");

  // The audit log names who did it: people, not a shared token.
  const audit = await server.api("GET", `/api/v1/audit-events?tenant_id=${globex.id}&action=accept`);
  assert.equal(audit.status, 200);
  const me = await b.page.evaluate(async () => (await (await fetch("/api/v1/me")).json()).user);
  assert.equal(me.display_name, "Bob Globex");
  assert.ok(audit.body.items.some((e) => e.actor_user_id === me.id), JSON.stringify(audit.body.items));
  await a.context.close();
  await b.context.close();
});
