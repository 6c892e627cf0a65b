//! Search: one page of records across BottleCRM's list sections.
//!
//! Leads and accounts are listed in two sections (open / closed, active / inactive), each
//! paged separately by the same `limit`/`offset`. A page here reads the first section until it
//! is exhausted, then the next, so the caller sees one list; the cursor says which section and
//! offset come next (`s1:20`). The next offset is computed from the rows received — never taken
//! from BottleCRM's `offset`, which is wrong for contacts and cases. At most one request per
//! section a page touches; an answer at offset 0 also serves the next section's first rows.

use super::Api;
use crate::client::Call;
use crate::entities::Entity;
use crate::filters::Plan;
use crate::map::list;
use crmgate_core::model::{FieldSelection, Page, PageRequest, Record};
use crmgate_core::{Error, Result};
use reqwest::Method;

/// A position in a sectioned list: which of the plan's sections, and the offset in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// Index into the plan's sections.
    pub section: usize,
    /// Offset within that section.
    pub offset: u64,
}

/// Encode a position as the backend cursor.
pub fn encode(p: Position) -> String {
    format!("s{}:{}", p.section, p.offset)
}

/// Decode a backend cursor.
pub fn decode(cursor: &str) -> Result<Position> {
    let bad = || {
        Error::validation(
            "the cursor is not one this search produced",
            "start again without a cursor",
        )
    };
    let rest = cursor.strip_prefix('s').ok_or_else(bad)?;
    let (section, offset) = rest.split_once(':').ok_or_else(bad)?;
    Ok(Position {
        section: section.parse().map_err(|_| bad())?,
        offset: offset.parse().map_err(|_| bad())?,
    })
}

/// One list request: the sections of the answer.
pub async fn fetch(
    api: Api<'_>,
    entity: Entity,
    params: &[(String, String)],
    limit: usize,
    offset: u64,
    fields: &FieldSelection,
) -> Result<Vec<list::Section>> {
    let mut query = params.to_vec();
    query.push(("limit".into(), limit.to_string()));
    query.push(("offset".into(), offset.to_string()));
    let call = Call::new(Method::GET, entity.spec().path, super::about(entity, None)).query(query);
    let answer = api.client.send_raw(api.cx, call).await?;
    list::sections(entity, &answer.body, api.app_url, fields)
}

/// One page of `entity` under `plan`; of each record, the `fields` selected (and what its
/// title needs).
pub async fn page(
    api: Api<'_>,
    entity: Entity,
    plan: &Plan,
    page: &PageRequest,
    fields: &FieldSelection,
) -> Result<Page> {
    let limit = page.limit.max(1);
    let mut at = match &page.cursor {
        Some(c) => decode(c)?,
        None => Position {
            section: 0,
            offset: 0,
        },
    };
    if at.section >= plan.sections.len() {
        return Err(Error::validation(
            "the cursor is past the end of this search",
            "start again without a cursor",
        ));
    }
    let mut rows: Vec<Record> = Vec::new();
    let mut total;
    // an answer fetched at offset 0 also holds the first rows of the sections after it
    let mut reuse: Option<Vec<list::Section>> = None;
    let next = loop {
        let section = plan.sections[at.section];
        let need = limit - rows.len();
        let fetched_at_zero = at.offset == 0;
        let mut answer = match reuse.take() {
            Some(answer) => answer,
            None => fetch(api, entity, &plan.params, need, at.offset, fields).await?,
        };
        let counts: Vec<u64> = answer.iter().map(|s| s.count).collect();
        total = Some(plan.sections.iter().map(|s| counts[*s]).sum::<u64>());
        let got = answer[section].rows.len().min(need);
        let reached = at.offset + got as u64;
        let exhausted = got == 0 || reached >= counts[section];
        rows.extend(
            std::mem::take(&mut answer[section].rows)
                .into_iter()
                .take(got),
        );
        if !exhausted {
            if rows.len() >= limit {
                break Some(Position {
                    section: at.section,
                    offset: reached,
                });
            }
            at.offset = reached;
            continue;
        }
        // on to the next section that has rows
        let mut following = at.section + 1;
        while following < plan.sections.len() && counts[plan.sections[following]] == 0 {
            following += 1;
        }
        if following >= plan.sections.len() {
            break None;
        }
        at = Position {
            section: following,
            offset: 0,
        };
        if rows.len() >= limit {
            break Some(at);
        }
        if fetched_at_zero {
            // fetched at offset 0 with a limit of at least what is still needed: its next
            // section's rows are that section's first rows
            reuse = Some(answer);
        }
    };
    Ok(Page {
        records: rows,
        total,
        next_cursor: next.map(encode),
    })
}
