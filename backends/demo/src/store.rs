//! The in-memory state of the demo CRM and its read paths: records, titles, projection, search
//! (filter, free text, sort, offset cursors), related records and timelines.

use crate::clock::Clock;
use crate::kind::{Kind, make_id};
use crate::links::{LinkSpec, Via};
use crmgate_core::filter::{Filter, SortKey, compare};
use crmgate_core::model::{
    FieldSelection, Fields, Page, PageRequest, Record, TimelineItem, TimelinePage,
};
use crmgate_core::{Error, Result};
use serde_json::Value;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::ops::Range;

/// One stored record: every schema field (null when unset), plus a version counter.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub fields: Fields,
    pub version: u64,
}

/// The records of one kind, by id, and the next id number to hand out.
#[derive(Debug, Default, Clone)]
pub(crate) struct Table {
    pub rows: BTreeMap<String, Row>,
    pub next: u64,
}

/// A timeline entry that is not a note or an email: created, stage changed, quote sent, ….
#[derive(Debug, Clone)]
pub(crate) struct Event {
    pub id: String,
    pub kind: Kind,
    pub record: String,
    pub event: &'static str,
    pub at: String,
    pub author: Option<String>,
    pub text: String,
}

/// The whole CRM.
#[derive(Debug, Clone)]
pub(crate) struct Store {
    tables: Vec<Table>,
    pub events: Vec<Event>,
    next_event: u64,
    pub clock: Clock,
    url_base: String,
    /// Records deleted in this process, by kind index and id: what `restore` brings back (an
    /// undo of a delete) under the old id.
    pub deleted: BTreeMap<(usize, String), Row>,
}

impl Store {
    /// An empty CRM whose deep links start with `url_base`.
    pub(crate) fn new(url_base: &str) -> Store {
        Store {
            tables: Kind::ALL.iter().map(|_| Table::default()).collect(),
            events: Vec::new(),
            next_event: 0,
            clock: Clock::default(),
            url_base: url_base.trim_end_matches('/').to_string(),
            deleted: BTreeMap::new(),
        }
    }

    /// The records of a kind.
    pub(crate) fn table(&self, kind: Kind) -> &Table {
        &self.tables[kind.index()]
    }

    /// The records of a kind, for writing.
    pub(crate) fn table_mut(&mut self, kind: Kind) -> &mut Table {
        &mut self.tables[kind.index()]
    }

    /// One record, if it exists.
    pub(crate) fn row(&self, kind: Kind, id: &str) -> Option<&Row> {
        self.table(kind).rows.get(id)
    }

    /// One record for writing, if it exists.
    pub(crate) fn row_mut(&mut self, kind: Kind, id: &str) -> Option<&mut Row> {
        self.table_mut(kind).rows.get_mut(id)
    }

    /// One record, or `NOT_FOUND`.
    pub(crate) fn require(&self, kind: Kind, id: &str) -> Result<&Row> {
        self.row(kind, id)
            .ok_or_else(|| Error::not_found(kind.name(), id))
    }

    /// Hand out the next id of a kind.
    pub(crate) fn next_id(&mut self, kind: Kind) -> String {
        let table = self.table_mut(kind);
        table.next += 1;
        make_id(kind, table.next)
    }

    /// Store a row under the id in its `id` field.
    pub(crate) fn put(&mut self, kind: Kind, fields: Fields) {
        let id = fields
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        self.table_mut(kind)
            .rows
            .insert(id, Row { fields, version: 1 });
    }

    /// Record a timeline event; returns its id.
    pub(crate) fn add_event(
        &mut self,
        kind: Kind,
        record: &str,
        event: &'static str,
        at: String,
        author: Option<&str>,
        text: String,
    ) -> String {
        self.next_event += 1;
        let id = format!("ev-{:04}", self.next_event);
        self.events.push(Event {
            id: id.clone(),
            kind,
            record: record.to_string(),
            event,
            at,
            author: author.map(str::to_string),
            text,
        });
        id
    }

    /// The deep link of a record.
    pub(crate) fn url(&self, kind: Kind, id: &str) -> String {
        format!("{}/#/{}/{id}", self.url_base, kind.native())
    }

    /// A row as a [`Record`], projected.
    pub(crate) fn record(&self, kind: Kind, row: &Row, selection: &FieldSelection) -> Record {
        let id = text(&row.fields, "id").unwrap_or_default().to_string();
        let fields = match selection {
            FieldSelection::All => row.fields.clone(),
            FieldSelection::Only(names) => names
                .iter()
                .filter_map(|n| row.fields.get(n).map(|v| (n.clone(), v.clone())))
                .collect(),
        };
        let mut record = Record::new(id.clone(), title(kind, &row.fields), fields);
        record.url = Some(self.url(kind, &id));
        record.version = Some(format!(
            "{}#{}",
            text(&row.fields, "updated_at").unwrap_or_default(),
            row.version
        ));
        record
    }

    /// A record by id with every field, or `NOT_FOUND`.
    pub(crate) fn full_record(&self, kind: Kind, id: &str) -> Result<Record> {
        let row = self.require(kind, id)?;
        Ok(self.record(kind, row, &FieldSelection::All))
    }

    /// The display name of a user id.
    pub(crate) fn user_name(&self, id: &str) -> Option<String> {
        self.row(Kind::Users, id)
            .and_then(|r| text(&r.fields, "name"))
            .map(str::to_string)
    }

    /// One page of matching records.
    pub(crate) fn search(
        &self,
        kind: Kind,
        filter: &Filter,
        sort: &[SortKey],
        selection: &FieldSelection,
        page: &PageRequest,
    ) -> Result<Page> {
        let tokens: Vec<String> = filter
            .query
            .as_deref()
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_lowercase)
            .collect();
        let text_fields = kind.text_fields();
        let mut hits: Vec<&Row> = self
            .table(kind)
            .rows
            .values()
            .filter(|row| filter.matches(&row.fields))
            .filter(|row| matches_query(&row.fields, text_fields, &tokens))
            .collect();
        if !sort.is_empty() {
            hits.sort_by(|a, b| compare_rows(&a.fields, &b.fields, sort));
        }
        let (window, next_cursor) = window(hits.len(), page)?;
        Ok(Page {
            records: hits[window]
                .iter()
                .map(|row| self.record(kind, row, selection))
                .collect(),
            total: Some(hits.len() as u64),
            next_cursor,
        })
    }

    /// Records by id, in the order asked, skipping missing ids and repeats.
    pub(crate) fn get(
        &self,
        kind: Kind,
        ids: &[String],
        selection: &FieldSelection,
    ) -> Vec<Record> {
        let mut seen = std::collections::BTreeSet::new();
        ids.iter()
            .filter(|id| seen.insert(id.as_str()))
            .filter_map(|id| self.row(kind, id))
            .map(|row| self.record(kind, row, selection))
            .collect()
    }

    /// Ids of the records on the far side of a link, in id order.
    pub(crate) fn linked_ids(&self, kind: Kind, id: &str, link: &LinkSpec) -> Vec<String> {
        let mut ids: Vec<String> = match link.via {
            Via::Own(field) => self
                .row(kind, id)
                .map(|row| refs(row.fields.get(field)))
                .unwrap_or_default()
                .into_iter()
                .filter(|target| self.row(link.target, target).is_some())
                .map(str::to_string)
                .collect(),
            Via::Reverse(target, field) => self
                .table(target)
                .rows
                .iter()
                .filter(|(_, row)| refs(row.fields.get(field)).contains(&id))
                .map(|(target_id, _)| target_id.clone())
                .collect(),
        };
        ids.sort();
        ids.dedup();
        ids
    }

    /// One page of the records linked to a record.
    pub(crate) fn related(
        &self,
        kind: Kind,
        id: &str,
        link: &LinkSpec,
        page: &PageRequest,
    ) -> Result<Page> {
        self.require(kind, id)?;
        let ids = self.linked_ids(kind, id, link);
        let (window, next_cursor) = window(ids.len(), page)?;
        Ok(Page {
            records: self.get(link.target, &ids[window], &FieldSelection::All),
            total: Some(ids.len() as u64),
            next_cursor,
        })
    }

    /// One page of a record's timeline: its notes, email drafts and events, newest first.
    pub(crate) fn timeline(
        &self,
        kind: Kind,
        id: &str,
        page: &PageRequest,
    ) -> Result<TimelinePage> {
        self.require(kind, id)?;
        let mut items: Vec<TimelineItem> = Vec::new();
        if let Some(parent_field) = kind.parent_field() {
            for row in self.attached(Kind::Notes, parent_field, id) {
                items.push(TimelineItem {
                    id: text(&row.fields, "id").unwrap_or_default().into(),
                    kind: "note".into(),
                    at: text(&row.fields, "created_at").unwrap_or_default().into(),
                    author: text(&row.fields, "author_id").and_then(|u| self.user_name(u)),
                    text: text(&row.fields, "body").unwrap_or_default().into(),
                    truncated: false,
                    source: Some(record_ref(Kind::Notes, &row.fields)),
                });
            }
            for row in self.attached(Kind::Emails, parent_field, id) {
                let to = refs(row.fields.get("to")).join(", ");
                items.push(TimelineItem {
                    id: text(&row.fields, "id").unwrap_or_default().into(),
                    kind: "email_draft".into(),
                    at: text(&row.fields, "created_at").unwrap_or_default().into(),
                    author: None,
                    text: format!(
                        "Draft (not sent) to {to}\nSubject: {}\n\n{}",
                        text(&row.fields, "subject").unwrap_or_default(),
                        text(&row.fields, "body").unwrap_or_default()
                    ),
                    truncated: false,
                    source: Some(record_ref(Kind::Emails, &row.fields)),
                });
            }
        }
        for event in self
            .events
            .iter()
            .filter(|e| e.kind == kind && e.record == id)
        {
            items.push(TimelineItem {
                id: event.id.clone(),
                kind: event.event.into(),
                at: event.at.clone(),
                author: event.author.as_deref().and_then(|u| self.user_name(u)),
                text: event.text.clone(),
                truncated: false,
                source: None,
            });
        }
        items.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| b.id.cmp(&a.id)));
        let (window, next_cursor) = window(items.len(), page)?;
        Ok(TimelinePage {
            items: items.drain(window).collect(),
            next_cursor,
        })
    }

    /// Records of `kind` whose `field` points at `id`.
    pub(crate) fn attached<'a>(
        &'a self,
        kind: Kind,
        field: &'a str,
        id: &'a str,
    ) -> impl Iterator<Item = &'a Row> + 'a {
        self.table(kind)
            .rows
            .values()
            .filter(move |row| text(&row.fields, field) == Some(id))
    }
}

/// A non-empty string field.
pub(crate) fn text<'a>(fields: &'a Fields, name: &str) -> Option<&'a str> {
    fields
        .get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// The ids held by a reference (string) or references (array) value.
pub(crate) fn refs(value: Option<&Value>) -> Vec<&str> {
    match value {
        Some(Value::String(s)) if !s.is_empty() => vec![s.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// The one-line title of a record.
pub(crate) fn title(kind: Kind, fields: &Fields) -> String {
    let title = match kind {
        Kind::Companies | Kind::Deals | Kind::Users => text(fields, "name").map(str::to_string),
        Kind::Contacts | Kind::Leads => {
            let name = [text(fields, "first_name"), text(fields, "last_name")]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            Some(name)
                .filter(|n| !n.trim().is_empty())
                .or_else(|| text(fields, "email").map(str::to_string))
        }
        Kind::Tasks | Kind::Emails => text(fields, "subject").map(str::to_string),
        Kind::Notes => text(fields, "body").and_then(|body| {
            let line = body.lines().map(str::trim).find(|l| !l.is_empty())?;
            let mut line = line.to_string();
            crmgate_core::text::truncate_in_place(&mut line, 80);
            Some(line)
        }),
    };
    title.unwrap_or_else(|| text(fields, "id").unwrap_or_default().to_string())
}

fn matches_query(fields: &Fields, text_fields: &[String], tokens: &[String]) -> bool {
    tokens.iter().all(|token| {
        text_fields.iter().any(|name| {
            text(fields, name).is_some_and(|value| value.to_lowercase().contains(token.as_str()))
        })
    })
}

fn is_null(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        _ => false,
    }
}

/// Order by the sort keys (nulls last in either direction), then by id.
fn compare_rows(a: &Fields, b: &Fields, sort: &[SortKey]) -> Ordering {
    for key in sort {
        let (va, vb) = (a.get(&key.field), b.get(&key.field));
        let ordering = match (is_null(va), is_null(vb)) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => {
                let (va, vb) = (va.unwrap_or(&Value::Null), vb.unwrap_or(&Value::Null));
                let ordering = match (va, vb) {
                    (Value::String(x), Value::String(y)) => x
                        .to_lowercase()
                        .cmp(&y.to_lowercase())
                        .then_with(|| x.cmp(y)),
                    _ => compare(va, vb).unwrap_or(Ordering::Equal),
                };
                if key.descending {
                    ordering.reverse()
                } else {
                    ordering
                }
            }
        };
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    text(a, "id").cmp(&text(b, "id"))
}

/// The offset a cursor stands for. Cursors are the decimal offset of the next record.
pub(crate) fn parse_cursor(cursor: Option<&str>) -> Result<usize> {
    match cursor.map(str::trim) {
        None | Some("") => Ok(0),
        Some(c) => c.parse::<usize>().map_err(|_| {
            Error::validation(
                format!("cursor {c:?} is not one this CRM issued"),
                "pass next_cursor from the previous page exactly as returned, or leave cursor \
                 out to start from the first page",
            )
        }),
    }
}

/// The slice of `len` items a page covers, and the cursor of the page after it.
pub(crate) fn window(len: usize, page: &PageRequest) -> Result<(Range<usize>, Option<String>)> {
    let start = parse_cursor(page.cursor.as_deref())?.min(len);
    let end = start.saturating_add(page.limit.max(1)).min(len);
    Ok((start..end, (end < len).then(|| end.to_string())))
}

/// A pointer to a stored row, for timeline entries that are records themselves.
fn record_ref(kind: Kind, fields: &Fields) -> crmgate_core::model::RecordRef {
    crmgate_core::model::RecordRef {
        entity: kind.name().into(),
        id: text(fields, "id").unwrap_or_default().into(),
    }
}
