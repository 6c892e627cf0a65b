//! crm_call: a raw vendor method, under the same rules as every other tool.
//!
//! The order is fixed and nothing upstream happens before the last check:
//! 1. the backend parses the text with its vendor's grammar into a [`RawMethod`] (anything
//!    outside it is `VALIDATION`);
//! 2. the allow-list is matched against the *normalised* name;
//! 3. the method's class needs its tier (read, write, destructive);
//! 4. a destructive method runs only with a confirm token bound to the normalised name, the
//!    canonical parameters and the version of the record it acts on (read again before the
//!    call); without a token the answer is a preview. A raw-call token is spent when used.

use super::journaled::WriteRecord;
use super::*;
use crate::confirm::{Intent, TOKEN_LIFETIME};
use crate::journal::{Change, EntityRef};
use crate::raw::{self, RawClass, RawMethod};
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

impl Gateway {
    /// crm_call: a raw vendor method from the configured allow-list.
    pub async fn raw_call(&self, cx: &CallContext, args: CallArgs) -> Result<CallOutput> {
        self.within_deadline(self.raw_call_now(cx, args)).await
    }

    async fn raw_call_now(&self, cx: &CallContext, args: CallArgs) -> Result<CallOutput> {
        let method = self.backend.raw_method(&args.method)?;
        let name = method.name().to_owned();
        if !raw::allowed(&self.settings.raw_call_allow, &name) {
            return Err(Error::not_allowed(
                format!("{name} is not on this server's crm_call allow-list"),
                format!(
                    "use the crm_* tools, or ask the operator to add it to raw_call_allow \
                     (allowed here: {})",
                    if self.settings.raw_call_allow.is_empty() {
                        "nothing".to_owned()
                    } else {
                        self.settings.raw_call_allow.join(", ")
                    }
                ),
            ));
        }
        let class = method.class();
        if class != RawClass::Read {
            self.require_tier(
                class.tier(),
                &format!("the {name} method ({})", class.describe()),
            )?;
        }
        if class != RawClass::Destructive {
            let result = self.journaled_raw(cx, &method, &args.params, None).await?;
            return Ok(CallOutput::Done {
                method: name,
                class,
                result,
            });
        }
        let target = self.backend.raw_target(cx, &method, &args.params).await?;
        let params = format!("params:{}", raw::digest(&raw::canonical_json(&args.params)));
        let version = match &target {
            Some(t) => format!("h:{}", raw::digest(&raw::canonical_json(&t.record))),
            None => "none".to_owned(),
        };
        let intent = raw_intent(&method, &params, &version, cx.scope());
        match given(&args.confirm_token) {
            None => Ok(CallOutput::Preview {
                confirm_token: self.signer.issue(intent),
                method: name,
                class,
                params: args.params,
                target,
                expires_in_s: TOKEN_LIFETIME.as_secs(),
                called: false,
            }),
            Some(token) => {
                self.signer.verify(token, intent)?;
                if !self.spent.spend(token) {
                    return Err(Error::new(
                        crate::ErrorCode::StaleConfirmation,
                        format!(
                            "confirm token refused: it was already used for {name}; nothing was sent"
                        ),
                        "call crm_call again without confirm_token for a fresh preview, check it, then confirm",
                    ));
                }
                let before = target.map(|t| t.record);
                let result = self
                    .journaled_raw(cx, &method, &args.params, before)
                    .await?;
                Ok(CallOutput::Done {
                    method: name,
                    class,
                    result,
                })
            }
        }
    }
}

impl Gateway {
    /// Send a raw method; a write or destructive one is journaled (`before`: the target
    /// record as read for the confirm token). A raw call names no entity of the catalogue:
    /// its entry's entity is `crm_call` and the method.
    async fn journaled_raw(
        &self,
        cx: &CallContext,
        method: &RawMethod,
        params: &serde_json::Value,
        before: Option<serde_json::Value>,
    ) -> Result<serde_json::Value> {
        if method.class() == RawClass::Read {
            return self.backend.raw_call(cx, method, params).await;
        }
        let change = |result| Change::RawCall {
            method: method.name().to_owned(),
            destructive: method.class() == RawClass::Destructive,
            result,
        };
        let pending = self
            .journal_one(
                cx,
                WriteRecord {
                    tool: "crm_call",
                    arguments: serde_json::json!({"method": method.name(), "params": params}),
                    entity: EntityRef {
                        name: "crm_call".into(),
                        native: method.name().to_owned(),
                    },
                    id: None,
                    change: change(None),
                    before,
                },
            )
            .await?;
        let result = self.backend.raw_call(cx, method, params).await;
        pending
            .finish(&result, |r| (None, None, Some(change(Some(r.clone())))))
            .await;
        result
    }
}

/// What a raw-call token authorises: this normalised method with these canonical parameters,
/// on the record version read now.
fn raw_intent<'a>(
    method: &'a RawMethod,
    params: &'a str,
    version: &'a str,
    caller: &'a str,
) -> Intent<'a> {
    Intent {
        operation: "crm_call",
        entity: method.name(),
        id: params,
        version,
        caller,
    }
}

/// Raw-call tokens already used, remembered until they could no longer be valid anyway. A
/// destructive raw call whose target cannot be read (a mass action, a link removal) would
/// otherwise be repeatable for the token's lifetime.
#[derive(Debug, Default)]
pub(super) struct SpentTokens {
    spent: Mutex<HashMap<String, u64>>,
}

impl SpentTokens {
    /// Mark `token` used; false when it already was.
    fn spend(&self, token: &str) -> bool {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut spent = self.spent.lock().unwrap_or_else(PoisonError::into_inner);
        spent.retain(|_, forget_at| *forget_at > now);
        if spent.contains_key(token) {
            return false;
        }
        spent.insert(token.to_owned(), now + TOKEN_LIFETIME.as_secs() + 1);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_spent_once() {
        let spent = SpentTokens::default();
        assert!(spent.spend("v1.1.a"));
        assert!(!spent.spend("v1.1.a"));
        assert!(spent.spend("v1.1.b"));
    }

    #[test]
    fn the_intent_binds_method_params_and_version() {
        let signer = crate::confirm::ConfirmSigner::new(b"k");
        let delete = RawMethod::new("crm.item.delete", RawClass::Destructive);
        let token = signer.issue(raw_intent(&delete, "params:1", "h:a", "caller:a"));
        assert!(
            signer
                .verify(&token, raw_intent(&delete, "params:1", "h:a", "caller:a"))
                .is_ok()
        );
        assert!(
            signer
                .verify(&token, raw_intent(&delete, "params:2", "h:a", "caller:a"))
                .is_err()
        );
        assert!(
            signer
                .verify(&token, raw_intent(&delete, "params:1", "h:b", "caller:a"))
                .is_err()
        );
        let other = RawMethod::new("crm.lead.delete", RawClass::Destructive);
        assert!(
            signer
                .verify(&token, raw_intent(&other, "params:1", "h:a", "caller:a"))
                .is_err()
        );
    }
}
