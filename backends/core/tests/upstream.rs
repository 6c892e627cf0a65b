//! The upstream layer against a local axum server that counts the requests reaching it and
//! injects failures: retries, the no-duplicate-writes rule (`OUTCOME_UNKNOWN`), typed failed
//! answers and per-request retry policies, one deadline per call, timeouts, refused
//! connections, malformed JSON, the size cap, the rate limiters, the concurrency cap and
//! `_meta` accounting.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use crmgate_core::upstream::{
    BudgetScope, Delivery, RetryPolicy, Upstream, UpstreamConfig, UpstreamRequest, UpstreamResponse,
};
use crmgate_core::{CallContext, Error, ErrorCode, deadline, meta};
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
    let err = result.unwrap_err().error;
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
        .unwrap_err()
        .error;
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
        .unwrap_err()
        .error;
    assert_eq!(
        (err.code, err.retry_after_s),
        (ErrorCode::RateLimited, Some(120))
    );
    let err = up
        .send(&cx, UpstreamRequest::get(&server.url))
        .await
        .unwrap_err()
        .error;
    assert_eq!(
        (err.code, err.retry_after_s),
        (ErrorCode::UpstreamUnavailable, Some(60))
    );
    assert_eq!(server.hits(), 2, "neither was retried");
}

#[tokio::test]
async fn four_hundreds_are_returned_and_failed_answers_come_back_typed() {
    let server = fake(|n| async move {
        if n == 1 {
            status(404, None)
        } else {
            (StatusCode::INTERNAL_SERVER_ERROR, r#"{"error":"db down"}"#).into_response()
        }
    })
    .await;
    let up = upstream(config());
    let cx = CallContext::configured();
    let response = up
        .send(&cx, UpstreamRequest::get(&server.url))
        .await
        .unwrap();
    assert_eq!(response.generic_error().code, ErrorCode::NotFound);
    let failed = up
        .send(&cx, UpstreamRequest::get(&server.url))
        .await
        .unwrap_err();
    assert_eq!(failed.delivery, Delivery::Answered);
    assert_eq!(failed.status(), Some(StatusCode::INTERNAL_SERVER_ERROR));
    assert_eq!(&failed.body().unwrap()[..], br#"{"error":"db down"}"#);
    assert_eq!(failed.error.code, ErrorCode::UpstreamUnavailable);
    assert_eq!(server.hits(), 2, "500 is not retried");
}

/// Bitrix24-like: the vendor's body says whether a 503 is worth retrying.
fn retry_only_query_limit(answer: &UpstreamResponse) -> bool {
    answer.body.starts_with(b"QUERY_LIMIT_EXCEEDED")
}

#[tokio::test]
async fn a_judging_backend_sees_the_answer_before_any_retry() {
    let server = fake(|n| async move {
        let body = match n {
            1 => "QUERY_LIMIT_EXCEEDED",
            2 => "OVERLOAD_LIMIT",
            _ => "QUERY_LIMIT_EXCEEDED",
        };
        (StatusCode::SERVICE_UNAVAILABLE, body).into_response()
    })
    .await;
    let up = upstream(config());
    let cx = CallContext::configured();
    let request =
        UpstreamRequest::get(&server.url).retry(RetryPolicy::Judge(retry_only_query_limit));
    // QUERY_LIMIT_EXCEEDED is retried, OVERLOAD_LIMIT comes back at once with its body
    let failed = up.send(&cx, request.clone()).await.unwrap_err();
    assert_eq!(&failed.body().unwrap()[..], b"OVERLOAD_LIMIT");
    assert_eq!(server.hits(), 2);
    // never: the first failed answer comes back
    let failed = up
        .send(&cx, request.retry(RetryPolicy::Never))
        .await
        .unwrap_err();
    assert_eq!(&failed.body().unwrap()[..], b"QUERY_LIMIT_EXCEEDED");
    assert_eq!(failed.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
    assert_eq!(server.hits(), 3);
}

#[tokio::test]
async fn a_hung_crm_costs_one_timeout_per_call_not_one_per_attempt() {
    let server = fake(|_| async {
        tokio::time::sleep(Duration::from_secs(30)).await;
        ok_json()
    })
    .await;
    let up = upstream(UpstreamConfig {
        timeout: Duration::from_millis(300),
        max_retries: 5,
        ..config()
    });
    let cx = CallContext::configured();
    let (failed, meta) = meta::measure(deadline::scope(None, async {
        let first = up.send(&cx, UpstreamRequest::get(&server.url)).await;
        // the same call's next request finds the budget spent: nothing is sent
        let second = up.send(&cx, UpstreamRequest::get(&server.url)).await;
        (first.unwrap_err(), second.unwrap_err())
    }))
    .await;
    assert_eq!(failed.0.error.code, ErrorCode::UpstreamTimeout);
    assert!(
        failed
            .0
            .error
            .message
            .contains("within 1s (this call's whole budget"),
        "{}",
        failed.0.error.message
    );
    assert_eq!(failed.1.delivery, Delivery::NotSent);
    assert_eq!(failed.1.error.code, ErrorCode::UpstreamTimeout);
    assert_eq!(meta.upstream_calls, 1, "one attempt in the whole call");
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn backoff_never_outlasts_the_deadline() {
    // every answer asks for a 2 s pause; the call's budget is 1 s: one attempt, no waiting
    let server = fake(|_| async { status(503, Some("2")) }).await;
    let up = upstream(UpstreamConfig {
        timeout: Duration::from_secs(1),
        ..config()
    });
    let failed = up
        .send(
            &CallContext::configured(),
            UpstreamRequest::get(&server.url),
        )
        .await
        .unwrap_err();
    assert_eq!(failed.error.code, ErrorCode::UpstreamUnavailable);
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn a_write_whose_outcome_is_unknown_says_so_and_is_never_repeated() {
    // 500 after the write, 503, and a connection dropped after the request was read
    let server = fake(|n| async move {
        match n {
            1 => status(500, None),
            2 => status(503, Some("1")),
            _ => {
                tokio::time::sleep(Duration::from_secs(30)).await;
                ok_json()
            }
        }
    })
    .await;
    let up = upstream(UpstreamConfig {
        timeout: Duration::from_millis(300),
        ..config()
    });
    let cx = CallContext::configured();
    for n in 1..=3 {
        let request = UpstreamRequest::post(&server.url).json(serde_json::json!({"name": "Ada"}));
        let failed = up.send(&cx, request).await.unwrap_err();
        assert_eq!(failed.error.code, ErrorCode::OutcomeUnknown, "attempt {n}");
        assert!(!failed.error.retryable);
        assert!(failed.error.retry_after_s.is_none());
        assert!(
            failed.error.suggestion.contains("do not repeat"),
            "{}",
            failed.error.suggestion
        );
        assert_clean(&failed.error);
        assert_eq!(server.hits(), n, "each write was sent exactly once");
    }
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
async fn slow_reads_time_out_within_the_budget_and_slow_writes_are_sent_once() {
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
        .unwrap_err()
        .error;
    assert_eq!(err.code, ErrorCode::UpstreamTimeout);
    assert_clean(&err);
    assert_eq!(server.hits(), 1, "the one attempt used the whole budget");

    let failed = up
        .send(&cx, UpstreamRequest::post(&server.url))
        .await
        .unwrap_err();
    assert_eq!(failed.delivery, Delivery::Unknown);
    assert_eq!(failed.error.code, ErrorCode::OutcomeUnknown);
    assert_eq!(server.hits(), 2, "the write was attempted exactly once");
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
        let failed = result.unwrap_err();
        assert_eq!(failed.delivery, Delivery::NotSent);
        let err = failed.error;
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
            .unwrap_err()
            .error;
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
        .unwrap_err()
        .error;
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
    let failed = up
        .send(&cx, UpstreamRequest::get(&server.url))
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_millis(100),
        "failed fast"
    );
    assert_eq!(failed.delivery, Delivery::NotSent);
    let err = failed.error;
    assert_eq!(err.code, ErrorCode::RateLimited);
    assert_eq!(err.retry_after_s, Some(1));
    assert_eq!(server.hits(), 4, "the refused call was never sent");
}

#[tokio::test]
async fn per_caller_limits_are_separate() {
    let server = fake(|_| async { ok_json() }).await;
    let up = upstream(UpstreamConfig {
        rate_per_second: 1,
        burst: 1,
        budget_scope: BudgetScope::PerCaller,
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
        .unwrap_err()
        .error;
    assert_eq!(err.code, ErrorCode::RateLimited);
    up.send(&bob, UpstreamRequest::get(&server.url))
        .await
        .unwrap();
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn upstreams_sharing_state_share_an_instance_budget() {
    let server = fake(|_| async { ok_json() }).await;
    let shared = crmgate_shared::SharedState::local();
    let make = || {
        upstream(UpstreamConfig {
            rate_per_second: 1,
            burst: 2,
            budget_scope: BudgetScope::Instance,
            max_wait: Duration::ZERO,
            shared: Some(shared.clone()),
            ..config()
        })
    };
    let (one, two) = (make(), make());
    let cx = CallContext::configured();
    one.send(&cx, UpstreamRequest::get(&server.url))
        .await
        .unwrap();
    two.send(&cx, UpstreamRequest::get(&server.url))
        .await
        .unwrap();
    let err = one
        .send(&cx, UpstreamRequest::get(&server.url))
        .await
        .unwrap_err()
        .error;
    assert_eq!(err.code, ErrorCode::RateLimited, "one bucket for both");
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn a_per_caller_in_flight_cap_leaves_room_for_others() {
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
        max_concurrency: 4,
        max_concurrency_per_caller: 2,
        ..config()
    });
    let alice = CallContext::bearer(SecretString::from("alice-token"));
    let bob = CallContext::bearer(SecretString::from("bob-token"));
    let flood = (0..8).map(|_| up.send(&alice, UpstreamRequest::get(&server.url)));
    let flood = futures::future::join_all(flood);
    let bob_call = async {
        // alice's flood is under way: at most 2 of her requests are in flight
        tokio::time::sleep(Duration::from_millis(20)).await;
        let r = up.send(&bob, UpstreamRequest::get(&server.url)).await;
        (r, server.hits())
    };
    let (results, (bob_result, hits_when_bob_done)) = tokio::join!(flood, bob_call);
    assert!(results.iter().all(Result::is_ok));
    bob_result.unwrap();
    assert!(
        hits_when_bob_done <= 5,
        "bob did not queue behind alice's flood ({hits_when_bob_done} requests sent)"
    );
    assert!(peak.load(SeqCst) <= 3, "alice 2 + bob 1 at most");
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
        .unwrap_err()
        .error;
    assert_eq!(err.code, ErrorCode::Config);
}
