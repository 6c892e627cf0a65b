//! Vendor blocks and the rejected-credential memory through a real Redis: seen by every
//! replica, expiring on Redis's clock, never shortened, and storing no credential.

mod common;

use common::{redis_url, replica, unique_prefix};
use crmgate_shared::{CredentialHasher, Mode};
use secrecy::SecretString;
use std::time::Duration;

#[tokio::test]
async fn a_block_set_by_one_replica_holds_on_another_until_it_expires() {
    let Some(url) = redis_url() else { return };
    let prefix = unique_prefix("blocks");
    let (one, two) = (replica(&url, &prefix), replica(&url, &prefix));
    let method = "crm.deal.list";
    assert_eq!(two.blocks().blocked_for("b24", method).await, None);
    one.blocks()
        .block("b24", method, Duration::from_millis(600))
        .await;
    let left = two.blocks().blocked_for("b24", method).await.unwrap();
    assert!(
        left > Duration::ZERO && left <= Duration::from_millis(600),
        "{left:?}"
    );
    assert_eq!(two.blocks().blocked_for("b24", "crm.deal.get").await, None);
    assert_eq!(two.blocks().blocked_for("b24-other", method).await, None);
    // a shorter block does not shorten the longer one
    two.blocks()
        .block("b24", method, Duration::from_millis(1))
        .await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(one.blocks().blocked_for("b24", method).await.is_some());
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(one.blocks().blocked_for("b24", method).await, None);
    assert_eq!(two.blocks().blocked_for("b24", method).await, None);
    assert_eq!(one.health().mode, Mode::Shared);
    assert_eq!(two.health().fallback_ops, 0);
}

#[tokio::test]
async fn a_rejected_credential_is_shared_by_fingerprint_and_forgotten() {
    let Some(url) = redis_url() else { return };
    let prefix = unique_prefix("rejected");
    let (one, two) = (replica(&url, &prefix), replica(&url, &prefix));
    // every replica derives the same key from the deployment's shared secret
    let secret = SecretString::from("deployment-secret".to_owned());
    let (h1, h2) = (
        CredentialHasher::from_secret(&secret),
        CredentialHasher::from_secret(&secret),
    );
    let wrong = SecretString::from("espo-api-key-WRONG-0123".to_owned());
    let right = SecretString::from("espo-api-key-RIGHT-4567".to_owned());
    one.rejected()
        .remember("espo", &h1.fingerprint(&wrong), Duration::from_millis(800))
        .await;
    assert!(
        two.rejected()
            .rejected_for("espo", &h2.fingerprint(&wrong))
            .await
            .is_some(),
        "another replica does not send it either"
    );
    assert_eq!(
        two.rejected()
            .rejected_for("espo", &h2.fingerprint(&right))
            .await,
        None
    );
    assert_eq!(
        two.rejected()
            .rejected_for("espo-2", &h2.fingerprint(&wrong))
            .await,
        None
    );

    // Redis holds a keyed hash, never the credential
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    let value: String = redis::cmd("GET")
        .arg(&keys[0])
        .query_async(&mut conn)
        .await
        .unwrap();
    for stored in [&keys[0], &value] {
        assert!(!stored.contains("espo-api-key"), "{stored}");
        assert!(!stored.contains("WRONG"), "{stored}");
    }
    assert!(keys[0].ends_with(&h1.fingerprint(&wrong).to_hex()));

    // it expires by itself…
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(
        two.rejected()
            .rejected_for("espo", &h2.fingerprint(&wrong))
            .await,
        None
    );
    // …or is forgotten when the credential works after all
    two.rejected()
        .remember("espo", &h2.fingerprint(&wrong), Duration::from_secs(60))
        .await;
    two.rejected().forget("espo", &h2.fingerprint(&wrong)).await;
    assert_eq!(
        two.rejected()
            .rejected_for("espo", &h2.fingerprint(&wrong))
            .await,
        None
    );
}
