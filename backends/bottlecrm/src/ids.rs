//! BottleCRM ids are UUIDs. The API routes most detail URLs through a converter that accepts
//! anything Python's `uuid.UUID()` parses (any case, bare hex, braces, `urn:uuid:`), but
//! invoices use Django's strict `<uuid:pk>` (canonical lowercase only), and an id that does not
//! parse is answered with an HTML 404 page. So ids are checked and canonicalised here, before
//! any request leaves.

/// The canonical form (lowercase, hyphenated) of `raw`, if it is a UUID in any form Python's
/// `uuid.UUID()` accepts; `None` otherwise.
pub fn canonical(raw: &str) -> Option<String> {
    if is_canonical_layout(raw) {
        return Some(raw.to_owned());
    }
    let mut s = raw.trim();
    for prefix in ["urn:", "uuid:"] {
        // `get`, not a byte-index slice: the id is the caller's text and may be any Unicode
        if let Some(rest) = s
            .get(..prefix.len())
            .filter(|head| head.eq_ignore_ascii_case(prefix))
            .and_then(|_| s.get(prefix.len()..))
        {
            s = rest;
        }
    }
    let s = s.trim_start_matches('{').trim_end_matches('}');
    let hex: String = s.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let hex = hex.to_ascii_lowercase();
    Some(format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    ))
}

/// Whether `raw` is already in the canonical form (what Django's strict `<uuid:pk>` accepts).
pub fn is_canonical(raw: &str) -> bool {
    is_canonical_layout(raw)
}

/// 8-4-4-4-12 lower-case hex digits and hyphens, nothing else.
fn is_canonical_layout(raw: &str) -> bool {
    let b = raw.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_digit() || (b'a'..=b'f').contains(c),
        })
}

/// `raw` in canonical form when it is a UUID, else unchanged (for ids BottleCRM answers, which
/// are passed on even in a shape crmgate does not expect).
pub fn tidy(raw: &str) -> String {
    canonical(raw).unwrap_or_else(|| raw.to_owned())
}

/// A UUID (version 4 layout) from 128 bits; the sandbox derives its ids with this.
pub fn from_bits(high: u64, low: u64) -> String {
    let high = (high & 0xffff_ffff_ffff_0fff) | 0x0000_0000_0000_4000;
    let low = (low & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
    let hex = format!("{high:016x}{low:016x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_python_accepts_and_canonicalises() {
        let c = "f7414bc8-695f-4de0-9b7a-9ab286e22eef";
        assert_eq!(canonical(c).as_deref(), Some(c));
        assert_eq!(
            canonical("F7414BC8695F4DE09B7A9AB286E22EEF").as_deref(),
            Some(c)
        );
        assert_eq!(
            canonical("{f7414bc8-695f-4de0-9b7a-9ab286e22eef}").as_deref(),
            Some(c)
        );
        assert_eq!(
            canonical("urn:uuid:f7414bc8-695f-4de0-9b7a-9ab286e22eef").as_deref(),
            Some(c)
        );
        for bad in [
            "not-a-uuid",
            "banana",
            "",
            "f7414bc8-695f-4de0-9b7a-9ab286e22ee",
            // non-ASCII where a byte index of the prefix check lands (once a panic)
            "uéé",
            "ééé",
            "urn:ü",
            "ü",
        ] {
            assert_eq!(canonical(bad), None, "{bad}");
        }
        assert!(is_canonical(c));
        assert!(!is_canonical("e4b44c989c134a46988e00d668ea2202"));
    }

    #[test]
    fn generated_ids_are_canonical_v4() {
        let id = from_bits(u64::MAX, 0);
        assert!(is_canonical(&id), "{id}");
        assert_eq!(&id[14..15], "4");
    }
}
