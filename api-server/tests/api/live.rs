//! What the console reads across alliances — `GET /api/v1/chains`, `GET /api/v1/deposits`,
//! the audit log's filters — and the live feed (`GET /api/v1/events`): each shows a caller
//! what the REST routes would show it and nothing of other tenants.

use std::time::Duration;

use crate::alliances::{found, join, propose, vote};
use crate::chains::wait_chain;
use crate::support::{Feed, Read, TestApp};
use actix_web::http::Method;
use serde_json::{Value, json};

crate::both!(
    lists_across_alliances_show_only_the_callers_tenants,
    the_live_feed_shows_each_caller_only_its_own
);

fn ids(body: &Value) -> Vec<String> {
    body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("not a page: {body}"))
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect()
}

async fn chain(app: &TestApp, token: &str, tenant: &str, alliance: &str) -> String {
    let r = app
        .post(
            &format!("/api/v1/alliances/{alliance}/chains"),
            token,
            json!({"tenant_id": tenant, "name": "evidence", "engine": "native", "nodes_per_member": 1}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

/// acme and globex share alliance A with chain `ca`; initech alone has alliance B with `cb`.
struct World {
    acme: String,
    acme_t: String,
    globex: String,
    globex_t: String,
    initech: String,
    initech_t: String,
    a: String,
    b: String,
}

async fn world(app: &TestApp) -> World {
    let (acme, acme_t) = app.tenant_with_owner("acme").await;
    let (globex, globex_t) = app.tenant_with_owner("globex").await;
    let (initech, initech_t) = app.tenant_with_owner("initech").await;
    let a = found(app, &acme_t, &acme, "AcmeMSP").await;
    join(app, &a, (&acme_t, &acme), (&globex_t, &globex), "GlobexMSP").await;
    let b = found(app, &initech_t, &initech, "InitechMSP").await;
    World {
        acme,
        acme_t,
        globex,
        globex_t,
        initech,
        initech_t,
        a,
        b,
    }
}

async fn lists_across_alliances_show_only_the_callers_tenants(app: &TestApp) {
    let w = world(app).await;
    let ca = chain(app, &w.acme_t, &w.acme, &w.a).await;
    let cb = chain(app, &w.initech_t, &w.initech, &w.b).await;

    // Engines: what this runtime runs, and why not the others, before anyone submits.
    let r = app.get("/api/v1/engines", &w.acme_t).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let engines = r.body.as_array().unwrap();
    assert_eq!(engines.len(), 3);
    assert_eq!(
        engines[0],
        json!({"engine": "native", "available": true, "reason": null, "runtime": "local"})
    );
    for e in &engines[1..] {
        assert_eq!(e["available"], false, "{e}");
        assert!(
            e["reason"].as_str().unwrap().contains("native chains only"),
            "{e}"
        );
    }

    // Chains: one request for every alliance of the caller's tenants.
    let list = |token: String, q: &'static str| async move {
        app.get(&format!("/api/v1/chains{q}"), &token).await
    };
    assert_eq!(
        ids(&list(w.acme_t.clone(), "").await.body),
        vec![ca.clone()]
    );
    assert_eq!(
        ids(&list(w.globex_t.clone(), "").await.body),
        vec![ca.clone()]
    );
    assert_eq!(
        ids(&list(w.initech_t.clone(), "").await.body),
        vec![cb.clone()]
    );
    let all = ids(&list(app.admin_token.clone(), "").await.body);
    assert!(all.contains(&ca) && all.contains(&cb), "{all:?}");
    let r = app
        .get(
            &format!("/api/v1/chains?tenant_id={}", w.initech),
            &w.acme_t,
        )
        .await;
    assert_eq!(r.status, 404, "another tenant's chains: {}", r.body);
    let r = app
        .get(&format!("/api/v1/chains?tenant_id={}", w.acme), &w.acme_t)
        .await;
    assert_eq!(ids(&r.body), vec![ca.clone()]);
    assert_eq!(r.body["items"][0]["alliance_id"], w.a.as_str());
    for bad in [
        "?limit=0",
        "?cursor=nonsense",
        "?tenant_id=x",
        "?colour=red",
    ] {
        let r = app.get(&format!("/api/v1/chains{bad}"), &w.acme_t).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
    }

    // Deposits: the tenant's own, newest first, with each receipt's place but not its body.
    let path = format!("/api/v1/alliances/{}/chains/{ca}", w.a);
    wait_chain(app, &w.acme_t, &path, "chain running", |c| {
        c["phase"] == "running" && c["height"].as_u64().unwrap_or(0) >= 1
    })
    .await;
    let mut deposited = Vec::new();
    for hash in ["aa", "bb"] {
        let r = app
            .post(
                "/api/v1/deposits",
                &w.acme_t,
                json!({"tenant_id": w.acme, "content_hash": hash.repeat(32), "chain_ids": [ca]}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        deposited.push(r.body["id"].as_str().unwrap().to_string());
    }
    let r = app.get("/api/v1/deposits", &w.acme_t).await;
    assert_eq!(r.status, 200, "{}", r.body);
    deposited.reverse();
    assert_eq!(ids(&r.body), deposited, "newest first");
    let receipt = &r.body["items"][0]["receipts"][0];
    assert_eq!(receipt["chain_id"], ca.as_str());
    assert!(receipt["height"].as_u64().unwrap() >= 1);
    assert!(receipt.get("receipt").is_none(), "{receipt}");
    let page = app.get("/api/v1/deposits?limit=1", &w.acme_t).await.body;
    assert_eq!(ids(&page), vec![deposited[0].clone()]);
    let cursor = page["next_cursor"].as_str().unwrap();
    let next = app
        .get(
            &format!("/api/v1/deposits?limit=1&cursor={cursor}"),
            &w.acme_t,
        )
        .await
        .body;
    assert_eq!(ids(&next), vec![deposited[1].clone()]);
    assert!(next.get("next_cursor").is_none());
    // Globex shares the chain but not acme's deposits.
    assert_eq!(
        ids(&app.get("/api/v1/deposits", &w.globex_t).await.body),
        Vec::<String>::new()
    );
    let r = app
        .get(
            &format!("/api/v1/deposits?tenant_id={}", w.acme),
            &w.globex_t,
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    let on_b = format!("/api/v1/deposits?chain_id={cb}");
    assert_eq!(
        ids(&app.get(&on_b, &w.acme_t).await.body),
        Vec::<String>::new()
    );
    let on_a = format!("/api/v1/deposits?chain_id={ca}");
    assert_eq!(ids(&app.get(&on_a, &w.acme_t).await.body).len(), 2);
    let later = "/api/v1/deposits?since=2999-01-01T00:00:00Z";
    assert_eq!(
        ids(&app.get(later, &w.acme_t).await.body),
        Vec::<String>::new()
    );
    for bad in [
        "?since=yesterday",
        "?since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z",
        "?limit=201",
        "?chain_id=1",
    ] {
        let r = app.get(&format!("/api/v1/deposits{bad}"), &w.acme_t).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
    }

    // The audit log's filters.
    let (acme, acme_t) = (w.acme.clone(), w.acme_t.clone());
    let audit = |q: String| {
        let (acme, acme_t) = (acme.clone(), acme_t.clone());
        async move {
            app.get(
                &format!("/api/v1/audit-events?tenant_id={acme}{q}"),
                &acme_t,
            )
            .await
        }
    };
    let r = audit("&action=POST%20/API/V1/DEPOSITS".into()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{}", r.body);
    assert!(items.iter().all(|e| e["action"] == "POST /api/v1/deposits"));
    let r = audit("&outcome=success&action=%25".into()).await;
    assert_eq!(
        r.body["items"].as_array().unwrap().len(),
        0,
        "% is matched as typed, not as a wildcard: {}",
        r.body
    );
    let owner = app.get("/api/v1/me", &w.acme_t).await.body["user"]["id"].clone();
    let r = audit(format!("&actor_user_id={}", owner.as_str().unwrap())).await;
    assert!(!r.body["items"].as_array().unwrap().is_empty());
    let r = audit(format!("&actor_user_id={}", uuid::Uuid::nil())).await;
    assert!(r.body["items"].as_array().unwrap().is_empty());
    let r = audit("&since=2999-01-01T00:00:00Z".into()).await;
    assert!(r.body["items"].as_array().unwrap().is_empty());
    assert_eq!(audit("&outcome=great".into()).await.status, 400);
    let r = audit(format!("&action={}", "x".repeat(201))).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.body["errors"][0]["pointer"], "/action");
    // Another tenant's log stays closed whatever the filter.
    let r = app
        .get(
            &format!("/api/v1/audit-events?tenant_id={}&outcome=success", w.acme),
            &w.initech_t,
        )
        .await;
    assert_eq!(r.status, 404);
}

/// Reads `feed` until an event satisfies `want`; everything read on the way is returned too.
async fn until(
    feed: &mut Feed,
    what: &str,
    want: impl Fn(&str, &Value) -> bool,
) -> Vec<(String, Value)> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match feed.next(left).await {
            Read::Event(n, d) => {
                let done = want(&n, &d);
                seen.push((n, d));
                if done {
                    return seen;
                }
            }
            other => panic!("waiting for {what}: {other:?} after {seen:?}"),
        }
    }
}

async fn open(app: &TestApp, path: &str, token: &str) -> Feed {
    let (status, feed) = app.events(path, token).await;
    assert_eq!(status, 200);
    let mut feed = feed.unwrap();
    assert_eq!(
        feed.next(Duration::from_secs(5)).await,
        Read::Event("ready".into(), json!({}))
    );
    feed
}

/// Whether an event concerns alliance `id` (its event feed or one of its chains).
fn about(d: &Value, id: &str) -> bool {
    d["alliance_id"] == id
}

async fn the_live_feed_shows_each_caller_only_its_own(app: &TestApp) {
    let w = world(app).await;
    let mut acme = open(app, "/api/v1/events", &w.acme_t).await;
    let mut initech = open(
        app,
        &format!("/api/v1/events?tenant_id={}", w.initech),
        &w.initech_t,
    )
    .await;

    // Initech's own alliance: its proposal reaches initech, not acme.
    propose(
        app,
        &w.initech_t,
        &w.initech,
        &w.b,
        json!({"change_policy": {"policy": {"threshold_percentage": 60, "comparator": "greater_than", "proposal_duration_hours": 24}}}),
    )
    .await;
    until(&mut initech, "initech's proposal", |n, d| {
        n == "alliance_event" && about(d, &w.b) && d["kind"] == "proposal_created"
    })
    .await;

    // Acme's alliance invites initech: acme's members see the feed entry; initech sees only
    // that an invitation for it exists, not the alliance's feed.
    let p = propose(
        app,
        &w.acme_t,
        &w.acme,
        &w.a,
        json!({"invite_member": {"tenant_id": w.initech}}),
    )
    .await;
    vote(app, &w.acme_t, &w.acme, &w.a, &p, "yes", 201).await;
    vote(app, &w.globex_t, &w.globex, &w.a, &p, "yes", 201).await;
    let seen = until(&mut acme, "the invitation in acme's feed", |n, d| {
        n == "alliance_event" && d["kind"] == "invitation_sent"
    })
    .await;
    assert!(
        seen.iter().all(|(_, d)| !about(d, &w.b)),
        "acme saw initech's alliance: {seen:?}"
    );
    let seen = until(&mut initech, "initech's invitation", |n, _| {
        n == "invitation"
    })
    .await;
    let (_, inv) = seen.last().unwrap();
    assert_eq!(inv["tenant_id"], w.initech.as_str());
    assert_eq!(inv["alliance_id"], w.a.as_str());
    assert_eq!(inv["kind"], "invitation_sent");
    assert!(
        seen.iter()
            .all(|(n, d)| n == "invitation" || !about(d, &w.a)),
        "initech saw acme's alliance feed before joining: {seen:?}"
    );

    // Chains: acme sees its alliance's chain come up, initech does not.
    let ca = chain(app, &w.acme_t, &w.acme, &w.a).await;
    let seen = until(&mut acme, "acme's chain running", |n, d| {
        n == "chain" && d["chain_id"] == ca.as_str() && d["phase"] == "running"
    })
    .await;
    let (_, last) = seen.last().unwrap();
    assert_eq!(last["alliance_id"], w.a.as_str());
    assert_eq!(last["nodes"], 2);
    let rest = initech.drain(Duration::from_secs(3)).await;
    assert!(
        rest.iter()
            .all(|(n, d)| n != "chain" && !about(d, &w.a) || n == "invitation"),
        "initech saw acme's chain or feed: {rest:?}"
    );

    // An alliance founded after the feed opened is followed from its first event on.
    let c = found(app, &w.acme_t, &w.acme, "AcmeTwoMSP").await;
    until(&mut acme, "the new alliance's founding", |n, d| {
        n == "alliance_event" && about(d, &c) && d["kind"] == "alliance_created"
    })
    .await;

    // Asking for another tenant's feed is a 404, as for every other route.
    let (status, _) = app
        .events(
            &format!("/api/v1/events?tenant_id={}", w.acme),
            &w.initech_t,
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = app.events("/api/v1/events?tenant_id=x", &w.acme_t).await;
    assert_eq!(status, 400);

    // A revoked token's feed ends.
    let t = app
        .post("/api/v1/tokens", &w.acme_t, json!({"name": "feed"}))
        .await
        .body;
    let mut feed = open(app, "/api/v1/events", t["secret"].as_str().unwrap()).await;
    let r = app
        .call(
            Method::DELETE,
            &format!("/api/v1/tokens/{}", t["id"].as_str().unwrap()),
            Some(&w.acme_t),
            None,
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match feed.next(left).await {
            Read::Ended => break,
            Read::Event(..) => continue,
            Read::Quiet => panic!("the revoked token's feed did not end"),
        }
    }

    // A stopping server ends every feed (and opens no new one).
    app.state.live.close();
    let mut ended = false;
    for _ in 0..50 {
        match acme.next(Duration::from_secs(5)).await {
            Read::Ended => {
                ended = true;
                break;
            }
            Read::Event(..) => continue,
            Read::Quiet => break,
        }
    }
    assert!(ended, "a closed feed must end");
    let (status, _) = app.events("/api/v1/events", &w.acme_t).await;
    assert_eq!(status, 503);
}
