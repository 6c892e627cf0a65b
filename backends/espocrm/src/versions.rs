//! Optimistic concurrency: the `versionNumber` each caller last saw of each record.
//!
//! EspoCRM entities with `optimisticConcurrencyControl` (Account, Opportunity, Case, Task,
//! KnowledgeBaseArticle and EmailTemplate in 9.1.7, and custom entities where an admin turned it
//! on) carry a `versionNumber` that grows with every save. An update that sends
//! `X-Version-Number: n` is refused with 409 `modified` — body
//! `{"values": {current values of the fields it would change}, "versionNumber": now}` — when
//! the record is no longer at version `n` and the update would change a field; nothing is
//! written (`Record/ConcurrencyControl/OptimisticProcessor`, recorded on 9.1.7).
//!
//! Only the header counts: a `versionNumber` in the body is dropped by 9.1.7's
//! `filterUpdateInput`.
//!
//! crmgate sends, with an update, the version of the record as this caller last read it
//! through crmgate: a `crm_get`, a search, the read behind an update preview or a confirm
//! token, or the answer of its own previous write. A change someone else made since is then a
//! `CONFLICT` naming the fields and their current values instead of a silent overwrite; reading
//! the record again is what lets the next update through. A record never read (or read longer
//! ago than [`TTL`]) is updated unconditionally, as EspoCRM's own API does without the header.

use moka::future::Cache;
use std::time::Duration;

/// How long a seen version is remembered.
pub const TTL: Duration = Duration::from_secs(24 * 60 * 60);
/// How many (caller, record) versions are remembered at most.
pub const CAPACITY: u64 = 100_000;

/// The versions callers last saw, per (caller scope, entity type, id). Cheap to clone.
#[derive(Clone)]
pub struct Versions {
    seen: Cache<String, i64>,
}

impl std::fmt::Debug for Versions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Versions")
            .field("entries", &self.seen.entry_count())
            .finish()
    }
}

impl Default for Versions {
    fn default() -> Self {
        Versions {
            seen: Cache::builder()
                .time_to_live(TTL)
                .max_capacity(CAPACITY)
                .build(),
        }
    }
}

fn key(scope: &str, native: &str, id: &str) -> String {
    // scope and entity names hold no NUL; ids are checked against the id grammar
    format!("{scope}\u{0}{native}\u{0}{id}")
}

impl Versions {
    /// Remember that `scope` saw `id` at `version`.
    pub async fn saw(&self, scope: &str, native: &str, id: &str, version: i64) {
        self.seen.insert(key(scope, native, id), version).await;
    }

    /// The version `scope` last saw of `id`.
    pub async fn last_seen(&self, scope: &str, native: &str, id: &str) -> Option<i64> {
        self.seen.get(&key(scope, native, id)).await
    }
}

/// The `versionNumber` of an attribute map, when it has one.
pub fn version_of(attributes: &serde_json::Map<String, serde_json::Value>) -> Option<i64> {
    match attributes.get("versionNumber")? {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn versions_are_kept_per_caller_and_record() {
        let v = Versions::default();
        v.saw("caller:a", "Account", "1", 3).await;
        v.saw("caller:b", "Account", "1", 5).await;
        assert_eq!(v.last_seen("caller:a", "Account", "1").await, Some(3));
        assert_eq!(v.last_seen("caller:b", "Account", "1").await, Some(5));
        assert_eq!(v.last_seen("caller:a", "Case", "1").await, None);
        v.saw("caller:a", "Account", "1", 4).await;
        assert_eq!(v.last_seen("caller:a", "Account", "1").await, Some(4));
    }

    #[test]
    fn version_numbers_are_read_from_numbers_and_numeric_strings() {
        let m = |v: serde_json::Value| v.as_object().unwrap().clone();
        assert_eq!(version_of(&m(json!({"versionNumber": 2}))), Some(2));
        assert_eq!(version_of(&m(json!({"versionNumber": "7"}))), Some(7));
        assert_eq!(version_of(&m(json!({"versionNumber": null}))), None);
        assert_eq!(version_of(&m(json!({"name": "x"}))), None);
    }
}
