//! Confirm tokens for deletes and destructive actions.
//!
//! A preview returns a token that is an HMAC over what is about to happen: the operation, the
//! entity, the record id, the record's version at preview time and the caller it was issued to
//! (`CallContext::scope()`, so in hosted mode one caller's token is refused for another's
//! delete), plus an expiry. The key comes
//! from configuration, so every replica of a hosted deployment accepts the others' tokens. When
//! the call comes back with the token, the gateway reads the record again and recomputes the MAC
//! with the *current* version: if anything changed — the record, the id, the operation, the
//! caller — or the token was made up, the MAC differs and the call is refused with `STALE_CONFIRMATION`.
//!
//! Format: `v1.<expiry unix seconds>.<base64url MAC>`. Nothing secret is inside.

use crate::{Error, ErrorCode, Result};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

type HmacSha256 = Hmac<Sha256>;

/// How long a confirm token stays valid.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// Issues and checks confirm tokens.
#[derive(Clone)]
pub struct ConfirmSigner {
    key: Vec<u8>,
}

impl std::fmt::Debug for ConfirmSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConfirmSigner([REDACTED])")
    }
}

/// What a token authorises.
#[derive(Debug, Clone, Copy)]
pub struct Intent<'a> {
    /// `delete`, or the action name.
    pub operation: &'a str,
    /// Native entity name.
    pub entity: &'a str,
    /// Record id.
    pub id: &'a str,
    /// The record's version (or a hash of its fields).
    pub version: &'a str,
    /// The caller it is for: `CallContext::scope()`.
    pub caller: &'a str,
}

impl ConfirmSigner {
    /// A signer with a configured key (shared by replicas).
    pub fn new(key: &[u8]) -> Self {
        ConfirmSigner { key: key.to_vec() }
    }

    /// A signer with a random per-process key (stdio mode without a configured key).
    pub fn random() -> Self {
        let key: [u8; 32] = rand::random();
        ConfirmSigner { key: key.to_vec() }
    }

    /// A token for the intent, valid for [`TOKEN_LIFETIME`].
    pub fn issue(&self, intent: Intent<'_>) -> String {
        let expiry = now_s() + TOKEN_LIFETIME.as_secs();
        let mac = self.mac(intent, expiry);
        format!("v1.{expiry}.{}", URL_SAFE_NO_PAD.encode(mac))
    }

    /// Check a token against the intent as it stands now.
    pub fn verify(&self, token: &str, intent: Intent<'_>) -> Result<()> {
        let stale = |why: &str| {
            Error::new(
                ErrorCode::StaleConfirmation,
                format!("confirm token refused: {why}; nothing was changed"),
                format!(
                    "call again without confirm_token to get a fresh preview of {} {}, check it, then confirm",
                    intent.entity, intent.id
                ),
            )
        };
        let mut parts = token.trim().splitn(3, '.');
        let (Some("v1"), Some(expiry), Some(mac)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(stale("it is not a token this server issued"));
        };
        let Ok(expiry) = expiry.parse::<u64>() else {
            return Err(stale("it is not a token this server issued"));
        };
        let Ok(mac) = URL_SAFE_NO_PAD.decode(mac) else {
            return Err(stale("it is not a token this server issued"));
        };
        if self.hasher(intent, expiry).verify_slice(&mac).is_err() {
            return Err(stale(
                "the record changed since the preview, or the token was issued for another record, operation or caller",
            ));
        }
        if now_s() > expiry {
            return Err(stale("it has expired"));
        }
        Ok(())
    }

    fn hasher(&self, intent: Intent<'_>, expiry: u64) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        let parts = [
            intent.operation,
            intent.entity,
            intent.id,
            intent.version,
            intent.caller,
        ];
        for part in parts {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        mac.update(&expiry.to_be_bytes());
        mac
    }

    fn mac(&self, intent: Intent<'_>, expiry: u64) -> Vec<u8> {
        self.hasher(intent, expiry).finalize().into_bytes().to_vec()
    }
}

fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intent(version: &str) -> Intent<'_> {
        Intent {
            operation: "delete",
            entity: "Deal",
            id: "d-1",
            version,
            caller: "configured",
        }
    }

    #[test]
    fn a_token_confirms_only_the_same_intent() {
        let signer = ConfirmSigner::new(b"shared key");
        let token = signer.issue(intent("v1"));
        assert!(signer.verify(&token, intent("v1")).is_ok());
        // another replica with the same key agrees
        assert!(
            ConfirmSigner::new(b"shared key")
                .verify(&token, intent("v1"))
                .is_ok()
        );
        // record changed
        assert_eq!(
            signer.verify(&token, intent("v2")).unwrap_err().code,
            ErrorCode::StaleConfirmation
        );
        // other record / operation
        let other = Intent {
            id: "d-2",
            ..intent("v1")
        };
        assert!(signer.verify(&token, other).is_err());
        let action = Intent {
            operation: "send_quote",
            ..intent("v1")
        };
        assert!(signer.verify(&token, action).is_err());
        // another caller
        let stranger = Intent {
            caller: "caller:0123abcd",
            ..intent("v1")
        };
        assert_eq!(
            signer.verify(&token, stranger).unwrap_err().code,
            ErrorCode::StaleConfirmation
        );
        // other key
        assert!(
            ConfirmSigner::random()
                .verify(&token, intent("v1"))
                .is_err()
        );
    }

    #[test]
    fn forged_and_malformed_tokens_are_refused() {
        let signer = ConfirmSigner::new(b"k");
        for bad in ["", "abc", "v1.x.y", "v1.99999999999.AAAA", "v2.1.AAAA"] {
            let e = signer.verify(bad, intent("v")).unwrap_err();
            assert_eq!(e.code, ErrorCode::StaleConfirmation, "{bad}");
            assert!(e.message.contains("nothing was changed"));
        }
        // an expired token, correctly signed
        let expired = format!(
            "v1.1.{}",
            URL_SAFE_NO_PAD.encode(signer.mac(intent("v"), 1))
        );
        assert!(
            signer
                .verify(&expired, intent("v"))
                .unwrap_err()
                .message
                .contains("expired")
        );
    }

    #[test]
    fn debug_hides_the_key() {
        assert_eq!(
            format!("{:?}", ConfirmSigner::new(b"secret")),
            "ConfirmSigner([REDACTED])"
        );
    }
}
