//! Budget keys, built so that components cannot run together: `instance:<id>` for a whole CRM
//! instance, `instance:<id>:caller:<scope>` for one caller of it. Each component has `%`, `:`,
//! `{` and `}` percent-encoded, so `instance("a:b")` and `caller("a", "b")` never collide and a
//! key never breaks the Redis hash tag it is wrapped in.

/// The key of a whole CRM instance (`[crm.NAME]`, or a Bitrix24 portal).
pub fn instance(id: &str) -> String {
    format!("instance:{}", escape(id))
}

/// The key of one caller (its non-secret scope) of an instance.
pub fn caller(instance_id: &str, scope: &str) -> String {
    format!("instance:{}:caller:{}", escape(instance_id), escape(scope))
}

/// Percent-encode the characters that separate components or delimit hash tags.
pub fn escape(component: &str) -> String {
    let mut out = String::with_capacity(component.len());
    for c in component.chars() {
        match c {
            '%' => out.push_str("%25"),
            ':' => out.push_str("%3A"),
            '{' => out.push_str("%7B"),
            '}' => out.push_str("%7D"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encode only `%`, `{` and `}`: a caller's key keeps its `:` separators but cannot
/// close the hash tag it is placed in.
pub(crate) fn escape_braces(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for c in key.chars() {
        match c {
            '%' => out.push_str("%25"),
            '{' => out.push_str("%7B"),
            '}' => out.push_str("%7D"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_cannot_run_together() {
        assert_eq!(instance("b24"), "instance:b24");
        assert_eq!(
            caller("b24", "caller:0a1b"),
            "instance:b24:caller:caller%3A0a1b"
        );
        assert_ne!(instance("a:caller:b"), caller("a", "b"));
        assert_ne!(caller("a:b", "c"), caller("a", "b:c"));
        assert_eq!(escape("%3A"), "%253A", "escaping is reversible");
        assert_eq!(escape_braces("a}b{c:%"), "a%7Db%7Bc:%25");
    }
}
