//! Panic isolation: a panic inside one tool call — a bug some input reached — ends that call
//! with an `INTERNAL` error result, and the process goes on serving every other caller.
//!
//! Three pieces, because a panic can start in three places:
//! - [`tool_call`] wraps each tool call (used by `tools::call`), so the caller gets a tool
//!   result instead of silence: rmcp runs each request in its own task, and a panicking task
//!   would never answer.
//! - [`answer_or_500`] wraps each request in hosted mode (also as the axum middleware
//!   [`catch_panics`]), so a panic anywhere else in a request (auth, routing, the MCP service)
//!   is a 500 for that request only.
//! - [`install_panic_hook`] replaces the default hook, which prints the panic message: a
//!   message such as "byte index 11 is not a char boundary … of `<the argument>`" quotes the
//!   input, so only the source location is logged.
//!
//! This only works with unwinding panics: the release profile must not set `panic = "abort"`.

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use crmgate_core::{Error, ErrorCode};
use futures::FutureExt;
use std::panic::AssertUnwindSafe;

/// Run one tool call; a panic inside it becomes an `INTERNAL` error naming the tool.
pub async fn tool_call<T>(
    tool: &str,
    call: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    match AssertUnwindSafe(call).catch_unwind().await {
        Ok(result) => result,
        Err(_) => {
            // the payload is dropped unread: it may quote the arguments
            tracing::error!(tool, "a tool call panicked; the call failed with INTERNAL");
            Err(internal(tool))
        }
    }
}

/// The error a caught panic becomes. Not retryable: the same input reaches the same bug, and a
/// write may have been sent before it.
pub fn internal(tool: &str) -> Error {
    let mut error = Error::new(
        ErrorCode::Internal,
        format!("{tool} failed on an internal error in crmgate; the server is still running"),
        "this input reached a bug: try different arguments; after a write, check with crm_get \
         or crm_search whether it happened before repeating it; report the tool name to the \
         operator",
    );
    error.retryable = false;
    error
}

/// Axum middleware: a panic while handling a request is a 500 for that request only.
pub async fn catch_panics(request: Request, next: Next) -> Response {
    answer_or_500(next.run(request)).await
}

/// The answer to a request, or a 500 if producing it panicked.
pub async fn answer_or_500(answer: impl Future<Output = Response>) -> Response {
    match AssertUnwindSafe(answer).catch_unwind().await {
        Ok(response) => response,
        Err(_) => {
            tracing::error!("an HTTP request panicked; it was answered with 500");
            let body = serde_json::json!({"error": {
                "code": ErrorCode::Internal,
                "message": "the request failed on an internal error; the server is still running",
                "suggestion": "retry with different input, or report it to the operator",
            }});
            (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(body)).into_response()
        }
    }
}

/// Log panics by location only, through `tracing` (stderr), never their message.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let thread = std::thread::current();
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_else(|| "an unknown location".into());
        tracing::error!(
            thread = thread.name().unwrap_or("unnamed"),
            %location,
            "panic (message withheld: it may quote request data)"
        );
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_call_is_an_internal_error_and_the_next_call_runs() {
        let boom = tool_call("crm_get", async {
            let text = String::from("2026-01-01é");
            // a byte-index slice through 'é': the class of bug this guards against
            let cut: &str = &text[..11];
            Ok::<_, Error>(cut.len())
        })
        .await
        .unwrap_err();
        assert_eq!(boom.code, ErrorCode::Internal);
        assert!(!boom.retryable);
        assert!(boom.message.contains("crm_get") && !boom.message.contains("2026"));
        let fine = tool_call("crm_get", async { Ok::<_, Error>(7) }).await;
        assert_eq!(fine.unwrap(), 7);
        let refused = tool_call("crm_get", async {
            Err::<(), _>(Error::validation("bad", "fix it"))
        })
        .await;
        assert_eq!(refused.unwrap_err().code, ErrorCode::Validation);
    }

    #[tokio::test]
    async fn a_panicking_route_is_a_500_and_the_server_keeps_serving() {
        use axum::Router;
        use axum::routing::get;
        let router = Router::new()
            .route(
                "/boom",
                get(|| async {
                    if std::hint::black_box(true) {
                        panic!("a bug");
                    }
                    "unreachable"
                }),
            )
            .route("/ok", get(|| async { "ok" }))
            .layer(axum::middleware::from_fn(catch_panics));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await });
        let client = reqwest::Client::new();
        let boom = client
            .get(format!("http://{addr}/boom"))
            .send()
            .await
            .unwrap();
        assert_eq!(boom.status(), 500);
        let body: serde_json::Value = boom.json().await.unwrap();
        assert_eq!(body["error"]["code"], "INTERNAL");
        let ok = client
            .get(format!("http://{addr}/ok"))
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), 200);
    }
}
