//! The metadata cache: single-flight loads, failures not cached, TTL expiry, isolation between
//! caller scopes and backend instances, and hit/miss accounting in `_meta`.

use crmgate_core::cache::{CacheScope, MetadataCache};
use crmgate_core::{CallContext, Error, ErrorCode, meta};
use secrecy::SecretString;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

fn cache() -> MetadataCache {
    MetadataCache::new(Duration::from_secs(60), 1000)
}

/// A loader that counts its runs, sleeps a little, and returns `value`.
fn counting(
    loads: &Arc<AtomicUsize>,
    value: &str,
) -> impl FnOnce() -> std::pin::Pin<Box<dyn Future<Output = crmgate_core::Result<String>> + Send>> + use<>
{
    let loads = loads.clone();
    let value = value.to_owned();
    move || {
        Box::pin(async move {
            loads.fetch_add(1, SeqCst);
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok(value)
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_share_one_load() {
    let cache = cache();
    let loads = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let (cache, loads) = (cache.clone(), loads.clone());
            tokio::spawn(async move {
                cache
                    .get_or_load(
                        "espo-1",
                        CacheScope::Global,
                        "entities",
                        counting(&loads, "v"),
                    )
                    .await
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(*task.await.unwrap().unwrap(), "v");
    }
    assert_eq!(loads.load(SeqCst), 1);
}

#[tokio::test]
async fn a_failed_load_reaches_all_waiters_and_is_not_cached() {
    let cache = cache();
    let loads = Arc::new(AtomicUsize::new(0));
    let failing = || {
        let loads = loads.clone();
        move || async move {
            loads.fetch_add(1, SeqCst);
            tokio::time::sleep(Duration::from_millis(50)).await;
            Err::<String, _>(Error::new(ErrorCode::UpstreamUnavailable, "down", "later"))
        }
    };
    let (a, b) = tokio::join!(
        cache.get_or_load("i", CacheScope::Global, "fields:contacts", failing()),
        cache.get_or_load("i", CacheScope::Global, "fields:contacts", failing()),
    );
    assert_eq!(a.unwrap_err().code, ErrorCode::UpstreamUnavailable);
    assert_eq!(b.unwrap_err().code, ErrorCode::UpstreamUnavailable);
    assert_eq!(loads.load(SeqCst), 1, "the waiter shared the failed load");
    let value = cache
        .get_or_load(
            "i",
            CacheScope::Global,
            "fields:contacts",
            counting(&loads, "ok"),
        )
        .await
        .unwrap();
    assert_eq!(*value, "ok");
    assert_eq!(loads.load(SeqCst), 2, "the failure was not cached");
}

#[tokio::test]
async fn entries_expire_after_the_ttl() {
    let cache = MetadataCache::new(Duration::from_millis(150), 100);
    let loads = Arc::new(AtomicUsize::new(0));
    let get =
        |value: &str| cache.get_or_load("i", CacheScope::Global, "x", counting(&loads, value));
    assert_eq!(*get("first").await.unwrap(), "first");
    assert_eq!(*get("second").await.unwrap(), "first");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(*get("third").await.unwrap(), "third");
    assert_eq!(loads.load(SeqCst), 2);
}

#[tokio::test]
async fn one_callers_entry_is_never_served_to_another() {
    let cache = cache();
    let loads = Arc::new(AtomicUsize::new(0));
    let alice = CallContext::bearer(SecretString::from("alice-token"));
    let bob = CallContext::bearer(SecretString::from("bob-token"));
    let a = cache
        .get_or_load(
            "i",
            CacheScope::Caller(&alice),
            "entities",
            counting(&loads, "alice's"),
        )
        .await
        .unwrap();
    let b = cache
        .get_or_load(
            "i",
            CacheScope::Caller(&bob),
            "entities",
            counting(&loads, "bob's"),
        )
        .await
        .unwrap();
    let global = cache
        .get_or_load(
            "i",
            CacheScope::Global,
            "entities",
            counting(&loads, "global"),
        )
        .await
        .unwrap();
    assert_eq!(
        (a.as_str(), b.as_str(), global.as_str()),
        ("alice's", "bob's", "global")
    );
    assert_eq!(loads.load(SeqCst), 3);
    let again = cache
        .get_or_load(
            "i",
            CacheScope::Caller(&alice),
            "entities",
            counting(&loads, "x"),
        )
        .await
        .unwrap();
    assert_eq!(*again, "alice's");
    assert_eq!(loads.load(SeqCst), 3);
}

#[tokio::test]
async fn instances_do_not_share_entries() {
    let cache = cache();
    let loads = Arc::new(AtomicUsize::new(0));
    let one = cache
        .get_or_load(
            "espo-1",
            CacheScope::Global,
            "entities",
            counting(&loads, "one"),
        )
        .await
        .unwrap();
    let two = cache
        .get_or_load(
            "espo-2",
            CacheScope::Global,
            "entities",
            counting(&loads, "two"),
        )
        .await
        .unwrap();
    assert_eq!((one.as_str(), two.as_str()), ("one", "two"));
    assert_eq!(loads.load(SeqCst), 2);
}

#[tokio::test]
async fn meta_records_misses_and_hits_with_age() {
    let cache = cache();
    let loads = Arc::new(AtomicUsize::new(0));
    let ((), first) = meta::measure(async {
        cache
            .get_or_load("i", CacheScope::Global, "x", counting(&loads, "v"))
            .await
            .unwrap();
    })
    .await;
    assert_eq!((first.cache_hits, first.cache_misses), (0, 1));
    assert_eq!(first.cache_age_s, None);
    tokio::time::sleep(Duration::from_millis(120)).await;
    let ((), second) = meta::measure(async {
        cache
            .get_or_load("i", CacheScope::Global, "x", counting(&loads, "v"))
            .await
            .unwrap();
    })
    .await;
    assert_eq!((second.cache_hits, second.cache_misses), (1, 0));
    let age = second.cache_age_s.unwrap();
    assert!((0.1..5.0).contains(&age), "age {age}");
}
