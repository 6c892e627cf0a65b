//! References BottleCRM drops without a word: a tag id or an assignee (profile) id that is not
//! in the organisation is skipped on create and update, and the write succeeds without it. So
//! the ids a write names are checked against the organisation's catalogues first, and an
//! unknown one is `VALIDATION` naming it, before anything is sent.
//!
//! There is no tag or user endpoint a personal access token reliably reaches; the catalogues
//! come bundled with list answers (`tags`: leads, accounts, opportunities; `users`: most lists),
//! read with `limit=1` from the first list the token may read. When no list the token may read
//! carries a catalogue, that field is not checked (and the debug log says so).
//! Account tags are names (BottleCRM creates missing ones), so they are not checked.

use super::{Api, about};
use crate::client::Call;
use crate::entities::Entity;
use crmgate_core::model::Fields;
use crmgate_core::{Error, ErrorCode, Result};
use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;

/// One reference field and the catalogue that lists its valid ids.
struct Checked {
    field: &'static str,
    catalogue: &'static str,
    what: &'static str,
}

const CHECKED: [Checked; 2] = [
    Checked {
        field: "tags",
        catalogue: "tags",
        what: "tag",
    },
    Checked {
        field: "assigned_to",
        catalogue: "users",
        what: "user profile",
    },
];

/// An entry of a catalogue: its id and a name to show.
#[derive(Debug, Deserialize)]
struct Entry {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default, rename = "user__email")]
    email: Option<String>,
}

/// The catalogues of a list answer; everything else is skipped unread.
#[derive(Debug, Default, Deserialize)]
struct Catalogues {
    #[serde(default)]
    tags: Option<Vec<Entry>>,
    #[serde(default)]
    users: Option<Vec<Entry>>,
}

impl Catalogues {
    fn get(&self, name: &str) -> Option<&Vec<Entry>> {
        match name {
            "tags" => self.tags.as_ref(),
            _ => self.users.as_ref(),
        }
    }
}

/// The ids `data` names in the checked fields, per field (already canonical: see
/// [`super::write::preflight`]).
fn named(entity: Entity, data: &Fields) -> Vec<(&'static Checked, Vec<&str>)> {
    CHECKED
        .iter()
        .filter(|c| !(entity == Entity::Accounts && c.field == "tags"))
        .filter_map(|c| {
            let ids: Vec<&str> = match data.get(c.field)? {
                Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
                Value::String(s) => vec![s.as_str()],
                _ => Vec::new(),
            };
            (!ids.is_empty()).then_some((c, ids))
        })
        .collect()
}

/// The lists to read catalogues from, the written entity's own first.
fn sources(entity: Entity) -> Vec<Entity> {
    let mut out = vec![entity];
    for e in [
        Entity::Leads,
        Entity::Accounts,
        Entity::Opportunities,
        Entity::Tasks,
        Entity::Cases,
        Entity::Contacts,
    ] {
        if !out.contains(&e) {
            out.push(e);
        }
    }
    out.retain(|e| !matches!(e, Entity::Invoices | Entity::Solutions));
    out
}

/// `VALIDATION` naming the first id in `data` that BottleCRM would drop silently.
pub async fn check(api: Api<'_>, entity: Entity, data: &Fields) -> Result<()> {
    let mut pending = named(entity, data);
    if pending.is_empty() {
        return Ok(());
    }
    for source in sources(entity) {
        let call = Call::new(Method::GET, source.spec().path, about(source, None)).query(vec![
            ("limit".into(), "1".into()),
            ("offset".into(), "0".into()),
        ]);
        let catalogues: Catalogues = match api.client.send_raw(api.cx, call).await {
            Ok(answer) => answer.json().unwrap_or_default(),
            Err(e) if e.code == ErrorCode::PermissionDenied => continue,
            Err(e) => return Err(e),
        };
        let mut unresolved = Vec::new();
        for (checked, ids) in pending {
            match catalogues.get(checked.catalogue) {
                Some(entries) => verify(entity, checked, &ids, entries)?,
                None => unresolved.push((checked, ids)),
            }
        }
        pending = unresolved;
        if pending.is_empty() {
            return Ok(());
        }
    }
    for (checked, _) in pending {
        tracing::debug!(
            field = checked.field,
            "no BottleCRM list this token may read carries the catalogue; ids not checked"
        );
    }
    Ok(())
}

fn verify(entity: Entity, checked: &Checked, ids: &[&str], entries: &[Entry]) -> Result<()> {
    let Some(unknown) = ids
        .iter()
        .find(|id| !entries.iter().any(|e| e.id.eq_ignore_ascii_case(id)))
    else {
        return Ok(());
    };
    let known: Vec<&str> = entries.iter().take(20).map(|e| e.id.as_str()).collect();
    // names are CRM text: they go in the details, not the message
    let names: Vec<Value> = entries
        .iter()
        .take(20)
        .map(|e| serde_json::json!({"id": e.id, "name": e.name.as_deref().or(e.email.as_deref())}))
        .collect();
    Err(Error::validation(
        format!(
            "{}.{}: no {} with id {unknown} in this BottleCRM organisation (BottleCRM would \
             drop it silently)",
            entity.spec().name,
            checked.field,
            checked.what
        ),
        if known.is_empty() {
            format!(
                "the organisation has no {}s; leave {} out",
                checked.what, checked.field
            )
        } else {
            format!(
                "known {} ids (details.known names them): {}",
                checked.what,
                known.join(", ")
            )
        },
    )
    .with_details(
        serde_json::json!({"field": checked.field, "unknown_id": unknown, "known": names}),
    ))
}
