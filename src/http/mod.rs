//! Hosted mode: `crmgate serve --http ADDR`. Many users at once, each acting strictly as
//! themselves: no server-side credential, every request's bearer token is its identity.
//!
//! Routes: the MCP endpoint (`[http] path`, default `/mcp`) behind the bearer check; `/healthz`;
//! `/metrics` (Prometheus text); `/.well-known/oauth-protected-resource` when authorization
//! servers are configured (RFC 9728). Every route checks `Host` and `Origin` (DNS-rebinding
//! protection, [`origin`]) and runs under the per-request timeout. Every refusal is a JSON body
//! `{"error": {code, message, suggestion}}`; a body on the MCP endpoint that is not a usable
//! JSON-RPC message gets a JSON-RPC error (-32700, -32600, -32602) as over stdio. Stateless:
//! any replica serves any request.

mod auth;
pub mod conn;
pub mod credentials;
pub mod origin;

pub use auth::{AuthState, Caller, MetadataLocation, authorize, bearer_token};

use crate::app::App;
use crate::budget::CallerBudget;
use crate::config::http::HttpSettings;
use crate::metrics::Metrics;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Everything the routes share.
#[derive(Clone)]
struct Shared {
    settings: Arc<HttpSettings>,
    metrics: Arc<Metrics>,
}

/// Give an app what hosted mode needs: a per-caller budget, metrics, and a call deadline a
/// little under `request_timeout_s`, so that a call ends with an honest tool result (e.g.
/// `OUTCOME_UNKNOWN` for a write in flight) before the request timeout cuts it off.
pub fn hosted(mut app: App, settings: &HttpSettings) -> (App, Arc<Metrics>) {
    let limit = settings.request_timeout;
    let margin = (limit / 10).min(std::time::Duration::from_secs(2));
    app.gateway = app.gateway.with_call_time_limit(limit - margin);
    let metrics = Arc::new(Metrics::default());
    metrics.set_shared(app.shared.clone());
    app.budget = Some(Arc::new(CallerBudget::new(
        settings.per_caller_per_second,
        settings.per_caller_burst,
        app.shared.clone(),
    )));
    app.metrics = Some(metrics.clone());
    (app, metrics)
}

/// The whole hosted-mode router. `shutdown` stops the MCP service's in-flight streams.
pub fn router(
    app: App,
    settings: &HttpSettings,
    shared_identity: bool,
    shutdown: CancellationToken,
) -> Router {
    router_with_metrics(app, settings, shared_identity, shutdown).0
}

/// [`router`], and the metrics it reports.
pub fn router_with_metrics(
    app: App,
    settings: &HttpSettings,
    shared_identity: bool,
    shutdown: CancellationToken,
) -> (Router, Arc<Metrics>) {
    let (app, metrics) = hosted(app, settings);
    let shared = Shared {
        settings: Arc::new(settings.clone()),
        metrics: metrics.clone(),
    };
    let credentials = (!shared_identity).then(|| {
        credentials::CredentialCheck::new(
            app.gateway.backend().clone(),
            app.hasher.clone(),
            &app.shared,
            &app.crm_name,
        )
    });
    let auth = AuthState {
        backend: app.gateway.backend().clone(),
        shared_identity,
        credentials,
        resource_metadata: match metadata_url(settings) {
            Some(url) => MetadataLocation::Fixed(url),
            None if settings.authorization_servers.is_empty() => MetadataLocation::None,
            None => MetadataLocation::FromHost(settings.path.clone()),
        },
        metrics: metrics.clone(),
    };
    let endpoint = Arc::new(McpEndpoint {
        auth,
        mcp: crate::mcp::HttpEndpoint::new(app, settings, shutdown),
        max_body_bytes: settings.max_body_bytes,
    });
    let serve_mcp = any(move |request: Request| {
        let endpoint = endpoint.clone();
        async move { endpoint.serve(request).await }
    });
    // the path, with a trailing slash or anything under it too (as a nested service would)
    let mut router = Router::new()
        .route(&settings.path, serve_mcp.clone())
        .route(&format!("{}/", settings.path), serve_mcp.clone())
        .route(&format!("{}/{{*rest}}", settings.path), serve_mcp)
        .route(
            "/healthz",
            get(|| async { axum::Json(json!({"status": "ok"})) }),
        )
        .route("/metrics", get(metrics_text));
    if !settings.authorization_servers.is_empty() {
        router = router
            .route(
                "/.well-known/oauth-protected-resource",
                get(protected_resource),
            )
            .route(
                &format!("/.well-known/oauth-protected-resource{}", settings.path),
                get(protected_resource),
            );
    }
    // one layer, not one per concern: axum clones each layer's service for every request
    let router = router
        .layer(middleware::from_fn_with_state(shared.clone(), limits))
        .with_state(shared);
    (router, metrics)
}

/// Serve until SIGTERM or Ctrl-C; in-flight requests finish, new connections are refused.
pub async fn serve(
    app: App,
    settings: HttpSettings,
    shared_identity: bool,
    addr: SocketAddr,
) -> anyhow::Result<()> {
    let listener = conn::listen(addr)?;
    let local = listener.local_addr()?;
    let shutdown = CancellationToken::new();
    let (router, metrics) =
        router_with_metrics(app, &settings, shared_identity, shutdown.child_token());
    eprintln!(
        "crmgate: serving MCP at http://{local}{} (stop with Ctrl-C or SIGTERM)",
        settings.path
    );
    tracing::info!(%local, path = %settings.path, "hosted mode");
    let signal = shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down: finishing in-flight requests");
        signal.cancel();
    });
    let limits = conn::ConnLimits {
        header_read_timeout: settings.header_read_timeout,
        max_connections_per_address: settings.max_connections_per_address,
    };
    conn::serve(listener, router, limits, metrics, shutdown).await?;
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The layer every route runs under: [`within_limits`]; a panic while handling the request is a
/// 500 for that request only ([`crate::isolate::answer_or_500`]).
async fn limits(State(shared): State<Shared>, request: Request, next: Next) -> Response {
    crate::isolate::answer_or_500(within_limits(&shared, request, next)).await
}

/// Host and Origin checks, then the per-request timeout.
async fn within_limits(shared: &Shared, request: Request, next: Next) -> Response {
    if !host_allowed(request.headers(), &shared.settings.allowed_hosts) {
        let body = json!({"error": {"code": "NOT_ALLOWED", "message": "Host header is not allowed",
            "suggestion": "add this server's public host name to [http] allowed_hosts"}});
        return (StatusCode::FORBIDDEN, axum::Json(body)).into_response();
    }
    if let Err(refused) = origin::check(request.headers(), &shared.settings.allowed_origins) {
        let body = json!({"error": {"code": "NOT_ALLOWED",
            "message": format!("Origin {refused:?} is not allowed"),
            "suggestion": "add the web app's origin (scheme://host:port) to [http] allowed_origins"}});
        return (StatusCode::FORBIDDEN, axum::Json(body)).into_response();
    }
    match tokio::time::timeout(shared.settings.request_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            // a write may have reached the CRM before the cut: never invite a blind retry
            let body = json!({"error": {"code": "OUTCOME_UNKNOWN", "retryable": false,
                "message": format!("the request took longer than the server allows ({}s); if it was a write (crm_create, crm_update, crm_delete, …) it may have been applied",
                    shared.settings.request_timeout.as_secs()),
                "suggestion": "before repeating a write, check with crm_get or crm_search whether it happened; narrow a read (smaller limit, fewer ids)"}});
            (StatusCode::GATEWAY_TIMEOUT, axum::Json(body)).into_response()
        }
    }
}

/// The MCP endpoint: the bearer check, then rmcp's stateless service. One handler holding
/// one service, not a stack of layers and a nested service: axum clones a layer's service, and
/// rmcp its whole configuration, for every request.
struct McpEndpoint {
    auth: AuthState,
    mcp: crate::mcp::HttpEndpoint,
    max_body_bytes: usize,
}

impl McpEndpoint {
    async fn serve(&self, mut request: Request) -> Response {
        if let Err(refusal) = auth::authorize(&self.auth, &mut request).await {
            return refusal;
        }
        if request.method() != axum::http::Method::POST {
            return self.mcp.handle(request).await;
        }
        self.post(request).await
    }

    /// A POST body that is not a usable JSON-RPC message gets its JSON-RPC error here (rmcp
    /// would answer a non-JSON body with a plain-text 415). The body is parsed once, by rmcp:
    /// only when rmcp refuses the request (a 4xx) is the body judged as the stdio framing
    /// judges a line, and its JSON-RPC error, if it has one, is the answer. A request rmcp
    /// takes whose params do not fit its method is answered `-32602` by the handler
    /// (`on_custom_request`), as over stdio.
    async fn post(&self, request: Request) -> Response {
        let (parts, body) = request.into_parts();
        let limit = self.max_body_bytes;
        let bytes = match axum::body::to_bytes(body, limit).await {
            Ok(bytes) => bytes,
            Err(_) => {
                let body = json!({"error": {"code": "VALIDATION",
                    "message": format!("the request body is larger than {limit} bytes"),
                    "suggestion": "send smaller requests, or raise [http] max_body_bytes"}});
                return (StatusCode::PAYLOAD_TOO_LARGE, axum::Json(body)).into_response();
            }
        };
        let body = axum::body::Body::from(bytes.clone());
        let response = self.mcp.handle(Request::from_parts(parts, body)).await;
        if !response.status().is_client_error() {
            return response;
        }
        match crate::mcp::jsonrpc_refusal(&bytes) {
            Some(reply) => {
                let status = if reply["error"]["code"] == -32602 {
                    StatusCode::OK // a well-formed request that failed: an ordinary JSON-RPC error
                } else {
                    StatusCode::BAD_REQUEST
                };
                (status, axum::Json(reply)).into_response()
            }
            None => response,
        }
    }
}

/// Whether the `Host` header names an allowed host (with or without its port).
pub fn host_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    if allowed.is_empty() {
        return true;
    }
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let host = host.trim();
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default()
    } else {
        host.rsplit_once(':').map_or(host, |(name, _)| name)
    };
    allowed.iter().any(|a| {
        let a = a.trim();
        a.eq_ignore_ascii_case(host)
            || a.eq_ignore_ascii_case(name)
            || a.trim_start_matches('[')
                .trim_end_matches(']')
                .eq_ignore_ascii_case(name)
    })
}

async fn metrics_text(State(shared): State<Shared>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        shared.metrics.render(),
    )
        .into_response()
}

/// RFC 9728 protected-resource metadata.
async fn protected_resource(State(shared): State<Shared>, headers: HeaderMap) -> Response {
    let settings = &shared.settings;
    let resource = settings.resource.clone().unwrap_or_else(|| {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        format!("http://{host}{}", settings.path)
    });
    axum::Json(json!({
        "resource": resource,
        "authorization_servers": settings.authorization_servers,
        "bearer_methods_supported": ["header"],
        "resource_name": "crmgate",
    }))
    .into_response()
}

/// The metadata URL to name in `WWW-Authenticate`, when metadata is served and the public URL
/// is known.
fn metadata_url(settings: &HttpSettings) -> Option<String> {
    if settings.authorization_servers.is_empty() {
        return None;
    }
    let resource = settings.resource.as_deref()?;
    let (scheme, rest) = resource.split_once("://")?;
    let origin = rest.split('/').next()?;
    Some(format!(
        "{scheme}://{origin}/.well-known/oauth-protected-resource{}",
        settings.path
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn host(h: &str) -> HeaderMap {
        let mut m = HeaderMap::new();
        m.insert(header::HOST, HeaderValue::from_str(h).unwrap());
        m
    }

    #[test]
    fn host_check_matches_names_with_or_without_ports() {
        let allowed = vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
            "::1".to_owned(),
            "crm.example.com:8443".to_owned(),
        ];
        assert!(host_allowed(&host("localhost:8900"), &allowed));
        assert!(host_allowed(&host("127.0.0.1"), &allowed));
        assert!(host_allowed(&host("[::1]:8900"), &allowed));
        assert!(host_allowed(&host("crm.example.com:8443"), &allowed));
        assert!(!host_allowed(&host("evil.example:8900"), &allowed));
        assert!(!host_allowed(&HeaderMap::new(), &allowed));
        assert!(host_allowed(&host("anything"), &[]));
    }

    #[test]
    fn metadata_url_is_derived_from_the_public_resource() {
        let settings = HttpSettings {
            authorization_servers: vec!["https://auth.example.com".into()],
            resource: Some("https://crm.example.com/mcp".into()),
            ..HttpSettings::default()
        };
        assert_eq!(
            metadata_url(&settings).unwrap(),
            "https://crm.example.com/.well-known/oauth-protected-resource/mcp"
        );
        assert_eq!(metadata_url(&HttpSettings::default()), None);
    }
}
