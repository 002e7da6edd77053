//! The OpenAPI document, generated from the handlers' annotations.

use crate::http::handlers::{
    alliances, audit_events, chains, deposits, installations, me, members, ops, pki, sso,
    templates, tenants, tokens,
};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// Adds the bearer-token security scheme.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A Consortia API token (`cst_...`), or a JWT access token from the configured identity provider"))
                    .build(),
            ),
        );
    }
}

/// The API document.
#[derive(OpenApi)]
#[openapi(
    info(title = "Consortia API", description = "Multi-tenant Blockchain-as-a-Service control plane. Errors are RFC 9457 `application/problem+json`."),
    paths(
        ops::healthz, ops::readyz, ops::metrics, ops::openapi_json,
        me::get_me,
        tenants::create, tenants::list, tenants::get, tenants::update,
        members::list, members::add, members::get, members::change_role, members::remove,
        tokens::create_own, tokens::list_own, tokens::revoke_own,
        tokens::list_tenant, tokens::create_tenant, tokens::revoke_tenant,
        audit_events::list,
        alliances::create, alliances::list, alliances::get, alliances::leave, alliances::events,
        alliances::propose, alliances::list_proposals, alliances::get_proposal, alliances::vote,
        alliances::list_invitations, alliances::get_invitation, alliances::accept_invitation,
        alliances::reject_invitation,
        pki::list_cas, pki::list_alliance_certificates, pki::get_ca, pki::crl, pki::issue,
        pki::list_ca_certificates, pki::get_certificate, pki::msp, pki::revoke, pki::renew,
        sso::login, sso::callback, sso::current, sso::logout, sso::token_login, sso::config,
        sso::list_sessions, sso::revoke_session,
        sso::create_invite, sso::list_invites, sso::revoke_invite,
        templates::upload, templates::list_own, templates::submit, templates::review,
        templates::deprecate, templates::package, templates::history, templates::review_queue,
        templates::catalog, templates::catalog_get, templates::check_parameters,
        chains::create, chains::list, chains::get, chains::genesis, chains::delete,
        installations::install, installations::list,
        deposits::create, deposits::create_batch, deposits::get, deposits::verify,
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "me", description = "The caller"),
        (name = "tenants", description = "Customer and partner organisations"),
        (name = "members", description = "Users in a tenant and their roles"),
        (name = "tokens", description = "API tokens"),
        (name = "audit", description = "Audit log"),
        (name = "pki", description = "Certificate authorities and certificates of alliances"),
        (name = "alliances", description = "Alliances (consortia), their governance votes and invitations"),
        (name = "chains", description = "Chains of alliances and their nodes, run by the server's runtime"),
        (name = "deposits", description = "Evidence deposits: content hashes recorded on chains, with offline-verifiable receipts"),
        (name = "operations", description = "Health, readiness, metrics"),
        (name = "marketplace", description = "Solution templates: publishing, review and the catalog"),
        (name = "auth", description = "Sign-in (OIDC single sign-on and local login) and browser sessions"),
    )
)]
pub struct ApiDoc;

/// The document as committed in `api-server/openapi.json`.
pub fn pretty_json() -> String {
    let mut s = ApiDoc::openapi().to_pretty_json().unwrap_or_default();
    s.push('\n');
    s
}
