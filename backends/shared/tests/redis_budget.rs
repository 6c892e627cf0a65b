//! The Redis budget against a real Redis (the machine's; `CI=true` fails without it): GCRA on
//! Redis time, two replicas sharing one key, a fair pool under a flood, key hygiene.

mod common;

use async_trait::async_trait;
use common::{flood, redis_time_us, redis_url, replica, unique_prefix};
use crmgate_shared::{Decision, Mode, Rate, RateBudget, keys};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

#[tokio::test]
async fn burst_then_one_per_interval_on_redis_time() {
    let Some(url) = redis_url() else { return };
    let shared = replica(&url, &unique_prefix("gcra"));
    assert_eq!(
        shared.health().mode,
        Mode::Pending,
        "no I/O before first use"
    );
    let budget = shared.budget();
    let key = keys::instance("espo");
    let r = Rate::every(Duration::from_secs(60), 3).unwrap();
    for _ in 0..3 {
        assert_eq!(
            budget.take(&key, r, Duration::ZERO).await,
            Decision::Granted {
                wait: Duration::ZERO
            }
        );
    }
    let Decision::Denied { retry_after } = budget.take(&key, r, Duration::ZERO).await else {
        panic!("the burst is spent");
    };
    assert!(
        retry_after > Duration::from_secs(59) && retry_after <= Duration::from_secs(60),
        "{retry_after:?}"
    );
    // reserving: the next slots are one interval apart, and the refusal above reserved nothing
    let mut waits = Vec::new();
    for _ in 0..3 {
        match budget.take(&key, r, Duration::from_secs(600)).await {
            Decision::Granted { wait } => waits.push(wait),
            other => panic!("{other:?}"),
        }
    }
    assert!(waits[0] > Duration::from_secs(59) && waits[0] <= Duration::from_secs(60));
    for pair in waits.windows(2) {
        let step = pair[1].abs_diff(pair[0]);
        assert!(
            step.abs_diff(Duration::from_secs(60)) < Duration::from_millis(500),
            "{waits:?}"
        );
    }
    let health = shared.health();
    assert_eq!(health.mode, Mode::Shared);
    assert_eq!(health.shared_ops, 7);
    assert_eq!(health.fallback_ops, 0);
    assert_eq!(health.transitions, 0);
}

#[tokio::test]
async fn two_replicas_sharing_a_key_stay_inside_the_limit_together() {
    let Some(url) = redis_url() else { return };
    let prefix = unique_prefix("replicas");
    let replicas = [replica(&url, &prefix), replica(&url, &prefix)];
    let r = Rate::per_second(40.0, 4).unwrap();
    let key = keys::instance("b24");
    let started = redis_time_us(&url).await;
    let mut tasks = Vec::new();
    for (i, shared) in replicas.iter().enumerate() {
        for _ in 0..2 {
            let (budget, key) = (shared.budget(), key.clone());
            tasks.push(tokio::spawn(async move {
                let mut granted = 0u64;
                let end = tokio::time::Instant::now() + Duration::from_millis(1500);
                while tokio::time::Instant::now() < end {
                    match budget.take(&key, r, Duration::ZERO).await {
                        Decision::Granted { .. } => granted += 1,
                        Decision::Denied { retry_after } => {
                            tokio::time::sleep(retry_after.max(Duration::from_millis(1))).await
                        }
                    }
                }
                (i, granted)
            }));
        }
    }
    let mut per_replica = [0u64; 2];
    for task in tasks {
        let (i, granted) = task.await.unwrap();
        per_replica[i] += granted;
    }
    let ended = redis_time_us(&url).await;
    let total: u64 = per_replica.iter().sum();
    // GCRA: at most burst + rate × elapsed (+1 for the slot at the boundary), on Redis time
    let bound = 4 + (40.0 * (ended - started) as f64 / 1e6) as u64 + 1;
    assert!(total <= bound, "{per_replica:?}: {total} > {bound}");
    assert!(total > 4, "the bucket refilled: {per_replica:?}");
    assert!(
        per_replica.iter().all(|n| *n > 0),
        "both replicas were served: {per_replica:?}"
    );
    for shared in &replicas {
        assert_eq!(shared.health().fallback_ops, 0);
    }
}

/// A load balancer over replicas: each step goes to the next one.
struct RoundRobin {
    replicas: Vec<Arc<dyn RateBudget>>,
    next: AtomicUsize,
}

#[async_trait]
impl RateBudget for RoundRobin {
    async fn take(&self, key: &str, rate: Rate, max_wait: Duration) -> Decision {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.replicas.len();
        self.replicas[i].take(key, rate, max_wait).await
    }

    async fn take_fair(&self, pool: &str, caller: &str, rate: Rate) -> Decision {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.replicas.len();
        self.replicas[i].take_fair(pool, caller, rate).await
    }
}

#[tokio::test]
async fn a_flooding_caller_cannot_starve_the_others_across_replicas() {
    let Some(url) = redis_url() else { return };
    let prefix = unique_prefix("fair");
    let replicas = [replica(&url, &prefix), replica(&url, &prefix)];
    let balancer: Arc<dyn RateBudget> = Arc::new(RoundRobin {
        replicas: replicas.iter().map(|r| r.budget()).collect(),
        next: AtomicUsize::new(0),
    });
    let r = Rate::per_second(20.0, 10).unwrap();
    let pool = keys::instance("b24");
    let started = redis_time_us(&url).await;
    let report = flood(balancer, &pool, r, true, 4, Duration::from_secs(4)).await;
    let ended = redis_time_us(&url).await;
    eprintln!("{report:?}");
    for other in &report.others {
        assert_eq!(other.refused, 0, "{report:?}");
        assert!(other.granted >= 8, "{report:?}");
    }
    let total = report.flooder.granted + report.others.iter().map(|o| o.granted).sum::<u64>();
    let bound = 10 + (20.0 * (ended - started) as f64 / 1e6) as u64 + 1;
    assert!(total <= bound, "{total} > {bound}: {report:?}");
    assert!(report.flooder.granted > 0);

    // every key crmgate wrote expires by itself, and sits under the pool's hash tag
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut conn)
        .await
        .unwrap();
    // the pool, its active set, and the share buckets of A, B, C (those paid off expire)
    let tag = format!("{prefix}fair:{{instance:b24}}");
    assert!((3..=5).contains(&keys.len()), "{keys:?}");
    assert!(
        keys.contains(&tag) && keys.contains(&format!("{tag}:active")),
        "{keys:?}"
    );
    for key in &keys {
        assert!(key.starts_with(&tag), "{key}");
        let ttl: i64 = redis::cmd("PTTL")
            .arg(key)
            .query_async(&mut conn)
            .await
            .unwrap();
        // -1: no expiry; 0 (under a millisecond left) or -2 (gone since KEYS) both had one
        assert_ne!(ttl, -1, "{key} has no expiry");
    }
}
