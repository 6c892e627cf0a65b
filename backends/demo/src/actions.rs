//! Record actions: `leads.convert`, `deals.move_stage`, `deals.send_quote` (destructive: in a
//! real CRM it emails the customer; the demo records it on the timeline) and `tasks.complete`.

use crate::check::check_params;
use crate::kind::{CURRENT_USER, Kind, stage_label};
use crate::store::{Store, text, title};
use crmgate_core::model::Fields;
use crmgate_core::{Error, ErrorCode, Result};
use serde_json::{Value, json};

impl Store {
    /// Run an action on a record, after checking its parameters.
    pub(crate) fn run_action(
        &mut self,
        kind: Kind,
        id: &str,
        name: &str,
        params: &Fields,
    ) -> Result<Value> {
        let Some(action) = kind.info().actions.iter().find(|a| a.name == name) else {
            let names: Vec<&str> = kind
                .info()
                .actions
                .iter()
                .map(|a| a.name.as_str())
                .collect();
            let hint = crmgate_core::text::did_you_mean(name, names.iter().copied())
                .map(|b| format!("did you mean {b:?}? "))
                .unwrap_or_default();
            return Err(Error::new(
                ErrorCode::NotFound,
                format!("{} has no action {name:?}", kind.name()),
                if names.is_empty() {
                    format!("{} has no actions; crm_entities lists them", kind.name())
                } else {
                    format!("{hint}actions of {}: {}", kind.name(), names.join(", "))
                },
            ));
        };
        self.require(kind, id)?;
        check_params(kind.name(), action, params)?;
        let param = |name: &str| text(params, name).map(str::trim).filter(|s| !s.is_empty());
        match (kind, name) {
            (Kind::Leads, "convert") => {
                let create_deal = params.get("create_deal").and_then(Value::as_bool);
                let amount = params.get("deal_amount").filter(|v| v.is_number()).cloned();
                let deal = create_deal.unwrap_or(param("deal_name").is_some() || amount.is_some());
                self.convert(id, deal.then(|| (param("deal_name"), amount)))
            }
            (Kind::Deals, "move_stage") => {
                self.move_stage(id, param("stage").unwrap_or_default(), param("reason"))
            }
            (Kind::Deals, "send_quote") => self.send_quote(id, param("to"), param("message")),
            (Kind::Tasks, "complete") => self.complete(id, param("outcome")),
            _ => Err(Error::not_allowed(
                format!("the action {name:?} is not implemented on {}", kind.name()),
                "crm_entities lists the actions of each entity",
            )),
        }
    }

    fn find_by(&self, kind: Kind, field: &str, value: &str) -> Option<String> {
        let wanted = value.trim().to_lowercase();
        self.table(kind)
            .rows
            .iter()
            .find(|(_, r)| {
                text(&r.fields, field).is_some_and(|v| v.trim().to_lowercase() == wanted)
            })
            .map(|(id, _)| id.clone())
    }

    fn summary(&self, kind: Kind, id: &str, created: bool) -> Value {
        let label = self
            .row(kind, id)
            .map(|r| title(kind, &r.fields))
            .unwrap_or_default();
        json!({"id": id, "title": label, "url": self.url(kind, id), "created": created})
    }

    /// Convert a lead into a contact, a company (new or existing) and optionally a deal.
    fn convert(&mut self, id: &str, deal: Option<(Option<&str>, Option<Value>)>) -> Result<Value> {
        let lead = self.require(Kind::Leads, id)?.fields.clone();
        if text(&lead, "status") == Some("converted") {
            let (message, suggestion) = match text(&lead, "converted_contact_id") {
                Some(contact) => (
                    format!("lead {id} was already converted (contact {contact})"),
                    format!("work with the contact instead: crm_get contacts {contact}"),
                ),
                None => (
                    format!("lead {id} is already marked converted"),
                    format!(
                        "to convert it here, first set its status back with crm_update leads \
                         {id} {{\"status\": \"qualified\"}}"
                    ),
                ),
            };
            return Err(
                Error::new(ErrorCode::Conflict, message, suggestion).with_details(json!({
                    "converted_contact_id": lead.get("converted_contact_id"),
                    "converted_company_id": lead.get("converted_company_id"),
                    "converted_deal_id": lead.get("converted_deal_id"),
                })),
            );
        }
        let copy = |fields: &mut Fields, names: &[(&str, &str)]| {
            for (from, to) in names {
                if let Some(v) = lead.get(*from).filter(|v| !v.is_null()) {
                    fields.insert((*to).into(), v.clone());
                }
            }
        };
        let company = text(&lead, "company_name").map(|name| {
            match self.find_by(Kind::Companies, "name", name) {
                Some(existing) => (existing, false),
                None => {
                    let mut data = Fields::new();
                    copy(
                        &mut data,
                        &[("company_name", "name"), ("owner_id", "owner_id")],
                    );
                    (self.insert_new(Kind::Companies, data), true)
                }
            }
        });
        let company_id = company.as_ref().map(|(c, _)| c.clone());
        let existing = text(&lead, "email").and_then(|e| self.find_by(Kind::Contacts, "email", e));
        let contact = match existing {
            Some(existing) => {
                let has_company = self
                    .row(Kind::Contacts, &existing)
                    .is_some_and(|r| text(&r.fields, "company_id").is_some());
                if let (false, Some(c)) = (has_company, &company_id) {
                    let patch =
                        Fields::from_iter([("company_id".to_string(), Value::from(c.as_str()))]);
                    self.apply_update(Kind::Contacts, &existing, &patch, None)?;
                }
                (existing, false)
            }
            None => {
                let mut data = Fields::new();
                copy(
                    &mut data,
                    &[
                        ("first_name", "first_name"),
                        ("last_name", "last_name"),
                        ("email", "email"),
                        ("phone", "phone"),
                        ("description", "description"),
                        ("owner_id", "owner_id"),
                    ],
                );
                let lifecycle = if deal.is_some() {
                    "opportunity"
                } else {
                    "sales_qualified"
                };
                data.insert("lifecycle".into(), lifecycle.into());
                data.insert(
                    "company_id".into(),
                    company_id.clone().map_or(Value::Null, Value::from),
                );
                (self.insert_new(Kind::Contacts, data), true)
            }
        };
        let deal_id = deal.map(|(name, amount)| {
            let owner = company_id
                .as_deref()
                .and_then(|c| self.row(Kind::Companies, c))
                .map(|r| title(Kind::Companies, &r.fields))
                .unwrap_or_else(|| title(Kind::Leads, &lead));
            let mut data = Fields::new();
            let name = name.map_or_else(|| format!("{owner} — new business"), str::to_string);
            data.insert("name".into(), name.into());
            data.insert("stage".into(), "qualification".into());
            data.insert("amount".into(), amount.unwrap_or(Value::Null));
            data.insert(
                "company_id".into(),
                company_id.clone().map_or(Value::Null, Value::from),
            );
            data.insert("contact_id".into(), contact.0.clone().into());
            copy(&mut data, &[("owner_id", "owner_id")]);
            self.insert_new(Kind::Deals, data)
        });
        let now = self.clock.tick();
        let lead_title = title(Kind::Leads, &lead);
        if let Some(row) = self.row_mut(Kind::Leads, id) {
            let opt = |v: &Option<String>| v.clone().map_or(Value::Null, Value::from);
            row.fields.insert("status".into(), "converted".into());
            row.fields
                .insert("converted_contact_id".into(), contact.0.clone().into());
            row.fields
                .insert("converted_company_id".into(), opt(&company_id));
            row.fields.insert("converted_deal_id".into(), opt(&deal_id));
            row.fields.insert("converted_at".into(), now.clone().into());
            row.fields.insert("updated_at".into(), now.clone().into());
            row.version += 1;
        }
        let mut moved = 0;
        for note in self.table_mut(Kind::Notes).rows.values_mut() {
            if text(&note.fields, "lead_id") == Some(id)
                && text(&note.fields, "contact_id").is_none()
            {
                note.fields
                    .insert("contact_id".into(), contact.0.clone().into());
                note.fields.insert("updated_at".into(), now.clone().into());
                note.version += 1;
                moved += 1;
            }
        }
        let result = json!({
            "lead_id": id,
            "status": "converted",
            "contact": self.summary(Kind::Contacts, &contact.0, contact.1),
            "company": company.as_ref().map(|(c, created)| self.summary(Kind::Companies, c, *created)),
            "deal": deal_id.as_ref().map(|d| self.summary(Kind::Deals, d, true)),
            "notes_carried_over": moved,
        });
        let mut parts = vec![format!("contact {}", contact.0)];
        parts.extend(company_id.iter().map(|c| format!("company {c}")));
        parts.extend(deal_id.iter().map(|d| format!("deal {d}")));
        let text = format!("Lead converted: {}", parts.join(", "));
        self.add_event(
            Kind::Leads,
            id,
            "converted",
            now.clone(),
            Some(CURRENT_USER),
            text,
        );
        let text = format!("Converted from lead {id} ({lead_title})");
        self.add_event(
            Kind::Contacts,
            &contact.0,
            "converted",
            now,
            Some(CURRENT_USER),
            text,
        );
        Ok(result)
    }

    fn move_stage(&mut self, id: &str, stage: &str, reason: Option<&str>) -> Result<Value> {
        let from = self
            .require(Kind::Deals, id)?
            .fields
            .get("stage")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if from == stage {
            return Ok(json!({"deal_id": id, "from": from, "to": stage, "changed": false}));
        }
        let patch = Fields::from_iter([("stage".to_string(), Value::from(stage))]);
        self.apply_update(Kind::Deals, id, &patch, reason)?;
        let probability = self
            .row(Kind::Deals, id)
            .and_then(|r| r.fields.get("probability").cloned());
        Ok(json!({
            "deal_id": id,
            "from": from,
            "to": stage,
            "to_label": stage_label(stage),
            "probability": probability,
            "changed": true,
        }))
    }

    fn send_quote(&mut self, id: &str, to: Option<&str>, message: Option<&str>) -> Result<Value> {
        let deal = self.require(Kind::Deals, id)?.fields.clone();
        let email_of = |contact: &str| {
            self.row(Kind::Contacts, contact)
                .and_then(|r| text(&r.fields, "email"))
                .map(str::to_string)
        };
        let mut candidates: Vec<String> = text(&deal, "contact_id")
            .into_iter()
            .map(str::to_string)
            .collect();
        candidates.extend(
            crate::store::refs(deal.get("contact_ids"))
                .into_iter()
                .map(str::to_string),
        );
        let recipient = to
            .map(str::to_string)
            .or_else(|| candidates.iter().find_map(|c| email_of(c)));
        let Some(recipient) = recipient else {
            return Err(Error::validation(
                format!("deal {id} has no contact with an email address to send the quote to"),
                format!(
                    "pass params: {{\"to\": \"name@example.com\"}}, or link a contact with an email: crm_link deals {id} contact <contact id>"
                ),
            ));
        };
        let amount = deal.get("amount").filter(|v| v.is_number()).map_or_else(
            || "no amount".to_string(),
            |a| format!("{a} {}", text(&deal, "currency").unwrap_or("USD")),
        );
        let mut text = format!(
            "Quote sent to {recipient}: {} ({amount})",
            title(Kind::Deals, &deal)
        );
        if let Some(message) = message {
            text.push_str(&format!("\nMessage: {message}"));
        }
        let now = self.clock.tick();
        if let Some(row) = self.row_mut(Kind::Deals, id) {
            row.fields
                .insert("quote_sent_at".into(), now.clone().into());
            row.fields.insert("updated_at".into(), now.clone().into());
            row.version += 1;
        }
        let event = self.add_event(
            Kind::Deals,
            id,
            "quote_sent",
            now.clone(),
            Some(CURRENT_USER),
            text,
        );
        Ok(json!({
            "deal_id": id,
            "sent": true,
            "sent_to": recipient,
            "sent_at": now,
            "timeline_entry": event,
            "note": "demo CRM: no email leaves the demo; the quote is recorded on the deal's timeline",
        }))
    }

    fn complete(&mut self, id: &str, outcome: Option<&str>) -> Result<Value> {
        let task = &self.require(Kind::Tasks, id)?.fields;
        if text(task, "status") == Some("completed") {
            return Ok(json!({
                "task_id": id,
                "status": "completed",
                "completed_at": task.get("completed_at"),
                "already_completed": true,
            }));
        }
        let patch = Fields::from_iter([("status".to_string(), Value::from("completed"))]);
        self.apply_update(Kind::Tasks, id, &patch, outcome)?;
        let completed_at = self
            .row(Kind::Tasks, id)
            .and_then(|r| r.fields.get("completed_at").cloned());
        Ok(json!({
            "task_id": id,
            "status": "completed",
            "completed_at": completed_at,
            "already_completed": false,
        }))
    }
}
