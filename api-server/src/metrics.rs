//! Prometheus metrics: requests by route and status, latency histogram.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels of a request sample.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// Route template, e.g. `/api/v1/tenants/{tenant_id}` (never the raw path: bounded cardinality).
    pub route: String,
    /// HTTP method.
    pub method: String,
    /// HTTP status code.
    pub status: u16,
}

/// Labels of a latency sample.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    /// Route template.
    pub route: String,
    /// HTTP method.
    pub method: String,
}

/// Labels of a certificate's expiry gauge.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
/// Ids only: a common name can be a person's name or e-mail, and metrics reach systems
/// with other access rules than the API's.
pub struct CertLabels {
    pub alliance_id: String,
    pub tenant_id: String,
    pub ca_id: String,
    pub certificate_id: String,
    pub serial: String,
}

/// The server's metrics and the registry that exposes them.
pub struct Metrics {
    registry: Registry,
    /// Expiry (unix seconds) of every valid certificate issued by the PKI.
    pub certificate_expiry: Family<CertLabels, Gauge>,
    /// Requests served.
    pub requests: Family<RequestLabels, Counter>,
    /// Request duration in seconds.
    pub latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    /// Audit events of unauthenticated requests not written (over their budget).
    pub anonymous_audit_dropped: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            (|| Histogram::new(exponential_buckets(0.0005, 2.0, 14))) as fn() -> Histogram,
        );
        let mut registry = Registry::with_prefix("consortia_api");
        registry.register("http_requests", "HTTP requests served", requests.clone());
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency",
            latency.clone(),
        );
        let certificate_expiry = Family::<CertLabels, Gauge>::default();
        registry.register(
            "certificate_expiry_timestamp_seconds",
            "Expiry time of each valid certificate issued by the PKI",
            certificate_expiry.clone(),
        );
        let anonymous_audit_dropped = Counter::default();
        registry.register(
            "audit_anonymous_dropped",
            "Audit events of unauthenticated requests not written because they exceeded their budget",
            anonymous_audit_dropped.clone(),
        );
        Metrics {
            anonymous_audit_dropped,
            registry,
            requests,
            latency,
            certificate_expiry,
        }
    }
}

impl Metrics {
    /// Records one request.
    pub fn observe(&self, route: &str, method: &str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                route: route.into(),
                method: method.into(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                route: route.into(),
                method: method.into(),
            })
            .observe(seconds);
    }

    /// Text exposition format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
