//! Opaque pagination cursors.
//!
//! A cursor handed to the agent wraps the backend's own continuation token together with a
//! fingerprint of the query it belongs to (entity, filter, sort, fields). A cursor replayed
//! with a different query, truncated, or made up is refused with a clear `VALIDATION` error
//! instead of silently returning the wrong page.

use crate::{Error, Result};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

const FINGERPRINT_LEN: usize = 8;

/// A fingerprint of the query a cursor belongs to.
pub fn fingerprint(parts: &[&str]) -> [u8; FINGERPRINT_LEN] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    let digest = hasher.finalize();
    let mut out = [0; FINGERPRINT_LEN];
    out.copy_from_slice(&digest[..FINGERPRINT_LEN]);
    out
}

/// Wrap the backend's token for the agent.
pub fn encode(query: [u8; FINGERPRINT_LEN], backend_token: &str) -> String {
    let mut bytes = Vec::with_capacity(FINGERPRINT_LEN + backend_token.len());
    bytes.extend_from_slice(&query);
    bytes.extend_from_slice(backend_token.as_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Unwrap an agent's cursor, checking it belongs to this query.
pub fn decode(query: [u8; FINGERPRINT_LEN], cursor: &str) -> Result<String> {
    let invalid = |why: &str| {
        Error::validation(
            format!("cursor refused: {why}"),
            "pass next_cursor exactly as the previous result gave it, with the same entity, filters, sort and fields; or start again without cursor",
        )
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor.trim())
        .map_err(|_| invalid("it is not a cursor this server issued"))?;
    if bytes.len() < FINGERPRINT_LEN {
        return Err(invalid("it is not a cursor this server issued"));
    }
    if bytes[..FINGERPRINT_LEN] != query {
        return Err(invalid("it belongs to a different query"));
    }
    String::from_utf8(bytes[FINGERPRINT_LEN..].to_vec())
        .map_err(|_| invalid("it is not a cursor this server issued"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_other_queries() {
        let q = fingerprint(&["deals", "where amount > 5"]);
        let c = encode(q, "offset:50");
        assert_eq!(decode(q, &c).unwrap(), "offset:50");
        let other = fingerprint(&["deals", "where amount > 6"]);
        assert!(
            decode(other, &c)
                .unwrap_err()
                .message
                .contains("different query")
        );
        assert!(decode(q, "!!not base64!!").is_err());
        assert!(decode(q, "AAAA").is_err());
    }
}
