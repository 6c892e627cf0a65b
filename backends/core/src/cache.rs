//! The shared metadata cache: entity lists, field schemas and the like, which change rarely
//! and cost an upstream call (or several) to load.
//!
//! One moka `future::Cache` holds every backend's metadata, keyed by (backend instance, scope,
//! item). A [`CacheScope::Caller`] entry is keyed by the caller's non-secret scope, so what one
//! caller may see is never served to another. Loads are single-flight: concurrent callers of
//! one key share one load, and a failed load reaches every waiter without being cached. Each
//! lookup is reported to the call's `_meta` as a hit (with the entry's age) or a miss.

use crate::{CallContext, Error, ErrorCode, Result};
use moka::future::Cache;
use std::any::Any;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// Whose view of the CRM an entry holds.
#[derive(Debug, Clone, Copy)]
pub enum CacheScope<'a> {
    /// The same for every caller (e.g. the CRM's version, or a schema identical for all).
    Global,
    /// What this caller may see (e.g. the entities their permissions expose).
    Caller(&'a CallContext),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum ScopeKey {
    Global,
    Caller(Arc<str>),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    instance: Arc<str>,
    scope: ScopeKey,
    item: Arc<str>,
}

impl Key {
    fn new(instance: &str, scope: CacheScope<'_>, item: &str) -> Self {
        Key {
            instance: Arc::from(instance),
            scope: match scope {
                CacheScope::Global => ScopeKey::Global,
                CacheScope::Caller(cx) => ScopeKey::Caller(Arc::from(cx.scope())),
            },
            item: Arc::from(item),
        }
    }
}

/// A type-erased value and when it was loaded.
#[derive(Clone)]
struct Entry {
    value: Arc<dyn Any + Send + Sync>,
    loaded_at: Instant,
}

/// The metadata cache shared by every backend instance. Cheap to clone: clones share one
/// cache, built on first use (a backend that never asks, like the demo CRM's, costs none of
/// moka's set-up at start-up).
#[derive(Clone)]
pub struct MetadataCache(Arc<Lazy>);

struct Lazy {
    ttl: Duration,
    max_entries: u64,
    cache: OnceLock<Cache<Key, Entry>>,
}

impl std::fmt::Debug for MetadataCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetadataCache")
            .field("entries", &self.0.cache.get().map_or(0, Cache::entry_count))
            .finish()
    }
}

impl MetadataCache {
    /// A cache whose entries live `ttl` after loading, holding at most `max_entries`.
    pub fn new(ttl: Duration, max_entries: u64) -> Self {
        MetadataCache(Arc::new(Lazy {
            ttl,
            max_entries,
            cache: OnceLock::new(),
        }))
    }

    fn cache(&self) -> &Cache<Key, Entry> {
        self.0.cache.get_or_init(|| {
            Cache::builder()
                .time_to_live(self.0.ttl)
                .max_capacity(self.0.max_entries)
                .build()
        })
    }

    /// The cached value for (`instance`, `scope`, `item`), or the result of `load`.
    ///
    /// Concurrent callers of the same key share one run of `load`; if it fails, every waiter
    /// gets the error and nothing is cached, so the next call loads again. Asking for a type
    /// other than the one stored under the key is a bug and returns an error.
    pub async fn get_or_load<T, F, Fut>(
        &self,
        instance: &str,
        scope: CacheScope<'_>,
        item: &str,
        load: F,
    ) -> Result<Arc<T>>
    where
        T: Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let loaded_here = AtomicBool::new(false);
        let init = async {
            loaded_here.store(true, Ordering::Relaxed);
            let value = load().await?;
            Ok::<_, Error>(Entry {
                value: Arc::new(value),
                loaded_at: Instant::now(),
            })
        };
        let entry = self
            .cache()
            .try_get_with(Key::new(instance, scope, item), init)
            .await
            .map_err(|shared| (*shared).clone())?;
        let hit = !loaded_here.load(Ordering::Relaxed);
        crate::meta::record_cache(
            hit,
            if hit {
                entry.loaded_at.elapsed()
            } else {
                Duration::ZERO
            },
        );
        entry.value.downcast::<T>().map_err(|_| {
            tracing::error!(
                item,
                "metadata cache entry holds a different type than requested"
            );
            Error::new(
                ErrorCode::Config,
                format!("internal error: the cached metadata {item:?} has an unexpected type"),
                "this is a crmgate bug (two loaders share a cache key); please report it",
            )
        })
    }

    /// Load the entry again, bypassing the cache, when `is_stale` says the cached value is the
    /// one the caller saw (e.g. a schema that lacks a field the CRM has gained since); return
    /// the cached value when someone already replaced it. Single-flight: refreshes of one key
    /// run one after the other, so callers that saw the same stale value cause one load. A
    /// failed load leaves the old entry in place and reaches only its own caller.
    pub async fn refresh_if<T, S, F, Fut>(
        &self,
        instance: &str,
        scope: CacheScope<'_>,
        item: &str,
        is_stale: S,
        load: F,
    ) -> Result<Arc<T>>
    where
        T: Send + Sync + 'static,
        S: FnOnce(&T) -> bool,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        use moka::ops::compute::{CompResult, Op};
        let loaded_here = AtomicBool::new(false);
        let loaded = &loaded_here;
        let result = self
            .cache()
            .entry(Key::new(instance, scope, item))
            .and_try_compute_with(|current| async move {
                let stale = match &current {
                    None => true,
                    Some(entry) => entry.value().value.downcast_ref::<T>().is_none_or(is_stale),
                };
                if !stale {
                    return Ok(Op::Nop);
                }
                loaded.store(true, Ordering::Relaxed);
                let value = load().await?;
                Ok::<_, Error>(Op::Put(Entry {
                    value: Arc::new(value),
                    loaded_at: Instant::now(),
                }))
            })
            .await?;
        let entry = match result {
            CompResult::Inserted(e) | CompResult::ReplacedWith(e) | CompResult::Unchanged(e) => {
                e.into_value()
            }
            CompResult::Removed(_) | CompResult::StillNone(_) => {
                return Err(Error::new(
                    ErrorCode::Config,
                    format!("internal error: the metadata {item:?} vanished while refreshing"),
                    "this is a crmgate bug; please report it",
                ));
            }
        };
        let hit = !loaded_here.load(Ordering::Relaxed);
        crate::meta::record_cache(
            hit,
            if hit {
                entry.loaded_at.elapsed()
            } else {
                Duration::ZERO
            },
        );
        entry.value.downcast::<T>().map_err(|_| {
            Error::new(
                ErrorCode::Config,
                format!("internal error: the cached metadata {item:?} has an unexpected type"),
                "this is a crmgate bug (two loaders share a cache key); please report it",
            )
        })
    }

    /// Drop one entry, so the next lookup loads it again (e.g. after a schema change).
    pub async fn invalidate(&self, instance: &str, scope: CacheScope<'_>, item: &str) {
        // a cache not built yet holds nothing to forget
        if let Some(cache) = self.0.cache.get() {
            cache.invalidate(&Key::new(instance, scope, item)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn clones_made_before_first_use_share_one_cache() {
        let first = MetadataCache::new(Duration::from_secs(60), 10);
        let second = first.clone();
        // nothing to forget yet: the cache is not built
        second.invalidate("i", CacheScope::Global, "x").await;
        let loaded = first
            .get_or_load("i", CacheScope::Global, "x", || async { Ok(7u32) })
            .await
            .unwrap();
        assert_eq!(*loaded, 7);
        let seen = second
            .get_or_load("i", CacheScope::Global, "x", || async { Ok(8u32) })
            .await
            .unwrap();
        assert_eq!(*seen, 7, "the clone loaded its own copy");
        second.invalidate("i", CacheScope::Global, "x").await;
        let reloaded = first
            .get_or_load("i", CacheScope::Global, "x", || async { Ok(9u32) })
            .await
            .unwrap();
        assert_eq!(
            *reloaded, 9,
            "an invalidation through a clone reached the other"
        );
    }

    #[tokio::test]
    async fn wrong_type_is_an_error_not_a_panic() {
        let cache = MetadataCache::new(Duration::from_secs(60), 10);
        let v = cache
            .get_or_load("i", CacheScope::Global, "x", || async { Ok(7u32) })
            .await
            .unwrap();
        assert_eq!(*v, 7);
        let err = cache
            .get_or_load("i", CacheScope::Global, "x", || async { Ok(String::new()) })
            .await
            .unwrap_err();
        assert!(err.message.contains("unexpected type"), "{}", err.message);
    }

    #[tokio::test]
    async fn refresh_reloads_only_what_the_caller_saw_and_once_for_many() {
        use std::sync::atomic::AtomicU32;
        let cache = MetadataCache::new(Duration::from_secs(60), 10);
        let cx = CallContext::configured();
        let scope = CacheScope::Caller(&cx);
        let seen = cache
            .get_or_load("i", scope, "x", || async { Ok(1u32) })
            .await
            .unwrap();
        let loads = Arc::new(AtomicU32::new(0));
        // eight callers saw the same stale value at once: one load serves them all
        let refreshes = (0..8).map(|_| {
            let (cache, cx, loads, seen) = (cache.clone(), cx.clone(), loads.clone(), seen.clone());
            async move {
                cache
                    .refresh_if(
                        "i",
                        CacheScope::Caller(&cx),
                        "x",
                        |v: &u32| std::ptr::eq(v, &*seen),
                        || async {
                            loads.fetch_add(1, Ordering::SeqCst);
                            Ok(2u32)
                        },
                    )
                    .await
                    .unwrap()
            }
        });
        let got = futures::future::join_all(refreshes).await;
        assert!(got.iter().all(|v| **v == 2));
        assert_eq!(loads.load(Ordering::SeqCst), 1);
        // the refreshed value is what plain lookups see now
        let now = cache
            .get_or_load("i", scope, "x", || async { Ok(3u32) })
            .await
            .unwrap();
        assert_eq!(*now, 2);
        // a failed refresh keeps the old entry
        let e = cache
            .refresh_if(
                "i",
                scope,
                "x",
                |_: &u32| true,
                || async { Err::<u32, _>(Error::upstream_protocol("down")) },
            )
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::UpstreamProtocol);
        let kept = cache
            .get_or_load("i", scope, "x", || async { Ok(4u32) })
            .await
            .unwrap();
        assert_eq!(*kept, 2);
    }

    #[tokio::test]
    async fn invalidate_forces_a_reload() {
        let cache = MetadataCache::new(Duration::from_secs(60), 10);
        let cx = CallContext::configured();
        let load = |n: u32| move || async move { Ok(n) };
        let scope = CacheScope::Caller(&cx);
        assert_eq!(
            *cache.get_or_load("i", scope, "x", load(1)).await.unwrap(),
            1
        );
        assert_eq!(
            *cache.get_or_load("i", scope, "x", load(2)).await.unwrap(),
            1
        );
        cache.invalidate("i", scope, "x").await;
        assert_eq!(
            *cache.get_or_load("i", scope, "x", load(3)).await.unwrap(),
            3
        );
    }
}
