//! The in-process primitives on tokio's paused clock: deterministic, no Redis needed.

mod common;

use common::flood;
use crmgate_shared::{
    CredentialHasher, Decision, LocalBudget, LocalFlags, Rate, RateBudget, RejectedCredentials,
    Step, VendorBlocks, acquire, keys,
};
use secrecy::SecretString;
use std::sync::Arc;
use std::time::Duration;

fn rate(per_second: f64, burst: u32) -> Rate {
    Rate::per_second(per_second, burst).unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_flooding_caller_cannot_starve_the_others_of_a_fair_pool() {
    let budget: Arc<dyn RateBudget> = Arc::new(LocalBudget::new());
    let r = rate(20.0, 10);
    let report = flood(
        budget,
        &keys::instance("b24"),
        r,
        true,
        8,
        Duration::from_secs(10),
    )
    .await;
    eprintln!("{report:?}");
    for other in &report.others {
        assert_eq!(other.refused, 0, "{report:?}");
        // one request every 250 ms for 8 s, each served within two intervals of the pool
        assert!(other.granted >= 32, "{report:?}");
        assert!(
            other.longest_wait <= Duration::from_millis(100),
            "{report:?}"
        );
    }
    // together within the pool's limit: burst + rate × elapsed
    let total = report.flooder.granted + report.others.iter().map(|o| o.granted).sum::<u64>();
    let bound = 10 + (20.0 * report.elapsed.as_secs_f64()) as u64 + 1;
    assert!(total <= bound, "{total} > {bound}: {report:?}");
    // and nothing is wasted: the flooder gets what the others leave (work-conserving)
    let others: u64 = report.others.iter().map(|o| o.granted).sum();
    assert!(
        report.flooder.granted as f64 >= 0.9 * (20.0 * 10.0 - others as f64),
        "{report:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn without_fair_division_the_same_flood_starves_the_others() {
    // the contrast that shows the fair pool is what protects B and C above
    let budget: Arc<dyn RateBudget> = Arc::new(LocalBudget::new());
    let r = rate(20.0, 10);
    let report = flood(
        budget,
        &keys::instance("b24"),
        r,
        false,
        8,
        Duration::from_secs(10),
    )
    .await;
    eprintln!("{report:?}");
    for other in &report.others {
        assert!(
            other.refused > 0 || other.longest_wait >= Duration::from_millis(400),
            "{report:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn acquire_waits_for_a_reserved_slot_or_reports_retry_after() {
    let budget = LocalBudget::new();
    let r = Rate::every(Duration::from_secs(1), 2).unwrap();
    let key = keys::caller("bottle", "caller:ab12");
    for _ in 0..2 {
        let waited = acquire(&budget, Step::Key(&key), r, Duration::ZERO).await;
        assert_eq!(waited, Ok(Duration::ZERO));
    }
    // the next slot is 1 s away: within a 3 s wait it is reserved and waited for
    let waited = acquire(&budget, Step::Key(&key), r, Duration::from_secs(3))
        .await
        .unwrap();
    assert_eq!(waited, Duration::from_secs(1));
    // with only 100 ms allowed: refused, told when
    let refused = acquire(&budget, Step::Key(&key), r, Duration::from_millis(100))
        .await
        .unwrap_err();
    assert_eq!(refused.retry_after, Duration::from_secs(1));
    assert_eq!(refused.retry_after_secs(), 1);
    // a refusal reserved nothing: one second later one slot is free at once
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(budget.take(&key, r, Duration::ZERO).await.is_granted());
    assert!(!budget.take(&key, r, Duration::ZERO).await.is_granted());
    // another key is untouched
    let other = keys::caller("bottle", "caller:cd34");
    assert_eq!(
        budget.take(&other, r, Duration::ZERO).await,
        Decision::Granted {
            wait: Duration::ZERO
        }
    );
}

#[tokio::test(start_paused = true)]
async fn idle_buckets_are_forgotten() {
    let budget = LocalBudget::new();
    let r = rate(1000.0, 1);
    for i in 0..5000 {
        budget.take(&format!("k{i}"), r, Duration::ZERO).await;
        tokio::time::advance(Duration::from_millis(2)).await;
    }
    assert!(budget.len() <= 2048, "{}", budget.len());
}

#[tokio::test(start_paused = true)]
async fn vendor_blocks_expire_and_are_never_shortened() {
    let flags = LocalFlags::new();
    assert_eq!(flags.blocked_for("b24", "crm.deal.list").await, None);
    flags
        .block("b24", "crm.deal.list", Duration::from_secs(60))
        .await;
    flags
        .block("b24", "crm.deal.list", Duration::from_secs(10))
        .await;
    let left = flags.blocked_for("b24", "crm.deal.list").await.unwrap();
    assert_eq!(left, Duration::from_secs(60), "the longer block is kept");
    assert_eq!(flags.blocked_for("b24", "crm.deal.get").await, None);
    assert_eq!(flags.blocked_for("other", "crm.deal.list").await, None);
    tokio::time::advance(Duration::from_secs(59)).await;
    assert_eq!(
        flags.blocked_for("b24", "crm.deal.list").await,
        Some(Duration::from_secs(1))
    );
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(flags.blocked_for("b24", "crm.deal.list").await, None);
}

#[tokio::test(start_paused = true)]
async fn rejected_credentials_are_remembered_by_fingerprint_until_they_expire() {
    let flags = LocalFlags::new();
    let hasher = CredentialHasher::random();
    let bad = hasher.fingerprint(&SecretString::from("wrong-key".to_owned()));
    let good = hasher.fingerprint(&SecretString::from("right-key".to_owned()));
    flags.remember("espo", &bad, Duration::from_secs(30)).await;
    assert_eq!(
        flags.rejected_for("espo", &bad).await,
        Some(Duration::from_secs(30))
    );
    assert_eq!(flags.rejected_for("espo", &good).await, None);
    assert_eq!(
        flags.rejected_for("other-espo", &bad).await,
        None,
        "per instance"
    );
    tokio::time::advance(Duration::from_secs(30)).await;
    assert_eq!(flags.rejected_for("espo", &bad).await, None, "expired");
    flags.remember("espo", &bad, Duration::from_secs(30)).await;
    flags.forget("espo", &bad).await;
    assert_eq!(flags.rejected_for("espo", &bad).await, None, "forgotten");
}
