// The console in real Chromium against a real consortia-api: signing in with an API token
// (bad input first), the tenant switcher, founding an alliance through the form, the
// language switch remembered across reloads, and an expired session that returns to the
// same page after signing in again. Screenshots go to test-results/.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expectAccessible, launchBrowser, outDir, screenshot, startServer } from "./harness.mjs";

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** A tenant made by the platform administrator (its owner is a person by e-mail). */
async function makeTenant(slug, name, kind = "customer") {
  const r = await server.api("POST", "/api/v1/tenants", {
    slug,
    name,
    kind,
    owner: { email: `ops@${slug}.example`, display_name: "Ops" },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

/** An alliance founded by `tenant` with a simple-majority policy. */
async function makeAlliance(tenant, name, org, orgId) {
  const r = await server.api("POST", "/api/v1/alliances", {
    tenant_id: tenant,
    name,
    policy: { threshold_percentage: 50, comparator: "greater_than", proposal_duration_hours: 24 },
    org: { name: org, org_id: orgId },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

/** A native chain of `tenant` in `alliance` (it starts in the background); its API path. */
async function makeChain(tenant, alliance, name, nodesPerMember) {
  const chain = await server.api("POST", `/api/v1/alliances/${alliance.id}/chains`, {
    tenant_id: tenant.id,
    name,
    engine: "native",
    nodes_per_member: nodesPerMember,
  });
  assert.equal(chain.status, 201, JSON.stringify(chain.body));
  return { chain: chain.body, path: `/api/v1/alliances/${alliance.id}/chains/${chain.body.id}` };
}

async function signIn(page, token) {
  await page.getByLabel("API token").fill(token);
  // By type, not name: the name reads "loading Sign in" while the spinner's exit animation runs.
  await page.locator('form button[type="submit"]').click();
}

test("a newcomer signs in with the bootstrap token and founds an alliance", async () => {
  const made = await makeTenant("acme", "Acme");

  const context = await browser.newContext({ locale: "en-US" });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e));
  await page.goto(server.base + "/");
  await page.getByRole("heading", { name: "Sign in to Consortia" }).waitFor();
  await expectAccessible(page, "sign-in");
  await screenshot(page, "sign-in");

  // Caught in the browser: no request is sent for a value that cannot be a token.
  await signIn(page, "not-a-token");
  await page.getByText("An API token starts with cst_.").waitFor();

  // Refused by the server: its detail is shown.
  await signIn(page, "cst_00000000000000000000000000000000_wrong");
  const refused = page.locator(".ant-alert-error");
  await refused.waitFor();
  await screenshot(page, "sign-in-refused");
  assert.match(await refused.innerText(), /token/i);

  await signIn(page, server.adminToken);
  await page.getByRole("heading", { name: "Overview" }).waitFor();
  await page.getByText("No chains yet").waitFor();
  await expectAccessible(page, "overview");
  await screenshot(page, "overview");

  // The administrator acts in the new tenant: the switcher lists every tenant for them.
  await page.getByLabel("Tenant").click();
  await page.locator('.ant-select-item-option[title="Acme"]').click();
  await page.getByRole("link", { name: "Alliances" }).click();
  await page.getByRole("heading", { name: "Alliances", level: 1 }).waitFor();
  await page.getByText("No alliance yet.").waitFor();
  const form = page.locator("form");
  await form.getByLabel("Name", { exact: true }).fill("Evidence alliance");
  await form.getByLabel("Organisation").fill("Acme");
  await form.getByLabel("MSP id").fill("1-not-an-msp-id");
  await page.getByRole("button", { name: "Found", exact: true }).click();
  await page.locator("#org_org_id_help").waitFor();
  await form.getByLabel("MSP id").fill("AcmeMSP");
  await page.getByRole("button", { name: "Found", exact: true }).click();
  await page.getByRole("cell", { name: "Evidence alliance" }).waitFor();
  await expectAccessible(page, "alliances");
  await screenshot(page, "alliances");

  const listed = await server.api("GET", `/api/v1/alliances?tenant_id=${made.id}`);
  assert.deepEqual(
    listed.body.items.map((a) => a.name),
    ["Evidence alliance"],
  );
  assert.deepEqual(errors, []);
  await context.close();
});

test("the language is switchable and remembered", async () => {
  const context = await browser.newContext({ locale: "en-US" });
  const page = await context.newPage();
  await page.goto(server.base + "/");
  await signIn(page, server.adminToken);
  await page.getByRole("heading", { name: "Overview" }).waitFor();
  await page.getByRole("button", { name: "中文" }).click();
  await page.getByRole("heading", { name: "概览" }).waitFor();
  await page.reload();
  await page.getByRole("heading", { name: "概览" }).waitFor();
  assert.equal(await page.evaluate(() => document.documentElement.lang), "zh-CN");
  await expectAccessible(page, "overview-zh");
  await screenshot(page, "overview-zh");
  await page.getByRole("button", { name: "English" }).click();
  await page.getByRole("heading", { name: "Overview" }).waitFor();
  await context.close();
});

test("an expired session returns to sign-in, then to the same page with the typed form still filled; signing out forgets it", async () => {
  const context = await browser.newContext({ locale: "en-US" });
  const page = await context.newPage();
  await page.goto(server.base + "/alliances");
  await signIn(page, server.adminToken);
  await page.getByRole("heading", { name: "Alliances", level: 1 }).waitFor();
  // By its card: the button's name reads "loading Found" while its spinner goes away.
  const form = page.locator(".ant-card").filter({ has: page.getByRole("heading", { name: "Found an alliance" }) }).locator("form");
  await form.getByLabel("Name", { exact: true }).fill("Half-typed alliance");
  await form.getByLabel("Organisation").fill("Acme");
  await form.getByLabel("MSP id").fill("HalfMSP");

  // The session ends elsewhere (signed out from another device) before the form is sent.
  const sessions = await server.api("GET", "/api/v1/sessions");
  assert.equal(sessions.status, 200);
  for (const s of sessions.body.items) {
    const gone = await server.api("DELETE", `/api/v1/sessions/${s.id}`);
    assert.equal(gone.status, 204);
  }
  await form.locator('button[type="submit"]').click();
  await page.getByText("Your session ended").waitFor();
  await screenshot(page, "session-ended");
  await signIn(page, server.adminToken);
  await page.getByRole("heading", { name: "Alliances", level: 1 }).waitFor();
  assert.equal(new URL(page.url()).pathname, "/alliances");
  await screenshot(page, "session-restored");
  // What was typed is still there, and goes through now.
  assert.equal(await form.getByLabel("Name", { exact: true }).inputValue(), "Half-typed alliance");
  assert.equal(await form.getByLabel("MSP id").inputValue(), "HalfMSP");
  await form.locator('button[type="submit"]').click();
  await page.getByRole("cell", { name: "Half-typed alliance" }).waitFor();
  assert.equal(await form.getByLabel("Name", { exact: true }).inputValue(), "", "a sent form starts empty again");

  // Signing out ends the session on the server and forgets drafts in the browser.
  await form.getByLabel("Name", { exact: true }).fill("Never sent");
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("heading", { name: "Sign in to Consortia" }).waitFor();
  const drafts = await page.evaluate(() => Object.keys(sessionStorage).filter((k) => k.startsWith("consortia.draft.")));
  assert.deepEqual(drafts, []);
  const me = await page.evaluate(async () => (await fetch("/api/v1/me")).status);
  assert.equal(me, 401);
  await context.close();
});

test("the console works from the keyboard alone", async () => {
  const context = await browser.newContext({ locale: "en-US" });
  const page = await context.newPage();
  await page.goto(server.base + "/");
  await page.getByRole("heading", { name: "Sign in to Consortia" }).waitFor();
  /** Presses Tab until the focused element matches, at most `max` times. */
  const tabTo = async (match, max = 40) => {
    for (let i = 0; i < max; i++) {
      await page.keyboard.press("Tab");
      if (await page.evaluate(match)) return;
    }
    throw new Error(`no focusable element matched ${match}`);
  };
  await tabTo(() => document.activeElement?.getAttribute("type") === "password" || document.activeElement?.id?.includes("token"));
  await page.keyboard.type(server.adminToken);
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { name: "Overview" }).waitFor();
  // The main navigation: Tab to a link, Enter follows it.
  await tabTo(() => document.activeElement?.textContent === "Alliances" && document.activeElement.tagName === "A");
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { name: "Alliances", level: 1 }).waitFor();
  // A form: fields in order, Enter sends; a field error is announced on the field.
  await tabTo(() => document.activeElement?.id === "name");
  await page.keyboard.type("Keyboard alliance");
  await page.keyboard.press("Enter");
  await page.locator("#org_name_help").waitFor();
  await tabTo(() => document.activeElement?.id === "org_name");
  await page.keyboard.type("Keys");
  await page.keyboard.press("Tab");
  await page.keyboard.type("KeysMSP");
  await page.keyboard.press("Enter");
  await page.getByRole("cell", { name: "Keyboard alliance" }).waitFor();
  // The tenant switcher opens with the keyboard and Escape closes it.
  await tabTo(() => document.activeElement?.getAttribute("aria-label") === "Tenant" || document.activeElement?.closest?.('[aria-label="Tenant"]') !== null && document.activeElement?.tagName === "INPUT");
  await page.keyboard.press("ArrowDown");
  await page.locator(".ant-select-dropdown:visible").waitFor();
  await page.keyboard.press("Escape");
  await page.locator(".ant-select-dropdown:visible").waitFor({ state: "detached" }).catch(() => page.locator(".ant-select-dropdown:visible").waitFor({ state: "hidden" }));
  await context.close();
});

test("the console's own files carry their cache and security headers", async () => {
  const index = await fetch(server.base + "/alliances");
  assert.equal(index.status, 200);
  assert.equal(index.headers.get("cache-control"), "no-cache");
  const csp = index.headers.get("content-security-policy");
  assert.match(csp, /script-src 'self'(;|$)/);
  const html = await index.text();
  const script = html.match(/src="(\/assets\/[^"]+\.js)"/)[1];
  const asset = await fetch(server.base + script);
  assert.equal(asset.headers.get("cache-control"), "public, max-age=31536000, immutable");
  const api = await fetch(server.base + "/api/v1/no-such-thing");
  assert.equal(api.status, 404);
  assert.match(api.headers.get("content-type"), /application\/problem\+json/);
});

test("the receipt verifier works signed out, in the browser alone", async () => {
  const vectors = new URL("../../crates/chain/tests/vectors/", import.meta.url).pathname;
  const context = await browser.newContext({ locale: "en-US" });
  const page = await context.newPage();
  const sent = [];
  page.on("request", (r) => {
    if (!r.url().includes("/assets/") && r.resourceType() !== "document") sent.push(r.url());
  });
  await page.goto(server.base + "/verify");
  await page.getByRole("heading", { name: "Verify a receipt", level: 1 }).waitFor();
  const inputs = page.locator('input[type="file"]');
  await inputs.nth(0).setInputFiles(vectors + "genesis/genesis.json");
  await page.getByText("consortia-vectors").waitFor();
  await inputs.nth(1).setInputFiles(vectors + "receipts/anchored-1.json");
  await page.getByText("Valid receipt").waitFor();
  await expectAccessible(page, "verifier");
  await screenshot(page, "verifier-valid");

  await inputs.nth(1).setInputFiles(vectors + "receipts/certificate-no-quorum.json");
  await page.getByText("Not a valid receipt for this genesis").waitFor();
  await page.getByText("certificate_no_quorum").waitFor();
  await screenshot(page, "verifier-invalid");

  await inputs.nth(0).setInputFiles(vectors + "genesis/zero-power.json");
  await page.getByText("zero-power.json is not a valid genesis file").waitFor();
  // Only the session probe and sign-in settings went to the server: no file did.
  assert.deepEqual(
    sent.map((u) => new URL(u).pathname).filter((p) => !["/auth/session", "/auth/config"].includes(p)),
    [],
  );
  await context.close();
});

test("files are deposited from the browser and their receipts verify offline", async () => {
  const tenant = await makeTenant("evidence-co", "Evidence Co");
  const alliance = await makeAlliance(tenant.id, "Evidence", "Evidence Co", "EvidenceMSP");
  const { path: chainPath } = await makeChain(tenant, alliance, "ledger", 4);

  const context = await browser.newContext({ locale: "en-US", acceptDownloads: true });
  const page = await context.newPage();
  await page.goto(server.base + "/");
  await signIn(page, server.adminToken);
  await page.getByLabel("Tenant").click();
  await page.locator('.ant-select-item-option[title="Evidence Co"]').click();
  // The chain's phase changes on screen without a reload.
  await page.getByRole("cell", { name: "ledger" }).waitFor();
  await page.getByTestId("chain-phase").filter({ hasText: "running" }).waitFor({ timeout: 90_000 });
  await screenshot(page, "overview-running-chain");

  await page.getByRole("link", { name: "Evidence" }).click();
  await page.getByRole("heading", { name: "Evidence", level: 1 }).waitFor();
  await page.getByLabel("Chains", { exact: true }).click();
  await page.locator('.ant-select-item-option[title="ledger (Evidence)"]').first().click();
  await page.keyboard.press("Escape");
  const files = [
    { name: "contract.txt", mimeType: "text/plain", buffer: Buffer.from("the contract, signed") },
    { name: "invoice.txt", mimeType: "text/plain", buffer: Buffer.from("invoice 42") },
  ];
  await page.locator('input[type="file"]').first().setInputFiles(files);
  await page.getByText("Deposit 2 file(s)").waitFor();
  await expectAccessible(page, "evidence");
  await page.getByRole("button", { name: "Deposit 2 file(s)" }).click();
  await page.getByText("2 deposit(s) recorded.").waitFor({ timeout: 60_000 });
  // The tenant's deposits list them too, newest first, by file name.
  const recent = page.locator(".ant-card").filter({ has: page.getByRole("heading", { name: "Deposits of this tenant" }) });
  await recent.getByRole("cell", { name: "invoice.txt" }).waitFor();
  await recent.getByRole("cell", { name: "contract.txt" }).waitFor();
  await screenshot(page, "evidence-deposited");

  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("button", { name: /^ledger · block/ }).first().click(),
  ]);
  const receiptFile = join(outDir, "contract.receipt.json");
  await download.saveAs(receiptFile);
  const receipt = JSON.parse(readFileSync(receiptFile, "utf8"));
  assert.ok(receipt.anchor, "a batch of two is Merkle-anchored");

  // The file's hash is found again; another file's is not.
  await page.locator('input[type="file"]').nth(1).setInputFiles(files[1]);
  await page.getByTestId("lookup-result").getByText("Deposited").waitFor();

  // The receipt verifies against the chain's genesis in the offline verifier.
  const genesis = await server.api("GET", `${chainPath}/genesis`);
  assert.equal(genesis.status, 200);
  const genesisFile = join(outDir, "ledger.genesis.json");
  writeFileSync(genesisFile, JSON.stringify(genesis.body));
  await page.getByRole("link", { name: "Verify", exact: true }).click();
  await page.getByRole("heading", { name: "Verify a receipt", level: 1 }).waitFor();
  const inputs = page.locator('input[type="file"]');
  await inputs.nth(0).setInputFiles(genesisFile);
  await inputs.nth(1).setInputFiles(receiptFile);
  await page.getByText("Valid receipt").waitFor();
  await screenshot(page, "verifier-deposited-receipt");
  await context.close();
});

test("two tenants form an alliance in two browsers: invite, vote, accept, with live tallies", async () => {
  await makeTenant("founder", "Founder Inc");
  const joinerId = (await makeTenant("joiner", "Joiner Ltd")).id;

  const open = async (tenant) => {
    const context = await browser.newContext({ locale: "en-US" });
    const page = await context.newPage();
    await page.goto(server.base + "/alliances");
    await signIn(page, server.adminToken);
    await page.getByLabel("Tenant").click();
    await page.locator(`.ant-select-item-option[title="${tenant}"]`).click();
    await page.getByRole("heading", { name: "Alliances", level: 1 }).waitFor();
    return { context, page };
  };
  const a = await open("Founder Inc");
  const b = await open("Joiner Ltd");

  // A founds the alliance and proposes to invite B; its own vote approves it (one member).
  const form = a.page.locator("form").last();
  await form.getByLabel("Name", { exact: true }).fill("Trade finance");
  await form.getByLabel("Organisation").fill("Founder");
  await form.getByLabel("MSP id").fill("FounderMSP");
  await a.page.getByRole("button", { name: "Found", exact: true }).click();
  await a.page.getByRole("link", { name: "Trade finance" }).click();
  await a.page.getByRole("heading", { name: /Trade finance/, level: 1 }).waitFor();
  await a.page.getByLabel("Tenant id to invite").fill("not-a-uuid");
  await a.page.getByRole("button", { name: "Propose" }).click();
  await a.page.getByText("A tenant id is a UUID.").waitFor();
  await a.page.getByLabel("Tenant id to invite").fill(joinerId);
  await a.page.getByRole("button", { name: "Propose" }).click();
  await a.page.getByRole("button", { name: "Yes" }).click();
  await a.page.getByText("Vote recorded: the proposal is approved.").waitFor();
  await expectAccessible(a.page, "alliance");

  // B sees the invitation (without reloading) and accepts it with its organisation.
  await b.page.getByText("Trade finance").waitFor();
  await expectAccessible(b.page, "invitations");
  await b.page.getByLabel("Organisation").first().fill("Joiner");
  await b.page.getByLabel("MSP id").first().fill("JoinerMSP");
  await b.page.getByRole("button", { name: "Accept" }).click();
  await b.page.getByText("You joined Trade finance.").waitFor();

  // A's page shows the new member live; a policy change now needs both votes.
  await a.page.getByText("JoinerMSP").waitFor();
  await a.page.getByLabel("Kind").click();
  await a.page.locator('.ant-select-item-option[title="Change the voting policy"]').click();
  await a.page.getByRole("button", { name: "Propose" }).click();
  await a.page.getByRole("button", { name: "Yes" }).click();
  await a.page.getByText("1 yes, 0 no of 2 voters").waitFor();
  await screenshot(a.page, "alliance-open-proposal");

  await b.page.getByRole("link", { name: "Trade finance" }).click();
  await b.page.getByText("1 yes, 0 no of 2 voters").waitFor();
  await b.page.getByRole("button", { name: "Yes" }).click();
  await b.page.getByText("Vote recorded: the proposal is approved.").waitFor();
  // A sees the decision without reloading.
  await a.page.getByText("2 yes, 0 no of 2 voters").waitFor();
  await screenshot(a.page, "alliance-approved");
  await a.context.close();
  await b.context.close();
});

test("a chain is created from a built-in template, watched to running, and deleted", async () => {
  const tenant = await makeTenant("chainco", "Chain Co");
  const alliance = await makeAlliance(tenant.id, "Notaries", "Chain Co", "ChainCoMSP");

  const context = await browser.newContext({ locale: "en-US", acceptDownloads: true });
  const page = await context.newPage();
  await page.goto(server.base + "/chains");
  await signIn(page, server.adminToken);
  await page.getByLabel("Tenant").click();
  await page.locator('.ant-select-item-option[title="Chain Co"]').click();
  await page.getByRole("heading", { name: "Chains", level: 1 }).waitFor();
  await page.getByText("No chains yet").waitFor();
  await expectAccessible(page, "chains");
  await screenshot(page, "chains");
  const form = page.locator("form");
  const choose = async (label, option) => {
    await form.getByLabel(label).click();
    await page.locator(`.ant-select-item-option[title="${option}"]`).click();
  };
  await choose("Alliance", "Notaries");
  await form.getByLabel("Name", { exact: true }).fill("notary");

  // An engine this runtime cannot run is listed, and says why as soon as it is chosen.
  await choose("Engine", "GoQuorum");
  await page.getByTestId("engine-refused").filter({ hasText: /native chains only/ }).waitFor();
  assert.equal(await form.locator('button[type="submit"]').isDisabled(), true);
  await expectAccessible(page, "chain-refused-engine");
  await screenshot(page, "chain-refused-engine");

  await choose("Engine", "Native BFT chain");
  await form.getByLabel("Nodes per member").fill("4");
  await choose("Marketplace template (optional)", "Evidence deposit (notarization) (1.0.0)");
  // The template's parameter form starts from its schema's defaults.
  assert.equal(await form.getByLabel("Off-chain retention (days)").inputValue(), "3650");
  await form.getByLabel("Off-chain retention (days)").fill("30");
  // By type: after a refusal the button's name reads "loading Create" until its spinner's
  // exit animation ends.
  await form.locator('button[type="submit"]').click();
  await page.getByRole("heading", { name: /notary/, level: 1 }).waitFor();
  // The live feed is connected, so nothing polls: what follows moves on its events.
  await page.locator('[data-live="on"]').waitFor();
  // Progress until the first block, without reloading.
  await page.getByTestId("chain-phase").filter({ hasText: "running" }).waitFor({ timeout: 90_000 });
  await page.waitForFunction(() => Number(document.querySelector('[data-testid="chain-height"]')?.textContent) >= 1);
  await expectAccessible(page, "chain");
  await screenshot(page, "chain-running");

  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("button", { name: "Download genesis.json" }).click(),
  ]);
  const genesis = JSON.parse(readFileSync(await download.path(), "utf8"));
  assert.equal(genesis.validators.length, 4);

  await page.getByRole("button", { name: "Delete chain" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByRole("button", { name: "Delete chain" }).isDisabled();
  assert.equal(await dialog.getByRole("button", { name: "Delete chain" }).isDisabled(), true);
  await dialog.getByLabel("Type notary to confirm.").fill("notary");
  await dialog.getByRole("button", { name: "Delete chain" }).click();
  await page.getByText("Chain notary deleted.").waitFor();
  const left = await server.api("GET", `/api/v1/alliances/${alliance.id}/chains`);
  assert.deepEqual(left.body.items, []);
  await context.close();
});

test("a certificate is issued with a key shown once, revoked, and listed on the CRL", async () => {
  const tenant = await makeTenant("pkico", "PKI Co");
  const alliance = await makeAlliance(tenant.id, "Identities", "PKI Co", "PkiCoMSP");

  const context = await browser.newContext({ locale: "en-US", acceptDownloads: true });
  const page = await context.newPage();
  await page.goto(server.base + "/certificates");
  await signIn(page, server.adminToken);
  await page.getByLabel("Tenant").click();
  await page.locator('.ant-select-item-option[title="PKI Co"]').click();
  await page.getByRole("heading", { name: "Certificates", level: 1 }).waitFor();
  await page.getByRole("heading", { name: "Certificate authorities" }).waitFor();

  const form = page.locator("form");
  await form.getByLabel("Issuing CA").click();
  await page.locator('.ant-select-item-option[title="PkiCoMSP CA (org, ecdsa_p256)"]').click();
  await form.getByLabel("Common name").fill("alice@pkico");
  await page.getByRole("button", { name: "Issue", exact: true }).click();
  const dialog = page.getByRole("dialog", { name: /Certificate for alice@pkico issued/ });
  await dialog.getByText("The private key is shown this once").waitFor();
  const [key] = await Promise.all([page.waitForEvent("download"), dialog.getByRole("button", { name: "Private key (PEM)" }).click()]);
  assert.match(readFileSync(await key.path(), "utf8"), /-----BEGIN PRIVATE KEY-----/);
  await screenshot(page, "certificate-issued");
  await dialog.getByRole("button", { name: "OK" }).click();
  await dialog.waitFor({ state: "detached" });

  const row = page.getByRole("row").filter({ hasText: "alice@pkico" });
  await row.getByRole("button", { name: "Revoke" }).click();
  const revoke = page.getByRole("dialog", { name: /Revoke the certificate of alice@pkico/ });
  await revoke.waitFor();
  await revoke.getByLabel("Reason").click();
  await page.locator('.ant-select-item-option[title="key_compromise"]').click();
  await revoke.getByRole("button", { name: "Revoke" }).click();
  await row.getByText("revoked (key_compromise)").waitFor();
  await expectAccessible(page, "certificates");
  await screenshot(page, "certificate-revoked");

  // The CRL lists it: read with OpenSSL.
  const certs = await server.api("GET", `/api/v1/alliances/${alliance.id}/certificates`);
  const cert = certs.body.items.find((c) => c.common_name === "alice@pkico");
  const crl = await fetch(`${server.base}/api/v1/cas/${cert.ca_id}/crl`);
  const crlFile = join(outDir, "pkico.crl.pem");
  writeFileSync(crlFile, await crl.text());
  const text = execFileSync("openssl", ["crl", "-in", crlFile, "-noout", "-text"], { encoding: "utf8" });
  assert.match(text.toUpperCase(), new RegExp(`SERIAL NUMBER: ${cert.serial.replace(/:/g, "").toUpperCase()}`));
  assert.match(text, /Key Compromise/);
  await context.close();
});

test("a partner uploads a template, the reviewer approves it, a customer finds it, reads it and installs it, the partner deprecates it", async () => {
  const partner = await makeTenant("templates-inc", "Templates Inc", "partner");

  // A package made from the built-in evidence template under another slug and name.
  const src = new URL("../../api-server/templates/evidence-deposit/", import.meta.url).pathname;
  const dir = join(outDir, "court-notary");
  rmSync(dir, { recursive: true, force: true });
  cpSync(src, dir, { recursive: true });
  const manifest = join(dir, "consortia-template.yaml");
  writeFileSync(
    manifest,
    readFileSync(manifest, "utf8")
      .replace(/^slug: .*$/m, "slug: court-notary")
      .replace(/^name: .*$/m, "name: Court notary"),
  );
  const pkg = join(outDir, "court-notary.tar.gz");
  execFileSync("tar", ["-czf", pkg, "-C", dir, "consortia-template.yaml", "config/deposit-service.json", "schema/evidence-metadata.schema.json"]);

  // A customer with a chain to install it on (it starts while the partner works).
  const customer = await makeTenant("notary-customer", "Notary Customer");
  const alliance = await makeAlliance(customer.id, "Notaries guild", "Notary Customer", "NotaryCustomerMSP");
  const { chain, path: chainPath } = await makeChain(customer, alliance, "registry", 1);

  const context = await browser.newContext({ locale: "en-US" });
  const page = await context.newPage();
  await page.goto(server.base + "/marketplace");
  await signIn(page, server.adminToken);
  await page.getByLabel("Tenant").click();
  await page.locator('.ant-select-item-option[title="Templates Inc"]').click();
  await page.getByRole("heading", { name: "My templates" }).waitFor();
  await page.locator('input[type="file"]').setInputFiles(pkg);
  await page.getByText("Court notary 1.0.0 uploaded as a draft.").waitFor();
  await page.getByRole("button", { name: "Submit for review" }).click();
  await page.getByText("Submitted for review.").waitFor();

  // The platform reviewer's queue, on the same page for an administrator.
  const queued = page.getByRole("row").filter({ hasText: "court-notary" }).filter({ has: page.getByRole("button", { name: "Approve" }) });
  await queued.getByRole("button", { name: "Approve" }).click();
  await page.getByText("Version published.").waitFor();
  await expectAccessible(page, "marketplace");
  await screenshot(page, "marketplace");

  // A customer finds it in the catalog, filtered by category, and opens its page.
  await page.getByLabel("Tenant").click();
  await page.locator('.ant-select-item-option[title="Notary Customer"]').click();
  await page.getByLabel("Category").click();
  await page.locator('.ant-select-item-option[title="notarization"]').click();
  await page.getByLabel("Search templates").fill("court");
  await page.getByLabel("Search templates").press("Enter");
  await page.getByRole("heading", { name: "Court notary" }).waitFor();
  await page.getByRole("link", { name: "Court notary" }).click();
  await page.getByRole("heading", { name: "Court notary", level: 1 }).waitFor();
  // The description is Markdown, rendered (no raw HTML is ever rendered: unit-tested).
  await page.getByRole("heading", { name: "What it does" }).waitFor();
  await page.locator(".template-description strong", { hasText: "receipt" }).waitFor();

  // Installed on the customer's running chain from the form its schema makes.
  for (;;) {
    const c = await server.api("GET", chainPath);
    if (c.body.phase === "running") break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const install = page.locator("form#install");
  await install.getByLabel("Chain", { exact: true }).click();
  await page.locator('.ant-select-item-option[title="registry (Notaries guild)"]').click();
  await install.getByLabel("Off-chain retention (days)").fill("90");
  await install.locator('button[type="submit"]').click();
  await page.getByText("Installed on registry.").waitFor();
  await expectAccessible(page, "template");
  await screenshot(page, "template");
  const installed = await server.api("GET", `${chainPath}/installations`);
  assert.equal(installed.status, 200);
  assert.equal(installed.body[0].slug, "court-notary");
  assert.equal(installed.body[0].parameters.retention_days, 90);
  // The chain's page lists it, and shows it anchored on chain once its transaction commits.
  await page.goto(`${server.base}/alliances/${alliance.id}/chains/${chain.id}`);
  await page.getByRole("cell", { name: "court-notary 1.0.0" }).waitFor();
  await page.getByRole("row").filter({ hasText: "court-notary" }).getByText("installed", { exact: true }).waitFor();

  // The partner deprecates the version, with a reason the catalog shows.
  await page.getByRole("link", { name: "Marketplace", exact: true }).click();
  await page.getByLabel("Tenant").click();
  await page.locator('.ant-select-item-option[title="Templates Inc"]').click();
  const mine = page.getByRole("row").filter({ hasText: "court-notary" }).filter({ has: page.getByRole("button", { name: "Deprecate" }) });
  await mine.getByRole("button", { name: "Deprecate" }).click();
  const dialog = page.getByRole("dialog", { name: "Deprecate version 1.0.0?" });
  await dialog.getByLabel("Reason").fill("Superseded by the court registry template.");
  await dialog.getByRole("button", { name: "Deprecate" }).click();
  await page.getByText("Version deprecated").waitFor();
  const detail = await server.api("GET", "/api/v1/catalog/court-notary");
  assert.equal(detail.body.versions[0].status, "deprecated");
  assert.equal(detail.body.versions[0].reason, "Superseded by the court registry template.");
  await context.close();
});

test("a tenant admin manages members, tokens shown once, invitation links, sessions and the audit log", async () => {
  const tenant = await makeTenant("adminco", "Admin Co");
  const context = await browser.newContext({ locale: "en-US" });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e));
  await page.goto(server.base + "/admin");
  await signIn(page, server.adminToken);
  await page.getByLabel("Tenant").click();
  await page.locator('.ant-select-item-option[title="Admin Co"]').click();
  await page.getByRole("heading", { name: "Administration of Admin Co", level: 1 }).waitFor();
  await page.getByRole("cell", { name: "ops@adminco.example" }).waitFor();

  // A person: a bad e-mail is caught before sending; then added and given another role.
  const add = page.locator("form").first();
  await add.getByLabel("E-mail").fill("not-an-address");
  await add.getByLabel("Name", { exact: true }).fill("Dev");
  await add.locator('button[type="submit"]').click();
  await page.getByText("Enter an e-mail address.").waitFor();
  await add.getByLabel("E-mail").fill("dev@adminco.example");
  await add.getByLabel("Role", { exact: true }).click();
  await page.locator('.ant-select-item-option[title="Developer"]').click();
  await add.locator('button[type="submit"]').click();
  await page.getByRole("cell", { name: "dev@adminco.example" }).waitFor();
  await page.getByLabel("Role of Dev").click();
  await page.locator('.ant-select-dropdown:visible .ant-select-item-option[title="Admin"]').click();
  await waitForApi(async () => {
    const m = await server.api("GET", `/api/v1/tenants/${tenant.id}/members`);
    return m.body.items.find((x) => x.user.display_name === "Dev")?.role === "admin";
  });
  // A service account.
  await add.getByLabel("Kind").click();
  await page.locator('.ant-select-item-option[title="Service account"]').click();
  await add.getByLabel("Name", { exact: true }).fill("ci-bot");
  await add.locator('button[type="submit"]').click();
  await page.getByRole("cell", { name: "ci-bot" }).waitFor();
  await expectAccessible(page, "admin-members");
  await screenshot(page, "admin-members");

  // Its token: the secret is shown once, works, and stops working when revoked.
  await page.getByRole("tab", { name: "Access" }).click();
  const service = page.locator("section").filter({ has: page.getByRole("heading", { name: "Service-account tokens" }) });
  await service.getByLabel("Label").fill("deploy");
  await service.getByLabel("Service account").click();
  await page.locator('.ant-select-item-option[title="ci-bot"]').click();
  await service.locator('button[type="submit"]').click();
  const shown = page.getByRole("dialog", { name: "Token created" });
  await shown.waitFor();
  const secret = (await shown.locator("[data-secret]").innerText()).trim();
  assert.match(secret, /^cst_/);
  await screenshot(page, "admin-token-once");
  const me = await server.api("GET", "/api/v1/me", undefined, secret);
  assert.equal(me.status, 200);
  assert.equal(me.body.user.display_name, "ci-bot");
  await shown.getByRole("button", { name: "OK" }).click();
  await service.getByRole("cell", { name: "deploy" }).waitFor();
  await service.getByRole("button", { name: "Revoke" }).click();
  await page.locator(".ant-popconfirm").getByRole("button", { name: "OK" }).click();
  await service.getByText("revoked").waitFor();
  assert.equal((await server.api("GET", "/api/v1/me", undefined, secret)).status, 401);

  // An invitation link, shown once.
  const invites = page.locator("section").filter({ has: page.getByRole("heading", { name: "Invitation links" }) });
  await invites.locator('button[type="submit"]').click();
  const link = page.getByRole("dialog", { name: "Invitation link" });
  await link.waitFor();
  assert.match(await link.locator("[data-secret]").innerText(), /^http:\/\/127\.0\.0\.1:\d+\//);
  await link.getByRole("button", { name: "OK" }).click();
  await invites.getByText("pending").waitFor();
  // This browser's session is listed and marked.
  await page.getByText("this browser").waitFor();
  await expectAccessible(page, "admin-access");
  await screenshot(page, "admin-access");

  // The audit log, filtered by the server.
  await page.getByRole("tab", { name: "Audit log" }).click();
  await page.getByRole("cell", { name: /POST \/api\/v1\/tenants\/\{tenant_id\}\/members/ }).first().waitFor();
  await page.getByLabel("Action").fill("tokens");
  await page.getByRole("button", { name: "Filter" }).click();
  await page.waitForFunction(() =>
    [...document.querySelectorAll("tbody code")].some((c) => c.textContent?.includes("/tokens")) &&
    ![...document.querySelectorAll("tbody tr")].some((r) => r.textContent?.includes("/members")),
  );
  await page.getByLabel("Outcome").click();
  await page.locator('.ant-select-item-option[title="Failed"]').click();
  await page.getByRole("button", { name: "Filter" }).click();
  await page.getByText("No event matches.").waitFor();
  await expectAccessible(page, "admin-audit");
  await screenshot(page, "admin-audit");
  assert.deepEqual(errors, []);
  await context.close();
});

/** Waits until `check` (an API read) holds. */
async function waitForApi(check, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("timed out waiting for the API");
    await new Promise((r) => setTimeout(r, 100));
  }
}
