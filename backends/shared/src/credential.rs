//! Fingerprints of credentials: what the rejected-credential memory stores instead of the
//! credential. HMAC-SHA-256 under a per-deployment key, so a fingerprint read out of Redis
//! cannot be checked against guessed credentials without that key.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use std::fmt;

type HmacSha256 = Hmac<Sha256>;

/// Turns credentials into [`Fingerprint`]s. Every replica sharing Redis must use the same key
/// (derive it from a shared secret with [`CredentialHasher::from_secret`]); a process without
/// Redis can use [`CredentialHasher::random`].
#[derive(Clone)]
pub struct CredentialHasher {
    mac: HmacSha256,
}

impl fmt::Debug for CredentialHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CredentialHasher(..)")
    }
}

impl CredentialHasher {
    /// A hasher keyed with `key` (at least 16 bytes of secret material).
    pub fn new(key: &[u8]) -> Self {
        CredentialHasher {
            mac: HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length"),
        }
    }

    /// A hasher whose key is derived from a deployment secret (e.g. the confirm-token secret
    /// every replica shares) for this purpose only.
    pub fn from_secret(secret: &SecretString) -> Self {
        let mut mac = HmacSha256::new_from_slice(secret.expose_secret().as_bytes())
            .expect("HMAC takes keys of any length");
        mac.update(b"crmgate rejected-credential fingerprint v1");
        Self::new(&mac.finalize().into_bytes())
    }

    /// A hasher with a random key: fingerprints mean nothing outside this process.
    pub fn random() -> Self {
        let key: [u8; 32] = rand::random();
        Self::new(&key)
    }

    /// The fingerprint of `credential` (a token, an API key, a password).
    pub fn fingerprint(&self, credential: &SecretString) -> Fingerprint {
        let mut mac = self.mac.clone();
        mac.update(credential.expose_secret().as_bytes());
        Fingerprint(mac.finalize().into_bytes().into())
    }
}

/// A keyed hash of a credential. Reveals nothing of it; safe to store and to log.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// Lower-case hex, 64 characters.
    pub fn to_hex(&self) -> String {
        crate::hex(&self.0)
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({}…)", &self.to_hex()[..12])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    #[test]
    fn same_key_same_fingerprint_and_nothing_of_the_credential() {
        let a = CredentialHasher::from_secret(&secret("deployment secret"));
        let b = CredentialHasher::from_secret(&secret("deployment secret"));
        let other = CredentialHasher::from_secret(&secret("another deployment"));
        let key = secret("api-key-123");
        assert_eq!(a.fingerprint(&key), b.fingerprint(&key), "replicas agree");
        assert_ne!(a.fingerprint(&key), other.fingerprint(&key), "keyed");
        assert_ne!(a.fingerprint(&key), a.fingerprint(&secret("api-key-124")));
        let hex = a.fingerprint(&key).to_hex();
        assert_eq!(hex.len(), 64);
        assert!(!hex.contains("api-key"));
        assert!(!format!("{:?}", a.fingerprint(&key)).contains("api-key"));
        // a plain SHA-256 of the credential is not what is stored
        use sha2::Digest;
        let plain: String = Sha256::digest(b"api-key-123")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_ne!(hex, plain);
    }
}
