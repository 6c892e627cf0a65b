//! Small text helpers: "did you mean" suggestions and cutting long text.

/// The closest candidate to `input` by edit distance, if any is close enough to be a plausible
/// typo (distance at most a third of the longer word, and at least 1 allowed).
pub fn did_you_mean<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let input_lower = input.to_lowercase();
    let mut best: Option<(usize, &'a str)> = None;
    for candidate in candidates {
        let cand_lower = candidate.to_lowercase();
        let distance = if cand_lower.contains(&input_lower) || input_lower.contains(&cand_lower) {
            // a prefix/suffix/substring is a strong hint ("email" for "emailAddress")
            1
        } else {
            levenshtein(&input_lower, &cand_lower)
        };
        let allowed = (input.chars().count().max(candidate.chars().count()) / 3).max(1);
        if distance <= allowed && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, c)| c)
}

/// Edit distance between two strings, by characters, counting a swap of two neighbours as one
/// edit (optimal string alignment, `strsim::osa_distance`), since "emial" for "email" is the
/// commonest typo.
pub fn levenshtein(a: &str, b: &str) -> usize {
    strsim::osa_distance(a, b)
}

/// Cut `text` to at most `max_chars` characters, on a character boundary. Returns whether it
/// was cut. The cut text ends with "…" so a reader sees it is incomplete.
pub fn truncate_in_place(text: &mut String, max_chars: usize) -> bool {
    // no more bytes than the limit: no more characters either (the common case, no scan)
    if text.len() <= max_chars {
        return false;
    }
    match text.char_indices().nth(max_chars) {
        None => false,
        Some((byte_index, _)) => {
            let keep = text[..byte_index]
                .char_indices()
                .nth(max_chars.saturating_sub(1))
                .map_or(byte_index, |(i, _)| i);
            text.truncate(keep);
            text.push('…');
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let fields = ["first_name", "last_name", "email", "phone"];
        assert_eq!(did_you_mean("emial", fields), Some("email"));
        assert_eq!(did_you_mean("firstname", fields), Some("first_name"));
        assert_eq!(did_you_mean("Email", fields), Some("email"));
        assert_eq!(did_you_mean("zzzzzz", fields), None);
    }

    #[test]
    fn truncates_on_char_boundaries() {
        let mut s = "héllo wörld".to_string();
        assert!(truncate_in_place(&mut s, 5));
        assert_eq!(s, "héll…");
        assert_eq!(s.chars().count(), 5);
        let mut short = "abc".to_string();
        assert!(!truncate_in_place(&mut short, 3));
        assert_eq!(short, "abc");
    }

    #[test]
    fn levenshtein_basics() {
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(levenshtein("same", "same"), 0);
        assert_eq!(levenshtein("emial", "email"), 1);
    }
}
