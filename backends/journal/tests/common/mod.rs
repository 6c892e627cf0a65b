//! The behaviour every journal store must have, run against SQLite (`tests/sqlite.rs`) and
//! PostgreSQL (`tests/postgres.rs`). Each check takes a fresh, empty store.

#![allow(dead_code)] // each test binary uses its own subset

pub mod pg;

use crmgate_core::ErrorCode;
use crmgate_core::journal::{
    Bounds, Change, EntityRef, ExportQuery, HistoryQuery, JournalEntry, JournalStore, Outcome,
    Owner, Timestamp, new_batch_id, new_entry_id,
};
use crmgate_journal::export::export_json_lines;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::time::Duration;

pub fn owner(crm: &str, scope: &str) -> Owner {
    Owner {
        crm: crm.into(),
        scope: scope.into(),
    }
}

/// A pending update of `entity` record `id`.
pub fn update(owner: &Owner, entity: &str, id: &str) -> JournalEntry {
    JournalEntry::pending(
        owner,
        "crm_update",
        &json!({"entity": entity, "id": id, "data": {"stage": "won"}}),
        EntityRef {
            name: entity.into(),
            native: entity.to_uppercase(),
        },
        Some(id),
        Change::Update {
            fields: vec!["stage".into()],
        },
        Some(json!({"stage": "open", "name": format!("record {id}")})),
    )
}

/// `entry` as applied.
pub fn applied(entry: JournalEntry) -> JournalEntry {
    let mut after = entry.before.clone().unwrap_or(Value::Null);
    after["stage"] = json!("won");
    entry.applied(None, Some(after))
}

/// `entry` made `age` ago.
pub fn aged(mut entry: JournalEntry, age: Duration) -> JournalEntry {
    entry.at = Timestamp::now().minus(age);
    entry
}

async fn count(store: &dyn JournalStore) -> usize {
    let page = store
        .export(&ExportQuery {
            limit: 500,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(page.next_after.is_none(), "count() expects < 500 entries");
    page.entries.len()
}

async fn exported(store: &dyn JournalStore, query: ExportQuery) -> Vec<JournalEntry> {
    let mut out = Vec::new();
    let n = export_json_lines(store, query, &mut out).await.unwrap();
    let text = String::from_utf8(out).unwrap();
    let entries: Vec<JournalEntry> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(entries.len() as u64, n);
    entries
}

/// Append, read back, complete; completing twice or completing what is not there is refused.
pub async fn write_ahead_lifecycle(store: &dyn JournalStore) {
    let me = owner("acme", "caller:a");
    let entry = update(&me, "deals", "7").in_batch(&new_batch_id());
    store.append(std::slice::from_ref(&entry)).await.unwrap();
    let read = store.get(&me, &entry.entry_id).await.unwrap();
    assert_eq!(read, entry);
    assert_eq!(read.outcome, Outcome::Pending);

    let done = applied(entry.clone());
    store.complete(std::slice::from_ref(&done)).await.unwrap();
    let read = store.get(&me, &entry.entry_id).await.unwrap();
    assert_eq!(read, done);
    assert_eq!(read.diff().len(), 1);

    let again = store
        .complete(std::slice::from_ref(&done))
        .await
        .unwrap_err();
    assert_eq!(again.code, ErrorCode::Conflict, "{again:?}");
    let ghost = applied(update(&me, "deals", "8"));
    let missing = store.complete(&[ghost]).await.unwrap_err();
    assert_eq!(missing.code, ErrorCode::NotFound);

    // a batch of completions is all or none
    let a = update(&me, "deals", "1");
    let b = update(&me, "deals", "2");
    store.append(&[a.clone(), b.clone()]).await.unwrap();
    let ghost = applied(update(&me, "deals", "3"));
    let e = store
        .complete(&[applied(a.clone()), ghost])
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound);
    assert_eq!(
        store.get(&me, &a.entry_id).await.unwrap().outcome,
        Outcome::Pending
    );
    let failed = b.failed(&crmgate_core::Error::not_found("deals", "2"));
    store.complete(std::slice::from_ref(&failed)).await.unwrap();
    let read = store.get(&me, &failed.entry_id).await.unwrap();
    assert_eq!(read.outcome, Outcome::Failed);
    assert_eq!(read.error.as_deref(), Some("NOT_FOUND"));
}

/// A caller sees only its own entries; another's entry is "not found", exactly like a missing
/// one, and cannot be claimed.
pub async fn scope_isolation(store: &dyn JournalStore) {
    let alice = owner("acme", "caller:alice");
    let bob = owner("acme", "caller:bob");
    let alice_elsewhere = owner("other-crm", "caller:alice");
    let mine = applied(update(&alice, "deals", "1"));
    let theirs = applied(update(&bob, "deals", "1"));
    let other_crm = applied(update(&alice_elsewhere, "deals", "1"));
    store
        .append(&[mine.clone(), theirs.clone(), other_crm.clone()])
        .await
        .unwrap();

    let page = store.list(&alice, &HistoryQuery::default()).await.unwrap();
    assert_eq!(page.entries, vec![mine.clone()]);
    let page = store.list(&bob, &HistoryQuery::default()).await.unwrap();
    assert_eq!(page.entries, vec![theirs.clone()]);

    let foreign = store.get(&alice, &theirs.entry_id).await.unwrap_err();
    let made_up_id = new_entry_id();
    let missing = store.get(&alice, &made_up_id).await.unwrap_err();
    assert_eq!(foreign.code, ErrorCode::NotFound);
    assert_eq!(
        foreign.message.replace(&theirs.entry_id, "ID"),
        missing.message.replace(&made_up_id, "ID"),
        "another caller's entry must read exactly like a missing one"
    );
    assert_eq!(foreign.suggestion, missing.suggestion);
    assert_eq!(
        store
            .get(&alice, &other_crm.entry_id)
            .await
            .unwrap_err()
            .code,
        ErrorCode::NotFound
    );

    let claim = store
        .mark_undone(&alice, std::slice::from_ref(&theirs.entry_id), "j_undo")
        .await
        .unwrap_err();
    assert_eq!(claim.code, ErrorCode::NotFound);
    assert_eq!(
        store.get(&bob, &theirs.entry_id).await.unwrap().undone_by,
        None
    );
    // a batch id of another caller finds nothing
    let batch = new_batch_id();
    store
        .append(&[applied(update(&bob, "deals", "2").in_batch(&batch))])
        .await
        .unwrap();
    let page = store
        .list(
            &alice,
            &HistoryQuery {
                batch_id: Some(batch),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(page.entries.is_empty());
}

/// An entry is undone once: the claim is a compare-and-set, all or none, and a released
/// claim can be made again.
pub async fn undo_claims_are_compare_and_set(store: &dyn JournalStore) {
    let me = owner("acme", "caller:a");
    let a = applied(update(&me, "deals", "1"));
    let b = applied(update(&me, "deals", "2"));
    store.append(&[a.clone(), b.clone()]).await.unwrap();

    store
        .mark_undone(&me, std::slice::from_ref(&a.entry_id), "j_first")
        .await
        .unwrap();
    let second = store
        .mark_undone(&me, std::slice::from_ref(&a.entry_id), "j_second")
        .await
        .unwrap_err();
    assert_eq!(second.code, ErrorCode::Conflict);
    assert_eq!(second.details.as_ref().unwrap()["undone_by"], "j_first");
    let read = store.get(&me, &a.entry_id).await.unwrap();
    assert_eq!(read.undone_by.as_deref(), Some("j_first"));
    assert!(read.journal_blocker().unwrap().contains("j_first"));

    // all or none: b stays unclaimed when a cannot be claimed
    let both = [b.entry_id.clone(), a.entry_id.clone()];
    let e = store.mark_undone(&me, &both, "j_batch").await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Conflict);
    assert_eq!(store.get(&me, &b.entry_id).await.unwrap().undone_by, None);

    // releasing with the wrong undo id changes nothing; with the right one it frees the entry
    store
        .clear_undone(&me, std::slice::from_ref(&a.entry_id), "j_second")
        .await
        .unwrap();
    assert_eq!(
        store
            .get(&me, &a.entry_id)
            .await
            .unwrap()
            .undone_by
            .as_deref(),
        Some("j_first")
    );
    store
        .clear_undone(&me, std::slice::from_ref(&a.entry_id), "j_first")
        .await
        .unwrap();
    store.mark_undone(&me, &both, "j_batch").await.unwrap();
    for id in &both {
        let read = store.get(&me, id).await.unwrap();
        assert_eq!(read.undone_by.as_deref(), Some("j_batch"));
    }
}

/// Many entries of several owners, entities, records and batches: paging with each filter
/// returns every match once, newest first; a cursor is bound to its query.
pub async fn cursor_paging_with_filters(store: &dyn JournalStore) {
    let me = owner("acme", "caller:a");
    let other = owner("acme", "caller:b");
    let batch = new_batch_id();
    let mut mine = Vec::new();
    for i in 0..130 {
        let entity = if i % 3 == 0 { "contacts" } else { "deals" };
        let id = format!("{}", i % 10);
        let mut entry = applied(update(&me, entity, &id));
        if i % 4 == 0 {
            entry = entry.in_batch(&batch);
        }
        // older entries first, a minute apart
        entry = aged(entry, Duration::from_secs(60 * (200 - i)));
        mine.push(entry);
    }
    // appended in chunks, interleaved with another caller's entries
    for chunk in mine.chunks(13) {
        store.append(chunk).await.unwrap();
        store
            .append(&[applied(update(&other, "deals", "1"))])
            .await
            .unwrap();
    }
    let newest_first: Vec<&JournalEntry> = mine.iter().rev().collect();

    type Matches<'a> = Box<dyn Fn(&JournalEntry) -> bool + 'a>;
    let cases: Vec<(HistoryQuery, Matches<'_>)> = vec![
        (HistoryQuery::default(), Box::new(|_| true)),
        (
            HistoryQuery {
                entity: Some("deals".into()),
                ..Default::default()
            },
            Box::new(|e| e.entity.name == "deals"),
        ),
        (
            HistoryQuery {
                entity: Some("deals".into()),
                id: Some("4".into()),
                ..Default::default()
            },
            Box::new(|e| e.entity.name == "deals" && e.id.as_deref() == Some("4")),
        ),
        (
            HistoryQuery {
                batch_id: Some(batch.clone()),
                ..Default::default()
            },
            Box::new(|e| e.batch_id.is_some()),
        ),
        (
            HistoryQuery {
                since: Some(mine[100].at),
                ..Default::default()
            },
            Box::new(|e| e.at >= mine[100].at),
        ),
    ];
    for (query, matches) in cases {
        let expected: Vec<&str> = newest_first
            .iter()
            .filter(|e| matches(e))
            .map(|e| e.entry_id.as_str())
            .collect();
        assert!(!expected.is_empty());
        let mut got = Vec::new();
        let mut page_query = HistoryQuery {
            limit: Some(7),
            ..query.clone()
        };
        loop {
            let page = store.list(&me, &page_query).await.unwrap();
            assert!(page.entries.len() <= 7);
            got.extend(page.entries.iter().map(|e| e.entry_id.clone()));
            match page.next_cursor {
                Some(cursor) => page_query.cursor = Some(cursor),
                None => break,
            }
        }
        assert_eq!(got, expected, "query {query:?}");
    }

    // a cursor replayed with another filter, or by another caller, is refused
    let first = store
        .list(
            &me,
            &HistoryQuery {
                limit: Some(5),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let cursor = first.next_cursor.unwrap();
    let replay = HistoryQuery {
        entity: Some("deals".into()),
        limit: Some(5),
        cursor: Some(cursor.clone()),
        ..Default::default()
    };
    assert_eq!(
        store.list(&me, &replay).await.unwrap_err().code,
        ErrorCode::Validation
    );
    let stolen = HistoryQuery {
        limit: Some(5),
        cursor: Some(cursor),
        ..Default::default()
    };
    assert_eq!(
        store.list(&other, &stolen).await.unwrap_err().code,
        ErrorCode::Validation
    );
    // the default page size
    let page = store.list(&me, &HistoryQuery::default()).await.unwrap();
    assert_eq!(page.entries.len(), crmgate_core::journal::DEFAULT_PAGE);
}

/// The export: everything (any owner) oldest first across pages, or narrowed by time, CRM and
/// scope.
pub async fn export_pages_and_filters(store: &dyn JournalStore) {
    let a = owner("acme", "caller:a");
    let b = owner("acme", "caller:b");
    let c = owner("beta", "caller:a");
    let mut all = Vec::new();
    for i in 0..25u64 {
        let who = [&a, &b, &c][(i % 3) as usize];
        let entry = aged(
            applied(update(who, "deals", &i.to_string())),
            Duration::from_secs(3600 * (30 - i)),
        );
        store.append(std::slice::from_ref(&entry)).await.unwrap();
        all.push(entry);
    }
    let got = exported(
        store,
        ExportQuery {
            limit: 4,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(got, all);

    let since = all[10].at;
    let got = exported(
        store,
        ExportQuery {
            since: Some(since),
            scope: Some("caller:a".into()),
            crm: Some("acme".into()),
            limit: 2,
            ..Default::default()
        },
    )
    .await;
    let expected: Vec<JournalEntry> = all
        .iter()
        .filter(|e| e.at >= since && e.owner() == a)
        .cloned()
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(got, expected);
}

/// Age, count and size bounds each remove the oldest entries and keep the newest.
pub async fn bounds_prune_oldest_first(store: &dyn JournalStore) {
    let me = owner("acme", "caller:a");
    let old: Vec<JournalEntry> = (0..5)
        .map(|i| {
            aged(
                applied(update(&me, "deals", &format!("old{i}"))),
                Duration::from_secs(86_400 * 10),
            )
        })
        .collect();
    let recent: Vec<JournalEntry> = (0..40)
        .map(|i| applied(update(&me, "deals", &format!("new{i}"))))
        .collect();
    store.append(&old).await.unwrap();
    store.append(&recent).await.unwrap();
    let only_age = Bounds {
        max_age: Some(Duration::from_secs(86_400 * 5)),
        max_entries: None,
        max_bytes: None,
    };
    let report = store.prune(&only_age, Timestamp::now()).await.unwrap();
    assert_eq!(report.removed, 5);
    assert_eq!(count(store).await, 40);

    let only_count = Bounds {
        max_age: None,
        max_entries: Some(15),
        max_bytes: None,
    };
    assert_eq!(
        store
            .prune(&only_count, Timestamp::now())
            .await
            .unwrap()
            .removed,
        25
    );
    let kept = exported(store, ExportQuery::default()).await;
    assert_eq!(kept, recent[25..].to_vec());

    // each stored entry is a few hundred bytes: a 2 KB bound keeps only the newest few
    let one = crmgate_journal::sql::encode(&recent[0]).unwrap().bytes as u64;
    let only_bytes = Bounds {
        max_age: None,
        max_entries: None,
        max_bytes: Some(one * 4 + one / 2),
    };
    store.prune(&only_bytes, Timestamp::now()).await.unwrap();
    let kept = exported(store, ExportQuery::default()).await;
    assert_eq!(kept, recent[36..].to_vec());
    // nothing beyond the bounds: nothing removed
    let report = store.prune(&only_bytes, Timestamp::now()).await.unwrap();
    assert_eq!(report.removed, 0);
}

/// A store made with `prune_every = 10` and `max_entries = 5` prunes by itself: on its first
/// append and every tenth appended entry after, never in between.
pub async fn prunes_itself_on_schedule(store: &dyn JournalStore) {
    let me = owner("acme", "caller:a");
    let mut appended = Vec::new();
    for i in 0..25 {
        let entry = applied(update(&me, "deals", &i.to_string()));
        store.append(std::slice::from_ref(&entry)).await.unwrap();
        appended.push(entry);
    }
    // pruned after appends 1, 11 and 21: the newest 5 then, and 4 since
    let kept = exported(store, ExportQuery::default()).await;
    assert_eq!(kept, appended[16..].to_vec());
}

/// The bounds of [`prunes_itself_on_schedule`].
pub fn tight_bounds() -> Bounds {
    Bounds {
        max_age: Some(Duration::from_secs(86_400)),
        max_entries: Some(5),
        max_bytes: None,
    }
}

/// Entry ids are unique across everything appended.
pub fn assert_unique(entries: &[JournalEntry]) {
    let ids: HashSet<&str> = entries.iter().map(|e| e.entry_id.as_str()).collect();
    assert_eq!(ids.len(), entries.len());
}
