//! Identity against the sandbox's Supabase Auth: JWKS verification (issuer and audience
//! checked, cached, refetched once for an unknown kid), and stdio sign-in with email and
//! password, refreshed before expiry.

use crmgate_atomic::jwt::JwtVerifier;
use crmgate_atomic::sandbox::{ALICE_PASSWORD, Fault, Sandbox};
use crmgate_atomic::testkit::TestUser;
use crmgate_atomic::{AtomicBackend, Credential};
use crmgate_core::cache::MetadataCache;
use crmgate_core::upstream::{Upstream, UpstreamConfig};
use crmgate_core::{Backend, CallContext, ErrorCode};
use secrecy::SecretString;
use std::time::Duration;

fn jwks_requests(sandbox: &Sandbox) -> usize {
    sandbox
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/jwks.json"))
        .count()
}

fn token_requests(sandbox: &Sandbox, grant: &str) -> usize {
    sandbox
        .requests()
        .iter()
        .filter(|r| r.path == "/auth/v1/token" && r.query.contains(&format!("grant_type={grant}")))
        .count()
}

#[tokio::test]
async fn jwks_keys_are_cached_and_refetched_once_for_an_unknown_kid() {
    let sandbox = Sandbox::start().await.unwrap();
    let first = sandbox.add_signing_key("key-1");
    let upstream = Upstream::new(UpstreamConfig::default()).unwrap();
    let verifier = JwtVerifier::jwks(
        &format!("{}/auth/v1/.well-known/jwks.json", sandbox.url()),
        Some(sandbox.issuer()),
        "authenticated",
        upstream,
    );
    let token = sandbox.token_es256(&first, "key-1", TestUser::Bob, 600);
    assert_eq!(
        verifier.verify(&token).await.unwrap().sub,
        TestUser::Bob.id()
    );
    verifier.verify(&token).await.unwrap();
    assert_eq!(jwks_requests(&sandbox), 1, "cached");
    // the project rotates: a token signed by the new key triggers one refetch
    let second = sandbox.add_signing_key("key-2");
    let rotated = sandbox.token_es256(&second, "key-2", TestUser::Bob, 600);
    verifier.verify(&rotated).await.unwrap();
    assert_eq!(jwks_requests(&sandbox), 2);
    // forged kids do not turn into a stream of refetches
    for kid in ["nope-1", "nope-2", "nope-3"] {
        let forged = sandbox.token_es256(&second, kid, TestUser::Bob, 600);
        let e = verifier.verify(&forged).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::AuthFailed, "{e}");
        assert!(e.message.contains("unknown kid"), "{e}");
    }
    assert_eq!(
        jwks_requests(&sandbox),
        2,
        "within the cooldown, no refetch"
    );
    // the right key but another project's issuer, or an expired token
    let other = JwtVerifier::jwks(
        &format!("{}/auth/v1/.well-known/jwks.json", sandbox.url()),
        Some("https://other.supabase.co/auth/v1".into()),
        "authenticated",
        Upstream::new(UpstreamConfig::default()).unwrap(),
    );
    assert!(
        other
            .verify(&token)
            .await
            .unwrap_err()
            .message
            .contains("issuer")
    );
    let expired = sandbox.token_es256(&first, "key-1", TestUser::Bob, -600);
    assert!(
        verifier
            .verify(&expired)
            .await
            .unwrap_err()
            .message
            .contains("expired")
    );
    // an HS256 token is not accepted by a JWKS verifier (no algorithm confusion), and the
    // refusal says what to configure, without asking the auth server for keys
    let hs = sandbox.token(TestUser::Bob, 600);
    use secrecy::ExposeSecret;
    let before = jwks_requests(&sandbox);
    let e = verifier.verify(hs.expose_secret()).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::AuthFailed);
    assert!(e.message.contains("HS256"), "{e}");
    assert!(
        e.suggestion.contains("set jwt_secret_env"),
        "{}",
        e.suggestion
    );
    assert!(!e.message.contains(sandbox.jwt_secret().expose_secret()));
    assert_eq!(jwks_requests(&sandbox), before);
}

#[tokio::test]
async fn an_unreachable_jwks_is_an_upstream_error_not_a_bad_token() {
    let sandbox = Sandbox::start().await.unwrap();
    let key = sandbox.add_signing_key("k");
    let verifier = JwtVerifier::jwks(
        &format!("{}/auth/v1/.well-known/jwks.json", sandbox.url()),
        None,
        "authenticated",
        Upstream::new(UpstreamConfig {
            max_retries: 0,
            ..UpstreamConfig::default()
        })
        .unwrap(),
    );
    sandbox.inject(Fault::status(500, 1).on("/auth/v1/.well-known"));
    let e = verifier
        .verify(&sandbox.token_es256(&key, "k", TestUser::Alice, 60))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::UpstreamUnavailable, "{e}");
    // and a failed fetch is not cached
    verifier
        .verify(&sandbox.token_es256(&key, "k", TestUser::Alice, 60))
        .await
        .unwrap();
}

#[tokio::test]
async fn the_backend_verifies_bearers_with_the_projects_jwks_by_default() {
    let sandbox = Sandbox::start().await.unwrap();
    let key = sandbox.add_signing_key("live");
    let mut config = sandbox.config(Credential::None);
    config.verification = None; // {supabase_url}/auth/v1/.well-known/jwks.json, issuer {supabase_url}/auth/v1
    let backend =
        AtomicBackend::new(config, MetadataCache::new(Duration::from_secs(60), 100)).unwrap();
    assert_eq!(
        backend.authorization_server(),
        Some(sandbox.issuer().as_str())
    );
    let cx = CallContext::bearer(SecretString::from(sandbox.token_es256(
        &key,
        "live",
        TestUser::Bob,
        600,
    )));
    let entity = backend
        .entities(&cx)
        .await
        .unwrap()
        .get("deals")
        .cloned()
        .unwrap();
    let records = backend
        .get(
            &cx,
            &entity,
            &["1".into()],
            &crmgate_core::model::FieldSelection::All,
        )
        .await
        .unwrap();
    assert_eq!(records[0].id, "1");
    let e = backend
        .get(
            &CallContext::configured(),
            &entity,
            &["1".into()],
            &crmgate_core::model::FieldSelection::All,
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::AuthFailed, "no configured identity: {e}");
}

#[tokio::test]
async fn stdio_signs_in_with_email_and_password_and_refreshes_before_expiry() {
    let sandbox = Sandbox::start().await.unwrap();
    let credential = Credential::Password {
        email: TestUser::Alice.email().into(),
        password: SecretString::from(ALICE_PASSWORD),
    };
    let backend = AtomicBackend::new(
        sandbox.config(credential.clone()),
        MetadataCache::new(Duration::from_secs(60), 100),
    )
    .unwrap();
    let cx = CallContext::configured();
    let deals = backend
        .entities(&cx)
        .await
        .unwrap()
        .get("deals")
        .cloned()
        .unwrap();
    let all = crmgate_core::model::FieldSelection::All;
    for _ in 0..3 {
        backend.get(&cx, &deals, &["1".into()], &all).await.unwrap();
    }
    assert_eq!(
        token_requests(&sandbox, "password"),
        1,
        "one sign-in, reused"
    );
    assert_eq!(token_requests(&sandbox, "refresh_token"), 0);
    // tokens that live less than the refresh margin are refreshed on use
    sandbox.set_token_lifetime(30);
    let short = AtomicBackend::new(
        sandbox.config(credential.clone()),
        MetadataCache::new(Duration::from_secs(60), 100),
    )
    .unwrap();
    sandbox.clear_log();
    for _ in 0..3 {
        short.get(&cx, &deals, &["1".into()], &all).await.unwrap();
    }
    assert_eq!(token_requests(&sandbox, "password"), 1);
    assert_eq!(token_requests(&sandbox, "refresh_token"), 2);
    // a refresh the server refuses falls back to signing in again
    sandbox.clear_log();
    sandbox.inject(Fault::status(400, 1).on("/auth/v1/token"));
    short.get(&cx, &deals, &["1".into()], &all).await.unwrap();
    assert_eq!(
        (
            token_requests(&sandbox, "refresh_token"),
            token_requests(&sandbox, "password")
        ),
        (1, 1)
    );
    // wrong password
    let wrong = Credential::Password {
        email: TestUser::Alice.email().into(),
        password: SecretString::from("wrong"),
    };
    let bad = AtomicBackend::new(
        sandbox.config(wrong),
        MetadataCache::new(Duration::from_secs(60), 100),
    )
    .unwrap();
    let e = bad.get(&cx, &deals, &["1".into()], &all).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::AuthFailed);
    assert!(e.message.contains("invalid email or password"), "{e}");
}
