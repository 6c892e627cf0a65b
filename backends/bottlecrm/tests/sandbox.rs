//! The sandbox answers like the recorded BottleCRM: recorded requests replayed against it get
//! the recorded status and body; its envelopes and detail wrappers have the recorded keys;
//! organisations never see each other; roles, tokens and scopes behave as recorded.

use crmgate_bottlecrm::sandbox::{
    ADMIN_A, ADMIN_B, EXPIRED_A, LEADS_READ_A, REVOKED_A, Sandbox, USER_A,
};
use serde_json::{Value, json};
use std::collections::BTreeSet;

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Send a request as `token` (`None`: no credentials); status and body (JSON, or the text).
async fn send(
    sandbox: &Sandbox,
    token: Option<&str>,
    method: &str,
    path_and_query: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    let mut req = CLIENT
        .get_or_init(reqwest::Client::new)
        .request(
            method.parse().unwrap(),
            format!("{}{path_and_query}", sandbox.url()),
        )
        .header("Accept", "application/json");
    if let Some(t) = token {
        req = req.header("Authorization", format!("Bearer {t}"));
    }
    if let Some(b) = body {
        req = req
            .header("Content-Type", "application/json")
            .body(b.to_string());
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn query_string(q: &Value) -> String {
    let pairs: Vec<String> = q
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(k, v)| match v {
            Value::Array(items) => items
                .iter()
                .map(|i| format!("{k}={}", i.as_str().unwrap()))
                .collect::<Vec<_>>(),
            other => vec![format!("{k}={}", other.as_str().unwrap())],
        })
        .collect();
    if pairs.is_empty() {
        String::new()
    } else {
        format!("?{}", pairs.join("&"))
    }
}

#[tokio::test]
async fn recorded_requests_get_the_recorded_answers() {
    let sandbox = Sandbox::start().await.unwrap();
    let well_formed_unknown = "bcrm_pat_ThisTokenDoesNotExist_0000000000000000000000";
    let cases: &[(&str, Option<&str>)] = &[
        ("auth__bad_token", Some(well_formed_unknown)),
        ("auth__revoked_token", Some(REVOKED_A)),
        ("auth__expired_token", Some(EXPIRED_A)),
        ("auth__scoped_token_write_denied", Some(LEADS_READ_A)),
        (
            "auth__scoped_token_other_resource_denied",
            Some(LEADS_READ_A),
        ),
        ("auth__scoped_token_schema_denied", Some(LEADS_READ_A)),
        ("auth__pat_on_credential_path", Some(ADMIN_A)),
        ("leads__detail_missing", Some(ADMIN_A)),
        ("tasks__detail_missing", Some(ADMIN_A)),
        ("opportunities__detail_missing", Some(ADMIN_A)),
        ("invoices__detail_missing", Some(ADMIN_A)),
        ("leads__detail_unparseable_id", Some(ADMIN_A)),
        ("invoices__detail_uuid_bare_hex", Some(ADMIN_A)),
        ("leads__method_not_allowed", Some(ADMIN_A)),
        ("invoices__patch_not_allowed", Some(ADMIN_A)),
        ("invoices__delete_not_allowed", Some(ADMIN_A)),
        ("leads__list_bad_filter_date", Some(ADMIN_A)),
        ("leads__list_bad_filter_assigned_to", Some(ADMIN_A)),
        ("solutions__create_missing_fields", Some(ADMIN_A)),
        ("contacts__create_invalid_fields", Some(ADMIN_A)),
        ("contacts__create_duplicate_email", Some(ADMIN_A)),
        ("accounts__create_duplicate_name", Some(ADMIN_A)),
        ("leads__create_duplicate_email", Some(ADMIN_A)),
        ("leads__comment_missing_lead", Some(ADMIN_A)),
        ("tenant__orgB_reads_orgA_lead", Some(ADMIN_B)),
        ("tenant__orgB_reads_orgA_opportunity", Some(ADMIN_B)),
    ];
    for (name, token) in cases {
        let f = fixture(name);
        let req = &f["request"];
        let path = format!(
            "{}{}",
            req["path"].as_str().unwrap(),
            query_string(&req["query"])
        );
        let body = (!req["body"].is_null()).then_some(&req["body"]);
        let (status, answer) = send(
            &sandbox,
            *token,
            req["method"].as_str().unwrap(),
            &path,
            body,
        )
        .await;
        assert_eq!(
            status as u64,
            f["response"]["status"].as_u64().unwrap(),
            "{name}: {answer}"
        );
        assert_eq!(answer, f["response"]["body"], "{name}");
    }
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn envelopes_and_records_have_the_recorded_keys() {
    let sandbox = Sandbox::start().await.unwrap();
    for (native, path) in [
        ("leads", "/api/leads/"),
        ("contacts", "/api/contacts/"),
        ("accounts", "/api/accounts/"),
        ("opportunities", "/api/opportunities/"),
        ("tasks", "/api/tasks/"),
        ("cases", "/api/cases/"),
        ("solutions", "/api/cases/solutions/"),
        ("invoices", "/api/invoices/"),
    ] {
        let recorded = fixture(&format!("{native}__list_default"))["response"]["body"].clone();
        let (status, ours) = send(&sandbox, Some(ADMIN_A), "GET", path, None).await;
        assert_eq!(status, 200);
        assert_eq!(keys(&ours), keys(&recorded), "{native}: list envelope keys");
        for section in [
            "open_leads",
            "close_leads",
            "active_accounts",
            "closed_accounts",
            "totals",
        ] {
            if recorded.get(section).is_some_and(Value::is_object) {
                assert_eq!(
                    keys(&ours[section]),
                    keys(&recorded[section]),
                    "{native}.{section}"
                );
            }
        }
        let rows_key = match native {
            "leads" => "/open_leads/open_leads/0",
            "accounts" => "/active_accounts/open_accounts/0",
            "contacts" | "solutions" | "invoices" => "/results/0",
            other => match other {
                "opportunities" => "/opportunities/0",
                "tasks" => "/tasks/0",
                _ => "/cases/0",
            },
        };
        let (ours_row, recorded_row) = (
            ours.pointer(rows_key).unwrap(),
            recorded.pointer(rows_key).unwrap(),
        );
        let missing: Vec<String> = keys(recorded_row)
            .difference(&keys(ours_row))
            .cloned()
            .collect();
        assert!(missing.len() <= 12, "{native}: list row lacks {missing:?}");
        for must in ["id", "assigned_to", "created_at"] {
            if recorded_row.get(must).is_some() {
                assert!(ours_row.get(must).is_some(), "{native}: row lacks {must}");
            }
        }
        // the detail wrapper
        let id = ours_row["id"].as_str().unwrap();
        let (status, detail) = send(
            &sandbox,
            Some(ADMIN_A),
            "GET",
            &format!("{path}{id}/"),
            None,
        )
        .await;
        assert_eq!(status, 200, "{native} detail");
        let recorded_detail = fixture(&format!("{native}__detail"))["response"]["body"].clone();
        let extra: Vec<String> = keys(&detail)
            .difference(&keys(&recorded_detail))
            .cloned()
            .collect();
        assert!(
            extra.is_empty(),
            "{native}: detail keys not in the recording: {extra:?}"
        );
        let wrapper = crmgate_bottlecrm::entities::Entity::from_name(native)
            .unwrap()
            .spec()
            .detail_key;
        if let Some(key) = wrapper {
            assert!(detail[key].is_object(), "{native}: no {key}");
        }
    }
}

async fn first_id(sandbox: &Sandbox, token: &str, path: &str, pointer: &str) -> String {
    let (_, v) = send(sandbox, Some(token), "GET", path, None).await;
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn organisations_never_see_each_other_even_by_id() {
    let sandbox = Sandbox::start().await.unwrap();
    let lead = first_id(
        &sandbox,
        ADMIN_A,
        "/api/leads/?search=jane",
        "/open_leads/open_leads/0/id",
    )
    .await;
    let invoice = first_id(&sandbox, ADMIN_A, "/api/invoices/", "/results/0/id").await;
    let contact = first_id(
        &sandbox,
        ADMIN_A,
        "/api/contacts/?search=hank",
        "/results/0/id",
    )
    .await;
    for (method, path, body) in [
        (
            "GET",
            format!("/api/leads/{lead}/"),
            json!({"detail": "No Lead matches the given query."}),
        ),
        (
            "PATCH",
            format!("/api/leads/{lead}/"),
            json!({"detail": "No Lead matches the given query."}),
        ),
        (
            "DELETE",
            format!("/api/contacts/{contact}/"),
            json!({"detail": "No Contact matches the given query."}),
        ),
        (
            "GET",
            format!("/api/invoices/{invoice}/"),
            json!({"error": true, "message": "Invoice not found"}),
        ),
        (
            "POST",
            format!("/api/invoices/{invoice}/send/"),
            json!({"error": true, "message": "Invoice not found"}),
        ),
    ] {
        let (status, answer) = send(
            &sandbox,
            Some(ADMIN_B),
            method,
            &path,
            Some(&json!({"rating": "COLD"})),
        )
        .await;
        assert_eq!((status, answer), (404, body), "{method} {path}");
    }
    // a comment on another organisation's lead: BottleCRM's HTML 500
    let (status, answer) = send(
        &sandbox,
        Some(ADMIN_B),
        "POST",
        &format!("/api/leads/{lead}/"),
        Some(&json!({"comment": "x"})),
    )
    .await;
    assert_eq!(status, 500);
    assert!(answer.as_str().unwrap().contains("Server Error (500)"));
    let (_, list) = send(
        &sandbox,
        Some(ADMIN_B),
        "GET",
        "/api/leads/?search=jane.smith",
        None,
    )
    .await;
    assert_eq!(list["open_leads"]["leads_count"], 0);
    let (_, list) = send(&sandbox, Some(ADMIN_B), "GET", "/api/leads/", None).await;
    assert_eq!(list["open_leads"]["leads_count"], 2);
    // nothing changed in org A
    let (status, _) = send(
        &sandbox,
        Some(ADMIN_A),
        "GET",
        &format!("/api/contacts/{contact}/"),
        None,
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_user_role_token_sees_its_own_records_only() {
    let sandbox = Sandbox::start().await.unwrap();
    let (_, list) = send(&sandbox, Some(USER_A), "GET", "/api/leads/", None).await;
    assert_eq!(
        list["open_leads"]["leads_count"], 2,
        "created by the user, or assigned to it"
    );
    let jane = first_id(
        &sandbox,
        ADMIN_A,
        "/api/leads/?search=jane",
        "/open_leads/open_leads/0/id",
    )
    .await;
    let (status, answer) = send(
        &sandbox,
        Some(USER_A),
        "GET",
        &format!("/api/leads/{jane}/"),
        None,
    )
    .await;
    assert_eq!(
        (status, answer),
        (
            403,
            json!({"detail": "You do not have Permission to perform this action"})
        )
    );
    let (status, answer) = send(
        &sandbox,
        Some(USER_A),
        "PATCH",
        &format!("/api/leads/{jane}/"),
        Some(&json!({"rating": "COLD"})),
    )
    .await;
    assert_eq!(
        (status, answer),
        (
            403,
            json!({"error": true, "errors": "You do not have Permission to perform this action"})
        )
    );
    let maria = first_id(
        &sandbox,
        USER_A,
        "/api/leads/?search=maria",
        "/open_leads/open_leads/0/id",
    )
    .await;
    let (status, answer) = send(
        &sandbox,
        Some(USER_A),
        "DELETE",
        &format!("/api/leads/{maria}/"),
        None,
    )
    .await;
    assert_eq!(
        (status, answer),
        (
            403,
            json!({"error": true, "errors": "you don't have permission to delete this lead"})
        )
    );
    let invoice = first_id(&sandbox, ADMIN_A, "/api/invoices/", "/results/0/id").await;
    let (status, answer) = send(
        &sandbox,
        Some(USER_A),
        "GET",
        &format!("/api/invoices/{invoice}/"),
        None,
    )
    .await;
    assert_eq!(
        (status, answer),
        (403, json!({"error": true, "message": "Permission denied"}))
    );
    let (status, _) = send(
        &sandbox,
        Some(USER_A),
        "POST",
        "/api/accounts/",
        Some(&json!({"name": "User Co"})),
    )
    .await;
    assert_eq!(status, 200, "a USER may create accounts");
}

#[tokio::test]
async fn credentials_are_read_as_bottlecrm_reads_them() {
    let sandbox = Sandbox::start().await.unwrap();
    let org = json!({"detail": "Organization context is required. Please login again."});
    let client = reqwest::Client::new();
    let get = |header: (&'static str, String)| {
        client
            .get(format!("{}/api/leads/?limit=1", sandbox.url()))
            .header("Accept", "application/json")
            .header(header.0, header.1)
            .send()
    };
    let lower = get(("Authorization", format!("bearer {ADMIN_A}")))
        .await
        .unwrap();
    assert_eq!(lower.status().as_u16(), 403, "the scheme is case-sensitive");
    assert_eq!(lower.json::<Value>().await.unwrap(), org);
    let jwt = get(("Authorization", "Bearer not-a-jwt".to_owned()))
        .await
        .unwrap();
    assert_eq!(jwt.status().as_u16(), 403);
    let token_header = get(("Token", ADMIN_A.to_owned())).await.unwrap();
    assert_eq!(
        token_header.status().as_u16(),
        200,
        "Token: bcrm_pat_… is accepted too"
    );
    let (status, answer) = send(&sandbox, None, "GET", "/api/leads/", None).await;
    assert_eq!((status, answer), (403, org));
    let (status, _) = send(&sandbox, None, "GET", "/api/leads/not-a-uuid/", None).await;
    assert_eq!(status, 404, "an unresolvable path is a 404 before any auth");
    let (status, _) = send(
        &sandbox,
        Some(LEADS_READ_A),
        "GET",
        "/api/leads/?limit=1",
        None,
    )
    .await;
    assert_eq!(status, 200, "leads:read reads leads");
    // the schema: JSON for Accept: application/json or ?format=json, YAML otherwise
    let (status, doc) = send(&sandbox, Some(ADMIN_A), "GET", "/schema/?format=json", None).await;
    assert_eq!(status, 200);
    assert!(doc["paths"]["/api/leads/"].is_object());
    let yaml = client
        .get(format!("{}/schema/", sandbox.url()))
        .bearer_auth(ADMIN_A)
        .send()
        .await
        .unwrap();
    assert!(
        yaml.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/vnd.oai.openapi")
    );
    let (status, _) = send(
        &sandbox,
        Some(ADMIN_A),
        "GET",
        "/api/schema/?format=json",
        None,
    )
    .await;
    assert_eq!(status, 404);
}
