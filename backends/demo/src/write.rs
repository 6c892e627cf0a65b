//! Write paths of the demo CRM: create (with duplicate detection), update (with derived fields
//! and timeline events), hard delete (with reference clean-up), link / unlink, and notes.
//!
//! Delete semantics: a deleted record is gone. References to it are cleared everywhere; notes
//! and tasks that were attached to nothing else are deleted with it; email drafts stay, with the
//! reference cleared; its own timeline events go.

use crate::check::{check_value, check_write, is_blank, normalize};
use crate::kind::{CURRENT_USER, Kind, LEAD_STATUSES, label_of, stage_label, stage_probability};
use crate::links::{LinkSpec, Via};
use crate::store::{Store, refs, text, title};
use crmgate_core::model::{CreateOptions, Fields, Record};
use crmgate_core::schema::FieldType;
use crmgate_core::{Error, ErrorCode, Result};
use serde_json::{Value, json};

impl Store {
    /// Create a record through the API: checks, references, duplicates, then insert.
    pub(crate) fn create(
        &mut self,
        kind: Kind,
        data: &Fields,
        options: CreateOptions,
    ) -> Result<Record> {
        let data = normalize(data);
        check_write(kind.schema(), &data, true)?;
        self.check_references(kind, &data)?;
        if !options.skip_duplicate_check {
            self.check_duplicates(kind, &data)?;
        }
        let id = self.insert_new(kind, data);
        self.full_record(kind, &id)
    }

    /// Insert a new record from already-checked data: id, timestamps, defaults, "created"
    /// event. Returns the id.
    pub(crate) fn insert_new(&mut self, kind: Kind, data: Fields) -> String {
        let id = self.next_id(kind);
        let now = self.clock.tick();
        let mut fields: Fields = kind
            .schema()
            .fields
            .iter()
            .map(|f| (f.name.clone(), Value::Null))
            .collect();
        fields.extend(data);
        fields.insert("id".into(), id.clone().into());
        fields.insert("created_at".into(), now.clone().into());
        fields.insert("updated_at".into(), now.clone().into());
        apply_defaults(kind, &mut fields, &now);
        let label = title(kind, &fields);
        self.put(kind, fields);
        if kind.has_timeline() {
            let what = capitalise(kind.singular());
            self.add_event(
                kind,
                &id,
                "created",
                now,
                Some(CURRENT_USER),
                format!("{what} created: {label}"),
            );
        }
        id
    }

    /// Every reference in `data` must point at an existing record.
    pub(crate) fn check_references(&self, kind: Kind, data: &Fields) -> Result<()> {
        for (name, value) in data {
            let Some(field) = kind.schema().field(name) else {
                continue;
            };
            let Some(target) = field.link_entity.as_deref().and_then(Kind::from_name) else {
                continue;
            };
            for target_id in refs(Some(value)) {
                if self.row(target, target_id).is_none() {
                    return Err(Error::validation(
                        format!(
                            "{}.{name}: no {} record with id {target_id:?}",
                            kind.name(),
                            target.name()
                        ),
                        format!(
                            "find the record with crm_search on {}, or leave {name} out",
                            target.name()
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// `DUPLICATE` when a company of the same name, or a contact / lead with the same email,
    /// already exists.
    fn check_duplicates(&self, kind: Kind, data: &Fields) -> Result<()> {
        let key = match kind {
            Kind::Companies => "name",
            Kind::Contacts | Kind::Leads => "email",
            _ => return Ok(()),
        };
        let Some(wanted) = text(data, key).map(|s| s.trim().to_lowercase()) else {
            return Ok(());
        };
        let matches: Vec<Value> = self
            .table(kind)
            .rows
            .values()
            .filter(|row| text(&row.fields, key).is_some_and(|v| v.trim().to_lowercase() == wanted))
            .map(|row| {
                let id = text(&row.fields, "id").unwrap_or_default();
                json!({"id": id, "title": title(kind, &row.fields), "url": self.url(kind, id)})
            })
            .collect();
        if matches.is_empty() {
            return Ok(());
        }
        let ids: Vec<&str> = matches.iter().filter_map(|m| m["id"].as_str()).collect();
        Err(Error::new(
            ErrorCode::Duplicate,
            format!(
                "{} already has a record with {key} {:?}: {}",
                kind.name(),
                text(data, key).unwrap_or_default(),
                ids.join(", ")
            ),
            format!(
                "use the existing record (crm_get {} {}), or create anyway with \
                 skip_duplicate_check: true",
                kind.name(),
                ids[0]
            ),
        )
        .with_details(json!({ "matches": matches })))
    }

    /// Patch a record through the API.
    pub(crate) fn update(&mut self, kind: Kind, id: &str, data: &Fields) -> Result<Record> {
        self.require(kind, id)?;
        let data = normalize(data);
        check_write(kind.schema(), &data, false)?;
        self.check_references(kind, &data)?;
        self.apply_update(kind, id, &data, None)?;
        self.full_record(kind, id)
    }

    /// Apply a checked patch: derived fields, `updated_at`, version, timeline events.
    /// `reason` is appended to the stage / status / completion event. Returns changed fields.
    pub(crate) fn apply_update(
        &mut self,
        kind: Kind,
        id: &str,
        patch: &Fields,
        reason: Option<&str>,
    ) -> Result<Vec<String>> {
        let now = self.clock.tick();
        let row = self
            .row_mut(kind, id)
            .ok_or_else(|| Error::not_found(kind.name(), id))?;
        let before = row.fields.clone();
        for (name, value) in patch {
            row.fields.insert(name.clone(), value.clone());
        }
        let changed_to = |fields: &Fields, name: &str| -> Option<String> {
            (before.get(name) != fields.get(name))
                .then(|| text(fields, name).unwrap_or_default().to_string())
        };
        let stage = (kind == Kind::Deals)
            .then(|| changed_to(&row.fields, "stage"))
            .flatten();
        let status = changed_to(&row.fields, "status");
        if let Some(stage) = &stage
            && !patch.contains_key("probability")
            && let Some(p) = stage_probability(stage)
        {
            row.fields.insert("probability".into(), p.into());
        }
        if kind == Kind::Deals
            && let Some(contact) = text(&row.fields, "contact_id").map(str::to_string)
        {
            let mut set: Vec<Value> = row
                .fields
                .get("contact_ids")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if !set.iter().any(|v| v.as_str() == Some(&contact)) {
                set.push(contact.into());
                row.fields.insert("contact_ids".into(), Value::Array(set));
            }
        }
        let completed = kind == Kind::Tasks && status.as_deref() == Some("completed");
        if kind == Kind::Tasks && status.is_some() {
            let at = if completed {
                Value::from(now.clone())
            } else {
                Value::Null
            };
            row.fields.insert("completed_at".into(), at);
        }
        row.fields.insert("updated_at".into(), now.clone().into());
        row.version += 1;
        let after = row.fields.clone();
        let changed: Vec<String> = after
            .iter()
            .filter(|(k, v)| k.as_str() != "updated_at" && before.get(k.as_str()) != Some(v))
            .map(|(k, _)| k.clone())
            .collect();
        let suffix = reason
            .filter(|r| !r.trim().is_empty())
            .map(|r| format!(" — {}", r.trim()))
            .unwrap_or_default();
        let mut events: Vec<(Kind, String, &'static str, String)> = Vec::new();
        if kind.has_timeline() {
            if let Some(stage) = &stage {
                let from = text(&before, "stage").map_or("(none)", stage_label);
                let text = format!(
                    "Stage changed from {from} to {}{suffix}",
                    stage_label(stage)
                );
                events.push((kind, id.to_string(), "stage_change", text));
            }
            if kind == Kind::Leads
                && let Some(status) = &status
            {
                let from = text(&before, "status").map_or("(none)", |s| label_of(LEAD_STATUSES, s));
                let to = label_of(LEAD_STATUSES, status);
                let text = format!("Status changed from {from} to {to}{suffix}");
                events.push((kind, id.to_string(), "status_change", text));
            }
            // fields already told by their own event, or derived from another change
            let told = ["stage", "status", "probability", "contact_ids"];
            let other: Vec<&str> = changed
                .iter()
                .map(String::as_str)
                .filter(|c| !told.contains(c))
                .collect();
            if !other.is_empty() {
                events.push((
                    kind,
                    id.to_string(),
                    "updated",
                    format!("Updated {}", other.join(", ")),
                ));
            }
        }
        if completed {
            let subject = title(Kind::Tasks, &after);
            for (parent, field) in Kind::PARENTS {
                if let Some(parent_id) = text(&after, field) {
                    let text = format!("Task completed: {subject}{suffix}");
                    events.push((parent, parent_id.to_string(), "task_completed", text));
                }
            }
        }
        for (k, record, event, text) in events {
            self.add_event(k, &record, event, now.clone(), Some(CURRENT_USER), text);
        }
        Ok(changed)
    }

    /// Delete a record for good (see the module documentation for what happens around it).
    pub(crate) fn delete(&mut self, kind: Kind, id: &str) -> Result<()> {
        self.require(kind, id)?;
        if let Some(row) = self.table_mut(kind).rows.remove(id) {
            self.deleted.insert((kind.index(), id.to_owned()), row);
        }
        self.events.retain(|e| !(e.kind == kind && e.record == id));
        let now = self.clock.tick();
        let mut orphans: Vec<(Kind, String)> = Vec::new();
        for other in Kind::ALL {
            let ref_fields: Vec<&str> = other
                .schema()
                .fields
                .iter()
                .filter(|f| f.link_entity.as_deref() == Some(kind.name()))
                .map(|f| f.name.as_str())
                .collect();
            if ref_fields.is_empty() {
                continue;
            }
            for (row_id, row) in self.table_mut(other).rows.iter_mut() {
                let mut touched = false;
                for name in &ref_fields {
                    match row.fields.get_mut(*name) {
                        Some(slot @ Value::String(_)) if slot.as_str() == Some(id) => {
                            *slot = Value::Null;
                            touched = true;
                        }
                        Some(Value::Array(items)) => {
                            let len = items.len();
                            items.retain(|v| v.as_str() != Some(id));
                            touched |= items.len() != len;
                        }
                        _ => {}
                    }
                }
                if touched {
                    row.fields.insert("updated_at".into(), now.clone().into());
                    row.version += 1;
                    let attached = Kind::PARENTS
                        .iter()
                        .any(|(_, f)| text(&row.fields, f).is_some());
                    if matches!(other, Kind::Notes | Kind::Tasks) && !attached {
                        orphans.push((other, row_id.clone()));
                    }
                }
            }
        }
        for (other, orphan) in orphans {
            self.table_mut(other).rows.remove(&orphan);
        }
        Ok(())
    }

    /// Bring back a record this process deleted, under its old id, with the fields it had
    /// (an undo of a delete). What the delete changed around it — references to it cleared in
    /// other records, notes and tasks deleted with it — stays as it is.
    pub(crate) fn restore(&mut self, kind: Kind, id: &str) -> Result<Record> {
        if self.row(kind, id).is_some() {
            return Err(Error::new(
                crmgate_core::ErrorCode::Conflict,
                format!("{} {id} exists; there is nothing to restore", kind.name()),
                "look at it with crm_get",
            ));
        }
        let Some(mut row) = self.deleted.remove(&(kind.index(), id.to_owned())) else {
            return Err(Error::not_found(kind.name(), id));
        };
        let now = self.clock.tick();
        row.fields.insert("updated_at".into(), now.into());
        row.version += 1;
        let record = self.record(kind, &row, &crmgate_core::model::FieldSelection::All);
        self.table_mut(kind).rows.insert(id.to_owned(), row);
        Ok(record)
    }

    /// Add (`add`) or remove one association. Idempotent both ways; a one-link is replaced.
    pub(crate) fn set_link(
        &mut self,
        kind: Kind,
        id: &str,
        link: &LinkSpec,
        target_id: &str,
        add: bool,
    ) -> Result<()> {
        self.require(kind, id)?;
        if !link.writable {
            return Err(Error::not_allowed(
                format!(
                    "the link {:?} of {} cannot be changed",
                    link.name,
                    kind.name()
                ),
                "crm_describe lists which links are writable",
            ));
        }
        self.require(link.target, target_id)?;
        let (holder, holder_id, field, value) = match link.via {
            Via::Own(field) => (kind, id, field, target_id),
            Via::Reverse(other, field) => (other, target_id, field, id),
        };
        let is_set = holder
            .schema()
            .field(field)
            .is_some_and(|f| f.field_type == FieldType::References);
        let now = self.clock.tick();
        let row = self
            .row_mut(holder, holder_id)
            .ok_or_else(|| Error::not_found(holder.name(), holder_id))?;
        let current = row.fields.get(field).cloned().unwrap_or(Value::Null);
        let next = if is_set {
            let mut items: Vec<Value> = current.as_array().cloned().unwrap_or_default();
            let present = items.iter().any(|v| v.as_str() == Some(value));
            match (add, present) {
                (true, false) => items.push(value.into()),
                (false, true) => items.retain(|v| v.as_str() != Some(value)),
                _ => return Ok(()),
            }
            Value::Array(items)
        } else {
            let present = current.as_str() == Some(value);
            match (add, present) {
                (true, false) => Value::from(value),
                (false, true) => Value::Null,
                _ => return Ok(()),
            }
        };
        row.fields.insert(field.into(), next);
        if holder == Kind::Deals && field == "contact_id" && add {
            // the primary contact is always one of the deal's contacts
            let mut set = row
                .fields
                .get("contact_ids")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if !set.iter().any(|v| v.as_str() == Some(value)) {
                set.push(value.into());
                row.fields.insert("contact_ids".into(), Value::Array(set));
            }
        }
        row.fields.insert("updated_at".into(), now.into());
        row.version += 1;
        Ok(())
    }

    /// Attach a note to a record; returns the note.
    /// Remove a note of record `id` (undo of crm_note): `NOT_FOUND` unless `note_id` is a note
    /// attached to that record.
    pub(crate) fn delete_note(&mut self, kind: Kind, id: &str, note_id: &str) -> Result<()> {
        let attached = kind.parent_field().is_some_and(|field| {
            self.row(Kind::Notes, note_id)
                .is_some_and(|note| text(&note.fields, field) == Some(id))
        });
        if !attached {
            return Err(Error::not_found(Kind::Notes.name(), note_id));
        }
        self.table_mut(Kind::Notes).rows.remove(note_id);
        Ok(())
    }

    pub(crate) fn add_note(&mut self, kind: Kind, id: &str, body: &str) -> Result<Record> {
        self.require(kind, id)?;
        let Some(parent_field) = kind.parent_field() else {
            return Err(crmgate_core::backend::unsupported(kind.info(), "notes"));
        };
        if body.trim().is_empty() {
            return Err(Error::validation(
                "the note text is empty",
                "pass the note's text in `text`",
            ));
        }
        if let Some(field) = Kind::Notes.schema().field("body") {
            let value = Value::from(body);
            check_value(
                "notes",
                "body",
                field.field_type,
                &[],
                field.max_length,
                &value,
            )?;
        }
        let mut data = Fields::new();
        data.insert("body".into(), body.into());
        data.insert(parent_field.into(), id.into());
        let note = self.insert_new(Kind::Notes, data);
        self.full_record(Kind::Notes, &note)
    }
}

/// Fill the fields a CRM fills by itself on create.
fn apply_defaults(kind: Kind, fields: &mut Fields, now: &str) {
    let mut default = |name: &str, value: Value| {
        if fields.get(name).is_none_or(is_blank) && fields.contains_key(name) {
            fields.insert(name.into(), value);
        }
    };
    default("owner_id", CURRENT_USER.into());
    match kind {
        Kind::Leads => default("status", "new".into()),
        Kind::Deals => default("currency", "USD".into()),
        Kind::Tasks => {
            default("status", "not_started".into());
            default("priority", "normal".into());
            default("assignee_id", CURRENT_USER.into());
        }
        Kind::Notes => {
            default("author_id", CURRENT_USER.into());
            default("pinned", false.into());
        }
        _ => {}
    }
    if kind == Kind::Deals {
        if fields.get("probability").is_none_or(Value::is_null)
            && let Some(p) = text(fields, "stage").and_then(stage_probability)
        {
            fields.insert("probability".into(), p.into());
        }
        if let Some(contact) = text(fields, "contact_id").map(str::to_string) {
            let mut set = fields
                .get("contact_ids")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if !set.iter().any(|v| v.as_str() == Some(&contact)) {
                set.insert(0, contact.into());
            }
            fields.insert("contact_ids".into(), Value::Array(set));
        }
    }
    if kind == Kind::Tasks && text(fields, "status") == Some("completed") {
        fields.insert("completed_at".into(), now.into());
    }
}

/// `company` → `Company`.
pub(crate) fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
