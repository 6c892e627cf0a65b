//! Hosted mode's credential check: a bearer token the CRM has not seen yet is tried once with
//! the backend's `probe()` under that caller's own context, and the verdict is kept:
//!
//! - accepted: remembered in this process for [`ACCEPTED_TTL`], so a caller's requests cost no
//!   extra round trip;
//! - refused (`AUTH_FAILED`): remembered by HMAC fingerprint (never the token) in the
//!   rejected-credential memory — shared by every replica through Redis when `[redis]` is set
//!   — for [`REJECTED_TTL`]; the token is not sent to the CRM again meanwhile and each of its
//!   requests gets `401` with `WWW-Authenticate`. One bad caller so cannot trip a vendor's
//!   failed-login lockout (EspoCRM: more than 10 refusals per address in 60 s) for everyone;
//! - not decided (the CRM unreachable, a timeout, its lockout): nothing is kept and the request
//!   goes on, to fail or succeed as a tool call.
//!
//! Concurrent first requests of one token share one probe (single-flight). Distinct unknown
//! tokens are probed at most [`PROBES_AT_ONCE`] at a time. For a CRM that locks an address out
//! after failed logins (`Backend::locks_out_failed_logins`: EspoCRM, more than 10 refusals in
//! 60 s, valid keys too) only [`CAUTIOUS_PROBES`] at a time, and refusals are budgeted per CRM
//! ([`REFUSALS`]: a burst of 4, then one per 15 s — shared by replicas through Redis): past the
//! budget, tokens not yet known are not tried for a while (`503` with `Retry-After`) while
//! known ones keep working. A flood of wrong keys so stays below the lockout.

use crmgate_core::{Backend, CallContext, ErrorCode};
use crmgate_shared::{
    CredentialHasher, Decision, Fingerprint, Rate, RateBudget, RejectedCredentials, SharedState,
    VendorBlocks, keys,
};
use moka::future::Cache;
use secrecy::SecretString;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// How long a refused token is not sent again. Longer than EspoCRM's 60 s failed-login window,
/// short enough that a credential fixed in the CRM (a re-enabled user) works again soon.
pub const REJECTED_TTL: Duration = Duration::from_secs(300);
/// How long an accepted token skips the check (a revoked one is then caught by the CRM on the
/// next call, and checked again after this).
pub const ACCEPTED_TTL: Duration = Duration::from_secs(300);
/// Accepted tokens remembered at most (least recently used go first).
const ACCEPTED_CAPACITY: u64 = 100_000;
/// Unknown tokens probed at once by one process.
pub const PROBES_AT_ONCE: usize = 32;
/// ... when the CRM locks out failed logins.
pub const CAUTIOUS_PROBES: usize = 2;
/// Refused probes allowed per CRM: a burst of 4, then one per 15 s (at most 8 in any minute).
pub const REFUSALS: (Duration, u32) = (Duration::from_secs(15), 4);
/// The block set when the refusal budget is spent (a vendor-block "method" of the CRM).
const PAUSED: &str = "credential-check";

/// What the check decided for one token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The CRM accepts it (or accepted it recently).
    Accepted,
    /// The CRM refused it (now or within [`REJECTED_TTL`]); the message is safe to show.
    Rejected(String),
    /// The CRM could not say (unreachable, timing out, locked): let the call try.
    Undecided,
    /// Too many refused credentials lately: unknown tokens are not tried for this long.
    Paused(Duration),
}

/// The check, shared by every request of a hosted server.
#[derive(Clone)]
pub struct CredentialCheck {
    backend: Arc<dyn Backend>,
    hasher: CredentialHasher,
    rejected: Arc<dyn RejectedCredentials>,
    budget: Arc<dyn RateBudget>,
    blocks: Arc<dyn VendorBlocks>,
    probing: Arc<Semaphore>,
    /// The CRM locks out failed logins: refusals are budgeted.
    lockout: bool,
    accepted: Cache<Fingerprint, ()>,
    instance: String,
}

impl CredentialCheck {
    /// A check of `backend`'s credentials; `instance` names the CRM in the shared memory (the
    /// same in every replica: the config section's name), `hasher` must be keyed alike in
    /// every replica sharing `shared`.
    pub fn new(
        backend: Arc<dyn Backend>,
        hasher: CredentialHasher,
        shared: &SharedState,
        instance: &str,
    ) -> Self {
        let lockout = backend.locks_out_failed_logins();
        CredentialCheck {
            lockout,
            backend,
            hasher,
            rejected: shared.rejected(),
            budget: shared.budget(),
            blocks: shared.blocks(),
            probing: Arc::new(Semaphore::new(if lockout {
                CAUTIOUS_PROBES
            } else {
                PROBES_AT_ONCE
            })),
            accepted: Cache::builder()
                .max_capacity(ACCEPTED_CAPACITY)
                .time_to_live(ACCEPTED_TTL)
                .build(),
            instance: instance.to_owned(),
        }
    }

    /// Check `token`, acting as `cx` (the caller it identifies).
    pub async fn check(&self, token: &SecretString, cx: &CallContext) -> Verdict {
        let fingerprint = self.hasher.fingerprint(token);
        if self.accepted.contains_key(&fingerprint) {
            return Verdict::Accepted;
        }
        if self
            .rejected
            .rejected_for(&self.instance, &fingerprint)
            .await
            .is_some()
        {
            return Verdict::Rejected(REFUSED_RECENTLY.to_owned());
        }
        if let Some(left) = self.blocks.blocked_for(&self.instance, PAUSED).await {
            return Verdict::Paused(left);
        }
        let probed = self
            .accepted
            .try_get_with(fingerprint, async {
                let Ok(_permit) = self.probing.acquire().await else {
                    return Err(Verdict::Undecided);
                };
                if let Some(left) = self.blocks.blocked_for(&self.instance, PAUSED).await {
                    return Err(Verdict::Paused(left));
                }
                match self.backend.probe(cx).await {
                    Ok(_) => Ok(()),
                    Err(e) if e.code == ErrorCode::AuthFailed => {
                        self.rejected
                            .remember(&self.instance, &fingerprint, REJECTED_TTL)
                            .await;
                        tracing::info!(
                            caller = cx.scope(),
                            "the CRM refused this bearer token; not sending it again for {}s",
                            REJECTED_TTL.as_secs()
                        );
                        self.count_refusal().await;
                        Err(Verdict::Rejected(e.message))
                    }
                    Err(e) => {
                        tracing::debug!(caller = cx.scope(), code = %e.code, "token not checked");
                        Err(Verdict::Undecided)
                    }
                }
            })
            .await;
        match probed {
            Ok(()) => Verdict::Accepted,
            Err(verdict) => (*verdict).clone(),
        }
    }

    /// One more refusal in the CRM's budget; past it, pause probing unknown tokens.
    async fn count_refusal(&self) {
        if !self.lockout {
            return;
        }
        let (interval, burst) = REFUSALS;
        let Some(rate) = Rate::every(interval, burst) else {
            return;
        };
        let key = keys::caller(&self.instance, "refused-credentials");
        if let Decision::Denied { retry_after } = self.budget.take(&key, rate, Duration::ZERO).await
        {
            tracing::warn!(
                crm = %self.instance,
                "many refused credentials: new tokens are not tried for {}s (vendor lockouts)",
                retry_after.as_secs().max(1)
            );
            self.blocks.block(&self.instance, PAUSED, retry_after).await;
        }
    }
}

/// The 401's message for a token refused recently (the CRM is not asked again).
const REFUSED_RECENTLY: &str = "the CRM refused this credential recently; it is not sent again \
     for a few minutes (so that failed logins cannot lock the CRM for everyone)";

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn demo_tokens_are_accepted_and_remembered() {
        let backend: Arc<dyn Backend> = Arc::new(crmgate_demo::DemoBackend::new());
        let check = CredentialCheck::new(
            backend,
            CredentialHasher::random(),
            &SharedState::local(),
            "demo",
        );
        let token = SecretString::from("tok-1".to_owned());
        let cx = CallContext::bearer(token.clone());
        assert_eq!(check.check(&token, &cx).await, Verdict::Accepted);
        assert_eq!(check.check(&token, &cx).await, Verdict::Accepted);
    }
}
