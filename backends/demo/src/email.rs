//! Email drafts: stored as `emails` records with status `draft`, attached to their parent
//! record, optionally filled from a built-in template. Nothing is ever sent.

use crate::check::looks_like_email;
use crate::kind::{CURRENT_USER, Kind};
use crate::store::{Store, text};
use crmgate_core::model::{EmailDraft, Fields, Operation, Record};
use crmgate_core::{Error, ErrorCode, Result};
use serde_json::{Value, json};

/// Built-in templates: name, subject, body. Placeholders: `{first_name}`, `{company}`,
/// `{deal}`, `{sender}`, filled from the parent record.
pub(crate) const TEMPLATES: &[(&str, &str, &str)] = &[
    (
        "intro",
        "Nice to meet you, {first_name}",
        "Hi {first_name},\n\nI'm {sender}. We help teams like {company} keep their pipeline in \
         one place without the busywork. Would you be open to a 20-minute call next week to see \
         whether it fits?\n\nBest regards,\n{sender}",
    ),
    (
        "follow_up",
        "Following up: {deal}",
        "Hi {first_name},\n\nThanks again for your time. I'm following up on {deal} for \
         {company}: is there anything you need from me to move forward?\n\nBest,\n{sender}",
    ),
    (
        "meeting_request",
        "Meeting request: {company}",
        "Hi {first_name},\n\nCould we find 30 minutes this week or next to go through the next \
         steps for {company}? Send me two or three slots that suit you.\n\nThanks,\n{sender}",
    ),
];

/// What placeholders are filled with.
#[derive(Default)]
struct Context {
    first_name: Option<String>,
    company: Option<String>,
    deal: Option<String>,
}

impl Store {
    /// File an email draft; returns it as an `emails` record.
    pub(crate) fn draft_email(&mut self, draft: &EmailDraft) -> Result<Record> {
        let to: Vec<String> = draft
            .to
            .iter()
            .map(|a| a.trim().to_string())
            .filter(|a| !a.is_empty())
            .collect();
        if to.is_empty() {
            return Err(Error::validation(
                "an email draft needs at least one recipient",
                "pass the recipient addresses in `to`",
            ));
        }
        if let Some(bad) = to.iter().find(|a| !looks_like_email(a)) {
            return Err(Error::validation(
                format!("{bad:?} is not an email address"),
                "pass plain addresses in `to`, e.g. \"anna@example.com\"",
            ));
        }
        let template = match draft.template.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(name) => Some(find_template(name)?),
        };
        let parent = match &draft.parent {
            None => None,
            Some((info, id)) => {
                let kind = Kind::from_name(&info.name)
                    .or_else(|| Kind::from_name(&info.native))
                    .ok_or_else(|| {
                        let known: Vec<String> =
                            Kind::ALL.iter().map(|k| k.name().to_string()).collect();
                        Error::unknown_entity(&info.name, &known)
                    })?;
                if !kind.info().supports(Operation::DraftEmail) {
                    return Err(crmgate_core::backend::unsupported(
                        kind.info(),
                        "email drafts",
                    ));
                }
                self.require(kind, id)?;
                Some((kind, id.as_str()))
            }
        };
        let pick = |given: &str, from_template: Option<&str>, what: &str| {
            if !given.trim().is_empty() {
                Ok(given.to_string())
            } else {
                from_template.map(str::to_string).ok_or_else(|| {
                    Error::validation(
                        format!("the email {what} is empty"),
                        format!("write a {what}, or pass a template ({})", template_names()),
                    )
                })
            }
        };
        let subject = pick(&draft.subject, template.map(|t| t.1), "subject")?;
        let body = pick(&draft.body, template.map(|t| t.2), "body")?;
        let context = self.context(parent, &to);
        let sender = self
            .user_name(CURRENT_USER)
            .unwrap_or_else(|| "the team".into());
        let fill = |s: &str| {
            s.replace(
                "{first_name}",
                context.first_name.as_deref().unwrap_or("there"),
            )
            .replace(
                "{company}",
                context.company.as_deref().unwrap_or("your team"),
            )
            .replace(
                "{deal}",
                context.deal.as_deref().unwrap_or("our conversation"),
            )
            .replace("{sender}", &sender)
        };
        let mut data = Fields::new();
        data.insert("to".into(), json!(to));
        data.insert("subject".into(), fill(&subject).into());
        data.insert("body".into(), fill(&body).into());
        data.insert("status".into(), "draft".into());
        data.insert(
            "template".into(),
            template.map_or(Value::Null, |t| t.0.into()),
        );
        if let Some((kind, id)) = parent
            && let Some(field) = kind.parent_field()
        {
            data.insert(field.into(), id.into());
        }
        let id = self.insert_new(Kind::Emails, data);
        self.full_record(Kind::Emails, &id)
    }

    /// Placeholder values from the parent record, or from a contact among the recipients.
    fn context(&self, parent: Option<(Kind, &str)>, to: &[String]) -> Context {
        let field = |kind: Kind, id: &str, name: &str| {
            self.row(kind, id)
                .and_then(|r| text(&r.fields, name))
                .map(str::to_string)
        };
        let company_of = |kind: Kind, id: &str| {
            field(kind, id, "company_id").and_then(|c| field(Kind::Companies, &c, "name"))
        };
        let recipient = self
            .table(Kind::Contacts)
            .rows
            .iter()
            .find(|(_, r)| {
                text(&r.fields, "email")
                    .is_some_and(|e| to.iter().any(|t| t.eq_ignore_ascii_case(e)))
            })
            .map(|(id, _)| id.clone());
        let from_contact = |id: &str| Context {
            first_name: field(Kind::Contacts, id, "first_name"),
            company: company_of(Kind::Contacts, id),
            deal: None,
        };
        match parent {
            Some((Kind::Contacts, id)) => from_contact(id),
            Some((Kind::Leads, id)) => Context {
                first_name: field(Kind::Leads, id, "first_name"),
                company: field(Kind::Leads, id, "company_name"),
                deal: None,
            },
            Some((Kind::Companies, id)) => Context {
                company: field(Kind::Companies, id, "name"),
                ..recipient.as_deref().map(from_contact).unwrap_or_default()
            },
            Some((Kind::Deals, id)) => {
                let contact = recipient.or_else(|| field(Kind::Deals, id, "contact_id"));
                Context {
                    first_name: contact
                        .as_deref()
                        .and_then(|c| field(Kind::Contacts, c, "first_name")),
                    company: company_of(Kind::Deals, id),
                    deal: field(Kind::Deals, id, "name"),
                }
            }
            _ => recipient.as_deref().map(from_contact).unwrap_or_default(),
        }
    }
}

fn template_names() -> String {
    TEMPLATES.iter().map(|t| t.0).collect::<Vec<_>>().join(", ")
}

fn find_template(name: &str) -> Result<&'static (&'static str, &'static str, &'static str)> {
    TEMPLATES
        .iter()
        .find(|t| t.0.eq_ignore_ascii_case(name))
        .ok_or_else(|| {
            let hint = crmgate_core::text::did_you_mean(name, TEMPLATES.iter().map(|t| t.0))
                .map(|b| format!("did you mean {b:?}? "))
                .unwrap_or_default();
            Error::new(
                ErrorCode::NotFound,
                format!("no email template named {name:?}"),
                format!("{hint}templates: {}", template_names()),
            )
            .with_details(json!({ "templates": TEMPLATES.iter().map(|t| t.0).collect::<Vec<_>>() }))
        })
}
