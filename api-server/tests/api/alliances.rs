//! Alliances: founding, proposals and votes, invitations, leaving and closing, expiry on an
//! injected clock, visibility, bad input, and racing deciding votes.

use crate::support::TestApp;
use actix_web::http::Method;
use serde_json::{Value, json};

fn policy(threshold: u32, comparator: &str, hours: u32) -> Value {
    json!({"threshold_percentage": threshold, "comparator": comparator, "proposal_duration_hours": hours})
}

/// Founds an alliance (>50%, 24 h); returns its id.
pub async fn found(app: &TestApp, token: &str, tenant: &str, org_id: &str) -> String {
    found_with(app, token, tenant, org_id, policy(50, "greater_than", 24)).await
}

pub async fn found_with(
    app: &TestApp,
    token: &str,
    tenant: &str,
    org_id: &str,
    policy: Value,
) -> String {
    let r = app
        .post(
            "/api/v1/alliances",
            token,
            json!({"tenant_id": tenant, "name": format!("{org_id} alliance"), "policy": policy,
                "org": {"name": org_id, "org_id": org_id}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

pub async fn propose(
    app: &TestApp,
    token: &str,
    tenant: &str,
    alliance: &str,
    action: Value,
) -> String {
    let r = app
        .post(
            &format!("/api/v1/alliances/{alliance}/proposals"),
            token,
            json!({"tenant_id": tenant, "description": "why not", "action": action}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["status"], "open");
    r.body["id"].as_str().unwrap().to_string()
}

pub async fn vote(
    app: &TestApp,
    token: &str,
    tenant: &str,
    alliance: &str,
    proposal: &str,
    choice: &str,
    status: u16,
) -> Value {
    let r = app
        .post(
            &format!("/api/v1/alliances/{alliance}/proposals/{proposal}/votes"),
            token,
            json!({"tenant_id": tenant, "vote": choice}),
        )
        .await;
    assert_eq!(r.status, status, "{}", r.body);
    r.body
}

/// The (single) pending invitation of a tenant.
pub async fn invitation_for(app: &TestApp, token: &str, tenant: &str) -> String {
    let r = app
        .get(&format!("/api/v1/invitations?tenant_id={tenant}"), token)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let pending: Vec<&Value> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["status"] == "pending")
        .collect();
    assert_eq!(pending.len(), 1, "{}", r.body);
    pending[0]["id"].as_str().unwrap().to_string()
}

/// Brings `joiner` into `alliance` through an invite proposal that `voters` approve.
pub async fn join(
    app: &TestApp,
    alliance: &str,
    founder: (&str, &str),
    joiner: (&str, &str),
    org_id: &str,
) {
    let p = propose(
        app,
        founder.0,
        founder.1,
        alliance,
        json!({"invite_member": {"tenant_id": joiner.1}}),
    )
    .await;
    let members = app
        .get(&format!("/api/v1/alliances/{alliance}"), founder.0)
        .await
        .body["members"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(members, 1, "join() is for a founder alone");
    let d = vote(app, founder.0, founder.1, alliance, &p, "yes", 201).await;
    assert_eq!(d["status"], "approved");
    let inv = invitation_for(app, joiner.0, joiner.1).await;
    let r = app
        .post(
            &format!("/api/v1/invitations/{inv}/accept"),
            joiner.0,
            json!({"org": {"name": org_id, "org_id": org_id}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

fn kinds(events: &Value) -> Vec<String> {
    events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect()
}

crate::both!(
    alliance_lifecycle,
    expiry_follows_the_clock,
    bad_input_is_refused_and_changes_nothing,
    racing_deciding_votes_decide_once,
    inviting_tells_nothing_about_other_tenants
);

/// An `invite_member` proposal is answered the same whether or not the tenant exists (its id
/// is all a proposer has), and so is its approval in the alliance's feed; only an existing
/// tenant gets an invitation to answer.
async fn inviting_tells_nothing_about_other_tenants(app: &TestApp) {
    let (acme, acme_t) = app.tenant_with_owner("acme").await;
    let (globex, globex_t) = app.tenant_with_owner("globex").await;
    let alliance = found(app, &acme_t, &acme, "AcmeMSP").await;
    let nobody = uuid::Uuid::now_v7().to_string();
    let mut answers = Vec::new();
    for invited in [&globex, &nobody] {
        let r = app
            .post(
                &format!("/api/v1/alliances/{alliance}/proposals"),
                &acme_t,
                json!({"tenant_id": acme, "action": {"invite_member": {"tenant_id": invited}}}),
            )
            .await;
        assert_eq!(r.status, 201, "{invited}: {}", r.body);
        let p = r.body["id"].as_str().unwrap().to_string();
        let d = vote(app, &acme_t, &acme, &alliance, &p, "yes", 201).await;
        assert_eq!(d["status"], "approved", "{d}");
        let mut keys: Vec<String> = r.body.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        answers.push(keys);
    }
    assert_eq!(answers[0], answers[1], "the same answer either way");
    let events = app
        .get(
            &format!("/api/v1/alliances/{alliance}/events?limit=200"),
            &acme_t,
        )
        .await
        .body;
    let sent: Vec<&Value> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "invitation_sent")
        .collect();
    assert_eq!(sent.len(), 2, "{events}");
    // Globex has an invitation to answer.
    assert_eq!(
        invitation_for(app, &globex_t, &globex).await.len(),
        36,
        "an invitation id"
    );
}

async fn alliance_lifecycle(app: &TestApp) {
    let (acme, acme_t) = app.tenant_with_owner("acme").await;
    let (globex, globex_t) = app.tenant_with_owner("globex").await;
    let (initech, initech_t) = app.tenant_with_owner("initech").await;
    let (_, acme_viewer) = app.member(&acme, "v@acme.example", "viewer").await;

    let a = found(app, &acme_t, &acme, "AcmeMSP").await;
    let path = format!("/api/v1/alliances/{a}");
    let r = app.get(&path, &acme_viewer).await;
    assert_eq!(
        (r.status, r.body["members"][0]["org_id"].as_str()),
        (200, Some("AcmeMSP"))
    );
    assert_eq!(r.body["policy"]["threshold_percentage"], 50);
    // Outsiders see nothing.
    assert_eq!(app.get(&path, &globex_t).await.status, 404);
    assert_eq!(
        app.get(&format!("{path}/proposals"), &globex_t)
            .await
            .status,
        404
    );
    assert_eq!(
        app.get(&format!("{path}/events"), &globex_t).await.status,
        404
    );
    let r = app.get("/api/v1/alliances", &globex_t).await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 0);

    // Invite globex: the founder alone is 100% > 50%: approved at once, an invitation appears.
    let p = propose(
        app,
        &acme_t,
        &acme,
        &a,
        json!({"invite_member": {"tenant_id": globex}}),
    )
    .await;
    let d = vote(app, &acme_t, &acme, &a, &p, "yes", 201).await;
    assert_eq!(
        (d["status"].as_str(), d["yes"].as_u64()),
        (Some("approved"), Some(1))
    );
    let inv = invitation_for(app, &globex_t, &globex).await;
    // The invited tenant sees its invitation, not the alliance; others do not see it.
    assert_eq!(
        app.get(&format!("/api/v1/invitations/{inv}"), &globex_t)
            .await
            .status,
        200
    );
    assert_eq!(
        app.get(&format!("/api/v1/invitations/{inv}"), &acme_t)
            .await
            .status,
        404
    );
    assert_eq!(
        app.get(&format!("/api/v1/invitations/{inv}"), &initech_t)
            .await
            .status,
        404
    );
    assert_eq!(app.get(&path, &globex_t).await.status, 404);
    // Accepting needs a valid, unique org id.
    let accept = |org_id: &str| json!({"org": {"name": "Globex", "org_id": org_id}});
    let r = app
        .post(
            &format!("/api/v1/invitations/{inv}/accept"),
            &globex_t,
            accept("9bad"),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    let r = app
        .post(
            &format!("/api/v1/invitations/{inv}/accept"),
            &globex_t,
            accept("AcmeMSP"),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    let r = app
        .post(
            &format!("/api/v1/invitations/{inv}/accept"),
            &globex_t,
            accept("GlobexMSP"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["members"].as_array().unwrap().len(), 2);
    let r = app
        .post(
            &format!("/api/v1/invitations/{inv}/accept"),
            &globex_t,
            accept("GlobexMSP"),
        )
        .await;
    assert_eq!(r.status, 409, "an invitation is answered once");
    assert_eq!(app.get(&path, &globex_t).await.status, 200);

    // Invite initech: 1 of 2 is 50%, not > 50%: still open; the second yes approves. Initech declines.
    let p = propose(
        app,
        &globex_t,
        &globex,
        &a,
        json!({"invite_member": {"tenant_id": initech}}),
    )
    .await;
    let d = vote(app, &globex_t, &globex, &a, &p, "yes", 201).await;
    assert_eq!(d["status"], "open");
    let d = vote(app, &acme_t, &acme, &a, &p, "yes", 201).await;
    assert_eq!(d["status"], "approved");
    let inv = invitation_for(app, &initech_t, &initech).await;
    let r = app
        .post(
            &format!("/api/v1/invitations/{inv}/reject"),
            &initech_t,
            json!(null),
        )
        .await;
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (200, Some("rejected"))
    );
    assert_eq!(app.get(&path, &initech_t).await.status, 404);

    // Change the policy: yes + no of 2 can no longer exceed 50%: rejected early.
    let p = propose(
        app,
        &acme_t,
        &acme,
        &a,
        json!({"change_policy": {"policy": policy(100, "greater_than_or_equal", 48)}}),
    )
    .await;
    assert_eq!(
        vote(app, &acme_t, &acme, &a, &p, "yes", 201).await["status"],
        "open"
    );
    assert_eq!(
        vote(app, &globex_t, &globex, &a, &p, "no", 201).await["status"],
        "rejected"
    );
    // Approved the second time; the new policy applies to later proposals.
    let p = propose(
        app,
        &acme_t,
        &acme,
        &a,
        json!({"change_policy": {"policy": policy(100, "greater_than_or_equal", 48)}}),
    )
    .await;
    vote(app, &acme_t, &acme, &a, &p, "yes", 201).await;
    assert_eq!(
        vote(app, &globex_t, &globex, &a, &p, "yes", 201).await["status"],
        "approved"
    );
    let r = app.get(&path, &acme_t).await;
    assert_eq!(r.body["policy"], policy(100, "greater_than_or_equal", 48));

    // Remove globex by proposal (unanimity now: globex must agree too).
    let p = propose(
        app,
        &acme_t,
        &acme,
        &a,
        json!({"remove_member": {"tenant_id": globex}}),
    )
    .await;
    let r = app.get(&format!("{path}/proposals/{p}"), &globex_t).await;
    assert_eq!(r.body["eligible_tenant_ids"].as_array().unwrap().len(), 2);
    vote(app, &acme_t, &acme, &a, &p, "yes", 201).await;
    assert_eq!(
        vote(app, &globex_t, &globex, &a, &p, "yes", 201).await["status"],
        "approved"
    );
    assert_eq!(app.get(&path, &globex_t).await.status, 404);
    assert_eq!(
        app.get(&path, &acme_t).await.body["members"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // The last member leaves: the alliance closes.
    let events_before = app.get(&format!("{path}/events"), &acme_t).await;
    let r = app
        .post(
            &format!("{path}/leave"),
            &acme_t,
            json!({"tenant_id": acme}),
        )
        .await;
    assert_eq!((r.status, r.body["status"].as_str()), (200, Some("closed")));
    assert_eq!(app.get(&path, &acme_t).await.status, 404);
    // Every change is in the feed, in order.
    let k = kinds(&events_before.body);
    for expected in [
        "alliance_created",
        "proposal_created",
        "vote_cast",
        "proposal_approved",
        "invitation_sent",
        "member_joined",
        "invitation_rejected",
        "proposal_rejected",
        "policy_changed",
        "member_removed",
    ] {
        assert!(
            k.contains(&expected.to_string()),
            "{expected} missing from {k:?}"
        );
    }
    assert_eq!(k.first().map(String::as_str), Some("alliance_created"));
    // ... and in the audit log, as the founding tenant's admins see it.
    let audit = app
        .get(
            &format!("/api/v1/audit-events?tenant_id={acme}&limit=200"),
            &acme_t,
        )
        .await;
    let actions: Vec<&str> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.iter().any(|a| a.contains("/alliances")),
        "{actions:?}"
    );
    assert!(actions.iter().any(|a| a.contains("/votes")), "{actions:?}");
    assert!(actions.iter().any(|a| a.contains("/leave")), "{actions:?}");
}

async fn expiry_follows_the_clock(app: &TestApp) {
    let (acme, acme_t) = app.tenant_with_owner("acme").await;
    let (globex, globex_t) = app.tenant_with_owner("globex").await;
    let (initech, initech_t) = app.tenant_with_owner("initech").await;
    let a = found(app, &acme_t, &acme, "AcmeMSP").await;
    join(app, &a, (&acme_t, &acme), (&globex_t, &globex), "GlobexMSP").await;
    // A proposal open for 24 hours: after 25, votes are refused and it reads expired.
    let p = propose(
        app,
        &acme_t,
        &acme,
        &a,
        json!({"invite_member": {"tenant_id": initech}}),
    )
    .await;
    vote(app, &acme_t, &acme, &a, &p, "yes", 201).await;
    app.clock.advance(chrono::Duration::hours(25));
    let r = vote(app, &globex_t, &globex, &a, &p, "yes", 409).await;
    assert!(r["detail"].as_str().unwrap().contains("expired"), "{r}");
    let r = app
        .get(&format!("/api/v1/alliances/{a}/proposals/{p}"), &acme_t)
        .await;
    assert_eq!(
        (r.body["status"].as_str(), r.body["yes"].as_u64()),
        (Some("expired"), Some(1))
    );
    let r = app
        .get(
            &format!("/api/v1/alliances/{a}/proposals?status=expired"),
            &acme_t,
        )
        .await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
    // An approved invitation waits seven days, then expires.
    let p = propose(
        app,
        &acme_t,
        &acme,
        &a,
        json!({"invite_member": {"tenant_id": initech}}),
    )
    .await;
    vote(app, &acme_t, &acme, &a, &p, "yes", 201).await;
    vote(app, &globex_t, &globex, &a, &p, "yes", 201).await;
    let inv = invitation_for(app, &initech_t, &initech).await;
    app.clock.advance(chrono::Duration::days(8));
    let r = app
        .get(&format!("/api/v1/invitations/{inv}"), &initech_t)
        .await;
    assert_eq!(r.body["status"], "expired");
    let r = app
        .post(
            &format!("/api/v1/invitations/{inv}/accept"),
            &initech_t,
            json!({"org": {"name": "I", "org_id": "IMSP"}}),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    let events = app
        .get(&format!("/api/v1/alliances/{a}/events"), &acme_t)
        .await;
    let k = kinds(&events.body);
    assert!(
        k.contains(&"proposal_expired".to_string())
            && k.contains(&"invitation_expired".to_string()),
        "{k:?}"
    );
}

async fn bad_input_is_refused_and_changes_nothing(app: &TestApp) {
    let (acme, acme_t) = app.tenant_with_owner("acme").await;
    let (globex, globex_t) = app.tenant_with_owner("globex").await;
    let (initech, initech_t) = app.tenant_with_owner("initech").await;
    let (_, acme_dev) = app.member(&acme, "dev@acme.example", "developer").await;
    let a = found(app, &acme_t, &acme, "AcmeMSP").await;
    join(app, &a, (&acme_t, &acme), (&globex_t, &globex), "GlobexMSP").await;
    let open = propose(
        app,
        &acme_t,
        &acme,
        &a,
        json!({"invite_member": {"tenant_id": initech}}),
    )
    .await;
    vote(app, &acme_t, &acme, &a, &open, "yes", 201).await;
    let decided = propose(
        app,
        &acme_t,
        &acme,
        &a,
        json!({"change_policy": {"policy": policy(60, "greater_than", 24)}}),
    )
    .await;
    // One "no" of two members already makes "more than 50%" unreachable.
    let d = vote(app, &acme_t, &acme, &a, &decided, "no", 201).await;
    assert_eq!(d["status"], "rejected");

    let votes = format!("/api/v1/alliances/{a}/proposals/{open}/votes");
    let proposals = format!("/api/v1/alliances/{a}/proposals");
    let cases: Vec<(&str, &str, String, Value, u16)> = vec![
        (
            "vote by a non-member",
            &initech_t,
            votes.clone(),
            json!({"tenant_id": initech, "vote": "yes"}),
            404,
        ),
        (
            "vote naming a member tenant the caller is not in",
            &initech_t,
            votes.clone(),
            json!({"tenant_id": acme, "vote": "yes"}),
            404,
        ),
        (
            "vote by a developer",
            &acme_dev,
            votes.clone(),
            json!({"tenant_id": acme, "vote": "yes"}),
            403,
        ),
        (
            "second vote",
            &acme_t,
            votes.clone(),
            json!({"tenant_id": acme, "vote": "no"}),
            409,
        ),
        (
            "vote on a decided proposal",
            &globex_t,
            format!("/api/v1/alliances/{a}/proposals/{decided}/votes"),
            json!({"tenant_id": globex, "vote": "yes"}),
            409,
        ),
        (
            "vote on an unknown proposal",
            &acme_t,
            format!(
                "/api/v1/alliances/{a}/proposals/{}/votes",
                uuid::Uuid::now_v7()
            ),
            json!({"tenant_id": acme, "vote": "yes"}),
            404,
        ),
        (
            "bad vote value",
            &acme_t,
            votes.clone(),
            json!({"tenant_id": acme, "vote": "maybe"}),
            400,
        ),
        (
            "invite a member",
            &acme_t,
            proposals.clone(),
            json!({"tenant_id": acme, "action": {"invite_member": {"tenant_id": globex}}}),
            409,
        ),
        (
            "invite a tenant twice",
            &acme_t,
            proposals.clone(),
            json!({"tenant_id": acme, "action": {"invite_member": {"tenant_id": initech}}}),
            409,
        ),
        (
            "remove a non-member",
            &acme_t,
            proposals.clone(),
            json!({"tenant_id": acme, "action": {"remove_member": {"tenant_id": initech}}}),
            422,
        ),
        (
            "remove oneself",
            &acme_t,
            proposals.clone(),
            json!({"tenant_id": acme, "action": {"remove_member": {"tenant_id": acme}}}),
            422,
        ),
        (
            "threshold 0",
            &acme_t,
            proposals.clone(),
            json!({"tenant_id": acme, "action": {"change_policy": {"policy": policy(0, "greater_than", 24)}}}),
            422,
        ),
        (
            "threshold 101",
            &acme_t,
            proposals.clone(),
            json!({"tenant_id": acme, "action": {"change_policy": {"policy": policy(101, "greater_than", 24)}}}),
            422,
        ),
        (
            "duration 0",
            &acme_t,
            proposals.clone(),
            json!({"tenant_id": acme, "action": {"change_policy": {"policy": policy(50, "greater_than", 0)}}}),
            422,
        ),
        (
            "duration 169",
            &acme_t,
            proposals.clone(),
            json!({"tenant_id": acme, "action": {"change_policy": {"policy": policy(50, "greater_than", 169)}}}),
            422,
        ),
        (
            "unknown comparator",
            &acme_t,
            proposals.clone(),
            json!({"tenant_id": acme, "action": {"change_policy": {"policy": policy(50, "about", 24)}}}),
            400,
        ),
        (
            "a chain proposal without a chain name",
            &acme_t,
            proposals.clone(),
            json!({"tenant_id": acme, "action": {"create_chain": {}}}),
            400,
        ),
        (
            "unknown action",
            &acme_t,
            proposals.clone(),
            json!({"tenant_id": acme, "action": {"dissolve": {}}}),
            400,
        ),
        (
            "create with threshold 101",
            &acme_t,
            "/api/v1/alliances".into(),
            json!({"tenant_id": acme, "name": "X", "policy": policy(101, "greater_than", 24), "org": {"name": "A", "org_id": "AMSP"}}),
            422,
        ),
        (
            "create with duration 169",
            &acme_t,
            "/api/v1/alliances".into(),
            json!({"tenant_id": acme, "name": "X", "policy": policy(50, "greater_than", 169), "org": {"name": "A", "org_id": "AMSP"}}),
            422,
        ),
        (
            "create with a bad org id",
            &acme_t,
            "/api/v1/alliances".into(),
            json!({"tenant_id": acme, "name": "X", "policy": policy(50, "greater_than", 24), "org": {"name": "A", "org_id": "has space"}}),
            422,
        ),
        (
            "create for another tenant",
            &acme_t,
            "/api/v1/alliances".into(),
            json!({"tenant_id": globex, "name": "X", "policy": policy(50, "greater_than", 24), "org": {"name": "A", "org_id": "AMSP"}}),
            404,
        ),
        (
            "leave for a non-member",
            &initech_t,
            format!("/api/v1/alliances/{a}/leave"),
            json!({"tenant_id": initech}),
            404,
        ),
    ];
    for (what, token, path, body, status) in cases {
        let before = app.snapshot().await;
        let r = app.call(Method::POST, &path, Some(token), Some(body)).await;
        assert_eq!(r.status, status, "{what}: {}", r.body);
        assert_eq!(
            r.header("content-type"),
            Some("application/problem+json"),
            "{what}"
        );
        assert_eq!(app.snapshot().await, before, "{what}: the database changed");
    }
    // A member that joined after a proposal was made does not vote on it.
    let (umbrella, umbrella_t) = app.tenant_with_owner("umbrella").await;
    let pending = propose(
        app,
        &acme_t,
        &acme,
        &a,
        json!({"remove_member": {"tenant_id": globex}}),
    )
    .await;
    let p = propose(
        app,
        &acme_t,
        &acme,
        &a,
        json!({"invite_member": {"tenant_id": umbrella}}),
    )
    .await;
    vote(app, &acme_t, &acme, &a, &p, "yes", 201).await;
    vote(app, &globex_t, &globex, &a, &p, "yes", 201).await;
    let inv = invitation_for(app, &umbrella_t, &umbrella).await;
    let r = app
        .post(
            &format!("/api/v1/invitations/{inv}/accept"),
            &umbrella_t,
            json!({"org": {"name": "U", "org_id": "UMSP"}}),
        )
        .await;
    assert_eq!(r.status, 200);
    let before = app.snapshot().await;
    vote(app, &umbrella_t, &umbrella, &a, &pending, "yes", 403).await;
    assert_eq!(app.snapshot().await, before);
}

async fn racing_deciding_votes_decide_once(app: &TestApp) {
    // Three members, more than 50% needed: after the first yes, the second yes decides. Two
    // second votes race; exactly one decides, the other finds the proposal closed.
    let (acme, acme_t) = app.tenant_with_owner("acme").await;
    let (globex, globex_t) = app.tenant_with_owner("globex").await;
    let (initech, initech_t) = app.tenant_with_owner("initech").await;
    let a = found(app, &acme_t, &acme, "AcmeMSP").await;
    join(app, &a, (&acme_t, &acme), (&globex_t, &globex), "GlobexMSP").await;
    let p = propose(
        app,
        &acme_t,
        &acme,
        &a,
        json!({"invite_member": {"tenant_id": initech}}),
    )
    .await;
    vote(app, &acme_t, &acme, &a, &p, "yes", 201).await;
    vote(app, &globex_t, &globex, &a, &p, "yes", 201).await;
    let inv = invitation_for(app, &initech_t, &initech).await;
    app.post(
        &format!("/api/v1/invitations/{inv}/accept"),
        &initech_t,
        json!({"org": {"name": "I", "org_id": "IMSP"}}),
    )
    .await;
    for round in 0..6 {
        let (target, _) = app.tenant_with_owner(&format!("target{round}")).await;
        let p = propose(
            app,
            &acme_t,
            &acme,
            &a,
            json!({"invite_member": {"tenant_id": target}}),
        )
        .await;
        vote(app, &acme_t, &acme, &a, &p, "yes", 201).await;
        let url = format!("/api/v1/alliances/{a}/proposals/{p}/votes");
        let (r1, r2) = futures_util::future::join(
            app.call(
                Method::POST,
                &url,
                Some(&globex_t),
                Some(json!({"tenant_id": globex, "vote": "yes"})),
            ),
            app.call(
                Method::POST,
                &url,
                Some(&initech_t),
                Some(json!({"tenant_id": initech, "vote": "yes"})),
            ),
        )
        .await;
        let mut statuses = [r1.status, r2.status];
        statuses.sort();
        assert_eq!(
            statuses,
            [201, 409],
            "round {round}: {} / {}",
            r1.body,
            r2.body
        );
        let winner = if r1.status == 201 { &r1 } else { &r2 };
        assert_eq!(winner.body["status"], "approved");
        assert_eq!(winner.body["yes"], 2);
        // Exactly one invitation, one approval event.
        let invs = app
            .get(
                &format!("/api/v1/invitations?tenant_id={target}"),
                &app.admin_token,
            )
            .await;
        assert_eq!(
            invs.body["items"].as_array().unwrap().len(),
            1,
            "round {round}"
        );
        let events = app
            .get(&format!("/api/v1/alliances/{a}/events?limit=200"), &acme_t)
            .await;
        let approvals = events.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "proposal_approved" && e["data"]["proposal_id"] == p.as_str())
            .count();
        assert_eq!(approvals, 1, "round {round}");
        let r = app
            .get(&format!("/api/v1/alliances/{a}/proposals/{p}"), &acme_t)
            .await;
        assert_eq!(
            r.body["votes"].as_array().unwrap().len(),
            2,
            "the losing vote left no trace"
        );
    }
}
