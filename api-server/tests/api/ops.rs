//! Health, readiness, metrics, request ids, docs.

use crate::support::TestApp;
use actix_web::test::TestRequest;

crate::both!(
    operations_endpoints_answer,
    metrics_are_served_on_their_own_listener_only
);

async fn operations_endpoints_answer(app: &TestApp) {
    assert_eq!(
        app.send(TestRequest::get().uri("/healthz"), None)
            .await
            .status,
        200
    );
    assert_eq!(
        app.send(TestRequest::get().uri("/readyz"), None)
            .await
            .status,
        200
    );

    let r = app
        .send(TestRequest::get().uri("/api/v1/me"), Some(&app.admin_token))
        .await;
    let generated = r.header("x-request-id").unwrap().to_string();
    assert_eq!(
        generated.len(),
        36,
        "a request id is generated when none is sent"
    );
    let r = app
        .send(
            TestRequest::get()
                .uri("/api/v1/me")
                .insert_header(("X-Request-Id", "bad id; DROP")),
            None,
        )
        .await;
    assert_ne!(
        r.header("x-request-id"),
        Some("bad id; DROP"),
        "unsafe ids are replaced"
    );
    assert_eq!(r.body["request_id"].as_str(), r.header("x-request-id"));

    let metrics = {
        let app_state = &app.state;
        app_state.metrics.encode()
    };
    assert!(
        metrics.contains(
            r#"consortia_api_http_requests_total{route="/api/v1/me",method="GET",status="200"} 1"#
        ),
        "{metrics}"
    );
    assert!(metrics.contains(r#"status="401""#));
    assert!(metrics.contains("consortia_api_http_request_duration_seconds_bucket"));

    let docs = app.send(TestRequest::get().uri("/docs"), None).await;
    assert_eq!(docs.status, 308);
    let ui = app.send(TestRequest::get().uri("/docs/"), None).await;
    assert_eq!(ui.status, 200);
    let doc = app
        .send(TestRequest::get().uri("/api/v1/openapi.json"), None)
        .await;
    assert_eq!(doc.body["info"]["title"], "Consortia API");

    // Readiness follows the database.
    app.state.db.clone().close().await.unwrap();
    assert_eq!(
        app.send(TestRequest::get().uri("/readyz"), None)
            .await
            .status,
        503
    );
}

/// Metrics carry every tenant's certificate expiry and request counts: they are served on
/// the separate metrics listener (kept off the public Ingress), never on the API's.
async fn metrics_are_served_on_their_own_listener_only(app: &TestApp) {
    let public = app.send(TestRequest::get().uri("/metrics"), None).await;
    assert_eq!(
        public.status, 404,
        "the public listener must not serve /metrics"
    );
    let metrics = actix_web::test::init_service(
        actix_web::App::new().configure(consortia_api::http::configure_metrics(app.state.clone())),
    )
    .await;
    let res =
        actix_web::test::call_service(&metrics, TestRequest::get().uri("/metrics").to_request())
            .await;
    assert_eq!(res.status(), 200);
    let body = actix_web::test::read_body(res).await;
    assert!(
        String::from_utf8_lossy(&body).contains("consortia_api_http_requests_total"),
        "the metrics listener serves the registry"
    );
    let other =
        actix_web::test::call_service(&metrics, TestRequest::get().uri("/api/v1/me").to_request())
            .await;
    assert_eq!(
        other.status(),
        404,
        "the metrics listener serves nothing else"
    );
}
