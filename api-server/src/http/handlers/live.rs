//! `GET /api/v1/events`: the live feed as server-sent events. What is sent and to whom is in
//! [`crate::service::live`]; this module writes it in the `text/event-stream` format.

use crate::app::AppState;
use crate::http::problem::{ApiResult, Problem};
use crate::http::views::alliances::AllianceEventView;
use crate::runtime::Phase;
use crate::service::access::Caller;
use crate::service::live::{Change, Delivery};
use actix_web::web::Bytes;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// Query of `GET /api/v1/events`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LiveQuery {
    /// Only what this tenant may read (default: every tenant of the caller, as its
    /// credential acts; everything for the platform administrator).
    pub tenant_id: Option<Uuid>,
}

/// Data of a `chain` event: a chain's phase, height or message changed.
#[derive(Debug, Serialize, ToSchema)]
pub struct LiveChain {
    pub chain_id: Uuid,
    pub alliance_id: Uuid,
    #[schema(value_type = String)]
    #[serde(serialize_with = "Phase::serialize_api")]
    pub phase: Phase,
    pub height: Option<u64>,
    pub message: Option<String>,
    /// Nodes running, of `nodes`.
    pub nodes_running: u32,
    pub nodes: u32,
}

/// Data of an `invitation` event: an invitation addressed to one of the caller's tenants was
/// sent, rejected or expired.
#[derive(Debug, Serialize, ToSchema)]
pub struct LiveInvitation {
    /// `invitation_sent`, `invitation_rejected` or `invitation_expired`.
    pub kind: String,
    pub alliance_id: Uuid,
    pub invitation_id: Option<Uuid>,
    /// The invited tenant.
    pub tenant_id: Uuid,
    pub at: DateTime<Utc>,
}

/// The wire form of one delivery.
fn frame(d: Delivery) -> Bytes {
    let event = |name: &str, id: Option<Uuid>, data: String| {
        let id = id.map(|i| format!("id: {i}\n")).unwrap_or_default();
        Bytes::from(format!("event: {name}\n{id}data: {data}\n\n"))
    };
    match d {
        Delivery::Member(change) => match &*change {
            Change::Event(e) => {
                let view = AllianceEventView::from(e.clone());
                event("alliance_event", Some(e.id), json(&view))
            }
            Change::Chain(c) => {
                let view = LiveChain {
                    chain_id: c.chain_id,
                    alliance_id: c.alliance_id,
                    phase: c.phase,
                    height: c.height,
                    message: c.message.clone(),
                    nodes_running: c.nodes_running,
                    nodes: c.nodes,
                };
                event("chain", None, json(&view))
            }
        },
        Delivery::Invitation {
            kind,
            alliance_id,
            invitation_id,
            tenant_id,
            at,
        } => {
            let view = LiveInvitation {
                kind,
                alliance_id,
                invitation_id,
                tenant_id,
                at,
            };
            event("invitation", None, json(&view))
        }
        Delivery::Resync => event("resync", None, "{}".into()),
        Delivery::KeepAlive => Bytes::from_static(b": keep-alive\n\n"),
    }
}

/// One line of JSON.
fn json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "{}".into())
}

/// What changes, as it changes: a `text/event-stream` of the caller's alliances' events
/// (`alliance_event`, data: an AllianceEventView, `id`: the event's id), invitations to its
/// tenants (`invitation`, data: LiveInvitation) and its alliances' chains' phase and height
/// (`chain`, data: LiveChain). It opens with `ready`; `resync` says changes were missed and
/// everything should be read again; a comment line keeps the connection alive every 15 s.
/// Each event is filtered as the REST routes would filter it; the stream ends when the
/// credential is revoked or expires, or the caller loses access to `tenant_id`.
#[utoipa::path(get, path = "/api/v1/events", operation_id = "streamEvents", tag = "live",
    params(LiveQuery),
    responses((status = 200, content_type = "text/event-stream", body = String,
            description = "Server-sent events: `ready`, `alliance_event`, `invitation`, `chain`, `resync`"),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem),
        (status = 503, description = "The server is stopping", body = Problem)),
    security(("bearer" = [])))]
pub async fn events(
    state: web::Data<AppState>,
    who: Caller,
    q: web::Query<LiveQuery>,
) -> ApiResult<HttpResponse> {
    let sub = state.live.subscribe(&who, q.tenant_id).await?;
    let opening = Bytes::from_static(b"retry: 3000\n\nevent: ready\ndata: {}\n\n");
    let stream =
        futures_util::stream::unfold((sub, Some(opening)), |(mut sub, opening)| async move {
            let bytes = match opening {
                Some(b) => b,
                None => frame(sub.next().await?),
            };
            Some((Ok::<_, actix_web::Error>(bytes), (sub, None)))
        });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        // Proxies that buffer responses (nginx) would hold events back.
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(stream))
}

/// This module's routes.
pub fn routes(r: &mut crate::http::Routes<'_>) {
    crate::http::routes!(r;
        GET "/api/v1/events" => events,
    );
}

/// This module's part of the API document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(events),
    components(schemas(LiveChain, LiveInvitation, AllianceEventView))
)]
pub struct Doc;
