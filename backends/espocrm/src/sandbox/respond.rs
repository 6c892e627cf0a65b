//! Answers shaped as EspoCRM 9.1.7 sends them: JSON with `Content-Type: application/json`;
//! errors with the reason in `X-Status-Reason` (sometimes present but empty) and usually an
//! empty body; auth failures and "action" endpoints as empty `text/html`.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::Value;

/// A sandbox answer, built by handlers and turned into an HTTP response at the edge.
#[derive(Debug, Clone)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// `X-Status-Reason`: `None` = header absent, `Some("")` = present and empty.
    pub reason: Option<String>,
    /// Body (empty when `None`).
    pub body: Option<Value>,
    /// `text/html; charset=UTF-8` instead of JSON.
    pub html: bool,
    /// Extra headers.
    pub headers: Vec<(&'static str, String)>,
}

impl Answer {
    /// 200 with a JSON body.
    pub fn ok(body: Value) -> Self {
        Answer {
            status: 200,
            reason: None,
            body: Some(body),
            html: false,
            headers: Vec::new(),
        }
    }

    /// A JSON-typed error with a reason and an empty body.
    pub fn error(status: u16, reason: impl Into<String>) -> Self {
        Answer {
            status,
            reason: Some(reason.into()),
            body: None,
            html: false,
            headers: Vec::new(),
        }
    }

    /// A JSON-typed error without any `X-Status-Reason`.
    pub fn bare(status: u16) -> Self {
        Answer {
            status,
            reason: None,
            body: None,
            html: false,
            headers: Vec::new(),
        }
    }

    /// An empty `text/html` error (auth failures, action endpoints).
    pub fn html(status: u16, reason: Option<&str>) -> Self {
        Answer {
            status,
            reason: reason.map(str::to_owned),
            body: None,
            html: true,
            headers: Vec::new(),
        }
    }

    /// With a JSON body.
    pub fn with_body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    /// With an extra header.
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// The validation failure of one field, as EspoCRM reports it.
    pub fn validation(entity: &str, field: &str, rule: &str) -> Self {
        Answer::error(
            400,
            format!("Field validation failure; entityType: {entity}, field: {field}, type: {rule}."),
        )
        .with_body(serde_json::json!({"messageTranslation": {"label": "validationFailure", "scope": null, "data": {"field": field, "type": rule}}}))
    }

    /// The HTTP response.
    pub fn into_response(self) -> Response {
        let body = match &self.body {
            Some(v) => Body::from(serde_json::to_vec(v).unwrap_or_default()),
            None => Body::empty(),
        };
        let mut response = Response::new(body);
        *response.status_mut() =
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(if self.html {
                "text/html; charset=UTF-8"
            } else {
                "application/json"
            }),
        );
        if let Some(reason) = &self.reason {
            let clean: String = reason
                .chars()
                .map(|c| {
                    if c.is_ascii_graphic() || c == ' ' {
                        c
                    } else {
                        ' '
                    }
                })
                .collect();
            if let Ok(v) = HeaderValue::from_str(&clean) {
                headers.insert("x-status-reason", v);
            }
        }
        for (name, value) in &self.headers {
            if let Ok(v) = HeaderValue::from_str(value) {
                headers.insert(*name, v);
            }
        }
        response
    }
}
