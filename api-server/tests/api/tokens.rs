//! A token can never carry more than whoever minted it holds, nor outlive what it came from
//! (issue 17, point 8).

use crate::both;
use crate::support::TestApp;
use actix_web::http::Method;
use consortia_api::clock::Clock;
use serde_json::{Value, json};

both!(
    a_token_for_a_service_account_never_carries_more_than_its_minter,
    tokens_minted_for_others_follow_their_minters_role,
    an_expiring_token_mints_only_tokens_that_expire_no_later,
);

/// A service account with `role` in `tenant`, added by the tenant's owner; its user id.
async fn service_account(app: &TestApp, tenant: &str, owner: &str, role: &str) -> String {
    let r = app
        .post(
            &format!("/api/v1/tenants/{tenant}/members"),
            owner,
            json!({"kind": "service", "display_name": format!("{role} bot"), "role": role}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["user"]["id"].as_str().unwrap().to_string()
}

async fn mint_for(app: &TestApp, tenant: &str, minter: &str, user: &str) -> crate::support::Resp {
    app.post(
        &format!("/api/v1/tenants/{tenant}/tokens"),
        minter,
        json!({"name": "bot", "user_id": user}),
    )
    .await
}

fn secret(r: &crate::support::Resp) -> String {
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["secret"].as_str().unwrap().to_string()
}

async fn a_token_for_a_service_account_never_carries_more_than_its_minter(app: &TestApp) {
    let (t, owner) = app.tenant_with_owner("acme").await;
    let (_, admin) = app.member(&t, "admin@acme.example", "admin").await;
    let owner_bot = service_account(app, &t, &owner, "owner").await;
    let before = app.snapshot().await;
    // An admin minting for an owner-role account would hand itself the owner role.
    let r = mint_for(app, &t, &admin, &owner_bot).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(
        r.body["detail"].as_str().unwrap().contains("owner"),
        "{}",
        r.body
    );
    assert_eq!(
        app.snapshot().await,
        before,
        "a refused mint writes nothing"
    );
    // An owner may; an admin may mint for an account at or below its own role.
    secret(&mint_for(app, &t, &owner, &owner_bot).await);
    let admin_bot = service_account(app, &t, &owner, "admin").await;
    secret(&mint_for(app, &t, &admin, &admin_bot).await);
}

async fn tokens_minted_for_others_follow_their_minters_role(app: &TestApp) {
    let (t, owner) = app.tenant_with_owner("acme").await;
    let (admin_id, admin) = app.member(&t, "admin@acme.example", "admin").await;
    let bot = service_account(app, &t, &owner, "admin").await;
    let bot_token = secret(&mint_for(app, &t, &admin, &bot).await);
    let tokens = format!("/api/v1/tenants/{t}/tokens");
    assert_eq!(app.get(&tokens, &bot_token).await.status, 200);

    // The minter is demoted: the token it minted acts with the minter's role at most.
    let r = app
        .call(
            Method::PATCH,
            &format!("/api/v1/tenants/{t}/members/{admin_id}"),
            Some(&owner),
            Some(json!({"role": "viewer"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        app.get(&tokens, &bot_token).await.status,
        403,
        "a token cannot do more than its minter may"
    );
    assert_eq!(
        app.get(&format!("/api/v1/tenants/{t}"), &bot_token)
            .await
            .status,
        200
    );

    // The minter is removed: the token dies with its minter's membership.
    let r = app
        .call(
            Method::DELETE,
            &format!("/api/v1/tenants/{t}/members/{admin_id}"),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(app.get("/api/v1/me", &bot_token).await.status, 401);
    assert_eq!(
        app.get(&format!("/api/v1/tenants/{t}"), &bot_token)
            .await
            .status,
        401
    );
}

async fn an_expiring_token_mints_only_tokens_that_expire_no_later(app: &TestApp) {
    let (t, owner) = app.tenant_with_owner("acme").await;
    let now = app.clock.now();
    let soon = (now + chrono::Duration::hours(1)).to_rfc3339();
    let later = (now + chrono::Duration::days(30)).to_rfc3339();
    let short = secret(
        &app.post(
            "/api/v1/tokens",
            &owner,
            json!({"name": "short", "expires_at": soon}),
        )
        .await,
    );
    let bot = service_account(app, &t, &owner, "developer").await;
    let attempts: Vec<(String, Value)> = vec![
        ("/api/v1/tokens".into(), json!({"name": "forever"})),
        (
            "/api/v1/tokens".into(),
            json!({"name": "longer", "expires_at": later}),
        ),
        (
            format!("/api/v1/tenants/{t}/tokens"),
            json!({"name": "forever", "user_id": bot}),
        ),
        (
            format!("/api/v1/tenants/{t}/tokens"),
            json!({"name": "longer", "user_id": bot, "expires_at": later}),
        ),
    ];
    for (path, body) in attempts {
        let before = app.snapshot().await;
        let r = app.post(&path, &short, body.clone()).await;
        assert_eq!(r.status, 422, "{path} {body}: {}", r.body);
        assert_eq!(r.body["errors"][0]["pointer"], "/expires_at", "{}", r.body);
        assert_eq!(app.snapshot().await, before);
    }
    // Within the parent's life it is fine.
    let child = app
        .post(
            "/api/v1/tokens",
            &short,
            json!({"name": "child", "expires_at": soon}),
        )
        .await;
    assert_eq!(child.status, 201, "{}", child.body);
}
