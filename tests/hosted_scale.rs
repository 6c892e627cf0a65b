//! Hosted mode at scale, through the built binary (`crmgate serve --http`) in front of vendor
//! sandboxes: one caller never hurts another (a flooding caller spends only its own budget; a
//! flood of wrong keys neither reaches the CRM again nor trips its failed-login lockout), demo
//! tenants are evicted rather than refused, and connection limits cut a slow-loris client.
//! Assertions are on counts and outcomes, never on timings.

use serde_json::{Value, json};

mod common;
use common::hosted::Hosted;

/// A 2026-07-28 style stateless tools/call; returns the HTTP status and the body.
async fn call(base: &str, token: &str, tool: &str, args: Value) -> (u16, Value) {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": tool, "arguments": args,
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": {"name": "hosted-scale", "version": "1"}
        }
    }});
    let response = reqwest::Client::new()
        .post(format!("{base}/mcp"))
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", tool)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(json!({"raw": text})),
    )
}

/// The error code of a tool result, `None` for a success.
fn error_code(body: &Value) -> Option<String> {
    let result = &body["result"];
    if result["isError"] == true {
        Some(
            result["_meta"]["crmgate"]["error"]["code"]
                .as_str()
                .unwrap_or("?")
                .to_owned(),
        )
    } else if result.is_null() {
        Some(format!("no result: {body}"))
    } else {
        None
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_caller_spends_only_its_own_budget() {
    use crmgate_bottlecrm::sandbox::{ADMIN_A, ADMIN_B, Sandbox, USER_A};
    let sandbox = Sandbox::start().await.unwrap();
    let config = format!(
        "[http]\nper_caller_per_second = 1000\nper_caller_burst = 1000\n\
         [crm.bottle]\nkind = \"bottlecrm\"\nurl = \"{}\"\n\
         [crm.bottle.rate_limit]\nper_second = 1\nburst = 12\nmax_wait_ms = 0\n",
        sandbox.url()
    );
    let hosted = Hosted::spawn(&config, &[]);
    let base = hosted.base.clone();
    let search = json!({"entity": "leads", "limit": 1});
    // everyone starts: their token is checked, metadata loaded
    for token in [ADMIN_A, USER_A, ADMIN_B] {
        let (status, body) = call(&base, token, "crm_search", search.clone()).await;
        assert_eq!(status, 200);
        assert_eq!(error_code(&body), None, "{body}");
    }
    // ADMIN_A floods
    let flood = (0..60).map(|_| call(&base, ADMIN_A, "crm_search", search.clone()));
    let flood = futures::future::join_all(flood).await;
    let refused = flood
        .iter()
        .filter(|(_, b)| error_code(b).as_deref() == Some("RATE_LIMITED"))
        .count();
    assert!(
        refused >= 30,
        "the flooder ran into its own budget ({refused} of 60 refused)"
    );
    // the other two keep their rate: every call of theirs goes through
    for token in [USER_A, ADMIN_B] {
        for _ in 0..4 {
            let (status, body) = call(&base, token, "crm_search", search.clone()).await;
            assert_eq!(status, 200);
            assert_eq!(
                error_code(&body),
                None,
                "another caller is unaffected: {body}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_espocrm_keys_do_not_lock_out_a_valid_caller() {
    use crmgate_espocrm::sandbox::{Sandbox, credentials::API_KEY};
    let sandbox = Sandbox::start().await.unwrap();
    let config = format!(
        "[crm.espo]\nkind = \"espocrm\"\nurl = \"{}\"\n",
        sandbox.url()
    );
    let hosted = Hosted::spawn(&config, &[]);
    let base = hosted.base.clone();
    let search = json!({"entity": "contacts", "limit": 1});
    let (status, body) = call(&base, API_KEY, "crm_search", search.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(error_code(&body), None, "{body}");

    // the same wrong key again and again: one refusal at the CRM, then 401 from memory
    sandbox.clear_requests();
    for _ in 0..20 {
        let (status, body) = call(&base, "wrong-key-1", "crm_search", search.clone()).await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["error"]["code"], "AUTH_FAILED");
    }
    assert_eq!(
        sandbox.request_count(),
        1,
        "a refused key is not sent again"
    );

    // forty different wrong keys at once: refusals are budgeted, the rest wait (503)
    let flood = (0..40).map(|i| {
        let base = base.clone();
        let search = search.clone();
        async move { call(&base, &format!("wrong-key-flood-{i}"), "crm_search", search).await }
    });
    let flood = futures::future::join_all(flood).await;
    for (status, body) in &flood {
        assert!(
            *status == 401 || *status == 503,
            "a wrong key never reaches MCP: {status} {body}"
        );
    }
    assert!(
        flood.iter().any(|(s, _)| *s == 503),
        "past the refusal budget, new keys wait"
    );
    assert!(
        sandbox.request_count() <= 10,
        "EspoCRM saw at most 10 failed logins ({}), below its lockout",
        sandbox.request_count()
    );
    // the valid caller is not locked out
    for _ in 0..3 {
        let (status, body) = call(&base, API_KEY, "crm_search", search.clone()).await;
        assert_eq!(status, 200);
        assert_eq!(error_code(&body), None, "{body}");
    }
    let (status, _) = call(&base, "wrong-key-1", "crm_search", search).await;
    assert_eq!(status, 401, "still refused from memory");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hundred_demo_identities_are_all_served() {
    let hosted = Hosted::spawn("", &[]);
    let base = hosted.base.clone();
    let calls = (0..300).map(|i| {
        let base = base.clone();
        async move {
            call(
                &base,
                &format!("demo-caller-{i}"),
                "crm_entities",
                json!({}),
            )
            .await
        }
    });
    let results = futures::future::join_all(calls).await;
    for (status, body) in &results {
        assert_eq!(*status, 200);
        assert_eq!(error_code(body), None, "{body}");
    }
}
