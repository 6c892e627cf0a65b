//! The upstream layer against a local axum server that counts the requests reaching it and
//! injects failures: retries, the no-duplicate-writes rule, timeouts, refused connections,
//! malformed JSON, the size cap, the rate limiters, the concurrency cap and `_meta` accounting.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use crmgate_core::upstream::{Upstream, UpstreamConfig, UpstreamRequest};
use crmgate_core::{CallContext, Error, ErrorCode, meta};
use secrecy::SecretString;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};

/// A path holding a secret, as a Bitrix24 webhook URL does.
const SECRET_PATH: &str = "/rest/1/SECRET-TOKEN/crm.contact.list";

struct Fake {
    url: String,
    hits: Arc<AtomicUsize>,
}

impl Fake {
    fn hits(&self) -> usize {
        self.hits.load(SeqCst)
    }
}

/// Serve `handler(n)` for the n-th request (1-based) on every path and method.
async fn fake<F, Fut>(handler: F) -> Fake
where
    F: Fn(usize) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Response> + Send + 'static,
{
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = Router::new().fallback(move || {
        let n = counter.fetch_add(1, SeqCst) + 1;
        handler(n)
    });
    serve(app, hits).await
}

async fn serve(app: Router, hits: Arc<AtomicUsize>) -> Fake {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Fake {
        url: format!("http://{addr}{SECRET_PATH}"),
        hits,
    }
}

fn config() -> UpstreamConfig {
    UpstreamConfig {
        timeout: Duration::from_secs(3),
        connect_timeout: Duration::from_secs(1),
        rate_per_second: 1000,
        burst: 1000,
        base_backoff: Duration::from_millis(10),
        ..UpstreamConfig::default()
    }
}

fn upstream(config: UpstreamConfig) -> Upstream {
    Upstream::new(config).unwrap()
}

fn ok_json() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"ok":true}"#,
    )
        .into_response()
}

fn status(code: u16, retry_after: Option<&str>) -> Response {
    let mut response = StatusCode::from_u16(code).unwrap().into_response();
    if let Some(value) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, value.parse().unwrap());
    }
    response
}

/// An error must never carry the URL, its secret, or the server's address.
fn assert_clean(err: &Error) {
    let text = serde_json::to_string(err).unwrap();
    for needle in ["SECRET", "127.0.0.1", "rest/1"] {
        assert!(!text.contains(needle), "error leaks {needle}: {text}");
    }
}

#[tokio::test]
async fn retries_429_after_retry_after_then_succeeds() {
    let server = fake(|n| async move {
        if n == 1 {
            status(429, Some("1"))
        } else {
            ok_json()
        }
    })
    .await;
    let up = upstream(config());
    let started = Instant::now();
    let (result, meta) = meta::measure(up.send(
        &CallContext::configured(),
        UpstreamRequest::get(&server.url),
    ))
    .await;
    let response = result.unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.json::<serde_json::Value>().unwrap()["ok"], true);
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "Retry-After honoured"
    );
    assert_eq!(server.hits(), 2);
    assert_eq!(meta.upstream_calls, 2);
}

#[tokio::test]
async fn retries_503_then_succeeds_and_meta_counts_attempts() {
    let server = fake(|n| async move { if n == 1 { status(503, None) } else { ok_json() } }).await;
    let up = upstream(config());
    let (result, meta) = meta::measure(up.send(
        &CallContext::configured(),
        UpstreamRequest::get(&server.url),
    ))
    .await;
    assert!(result.unwrap().is_success());
    assert_eq!(server.hits(), 2);
    assert_eq!(meta.upstream_calls, 2);
}

#[tokio::test]
async fn persistent_503_gives_up_after_max_retries() {
    let server = fake(|_| async { status(503, None) }).await;
    let up = upstream(config());
    let (result, meta) = meta::measure(up.send(
        &CallContext::configured(),
        UpstreamRequest::get(&server.url),
    ))
    .await;
    let err = result.unwrap_err();
    assert_eq!(err.code, ErrorCode::UpstreamUnavailable);
    assert!(err.retryable);
    assert_clean(&err);
    assert_eq!(server.hits(), 3, "max_retries 2 means 3 attempts");
    assert_eq!(meta.upstream_calls, 3);
}

#[tokio::test]
async fn persistent_429_is_rate_limited_with_retry_after() {
    let server = fake(|_| async { status(429, Some("0")) }).await;
    let up = upstream(config());
    let err = up
        .send(
            &CallContext::configured(),
            UpstreamRequest::get(&server.url),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::RateLimited);
    assert_eq!(err.retry_after_s, Some(1));
    assert_eq!(server.hits(), 3);
}

#[tokio::test]
async fn retry_after_beyond_the_limit_gives_up_at_once() {
    let server = fake(|n| async move {
        if n == 1 {
            status(429, Some("120"))
        } else {
            status(503, Some("60"))
        }
    })
    .await;
    let up = upstream(config());
    let cx = CallContext::configured();
    let err = up
        .send(&cx, UpstreamRequest::get(&server.url))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code, err.retry_after_s),
        (ErrorCode::RateLimited, Some(120))
    );
    let err = up
        .send(&cx, UpstreamRequest::get(&server.url))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code, err.retry_after_s),
        (ErrorCode::UpstreamUnavailable, Some(60))
    );
    assert_eq!(server.hits(), 2, "neither was retried");
}

#[tokio::test]
async fn other_statuses_are_returned_for_the_backend_to_map() {
    let server = fake(|n| async move { status(if n == 1 { 404 } else { 500 }, None) }).await;
    let up = upstream(config());
    let cx = CallContext::configured();
    let response = up
        .send(&cx, UpstreamRequest::get(&server.url))
        .await
        .unwrap();
    assert_eq!(response.generic_error().code, ErrorCode::NotFound);
    let response = up
        .send(&cx, UpstreamRequest::get(&server.url))
        .await
        .unwrap();
    assert_eq!(
        response.generic_error().code,
        ErrorCode::UpstreamUnavailable
    );
    assert_eq!(server.hits(), 2, "500 is not retried");
}

#[tokio::test]
async fn redirects_are_followed_only_within_the_origin() {
    let server = fake(|n| async move {
        match n {
            1 => (StatusCode::FOUND, [(header::LOCATION, "/moved")]).into_response(),
            2 => ok_json(),
            _ => (
                StatusCode::FOUND,
                [(header::LOCATION, "http://localhost:9/elsewhere")],
            )
                .into_response(),
        }
    })
    .await;
    let up = upstream(config());
    let cx = CallContext::configured();
    let response = up
        .send(&cx, UpstreamRequest::get(&server.url))
        .await
        .unwrap();
    assert_eq!(response.status, 200, "same-origin redirect followed");
    let response = up
        .send(&cx, UpstreamRequest::get(&server.url))
        .await
        .unwrap();
    assert_eq!(response.status, 302, "cross-origin redirect handed back");
    assert_eq!(response.generic_error().code, ErrorCode::UpstreamProtocol);
    assert_eq!(server.hits(), 3);
}

#[tokio::test]
async fn a_write_that_got_503_is_sent_exactly_once() {
    let server = fake(|_| async { status(503, None) }).await;
    let up = upstream(config());
    let request = UpstreamRequest::post(&server.url).json(serde_json::json!({"name": "Ada"}));
    let err = up
        .send(&CallContext::configured(), request)
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::UpstreamUnavailable);
    assert!(err.suggestion.contains("not retried"), "{}", err.suggestion);
    assert_clean(&err);
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn slow_reads_time_out_after_retries_and_slow_writes_are_sent_once() {
    let server = fake(|_| async {
        tokio::time::sleep(Duration::from_secs(2)).await;
        ok_json()
    })
    .await;
    let up = upstream(UpstreamConfig {
        timeout: Duration::from_millis(200),
        max_retries: 1,
        ..config()
    });
    let cx = CallContext::configured();
    let err = up
        .send(&cx, UpstreamRequest::get(&server.url))
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::UpstreamTimeout);
    assert_clean(&err);
    assert_eq!(server.hits(), 2, "a read is retried");

    let err = up
        .send(&cx, UpstreamRequest::post(&server.url))
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::UpstreamTimeout);
    assert!(err.suggestion.contains("not retried"), "{}", err.suggestion);
    assert_eq!(server.hits(), 3, "the write was attempted exactly once");
}

#[tokio::test]
async fn refused_connections_are_retried_and_fail_unavailable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}{SECRET_PATH}", listener.local_addr().unwrap());
    drop(listener);
    let up = upstream(config());
    let cx = CallContext::configured();
    for request in [UpstreamRequest::get(&url), UpstreamRequest::post(&url)] {
        let (result, meta) = meta::measure(up.send(&cx, request)).await;
        let err = result.unwrap_err();
        assert_eq!(err.code, ErrorCode::UpstreamUnavailable);
        assert_clean(&err);
        // Never connected, so even the write may be repeated.
        assert_eq!(meta.upstream_calls, 3);
    }
}

#[tokio::test]
async fn malformed_json_is_a_protocol_error_without_the_body() {
    let server = fake(|n| async move {
        let body = if n == 1 {
            r#"{"token": "SECRET-TOKEN", "#
        } else {
            r#"{"a": "SECRET-TOKEN"}"#
        };
        ([(header::CONTENT_TYPE, "application/json")], body).into_response()
    })
    .await;
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Shape {
        a: u32,
    }
    let up = upstream(config());
    let cx = CallContext::configured();
    let response = up
        .send(&cx, UpstreamRequest::get(&server.url))
        .await
        .unwrap();
    let err = response.json::<serde_json::Value>().unwrap_err();
    assert_eq!(err.code, ErrorCode::UpstreamProtocol);
    assert!(
        err.message
            .starts_with("the CRM answered with malformed JSON: ")
    );
    assert_clean(&err);
    let response = up
        .send(&cx, UpstreamRequest::get(&server.url))
        .await
        .unwrap();
    let err = response.json::<Shape>().unwrap_err();
    assert_eq!(err.code, ErrorCode::UpstreamProtocol);
    assert_clean(&err);
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_and_without_content_length() {
    let server = fake(|n| async move {
        match n {
            1 => vec![b'a'; 4096].into_response(),
            2 => {
                let chunks = (0..40).map(|_| Ok::<_, std::io::Error>(vec![b'b'; 100]));
                Body::from_stream(futures::stream::iter(chunks)).into_response()
            }
            _ => {
                let chunks = (0..10).map(|_| Ok::<_, std::io::Error>(vec![b'c'; 100]));
                Body::from_stream(futures::stream::iter(chunks)).into_response()
            }
        }
    })
    .await;
    let up = upstream(UpstreamConfig {
        max_response_bytes: 1000,
        ..config()
    });
    let cx = CallContext::configured();
    for _ in 0..2 {
        let err = up
            .send(&cx, UpstreamRequest::get(&server.url))
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::UpstreamProtocol);
        assert_eq!(err.message, "response larger than 1000 bytes");
    }
    assert_eq!(server.hits(), 2, "not retried");
    let response = up
        .send(&cx, UpstreamRequest::get(&server.url))
        .await
        .unwrap();
    assert_eq!(response.body.len(), 1000, "exactly the cap is fine");
    assert!(
        response.headers.get(header::CONTENT_LENGTH).is_none(),
        "streamed"
    );
}

#[tokio::test]
async fn a_declared_oversize_is_refused_before_reading() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // Declares 100 MB, sends none of it and holds the connection: only the Content-Length
    // check can answer before the timeout.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}{SECRET_PATH}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 1024];
        let _ = socket.read(&mut buf).await;
        let head = "HTTP/1.1 200 OK\r\ncontent-length: 100000000\r\n\r\n";
        socket.write_all(head.as_bytes()).await.unwrap();
        tokio::time::sleep(Duration::from_secs(10)).await;
    });
    let up = upstream(UpstreamConfig {
        max_response_bytes: 1000,
        ..config()
    });
    let started = Instant::now();
    let err = up
        .send(&CallContext::configured(), UpstreamRequest::get(&url))
        .await
        .unwrap_err();
    assert_eq!(err.message, "response larger than 1000 bytes");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn rate_limiter_waits_for_a_burst_then_fails_fast() {
    let server = fake(|_| async { ok_json() }).await;
    let cx = CallContext::configured();
    let up = upstream(UpstreamConfig {
        rate_per_second: 4,
        burst: 2,
        max_wait: Duration::from_secs(2),
        ..config()
    });
    let (results, meta) = meta::measure(async {
        let mut results = Vec::new();
        for _ in 0..3 {
            results.push(up.send(&cx, UpstreamRequest::get(&server.url)).await);
        }
        results
    })
    .await;
    assert!(results.iter().all(Result::is_ok));
    assert!(
        meta.rate_limit_wait_ms >= 150.0,
        "third call waited: {meta:?}"
    );
    assert_eq!(server.hits(), 3);

    let up = upstream(UpstreamConfig {
        rate_per_second: 1,
        burst: 1,
        max_wait: Duration::from_millis(100),
        ..config()
    });
    up.send(&cx, UpstreamRequest::get(&server.url))
        .await
        .unwrap();
    let started = Instant::now();
    let err = up
        .send(&cx, UpstreamRequest::get(&server.url))
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_millis(100),
        "failed fast"
    );
    assert_eq!(err.code, ErrorCode::RateLimited);
    assert_eq!(err.retry_after_s, Some(1));
    assert_eq!(server.hits(), 4, "the refused call was never sent");
}

#[tokio::test]
async fn per_caller_limits_are_separate() {
    let server = fake(|_| async { ok_json() }).await;
    let up = upstream(UpstreamConfig {
        per_caller_rate_per_second: Some(1),
        max_wait: Duration::from_millis(50),
        ..config()
    });
    let alice = CallContext::bearer(SecretString::from("alice-token"));
    let bob = CallContext::bearer(SecretString::from("bob-token"));
    up.send(&alice, UpstreamRequest::get(&server.url))
        .await
        .unwrap();
    let err = up
        .send(&alice, UpstreamRequest::get(&server.url))
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::RateLimited);
    up.send(&bob, UpstreamRequest::get(&server.url))
        .await
        .unwrap();
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn concurrency_never_exceeds_the_cap() {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let (now, max) = (in_flight.clone(), peak.clone());
    let server = fake(move |_| {
        let (now, max) = (now.clone(), max.clone());
        async move {
            let current = now.fetch_add(1, SeqCst) + 1;
            max.fetch_max(current, SeqCst);
            tokio::time::sleep(Duration::from_millis(100)).await;
            now.fetch_sub(1, SeqCst);
            ok_json()
        }
    })
    .await;
    let up = upstream(UpstreamConfig {
        max_concurrency: 3,
        ..config()
    });
    let cx = CallContext::configured();
    let calls = (0..12).map(|_| up.send(&cx, UpstreamRequest::get(&server.url)));
    let results = futures::future::join_all(calls).await;
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(server.hits(), 12);
    assert_eq!(
        peak.load(SeqCst),
        3,
        "the cap is reached but never exceeded"
    );
}

#[tokio::test]
async fn query_body_and_headers_reach_the_server() {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = Router::new().fallback(
        move |method: Method, uri: axum::http::Uri, headers: HeaderMap, body: String| {
            counter.fetch_add(1, SeqCst);
            let header = |name: &str| {
                headers
                    .get(name)
                    .map(|v| v.to_str().unwrap().to_owned())
                    .unwrap_or_default()
            };
            let echo = serde_json::json!({
                "method": method.as_str(),
                "query": uri.query(),
                "content_type": header("content-type"),
                "user_agent": header("user-agent"),
                "x_test": header("x-test"),
                "body": body,
            });
            async move { axum::Json(echo) }
        },
    );
    let server = serve(app, hits).await;
    let up = upstream(config());
    let request = UpstreamRequest::post(&server.url)
        .query("start", "50")
        .header("x-test", "yes".parse().unwrap())
        .json(serde_json::json!({"name": "Ada"}));
    let response = up.send(&CallContext::configured(), request).await.unwrap();
    let echo: serde_json::Value = response.json().unwrap();
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["query"], "start=50");
    assert_eq!(echo["content_type"], "application/json");
    assert!(echo["user_agent"].as_str().unwrap().starts_with("crmgate/"));
    assert_eq!(echo["x_test"], "yes");
    assert_eq!(echo["body"], r#"{"name":"Ada"}"#);
    assert_eq!(
        response.header_str("content-type"),
        Some("application/json")
    );
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn bad_configuration_is_refused() {
    for config in [
        UpstreamConfig {
            rate_per_second: 0,
            ..config()
        },
        UpstreamConfig {
            max_concurrency: 0,
            ..config()
        },
        UpstreamConfig {
            user_agent: "bad\nagent".into(),
            ..config()
        },
    ] {
        assert_eq!(Upstream::new(config).unwrap_err().code, ErrorCode::Config);
    }
    let up = upstream(config());
    let err = up
        .send(
            &CallContext::configured(),
            UpstreamRequest::get("ftp://example.com/x"),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Config);
}
