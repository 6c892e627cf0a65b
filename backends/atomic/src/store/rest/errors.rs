//! PostgREST and Supabase API-gateway error answers → crmgate errors. PostgREST's body is
//! `{code, message, details, hint}`: a SQLSTATE (mapped like the postgres transport's errors)
//! or one of PostgREST's own `PGRST…` codes. The gateway in front of it answers bad API keys
//! with `{message, hint}` only.

use crate::errors::{Context, DbError, map_db_error};
use crmgate_core::upstream::UpstreamResponse;
use crmgate_core::{Error, ErrorCode};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
struct Body {
    #[serde(default)]
    code: Option<serde_json::Value>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    details: Option<String>,
}

/// Whether an answer carries PostgREST's own error body (`{code, message, …}` with a SQLSTATE
/// or `PGRST…` code): the statement failed inside its transaction.
pub fn is_postgrest(response: &UpstreamResponse) -> bool {
    let body: Body = serde_json::from_slice(&response.body).unwrap_or_default();
    matches!(&body.code, Some(serde_json::Value::String(c)) if c.len() == 5 || c.starts_with("PGRST"))
        && body.message.is_some()
}

/// The error for a non-success answer.
pub fn from_response(response: &UpstreamResponse) -> Error {
    let status = response.status.as_u16();
    let body: Body = serde_json::from_slice(&response.body).unwrap_or_default();
    map(status, &body)
}

/// The error for a status and a parsed body (kept separate for the fixture tests).
fn map(status: u16, body: &Body) -> Error {
    let code = match &body.code {
        Some(serde_json::Value::String(s)) => s.as_str(),
        _ => "",
    };
    let message = body.message.as_deref().unwrap_or("");
    match code {
        "PGRST301" | "PGRST302" | "PGRST303" => {
            crate::jwt::auth_failed(&format!("the Data API refused it ({code}: {message})"))
        }
        "PGRST116" => Error::new(
            ErrorCode::NotFound,
            "no such record",
            "check the id, or find the record with crm_search",
        ),
        "PGRST204" => Error::validation(
            format!("this project's database lacks a column ({message})"),
            "crm_describe lists the fields; migrate Atomic CRM if a field is missing",
        ),
        "PGRST205" => Error::config(format!(
            "the Data API does not expose a table crmgate needs ({message}): is this an Atomic CRM \
             project, with the tables exposed to the Data API?"
        )),
        "PGRST103" => Error::validation(
            "the requested page is out of range",
            "start again without cursor",
        ),
        c if c.starts_with("PGRST") => Error::upstream_protocol(format!(
            "the Data API refused crmgate's request ({c}: {message})"
        )),
        c if c.len() == 5 => map_db_error(
            DbError {
                code: c,
                message,
                detail: body.details.as_deref(),
            },
            Context::Records,
        ),
        _ if status == 401 => {
            if message.to_ascii_lowercase().contains("api key") {
                Error::new(
                    ErrorCode::AuthFailed,
                    format!("the Supabase API key was refused ({message})"),
                    "set anon_key_env to the project's anon (publishable) key from the dashboard",
                )
            } else {
                crate::jwt::auth_failed("the Data API refused the credentials")
            }
        }
        _ => generic(status),
    }
}

fn generic(status: u16) -> Error {
    UpstreamResponse {
        status: reqwest::StatusCode::from_u16(status).unwrap_or(reqwest::StatusCode::BAD_GATEWAY),
        headers: Default::default(),
        body: Default::default(),
    }
    .generic_error()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn fixture(name: &str) -> Error {
        let all: Value = serde_json::from_str(include_str!(
            "../../../tests/fixtures/postgrest_errors.json"
        ))
        .unwrap();
        let case = &all[name];
        let body: Body = serde_json::from_value(case["body"].clone()).unwrap_or_default();
        map(case["status"].as_u64().unwrap() as u16, &body)
    }

    #[test]
    fn recorded_error_bodies_map_to_codes() {
        let cases = [
            ("jwt_expired", ErrorCode::AuthFailed),
            ("bad_signature", ErrorCode::AuthFailed),
            ("invalid_api_key", ErrorCode::AuthFailed),
            ("foreign_key", ErrorCode::Validation),
            ("not_null", ErrorCode::Validation),
            ("rls_insert", ErrorCode::PermissionDenied),
            ("anon_table", ErrorCode::PermissionDenied),
            ("singular", ErrorCode::NotFound),
            ("unknown_column", ErrorCode::Validation),
            ("unknown_table", ErrorCode::Config),
            ("invalid_input", ErrorCode::Validation),
            ("schema_forbidden", ErrorCode::AuthFailed),
        ];
        for (name, code) in cases {
            let e = fixture(name);
            assert_eq!(e.code, code, "{name}: {e}");
            assert!(!e.suggestion.is_empty(), "{name}");
        }
        assert!(
            fixture("invalid_api_key")
                .suggestion
                .contains("anon_key_env")
        );
        assert!(fixture("foreign_key").message.contains("company_id"));
        assert!(fixture("rls_insert").suggestion.contains("admin screens"));
        assert_eq!(
            map(503, &Body::default()).code,
            ErrorCode::UpstreamUnavailable
        );
    }
}
