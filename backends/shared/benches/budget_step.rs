//! One budget step's round trip on a local Redis (`CRMGATE_TEST_REDIS_URL`, default
//! 127.0.0.1:6379), sequential (latency) and with 32 concurrent callers (throughput over the one
//! multiplexed connection), for a plain bucket and a fair pool, next to the in-process step.
//! Figures are printed, never asserted. `CRMGATE_BENCH_QUICK=1` runs fewer steps.
//!
//! `cargo bench -p crmgate-shared --bench budget_step`

use crmgate_shared::{LocalBudget, Rate, RateBudget, RedisConfig, SharedState, keys};
use secrecy::SecretString;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A rate no step ever exceeds: every step is a full round trip that is granted.
fn unlimited() -> Rate {
    Rate::per_second(1e6, 1_000_000).unwrap()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

async fn sequential(name: &str, budget: &dyn RateBudget, fair: bool, steps: usize) {
    let key = keys::instance("bench");
    let mut samples = Vec::with_capacity(steps);
    for i in 0..steps {
        let started = Instant::now();
        let decision = if fair {
            budget
                .take_fair(&key, &format!("caller{}", i % 8), unlimited())
                .await
        } else {
            budget.take(&key, unlimited(), Duration::ZERO).await
        };
        samples.push(started.elapsed());
        assert!(decision.is_granted());
    }
    samples.sort();
    let mean = samples.iter().sum::<Duration>() / steps as u32;
    println!(
        "{name:<28} sequential  {steps:>6} steps  mean {:>8.1} µs  p50 {:>8.1} µs  p99 {:>8.1} µs",
        mean.as_secs_f64() * 1e6,
        percentile(&samples, 0.5).as_secs_f64() * 1e6,
        percentile(&samples, 0.99).as_secs_f64() * 1e6,
    );
}

async fn concurrent(name: &str, budget: Arc<dyn RateBudget>, fair: bool, steps: usize) {
    const TASKS: usize = 32;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..TASKS {
        let budget = budget.clone();
        tasks.push(tokio::spawn(async move {
            let key = keys::instance("bench");
            let caller = format!("caller{t}");
            for _ in 0..steps / TASKS {
                let decision = if fair {
                    budget.take_fair(&key, &caller, unlimited()).await
                } else {
                    budget.take(&key, unlimited(), Duration::ZERO).await
                };
                assert!(decision.is_granted());
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let elapsed = started.elapsed();
    println!(
        "{name:<28} {TASKS} callers  {steps:>6} steps  {:>9.0} steps/s",
        steps as f64 / elapsed.as_secs_f64()
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let quick = std::env::var_os("CRMGATE_BENCH_QUICK").is_some();
    let steps = if quick { 2_000 } else { 20_000 };
    let url = std::env::var("CRMGATE_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let prefix = format!("crmgate-bench:{}:", std::process::id());
    let settings = RedisConfig {
        url: Some(SecretString::from(url)),
        key_prefix: Some(prefix),
        ..RedisConfig::default()
    }
    .resolve()
    .expect("settings");
    let shared = SharedState::redis(&settings).expect("store");
    let redis = shared.budget();
    // warm up: connect, load the scripts
    let _ = redis.take("warmup", unlimited(), Duration::ZERO).await;
    let _ = redis.take_fair("warmup", "c", unlimited()).await;
    if shared.health().mode != crmgate_shared::Mode::Shared {
        println!(
            "Redis is unreachable ({:?}): nothing measured",
            shared.health()
        );
        return;
    }
    let local: Arc<dyn RateBudget> = Arc::new(LocalBudget::new());
    sequential("redis take (GCRA)", redis.as_ref(), false, steps).await;
    sequential("redis take_fair", redis.as_ref(), true, steps).await;
    sequential("local take (GCRA)", local.as_ref(), false, steps).await;
    sequential("local take_fair", local.as_ref(), true, steps).await;
    concurrent("redis take (GCRA)", redis.clone(), false, steps).await;
    concurrent("redis take_fair", redis.clone(), true, steps).await;
    concurrent("local take (GCRA)", local.clone(), false, steps).await;
    let health = shared.health();
    println!(
        "redis ops {}  fallback ops {}  (a fallback during the run would skew the figures)",
        health.shared_ops, health.fallback_ops
    );
}
