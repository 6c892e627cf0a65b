//! EspoCRM's request signatures, exactly as the server computes them
//! (`Core/Authentication/Logins/Hmac.php`, confirmed on a live 9.1.7):
//!
//! `X-Hmac-Authorization: base64(apiKey + ":" + hex(HMAC-SHA256(secret, METHOD + " " + path)))`
//!
//! where `path` is the URI path after the API base (`/Account/abc`): no query string, no body.
//! The server also still accepts the legacy form with the raw 32-byte digest instead of hex.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The string EspoCRM signs: `METHOD /path` (upper-case method, path after `/api/v1`).
pub fn string_to_sign(method: &str, resource_path: &str) -> String {
    format!("{} {}", method.to_ascii_uppercase(), resource_path)
}

/// The raw HMAC-SHA256 of `message` under `secret`.
pub fn hmac_sha256(secret: &[u8], message: &str) -> [u8; 32] {
    // HMAC accepts keys of any length; new_from_slice cannot fail for it.
    let mut mac = HmacSha256::new_from_slice(secret).unwrap_or_else(|_| unreachable!());
    mac.update(message.as_bytes());
    mac.finalize().into_bytes().into()
}

pub use crmgate_core::hex;

/// The value of `X-Hmac-Authorization` for one request.
pub fn hmac_header(api_key: &str, secret: &str, method: &str, resource_path: &str) -> String {
    let digest = hmac_sha256(secret.as_bytes(), &string_to_sign(method, resource_path));
    STANDARD.encode(format!("{api_key}:{}", hex(&digest)))
}

/// The value of `Espo-Authorization`: `base64(username:password)`.
pub fn espo_authorization(username: &str, password: &str) -> String {
    STANDARD.encode(format!("{username}:{password}"))
}

/// Decode `base64(a:b)` into `(a, b)` split at the first `:` (b may be binary: the legacy HMAC
/// digest). `None` when it is not base64 or has no `:`.
pub fn split_credentials(header: &str) -> Option<(String, Vec<u8>)> {
    let raw = STANDARD.decode(header.trim()).ok()?;
    let colon = raw.iter().position(|b| *b == b':')?;
    let user = String::from_utf8(raw[..colon].to_vec()).ok()?;
    Some((user, raw[colon + 1..].to_vec()))
}

/// Whether `hash` (hex, or the legacy raw digest) is the signature of `METHOD path` under
/// `secret`. Constant-time comparison.
pub fn verify_hmac(secret: &str, method: &str, resource_path: &str, hash: &[u8]) -> bool {
    let message = string_to_sign(method, resource_path);
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!());
    mac.update(message.as_bytes());
    if hash.len() == 32 && mac.clone().verify_slice(hash).is_ok() {
        return true;
    }
    let expected = hex(&hmac_sha256(secret.as_bytes(), &message));
    expected.len() == hash.len()
        && expected
            .bytes()
            .zip(hash.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_method_and_path_only() {
        // RFC 4231 test case 2 checks the primitive.
        assert_eq!(
            hex(&hmac_sha256(b"Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            string_to_sign("get", "/Account/6b012cf59353c4863"),
            "GET /Account/6b012cf59353c4863"
        );
        let header = hmac_header("key1", "secret1", "POST", "/Note");
        let (key, hash) = split_credentials(&header).unwrap();
        assert_eq!(key, "key1");
        assert!(verify_hmac("secret1", "POST", "/Note", &hash));
        assert!(!verify_hmac("secret1", "GET", "/Note", &hash));
        assert!(!verify_hmac("other", "POST", "/Note", &hash));
        let legacy = hmac_sha256(b"secret1", "POST /Note");
        assert!(verify_hmac("secret1", "POST", "/Note", &legacy));
    }

    #[test]
    fn basic_credentials_round_trip() {
        let h = espo_authorization("admin", "p:w");
        assert_eq!(
            split_credentials(&h),
            Some(("admin".into(), b"p:w".to_vec()))
        );
        assert_eq!(split_credentials(&STANDARD.encode("no-colon-here")), None);
        assert_eq!(split_credentials("%%%"), None);
    }
}
