//! Hosted mode at scale, through the built binary (`crmgate serve --http`) in front of vendor
//! sandboxes: one caller never hurts another (a flooding caller spends only its own budget; a
//! flood of wrong keys neither reaches the CRM again nor trips its failed-login lockout), demo
//! tenants are evicted rather than refused, and connection limits cut a slow-loris client.
//! Assertions are on counts and outcomes, never on timings.

use futures::StreamExt;
use serde_json::json;

mod common;
use common::hosted::{Hosted, call, error_code};

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
    let results: Vec<_> = futures::stream::iter(calls)
        .buffer_unordered(32)
        .collect()
        .await;
    assert_eq!(results.len(), 300);
    for (status, body) in &results {
        assert_eq!(*status, 200);
        assert_eq!(error_code(body), None, "{body}");
    }
}

/// Connect to `base` (`http://127.0.0.1:PORT`) from the local address `from`.
async fn connect_from(base: &str, from: &str) -> tokio::net::TcpStream {
    let server: std::net::SocketAddr = base.trim_start_matches("http://").parse().unwrap();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    socket.connect(server).await.unwrap()
}

/// Send `GET /healthz` and read the whole answer (empty when the server closed at once).
async fn healthz(mut stream: tokio::net::TcpStream) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let request = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    let _ = stream.write_all(request.as_bytes()).await;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        stream.read_to_end(&mut answer),
    );
    let _ = read.await.expect("the server answers or closes");
    String::from_utf8_lossy(&answer).into_owned()
}

/// Whether the server closes `stream` (a read ends) while the client sends nothing more.
async fn closed_by_server(stream: &mut tokio::net::TcpStream) -> bool {
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 256];
    let read = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                // an error answer (408) may come before the close
                Ok(_) => {}
            }
        }
    });
    read.await.is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_loris_client_is_cut_and_another_address_is_unaffected() {
    use tokio::io::AsyncWriteExt;
    let hosted = Hosted::spawn(
        "[http]\nheader_read_timeout_s = 2\nmax_connections_per_address = 3\n",
        &[],
    );
    let base = hosted.base.clone();
    // 127.0.0.1 opens three connections and dribbles a request head that never ends
    let mut slow = Vec::new();
    for _ in 0..3 {
        let mut stream = connect_from(&base, "127.0.0.1").await;
        stream
            .write_all(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            .await
            .unwrap();
        slow.push(stream);
    }
    // a fourth from that address is closed without an answer
    let refused = healthz(connect_from(&base, "127.0.0.1").await).await;
    assert!(!refused.contains("200 OK"), "over the cap: {refused:?}");
    // another address is served meanwhile
    let other = healthz(connect_from(&base, "127.0.0.2").await).await;
    assert!(other.starts_with("HTTP/1.1 200"), "{other:?}");
    // the slow heads are cut by the header-read timeout
    for stream in &mut slow {
        assert!(
            closed_by_server(stream).await,
            "the slow-loris connection was cut"
        );
    }
    drop(slow);
    // and the address may connect again once its connections are gone
    let mut again = String::new();
    for _ in 0..50 {
        again = healthz(connect_from(&base, "127.0.0.1").await).await;
        if again.starts_with("HTTP/1.1 200") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(again.starts_with("HTTP/1.1 200"), "{again:?}");
    let metrics = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("crmgate_http_refused_connections_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("crmgate_shared_state_mode{mode=\"local\"} 1"),
        "{metrics}"
    );
}
