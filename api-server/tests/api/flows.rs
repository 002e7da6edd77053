//! What users do: tenants, members, roles, tokens, audit.

use crate::support::TestApp;
use actix_web::http::Method;
use serde_json::json;

crate::both!(
    bootstrap_admin_creates_tenants_and_owners_see_only_theirs,
    lists_paginate_stably,
    roles_govern_member_management,
    tokens_are_shown_once_and_stop_working_when_revoked_or_expired,
    tenant_scoped_tokens_stay_in_their_tenant,
    audit_records_accepted_and_refused_changes,
    owners_demoting_each_other_at_once_leave_an_owner,
    adding_a_member_tells_nothing_about_other_people,
);

/// Naming a person by e-mail tells a tenant admin nothing about people outside the tenants
/// they are in: whether or not the address has an account, the answer is an invitation link
/// bound to it (`202`, no user id, no name), and the person is not a member until they sign
/// in through it. Someone the admin already shares a tenant with (as their credential acts)
/// joins directly; the platform administrator adds anyone.
async fn adding_a_member_tells_nothing_about_other_people(app: &TestApp) {
    let (acme, acme_owner) = app.tenant_with_owner("acme").await;
    let (globex, _) = app.tenant_with_owner("globex").await;
    let hidden = app
        .post(
            &format!("/api/v1/tenants/{globex}/members"),
            &app.admin_token,
            json!({"email": "ceo@globex.example", "display_name": "Hidden Name", "role": "viewer"}),
        )
        .await;
    assert_eq!(hidden.status, 201, "{}", hidden.body);
    let hidden_id = hidden.body["user"]["id"].as_str().unwrap().to_string();

    let members = format!("/api/v1/tenants/{acme}/members");
    let ask = |email: &str| json!({"email": email, "display_name": "Typed", "role": "viewer"});
    let existing = app
        .post(&members, &acme_owner, ask("ceo@globex.example"))
        .await;
    let absent = app
        .post(&members, &acme_owner, ask("nobody@nowhere.example"))
        .await;
    let keys = |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    for r in [&existing, &absent] {
        assert_eq!(r.status, 202, "{}", r.body);
        let text = r.body.to_string();
        assert!(
            !text.contains("Hidden Name") && !text.contains(&hidden_id),
            "{text}"
        );
        assert_eq!(r.body["status"], "pending");
        assert_eq!(r.body["role"], "viewer");
        assert!(
            r.body["url"]
                .as_str()
                .unwrap()
                .contains("/auth/login?invite=inv_"),
            "{}",
            r.body
        );
        assert_eq!(keys(&r.body), keys(&existing.body));
    }
    assert_eq!(existing.body["email"], "ceo@globex.example");
    assert_eq!(absent.body["email"], "nobody@nowhere.example");
    // Neither is a member; both invitations wait in the tenant's list.
    let listed = app.get(&members, &acme_owner).await;
    assert_eq!(
        listed.body["items"].as_array().unwrap().len(),
        1,
        "{}",
        listed.body
    );
    let invites = app
        .get(&format!("/api/v1/tenants/{acme}/invites"), &acme_owner)
        .await;
    assert_eq!(invites.body["items"].as_array().unwrap().len(), 2);
    // No account was made for the address that had none.
    let absent_user = app
        .post(
            &format!("/api/v1/tenants/{globex}/members"),
            &app.admin_token,
            ask("nobody@nowhere.example"),
        )
        .await;
    assert_eq!(absent_user.status, 201);
    assert_eq!(absent_user.body["user"]["display_name"], "Typed");

    // A colleague from acme, added by acme's owner to another tenant it administers: direct.
    let (initech, _) = app.tenant_with_owner("initech").await;
    let owner_email = app.get("/api/v1/me", &acme_owner).await.body["user"]["email"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app
        .post(
            &format!("/api/v1/tenants/{initech}/members"),
            &app.admin_token,
            json!({"email": owner_email, "display_name": "x", "role": "admin"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let (colleague_id, _) = app.member(&acme, "colleague@acme.example", "viewer").await;
    let to_initech = format!("/api/v1/tenants/{initech}/members");
    // Not through a token that acts in initech alone: acme's members are out of its sight.
    let scoped = app
        .post(
            "/api/v1/tokens",
            &acme_owner,
            json!({"name": "initech-only", "tenant_id": initech}),
        )
        .await
        .body["secret"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app
        .post(&to_initech, &scoped, ask("colleague@acme.example"))
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let r = app
        .post(&to_initech, &acme_owner, ask("colleague@acme.example"))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["user"]["id"], colleague_id.as_str());
    // The platform administrator adds directly.
    let r = app
        .post(&members, &app.admin_token, ask("ceo@globex.example"))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["user"]["id"], hidden_id.as_str());
}

/// Two owners demote each other at the same moment, many times: the last-owner rule holds
/// every time (one change wins, the other is refused), never a tenant without an owner and
/// never a server error.
async fn owners_demoting_each_other_at_once_leave_an_owner(app: &TestApp) {
    let (tenant, first) = app.tenant_with_owner("acme").await;
    let first_id = app.get("/api/v1/me", &first).await.body["user"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (second_id, second) = app.member(&tenant, "second@acme.example", "owner").await;
    let members = format!("/api/v1/tenants/{tenant}/members");
    let (to_second, to_first) = (
        format!("{members}/{second_id}"),
        format!("{members}/{first_id}"),
    );
    let body = || Some(json!({"role": "admin"}));
    for round in 0..12 {
        let (a, b) = futures_util::join!(
            app.call(Method::PATCH, &to_second, Some(&first), body()),
            app.call(Method::PATCH, &to_first, Some(&second), body())
        );
        let mut statuses = [a.status, b.status];
        statuses.sort();
        assert!(
            statuses == [200, 403] || statuses == [200, 409],
            "round {round}: {statuses:?} {} {}",
            a.body,
            b.body
        );
        let list = app
            .get(&format!("{members}?limit=200"), &app.admin_token)
            .await;
        let owners = list.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["role"] == "owner")
            .count();
        assert_eq!(owners, 1, "round {round}: {}", list.body);
        for whom in [&first_id, &second_id] {
            let r = app
                .call(
                    Method::PATCH,
                    &format!("{members}/{whom}"),
                    Some(&app.admin_token),
                    Some(json!({"role": "owner"})),
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
        }
    }
}

async fn bootstrap_admin_creates_tenants_and_owners_see_only_theirs(app: &TestApp) {
    let me = app.get("/api/v1/me", &app.admin_token).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["user"]["is_platform_admin"], true);

    let (a, owner_a) = app.tenant_with_owner("acme").await;
    let (b, _owner_b) = app.tenant_with_owner("globex").await;
    let dup = app
        .post(
            "/api/v1/tenants",
            &app.admin_token,
            json!({"slug": "acme", "name": "Again", "kind": "partner"}),
        )
        .await;
    assert_eq!(dup.status, 409, "{}", dup.body);
    assert_eq!(dup.body["type"], "https://consortia.dev/problems/conflict");

    let me = app.get("/api/v1/me", &owner_a).await;
    assert_eq!(me.body["memberships"].as_array().unwrap().len(), 1);
    assert_eq!(me.body["memberships"][0]["tenant"]["id"], a.as_str());
    assert_eq!(me.body["memberships"][0]["role"], "owner");

    let all = app.get("/api/v1/tenants", &app.admin_token).await;
    assert_eq!(all.body["items"].as_array().unwrap().len(), 2);
    let mine = app.get("/api/v1/tenants", &owner_a).await;
    let ids: Vec<_> = mine.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![a.as_str()]);
    assert_eq!(
        app.get(&format!("/api/v1/tenants/{b}"), &owner_a)
            .await
            .status,
        404
    );

    let partners = app
        .get("/api/v1/tenants?kind=partner", &app.admin_token)
        .await;
    assert_eq!(partners.body["items"].as_array().unwrap().len(), 0);

    let renamed = app
        .call(
            Method::PATCH,
            &format!("/api/v1/tenants/{a}"),
            Some(&owner_a),
            Some(json!({"name": "Acme Ltd"})),
        )
        .await;
    assert_eq!(renamed.status, 200);
    assert_eq!(
        app.get(&format!("/api/v1/tenants/{a}"), &owner_a)
            .await
            .body["name"],
        "Acme Ltd"
    );
}

async fn lists_paginate_stably(app: &TestApp) {
    for i in 0..5 {
        let r = app
            .post(
                "/api/v1/tenants",
                &app.admin_token,
                json!({"slug": format!("t-{i}"), "name": "T", "kind": "customer"}),
            )
            .await;
        assert_eq!(r.status, 201);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("/api/v1/tenants?limit=2&cursor={c}"),
            None => "/api/v1/tenants?limit=2".into(),
        };
        let page = app.get(&url, &app.admin_token).await;
        assert_eq!(page.status, 200);
        let items = page.body["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(
            items
                .iter()
                .map(|t| t["slug"].as_str().unwrap().to_string()),
        );
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, vec!["t-0", "t-1", "t-2", "t-3", "t-4"]);
    let bad = app.get("/api/v1/tenants?limit=500", &app.admin_token).await;
    assert_eq!(bad.status, 400);
    let bad = app
        .get("/api/v1/tenants?cursor=garbage", &app.admin_token)
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.body["detail"].as_str().unwrap().contains("cursor"));
}

async fn roles_govern_member_management(app: &TestApp) {
    let (t, owner) = app.tenant_with_owner("acme").await;
    let (_admin_id, admin) = app.member(&t, "admin@acme.example", "admin").await;
    let (dev_id, dev) = app.member(&t, "dev@acme.example", "developer").await;
    let (_viewer_id, viewer) = app.member(&t, "viewer@acme.example", "viewer").await;
    let members = format!("/api/v1/tenants/{t}/members");

    assert_eq!(
        app.get(&members, &viewer).await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    let add = json!({"email": "new@acme.example", "display_name": "New", "role": "viewer"});
    assert_eq!(app.post(&members, &viewer, add.clone()).await.status, 403);
    assert_eq!(app.post(&members, &dev, add.clone()).await.status, 403);
    // Someone the admin does not share a tenant with is invited (see
    // `adding_a_member_tells_nothing_about_other_people`); a member already in is a conflict.
    assert_eq!(app.post(&members, &admin, add.clone()).await.status, 202);
    let again = json!({"email": "viewer@acme.example", "display_name": "V", "role": "viewer"});
    assert_eq!(
        app.post(&members, &admin, again).await.status,
        409,
        "already a member"
    );

    let make_owner = json!({"email": "o2@acme.example", "display_name": "O2", "role": "owner"});
    let r = app.post(&members, &admin, make_owner.clone()).await;
    assert_eq!(r.status, 403);
    assert!(r.body["detail"].as_str().unwrap().contains("owner"));
    let r = app.post(&members, &owner, make_owner.clone()).await;
    assert_eq!((r.status, &r.body["role"]), (202, &json!("owner")));
    assert_eq!(
        app.post(&members, &app.admin_token, make_owner)
            .await
            .status,
        201
    );

    let promote = app
        .call(
            Method::PATCH,
            &format!("{members}/{dev_id}"),
            Some(&admin),
            Some(json!({"role": "admin"})),
        )
        .await;
    assert_eq!(promote.status, 200);
    assert_eq!(promote.body["role"], "admin");

    // The last owner cannot go: with two owners one may leave, never both.
    let owner_id = app.get("/api/v1/me", &owner).await.body["user"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let o2 = app.get(&members, &owner).await.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user"]["email"] == "o2@acme.example")
        .unwrap()["user"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        app.call(
            Method::DELETE,
            &format!("{members}/{o2}"),
            Some(&owner),
            None
        )
        .await
        .status,
        204
    );
    let last = app
        .call(
            Method::PATCH,
            &format!("{members}/{owner_id}"),
            Some(&owner),
            Some(json!({"role": "admin"})),
        )
        .await;
    assert_eq!(last.status, 409);
    assert!(
        last.body["detail"]
            .as_str()
            .unwrap()
            .contains("at least one owner")
    );

    // Removing a member revokes their tokens scoped to the tenant.
    let scoped = app
        .post(
            "/api/v1/tokens",
            &dev,
            json!({"name": "ci", "tenant_id": t}),
        )
        .await;
    assert_eq!(scoped.status, 201);
    let scoped = scoped.body["secret"].as_str().unwrap().to_string();
    assert_eq!(app.get("/api/v1/me", &scoped).await.status, 200);
    assert_eq!(
        app.call(
            Method::DELETE,
            &format!("{members}/{dev_id}"),
            Some(&admin),
            None
        )
        .await
        .status,
        204
    );
    assert_eq!(app.get("/api/v1/me", &scoped).await.status, 401);
    assert_eq!(
        app.get(&members, &dev).await.status,
        404,
        "a former member no longer sees the tenant"
    );
}

async fn tokens_are_shown_once_and_stop_working_when_revoked_or_expired(app: &TestApp) {
    let (_t, owner) = app.tenant_with_owner("acme").await;
    let created = app
        .post("/api/v1/tokens", &owner, json!({"name": "laptop"}))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.header("cache-control"), Some("no-store"));
    let secret = created.body["secret"].as_str().unwrap().to_string();
    let id = created.body["id"].as_str().unwrap().to_string();
    assert!(secret.starts_with("cst_"));
    assert_eq!(app.get("/api/v1/me", &secret).await.status, 200);

    let listed = app.get("/api/v1/tokens", &owner).await;
    let text = listed.body.to_string();
    assert!(
        !text.contains(&secret[40..]),
        "a listing never shows a secret"
    );
    assert!(
        listed.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == id.as_str() && t["secret"].is_null())
    );
    let stored = app.snapshot().await;
    assert!(
        !stored.contains(&secret[37..]),
        "the database holds only a keyed hash"
    );

    assert_eq!(
        app.call(
            Method::DELETE,
            &format!("/api/v1/tokens/{id}"),
            Some(&owner),
            None
        )
        .await
        .status,
        204
    );
    assert_eq!(app.get("/api/v1/me", &secret).await.status, 401);

    let past = app
        .post(
            "/api/v1/tokens",
            &owner,
            json!({"name": "old", "expires_at": "2020-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(past.status, 422);
    assert_eq!(past.body["errors"][0]["pointer"], "/expires_at");

    let soon = app.state.clock.now() + chrono::Duration::seconds(2);
    let short = app
        .post(
            "/api/v1/tokens",
            &owner,
            json!({"name": "short", "expires_at": soon}),
        )
        .await;
    assert_eq!(short.status, 201);
    let short = short.body["secret"].as_str().unwrap().to_string();
    assert_eq!(app.get("/api/v1/me", &short).await.status, 200);
    app.clock.advance(chrono::Duration::milliseconds(2100));
    let expired = app.get("/api/v1/me", &short).await;
    assert_eq!(expired.status, 401);
    assert_eq!(
        expired.body["type"],
        "https://consortia.dev/problems/unauthorized"
    );
}

async fn tenant_scoped_tokens_stay_in_their_tenant(app: &TestApp) {
    let (a, owner_a) = app.tenant_with_owner("acme").await;
    let (b, _) = app.tenant_with_owner("globex").await;
    // The owner of `a` also belongs to `b`.
    let me = app.get("/api/v1/me", &owner_a).await.body["user"]["email"]
        .as_str()
        .unwrap()
        .to_string();
    app.post(
        &format!("/api/v1/tenants/{b}/members"),
        &app.admin_token,
        json!({"email": me, "display_name": "x", "role": "viewer"}),
    )
    .await;
    assert_eq!(
        app.get(&format!("/api/v1/tenants/{b}"), &owner_a)
            .await
            .status,
        200
    );

    let scoped = app
        .post(
            "/api/v1/tokens",
            &owner_a,
            json!({"name": "a-only", "tenant_id": a}),
        )
        .await
        .body["secret"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        app.get(&format!("/api/v1/tenants/{b}"), &scoped)
            .await
            .status,
        404
    );
    let me = app.get("/api/v1/me", &scoped).await;
    assert_eq!(me.body["memberships"].as_array().unwrap().len(), 1);
    assert_eq!(me.body["token_tenant_id"], a.as_str());
    let listed = app.get("/api/v1/tenants", &scoped).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
    // It cannot mint an unscoped or differently scoped token.
    let esc = app
        .post(
            "/api/v1/tokens",
            &scoped,
            json!({"name": "esc", "tenant_id": b}),
        )
        .await;
    assert_eq!(esc.status, 404);
    let child = app
        .post("/api/v1/tokens", &scoped, json!({"name": "child"}))
        .await;
    assert_eq!(
        child.body["tenant_id"],
        a.as_str(),
        "a scoped token mints only scoped tokens"
    );

    // Service accounts get tenant tokens from admins; people do not.
    let svc = app
        .post(
            &format!("/api/v1/tenants/{a}/members"),
            &owner_a,
            json!({"kind": "service", "display_name": "CI bot", "role": "developer"}),
        )
        .await;
    assert_eq!(svc.status, 201, "{}", svc.body);
    let svc_id = svc.body["user"]["id"].as_str().unwrap().to_string();
    let tok = app
        .post(
            &format!("/api/v1/tenants/{a}/tokens"),
            &owner_a,
            json!({"name": "ci", "user_id": svc_id}),
        )
        .await;
    assert_eq!(tok.status, 201, "{}", tok.body);
    let svc_token = tok.body["secret"].as_str().unwrap().to_string();
    assert_eq!(
        app.get("/api/v1/me", &svc_token).await.body["user"]["kind"],
        "service"
    );
    let human = app.member(&a, "h@acme.example", "viewer").await.0;
    let refused = app
        .post(
            &format!("/api/v1/tenants/{a}/tokens"),
            &owner_a,
            json!({"name": "x", "user_id": human}),
        )
        .await;
    assert_eq!(refused.status, 422);
    let listed = app
        .get(&format!("/api/v1/tenants/{a}/tokens"), &owner_a)
        .await;
    assert!(listed.body["items"].as_array().unwrap().len() >= 2);
    let tok_id = tok.body["id"].as_str().unwrap();
    assert_eq!(
        app.call(
            Method::DELETE,
            &format!("/api/v1/tenants/{a}/tokens/{tok_id}"),
            Some(&owner_a),
            None
        )
        .await
        .status,
        204
    );
    assert_eq!(app.get("/api/v1/me", &svc_token).await.status, 401);
}

async fn audit_records_accepted_and_refused_changes(app: &TestApp) {
    let (t, owner) = app.tenant_with_owner("acme").await;
    let (_, viewer) = app.member(&t, "v@acme.example", "viewer").await;
    let members = format!("/api/v1/tenants/{t}/members");
    let req = actix_web::test::TestRequest::post()
        .uri(&members)
        .insert_header(("X-Request-Id", "trace-me-123"))
        .set_json(json!({"kind": "service", "display_name": "N", "role": "viewer"}));
    let ok = app.send(req, Some(&owner)).await;
    assert_eq!(ok.status, 201, "{}", ok.body);
    assert_eq!(ok.header("x-request-id"), Some("trace-me-123"));
    let denied = app
        .post(
            &members,
            &viewer,
            json!({"email": "m@acme.example", "display_name": "M", "role": "viewer"}),
        )
        .await;
    assert_eq!(denied.status, 403);
    let anon = app
        .call(Method::POST, &members, None, Some(json!({})))
        .await;
    assert_eq!(anon.status, 401);

    let events = app
        .get(&format!("/api/v1/audit-events?tenant_id={t}"), &owner)
        .await;
    assert_eq!(events.status, 200, "{}", events.body);
    let items = events.body["items"].as_array().unwrap();
    let accepted = items
        .iter()
        .find(|e| e["request_id"] == "trace-me-123")
        .expect("accepted change audited");
    assert_eq!(accepted["outcome"], "success");
    assert_eq!(accepted["status"], 201);
    assert_eq!(
        accepted["action"],
        "POST /api/v1/tenants/{tenant_id}/members"
    );
    assert!(accepted["actor_user_id"].is_string());
    assert!(accepted["target"].as_str().unwrap().starts_with(&members));
    let refused = items
        .iter()
        .find(|e| e["status"] == 403)
        .expect("refused change audited");
    assert_eq!(refused["outcome"], "denied");
    assert_eq!(refused["tenant_id"], t.as_str());
    // Newest first.
    let ids: Vec<i64> = items.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]));
    // The anonymous attempt has no tenant: only the platform administrator sees it.
    assert!(items.iter().all(|e| e["status"] != 401));
    let all = app.get("/api/v1/audit-events", &app.admin_token).await;
    assert!(
        all.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["status"] == 401 && e["actor_user_id"].is_null())
    );

    assert_eq!(
        app.get(&format!("/api/v1/audit-events?tenant_id={t}"), &viewer)
            .await
            .status,
        403
    );
    assert_eq!(
        app.get("/api/v1/audit-events", &owner).await.status,
        400,
        "tenant_id required for tenant admins"
    );
    let (other, other_owner) = app.tenant_with_owner("globex").await;
    assert_eq!(
        app.get(&format!("/api/v1/audit-events?tenant_id={t}"), &other_owner)
            .await
            .status,
        404
    );
    let theirs = app
        .get(
            &format!("/api/v1/audit-events?tenant_id={other}"),
            &other_owner,
        )
        .await;
    assert!(
        theirs.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["tenant_id"] == other.as_str())
    );
    let page = app
        .get(
            &format!("/api/v1/audit-events?tenant_id={t}&limit=1"),
            &owner,
        )
        .await;
    assert_eq!(page.body["items"].as_array().unwrap().len(), 1);
    assert!(page.body["next_cursor"].is_string());
}
