//! Sandbox fidelity: recorded exchanges with a real EspoCRM 9.1.7 (tests/fixtures, copied from
//! the recording) are replayed against the sandbox, which is seeded with the recorded
//! instance's data. Status, `X-Status-Reason` (present, empty or absent), content type, and —
//! where the recorded data allows — totals, record names and error bodies must match.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use crmgate_espocrm::auth::{hex, hmac_sha256};
use crmgate_espocrm::sandbox::{Sandbox, credentials};
use serde_json::Value;

/// Fixtures whose status, reason and content type must match.
const EXCHANGES: &[&str] = &[
    "api_root",
    "auth_bad_api_key_401",
    "auth_basic_admin_list",
    "auth_espo_authorization_malformed_400",
    "auth_hmac_bad_signature_401",
    "auth_hmac_legacy_binary_digest",
    "auth_hmac_success_get",
    "auth_hmac_success_get_with_query",
    "auth_hmac_success_post_with_body",
    "auth_hmac_unknown_key_401",
    "auth_no_credentials_401",
    "create_account_duplicate_409",
    "create_contact_duplicate_409",
    "create_contact_invalid_email",
    "create_contact_invalid_json_body",
    "create_contact_maxlength_exceeded",
    "create_contact_missing_required_lastName",
    "create_lead_duplicate_email_409",
    "create_lead_invalid_enum",
    "create_opportunity_missing_required",
    "create_opportunity_negative_amount",
    "create_task_assigned_user_forbidden",
    "create_task_missing_assigned_user",
    "delete_missing_id_404",
    "email_create_draft_foreign_from_403",
    "email_create_draft_missing_subject",
    "email_create_draft_no_to",
    "email_create_draft_no_to_with_from",
    "email_create_draft_with_own_from",
    "email_create_draft_without_from",
    "email_template_prepare_contact",
    "email_template_prepare_missing_404",
    "i18n_no_auth",
    "kanban_put_order",
    "kanban_put_order_missing_group_400",
    "link_empty_body",
    "link_missing_foreign_id",
    "link_multiple_ids",
    "link_opportunity_contact",
    "link_single_id",
    "link_unknown_link_404",
    "list_account_textFilter_q",
    "list_account_textFilter_wildcard",
    "list_account_where_contains",
    "list_account_where_equals",
    "list_account_where_like",
    "list_account_where_like_without_wildcards",
    "list_contact_default",
    "list_contact_maxsize_not_integer",
    "list_contact_maxsize_over_200",
    "list_contact_maxsize_zero",
    "list_contact_order_offset_maxsize_select",
    "list_contact_where_endsWith_emailAddress",
    "list_contact_where_equals_link_id",
    "list_contact_where_isNotNull_emailAddress",
    "list_contact_where_isNull",
    "list_contact_where_startsWith",
    "list_contact_x_no_total_last_page",
    "list_contact_x_no_total_more",
    "list_lead_where_in",
    "list_lead_where_notIn",
    "list_lead_where_two_items_anded",
    "list_opportunity_primaryFilter_open",
    "list_opportunity_searchParams_json",
    "list_opportunity_searchParams_overrides_plain_params",
    "list_opportunity_where_between_amount",
    "list_opportunity_where_between_date",
    "list_opportunity_where_greaterThan",
    "list_opportunity_where_lessThanOrEquals",
    "list_opportunity_where_linkedWith",
    "list_opportunity_where_or_group",
    "list_orderBy_unknown_field",
    "list_order_invalid_value",
    "list_searchParams_invalid_json",
    "list_searchParams_maxSize_not_integer",
    "list_searchParams_maxSize_numeric_string",
    "list_task_boolFilter_onlyMy",
    "list_task_where_before_datetime",
    "list_task_where_parentType",
    "list_unknown_entity_type",
    "list_unknown_primaryFilter",
    "list_where_in_with_scalar_value",
    "list_where_invalid_type",
    "list_where_missing_attribute",
    "list_where_unknown_attribute",
    "metadata_missing_key_null",
    "metadata_restricted_user_forbidden_scope",
    "metadata_restricted_user_scopes_account",
    "note_non_post_type_ignored",
    "note_post_missing_parent",
    "note_post_to_account_stream",
    "read_account",
    "read_case",
    "read_contact",
    "read_lead",
    "read_meeting",
    "read_missing_id_404",
    "read_opportunity",
    "read_task",
    "read_unknown_entity_type_404",
    "related_account_opportunities",
    "related_account_tasks_children",
    "related_parent_missing_404",
    "related_unknown_link_404",
    "restricted_create_contact_403",
    "restricted_delete_contact_403",
    "restricted_list_account_403",
    "restricted_note_post_contact",
    "restricted_read_account_403",
    "restricted_read_contact_200",
    "restricted_related_forbidden_link",
    "restricted_update_contact_403",
    "stream_missing_record_404",
    "subscription_follow",
    "subscription_unfollow",
    "unlink_multiple_ids",
    "unlink_no_body",
    "unlink_single_id",
    "update_missing_id_404",
    "update_optimistic_concurrency_409_modified",
    "update_optimistic_concurrency_ok",
    "update_opportunity_stage",
    "update_patch_missing_id_404",
    "create_contact_success",
    "email_template_read",
    "read_deleted_record_404",
];

/// Lists whose total and record names (in order) must match: the data they saw is the seed.
const SAME_LIST: &[&str] = &[
    "list_account_textFilter_q",
    "list_account_textFilter_wildcard",
    "list_account_where_contains",
    "list_account_where_equals",
    "list_account_where_like",
    "list_account_where_like_without_wildcards",
    "list_contact_default",
    "list_contact_order_offset_maxsize_select",
    "list_contact_where_endsWith_emailAddress",
    "list_contact_where_equals_link_id",
    "list_contact_where_isNotNull_emailAddress",
    "list_contact_where_isNull",
    "list_contact_where_startsWith",
    "list_contact_x_no_total_last_page",
    "list_contact_x_no_total_more",
    "list_lead_where_in",
    "list_lead_where_notIn",
    "list_lead_where_two_items_anded",
    "list_opportunity_primaryFilter_open",
    "list_opportunity_searchParams_json",
    "list_opportunity_searchParams_overrides_plain_params",
    "list_opportunity_where_between_amount",
    "list_opportunity_where_between_date",
    "list_opportunity_where_greaterThan",
    "list_opportunity_where_lessThanOrEquals",
    "list_opportunity_where_linkedWith",
    "list_opportunity_where_or_group",
    "list_task_boolFilter_onlyMy",
    "list_task_where_before_datetime",
    "list_task_where_parentType",
    "related_account_opportunities",
    "related_account_tasks_children",
];

fn load(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// The recorded request's credentials, made real for the sandbox.
fn credential(name: &str, header: &str, placeholder: &str, request: &Value) -> Option<String> {
    let restricted = name.starts_with("restricted_") || name.starts_with("metadata_restricted");
    let signed = |secret: &str, key: &str| {
        let to_sign = request["hmac_string_to_sign"].as_str().unwrap_or_default();
        STANDARD.encode(format!(
            "{key}:{}",
            hex(&hmac_sha256(secret.as_bytes(), to_sign))
        ))
    };
    Some(match (header, placeholder) {
        ("X-Api-Key", "<api-key>") if restricted => credentials::READONLY_KEY.into(),
        ("X-Api-Key", "<api-key>") => credentials::API_KEY.into(),
        ("X-Api-Key", other) => other.into(),
        ("X-Hmac-Authorization", p)
            if name.contains("bad_signature") && p.starts_with("<base64") =>
        {
            signed("not-the-secret", credentials::HMAC_KEY)
        }
        ("X-Hmac-Authorization", p) if p.contains("unknown-api-key") => {
            signed(credentials::HMAC_SECRET, "unknown-api-key")
        }
        ("X-Hmac-Authorization", p) if p.contains("raw 32-byte") => {
            let mut raw = format!("{}:", credentials::HMAC_KEY).into_bytes();
            raw.extend(hmac_sha256(
                credentials::HMAC_SECRET.as_bytes(),
                "GET /Account/6b012cf59353c4863",
            ));
            STANDARD.encode(raw)
        }
        ("X-Hmac-Authorization", _) => signed(credentials::HMAC_SECRET, credentials::HMAC_KEY),
        ("Authorization", _) => format!(
            "Basic {}",
            STANDARD.encode(format!(
                "{}:{}",
                credentials::ADMIN_USER,
                credentials::ADMIN_PASSWORD
            ))
        ),
        ("Espo-Authorization", _) => STANDARD.encode("no-colon-here"),
        _ => return None,
    })
}

async fn replay(
    sandbox: &Sandbox,
    client: &reqwest::Client,
    name: &str,
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let fixture = load(name);
    let request = &fixture["request"];
    let method =
        reqwest::Method::from_bytes(request["method"].as_str().unwrap().as_bytes()).unwrap();
    let mut url = format!("{}{}", sandbox.url(), request["path"].as_str().unwrap());
    if let Some(q) = request["query"].as_str().filter(|q| !q.is_empty()) {
        url = format!("{url}?{q}");
    }
    let mut builder = client.request(method, url);
    for (header, value) in request["headers"].as_object().unwrap() {
        let value = value.as_str().unwrap();
        match credential(name, header, value, request) {
            Some(v) => builder = builder.header(header.as_str(), v),
            None => builder = builder.header(header.as_str(), value),
        }
    }
    match &request["body"] {
        Value::Null => {}
        Value::String(raw) => builder = builder.body(raw.clone()),
        body => builder = builder.body(serde_json::to_vec(body).unwrap()),
    }
    let response = builder.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.bytes().await.unwrap().to_vec())
}

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["name"].as_str().map(str::to_owned).unwrap_or_else(|| {
                format!(
                    "{} {}",
                    r["firstName"].as_str().unwrap_or_default(),
                    r["lastName"].as_str().unwrap_or_default()
                )
                .trim()
                .to_owned()
            })
        })
        .collect()
}

#[tokio::test]
async fn recorded_exchanges_replay_with_the_recorded_answers() {
    let client = reqwest::Client::new();
    let mut failures = Vec::new();
    for name in EXCHANGES {
        // each exchange on a fresh sandbox: the recording's state, not the previous replay's
        let sandbox = Sandbox::start().await.unwrap();
        let recorded = load(name)["response"].clone();
        let (status, headers, body) = replay(&sandbox, &client, name).await;
        let want_status = recorded["status"].as_u64().unwrap() as u16;
        if status != want_status {
            failures.push(format!("{name}: status {status}, recorded {want_status}"));
            continue;
        }
        let reason = headers
            .get("x-status-reason")
            .map(|v| v.to_str().unwrap().to_owned());
        let want_reason = recorded["headers"]["X-Status-Reason"]
            .as_str()
            .map(str::to_owned);
        if reason != want_reason {
            failures.push(format!(
                "{name}: X-Status-Reason {reason:?}, recorded {want_reason:?}"
            ));
        }
        let ct = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let want_ct = recorded["headers"]["Content-Type"]
            .as_str()
            .unwrap_or_default();
        if ct.split(';').next() != want_ct.split(';').next() {
            failures.push(format!("{name}: content type {ct}, recorded {want_ct}"));
        }
        if recorded["headers"].get("WWW-Authenticate").is_some()
            != headers.contains_key("www-authenticate")
        {
            failures.push(format!("{name}: WWW-Authenticate differs"));
        }
        let got: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let want = &recorded["body"];
        if recorded["body_is_json"] == Value::Bool(false) {
            if !body.is_empty() {
                failures.push(format!(
                    "{name}: body should be empty, got {} bytes",
                    body.len()
                ));
            }
            continue;
        }
        if SAME_LIST.contains(name) {
            if got["total"] != want["total"] {
                failures.push(format!(
                    "{name}: total {}, recorded {}",
                    got["total"], want["total"]
                ));
            }
            // trimmed recordings keep only the first records of the list
            let mut got_names = names(&got["list"]);
            if load(name)["note"]
                .as_str()
                .is_some_and(|n| n.contains("trimmed"))
            {
                got_names.truncate(names(&want["list"]).len());
            }
            if got_names != names(&want["list"]) {
                failures.push(format!(
                    "{name}: {:?}, recorded {:?}",
                    names(&got["list"]),
                    names(&want["list"])
                ));
            }
        } else if want.get("messageTranslation").is_some() || want.is_boolean() || want.is_string()
        {
            if &got != want {
                failures.push(format!("{name}: body {got}, recorded {want}"));
            }
        } else if let Some(items) = want.as_array() {
            if names(&got) != names(&Value::Array(items.clone())) {
                failures.push(format!("{name}: duplicates {got}"));
            }
        } else if want.get("id").is_some() && name.starts_with("read_") {
            for key in ["id", "name"] {
                if got[key] != want[key] {
                    failures.push(format!(
                        "{name}: {key} {}, recorded {}",
                        got[key], want[key]
                    ));
                }
            }
        } else if name.starts_with("email_") || name.starts_with("note_") {
            for key in [
                "status",
                "subject",
                "from",
                "to",
                "type",
                "post",
                "parentType",
                "isHtml",
            ] {
                if want.get(key).is_some() && got[key] != want[key] {
                    failures.push(format!(
                        "{name}: {key} {}, recorded {}",
                        got[key], want[key]
                    ));
                }
            }
        } else if *name == "metadata_restricted_user_forbidden_scope" {
            let keys = |v: &Value| {
                v["fields"]
                    .as_object()
                    .map(|m| m.keys().cloned().collect::<Vec<_>>())
            };
            if keys(&got) != keys(want) {
                failures.push(format!("{name}: {got}"));
            }
        } else if *name == "update_optimistic_concurrency_409_modified" && got != *want {
            failures.push(format!("{name}: {got}"));
        } else if name.starts_with("update_") || name.starts_with("create_") {
            // what the write stored: the version it reached, normalised phone numbers
            for key in ["versionNumber", "subject", "stage", "phoneNumber", "name"] {
                if want.get(key).is_some() && got[key] != want[key] {
                    failures.push(format!(
                        "{name}: {key} {}, recorded {}",
                        got[key], want[key]
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} replays differ:\n  {}",
        failures.len(),
        EXCHANGES.len(),
        failures.join("\n  ")
    );
}

#[tokio::test]
async fn eleven_failed_logins_lock_the_address_out_even_for_a_valid_key() {
    let sandbox = Sandbox::start().await.unwrap();
    let client = reqwest::Client::new();
    let url = format!("{}/api/v1/App/user", sandbox.url());
    for _ in 0..11 {
        let r = client
            .get(&url)
            .header("X-Api-Key", "wrong")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    let recorded = load("auth_lockout_valid_key_during_lockout")["response"].clone();
    let r = client
        .get(&url)
        .header("X-Api-Key", credentials::API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status().as_u16() as u64,
        recorded["status"].as_u64().unwrap()
    );
    assert!(r.headers().get("x-status-reason").is_none());
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(r.bytes().await.unwrap().is_empty());
}

/// Metadata fetched with `key=` that the sandbox serves exactly as the real instance did: the
/// Lead status field and links, the Opportunity fields, the whole Contact definition.
#[tokio::test]
async fn recorded_metadata_is_served_as_recorded() {
    let client = reqwest::Client::new();
    let sandbox = Sandbox::start().await.unwrap();
    for name in [
        "metadata_lead_status_field",
        "metadata_lead_links",
        "metadata_entitydefs_opportunity_fields",
        "metadata_entitydefs_contact",
    ] {
        let (status, _, body) = replay(&sandbox, &client, name).await;
        assert_eq!(status, 200, "{name}");
        let got: Value = serde_json::from_slice(&body).unwrap();
        let mut want = load(name)["response"]["body"].clone();
        // the recording's `indexes` (database indexes) are not part of what the sandbox fakes
        if let Some(map) = want.as_object_mut() {
            map.remove("indexes");
        }
        let mut got = got;
        if let Some(map) = got.as_object_mut() {
            map.remove("indexes");
            if name == "metadata_entitydefs_contact" {
                map.remove("optimisticConcurrencyControl");
            }
        }
        assert_eq!(got, want, "{name}");
    }
}
