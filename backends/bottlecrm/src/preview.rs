//! Known outcomes of a pending write, for the gateway's previews
//! ([`crmgate_core::Backend::preview_notes`]): what BottleCRM is known to do besides the write
//! itself, or the refusal it is known to give (then no confirm token is issued).
//!
//! - Setting `assigned_to` makes BottleCRM email every assignee.
//! - Converting a lead that is already converted is refused by BottleCRM (it would create a
//!   second opportunity); so is converting a lead without an email.
//! - Sending an invoice that was already sent emails the client again.

use crate::entities::{Entity, action};
use crmgate_core::model::{Pending, Record};
use crmgate_core::{Error, Result};
use serde_json::Value;

/// The note shown when a write sets `assigned_to`.
pub const ASSIGNEES_EMAILED: &str =
    "BottleCRM emails every assignee in assigned_to when this is applied";

fn text<'a>(record: &'a Record, field: &str) -> Option<&'a str> {
    record
        .fields
        .get(field)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Whether `data` sets `assigned_to` to at least one assignee.
fn assigns(data: &crmgate_core::model::Fields) -> bool {
    match data.get("assigned_to") {
        Some(Value::Array(items)) => !items.is_empty(),
        Some(Value::String(s)) => !s.trim().is_empty(),
        _ => false,
    }
}

/// Notes for the preview of `pending` on `current`, or the refusal BottleCRM would give.
pub fn notes(entity: Entity, current: &Record, pending: Pending<'_>) -> Result<Vec<String>> {
    let mut notes = Vec::new();
    match pending {
        Pending::Update(data) => {
            if assigns(data) {
                notes.push(ASSIGNEES_EMAILED.to_owned());
            }
        }
        Pending::Action(info, _) => match (entity, info.name.as_str()) {
            (Entity::Leads, action::CONVERT) => {
                if text(current, "status") == Some("converted") {
                    return Err(Error::validation(
                        format!(
                            "lead {} is already converted; BottleCRM refuses to convert it again \
                             (it would create a second opportunity)",
                            current.id
                        ),
                        "find the account, contact and opportunity it created with crm_search",
                    ));
                }
                if text(current, "email").is_none() {
                    return Err(Error::validation(
                        format!(
                            "lead {} has no email; BottleCRM needs an email before it converts a lead",
                            current.id
                        ),
                        "set the lead's email with crm_update, then convert it",
                    ));
                }
            }
            (Entity::Invoices, action::SEND)
                if text(current, "status").is_some_and(|s| !s.eq_ignore_ascii_case("draft")) =>
            {
                notes.push(
                    "this invoice is not a draft (it was sent before): BottleCRM emails the \
                     client again"
                        .to_owned(),
                );
            }
            _ => {}
        },
    }
    Ok(notes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entities::entity_infos;
    use crmgate_core::model::Fields;
    use serde_json::json;

    fn record(fields: Value) -> Record {
        let fields: Fields = fields.as_object().unwrap().clone();
        Record::new("f7414bc8-695f-4de0-9b7a-9ab286e22eef", "x", fields)
    }

    fn action_of(entity: Entity, name: &str) -> crmgate_core::model::ActionInfo {
        entity_infos()
            .into_iter()
            .find(|i| i.native == entity.spec().native)
            .unwrap()
            .actions
            .into_iter()
            .find(|a| a.name == name)
            .unwrap()
    }

    #[test]
    fn assignees_are_said_to_be_emailed() {
        let lead = record(json!({"status": "assigned"}));
        let data = json!({"assigned_to": ["38bf1b4d-990d-4b7a-9f28-5d2f270129ad"]});
        let notes = notes(
            Entity::Leads,
            &lead,
            Pending::Update(data.as_object().unwrap()),
        )
        .unwrap();
        assert_eq!(notes, vec![ASSIGNEES_EMAILED.to_owned()]);
        for quiet in [json!({"assigned_to": []}), json!({"city": "Oslo"})] {
            let n = notes_of(&lead, &quiet);
            assert!(n.is_empty(), "{quiet}: {n:?}");
        }
    }

    fn notes_of(current: &Record, data: &Value) -> Vec<String> {
        notes(
            Entity::Tasks,
            current,
            Pending::Update(data.as_object().unwrap()),
        )
        .unwrap()
    }

    #[test]
    fn a_converted_lead_or_one_without_email_is_refused_before_a_token() {
        let convert = action_of(Entity::Leads, action::CONVERT);
        let none = Fields::new();
        let converted = record(json!({"status": "converted", "email": "a@b.example"}));
        let e = notes(Entity::Leads, &converted, Pending::Action(&convert, &none)).unwrap_err();
        assert!(e.message.contains("already converted"), "{}", e.message);
        let no_email = record(json!({"status": "assigned", "email": null}));
        let e = notes(Entity::Leads, &no_email, Pending::Action(&convert, &none)).unwrap_err();
        assert!(e.message.contains("needs an email"), "{}", e.message);
        let fine = record(json!({"status": "assigned", "email": "a@b.example"}));
        assert!(
            notes(Entity::Leads, &fine, Pending::Action(&convert, &none))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn sending_a_sent_invoice_says_it_emails_again() {
        let send = action_of(Entity::Invoices, action::SEND);
        let none = Fields::new();
        let sent = record(json!({"status": "Sent"}));
        let n = notes(Entity::Invoices, &sent, Pending::Action(&send, &none)).unwrap();
        assert!(n[0].contains("again"), "{n:?}");
        let draft = record(json!({"status": "Draft"}));
        assert!(
            notes(Entity::Invoices, &draft, Pending::Action(&send, &none))
                .unwrap()
                .is_empty()
        );
    }
}
