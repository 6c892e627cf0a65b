//! Email drafts: `POST Email` with `status: "Draft"` set explicitly — never `Sending`, which
//! EspoCRM would send at once. A named template is filled by `POST EmailTemplate/{id}/prepare`
//! for the draft's record and first recipient, and its subject, body and attachments used.
//!
//! EspoCRM requires a `From` address even on drafts, and a non-admin may only use one it owns:
//! `email_from` from the config, else the API user's own address.

use serde_json::{Map, Value, json};

/// What `EmailTemplate/{id}/prepare` returned.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Prepared {
    /// Filled subject.
    pub subject: String,
    /// Filled body.
    pub body: String,
    /// Whether the body is HTML.
    pub is_html: bool,
    /// Attachments of the template.
    pub attachments: Vec<String>,
}

/// Parse a prepare answer.
pub fn prepared(value: &Value) -> Prepared {
    Prepared {
        subject: value
            .get("subject")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        body: value
            .get("body")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        is_html: value
            .get("isHtml")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        attachments: value
            .get("attachmentsIds")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// Whether a template reference looks like an EspoCRM id (17 hex chars, or a UUID).
pub fn looks_like_id(s: &str) -> bool {
    let hex17 = s.len() == 17 && s.bytes().all(|b| b.is_ascii_hexdigit());
    let uuid = s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                b == b'-'
            } else {
                b.is_ascii_hexdigit()
            }
        });
    hex17 || uuid
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The JSON of the draft. `parent` is (native type, id). With a template, the caller's
/// subject wins when given, and the caller's body (if any) is put before the template's.
pub fn draft_body(
    from: &str,
    to: &[String],
    subject: &str,
    body: &str,
    parent: Option<(&str, &str)>,
    template: Option<&Prepared>,
) -> Value {
    let mut draft = Map::new();
    // Always explicit: EspoCRM's default status is Archived, and Sending sends.
    draft.insert("status".into(), json!("Draft"));
    draft.insert("from".into(), json!(from));
    draft.insert("to".into(), json!(to.join(";")));
    let (subject, body, is_html) = match template {
        None => (subject.to_owned(), body.to_owned(), false),
        Some(t) => {
            let subject = if subject.trim().is_empty() {
                t.subject.clone()
            } else {
                subject.to_owned()
            };
            let body = match (body.trim().is_empty(), t.is_html) {
                (true, _) => t.body.clone(),
                (false, true) => format!(
                    "<p>{}</p>{}",
                    escape_html(body.trim()).replace('\n', "<br>"),
                    t.body
                ),
                (false, false) => format!("{}\n\n{}", body.trim(), t.body),
            };
            (subject, body, t.is_html)
        }
    };
    draft.insert("subject".into(), json!(subject));
    draft.insert("body".into(), json!(body));
    draft.insert("isHtml".into(), json!(is_html));
    if let Some((kind, id)) = parent {
        draft.insert("parentType".into(), json!(kind));
        draft.insert("parentId".into(), json!(id));
    }
    if let Some(t) = template.filter(|t| !t.attachments.is_empty()) {
        draft.insert("attachmentsIds".into(), json!(t.attachments));
    }
    Value::Object(draft)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drafts_are_always_drafts_and_templates_fill_them() {
        let d = draft_body(
            "me@x.com",
            &["a@x.com".into(), "b@x.com".into()],
            "Hi",
            "Body",
            Some(("Lead", "1")),
            None,
        );
        assert_eq!(d["status"], "Draft");
        assert_eq!(d["to"], "a@x.com;b@x.com");
        assert_eq!(d["isHtml"], false);
        assert_eq!(d["parentType"], "Lead");
        let t = Prepared {
            subject: "Welcome".into(),
            body: "<p>Hello</p>".into(),
            is_html: true,
            attachments: vec!["att1".into()],
        };
        let d = draft_body(
            "me@x.com",
            &["a@x.com".into()],
            "",
            "Note <b>\nline",
            None,
            Some(&t),
        );
        assert_eq!(d["subject"], "Welcome");
        assert_eq!(d["body"], "<p>Note &lt;b&gt;<br>line</p><p>Hello</p>");
        assert_eq!(d["isHtml"], true);
        assert_eq!(d["attachmentsIds"], json!(["att1"]));
        assert!(d.get("parentType").is_none());
        assert!(looks_like_id("6b012cf790d0aad27"));
        assert!(looks_like_id("0b6b7c1e-2a7d-4c3e-9a51-6f0d2f3b9c11"));
        assert!(!looks_like_id("Lead welcome"));
    }
}
