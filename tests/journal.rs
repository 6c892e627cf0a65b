//! `[journal]` in the config file and `crmgate journal export`, run as an operator would.
//! The entries are written with the journal's own store (the gateway's write paths journal
//! through the same store).

use crmgate::config::{self, Overrides};
use crmgate_core::journal::{
    Change, EntityRef, JournalEntry, JournalStore, OnFailure, Owner, Timestamp,
};
use crmgate_journal::{SqliteStore, Storage};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn crmgate(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_crmgate"))
        .args(args)
        .env_remove("CRMGATE_CONFIG")
        .env_remove("RUST_LOG")
        .env_remove("XDG_DATA_HOME")
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("xdg-config"))
        .stdin(Stdio::null())
        .output()
        .expect("crmgate runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn entry(owner: &Owner, id: &str, age: Duration) -> JournalEntry {
    let mut entry = JournalEntry::pending(
        owner,
        "crm_update",
        &json!({"entity": "deals", "id": id, "data": {"stage": "won"}, "confirm_token": "never-kept"}),
        EntityRef {
            name: "deals".into(),
            native: "deals".into(),
        },
        Some(id),
        Change::Update {
            fields: vec!["stage".into()],
        },
        Some(json!({"stage": "open"})),
    )
    .applied(None, Some(json!({"stage": "won"})));
    entry.at = Timestamp::now().minus(age);
    entry
}

/// A config with `[journal] path` beside it, and entries in that journal: returns the config
/// file and the entries in the order written.
fn journal_with_entries(dir: &Path) -> (PathBuf, Vec<JournalEntry>) {
    let config = dir.join("crmgate.toml");
    std::fs::write(
        &config,
        "[journal]\npath = \"journal.sqlite3\"\n[crm.acme]\nkind = \"demo\"\n",
    )
    .unwrap();
    let me = Owner {
        crm: "acme".into(),
        scope: "configured".into(),
    };
    let caller = Owner {
        crm: "acme".into(),
        scope: "caller:0123456789abcdef01234567".into(),
    };
    let other_crm = Owner {
        crm: "beta".into(),
        scope: "configured".into(),
    };
    let entries = vec![
        entry(&me, "1", Duration::from_secs(3 * 86_400)),
        entry(&me, "2", Duration::from_secs(3600)),
        entry(&caller, "3", Duration::from_secs(1800)),
        entry(&other_crm, "4", Duration::from_secs(600)),
        entry(&caller, "5", Duration::from_secs(60)),
    ];
    let store = SqliteStore::new(
        Some(dir.join("journal.sqlite3")),
        crmgate_journal::JournalSettings::default().bounds,
    );
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(store.append(&entries))
        .unwrap();
    (config, entries)
}

fn exported(o: &Output) -> Vec<JournalEntry> {
    text(&o.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is one entry"))
        .collect()
}

#[test]
fn export_prints_every_entry_as_json_lines_oldest_first() {
    let dir = tempfile::tempdir().unwrap();
    let (config, entries) = journal_with_entries(dir.path());
    let config = config.to_str().unwrap();

    let o = crmgate(dir.path(), &["--config", config, "journal", "export"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(exported(&o), entries);
    assert!(
        !text(&o.stdout).contains("never-kept"),
        "confirm tokens are never journaled"
    );
    assert!(
        text(&o.stderr).contains("exported 5 entries from sqlite"),
        "{}",
        text(&o.stderr)
    );

    let o = crmgate(
        dir.path(),
        &["--config", config, "journal", "export", "--since", "24h"],
    );
    assert_eq!(exported(&o), entries[1..].to_vec());

    let o = crmgate(
        dir.path(),
        &[
            "--config",
            config,
            "journal",
            "export",
            "--scope",
            "caller:0123456789abcdef01234567",
        ],
    );
    assert_eq!(exported(&o), vec![entries[2].clone(), entries[4].clone()]);

    // --crm narrows to that CRM's entries
    let o = crmgate(
        dir.path(),
        &["--config", config, "--crm", "acme", "journal", "export"],
    );
    let got = exported(&o);
    assert_eq!(got.len(), 4);
    assert!(got.iter().all(|e| e.crm == "acme"));

    let since = entries[3].at.to_string();
    let o = crmgate(
        dir.path(),
        &["--config", config, "journal", "export", "--since", &since],
    );
    assert_eq!(exported(&o), entries[3..].to_vec());
}

#[test]
fn export_before_any_write_creates_nothing() {
    let home = tempfile::tempdir().unwrap();
    // no config at all: the default journal in the user's data directory
    let o = crmgate(home.path(), &["journal", "export"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(o.stdout.is_empty());
    let expected = home.path().join(".local/share/crmgate/journal.sqlite3");
    if cfg!(target_os = "linux") {
        assert!(
            text(&o.stderr).contains(&format!("no journal yet at {}", expected.display())),
            "{}",
            text(&o.stderr)
        );
    }
    assert!(!expected.exists());
    assert!(
        !home.path().join(".local").exists(),
        "no folder created either"
    );
}

#[test]
fn export_refuses_a_bad_since_and_still_reads_a_journal_switched_off() {
    let dir = tempfile::tempdir().unwrap();
    let o = crmgate(dir.path(), &["journal", "export", "--since", "yesterday"]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(
        err.contains("error: VALIDATION: since \"yesterday\" is not a time") && err.contains("24h"),
        "{err}"
    );

    // journaling switched off: what was kept is still exported
    let (config, entries) = journal_with_entries(dir.path());
    let text_now = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text_now.replace("[journal]\n", "[journal]\nenabled = false\n"),
    )
    .unwrap();
    let o = crmgate(
        dir.path(),
        &["--config", config.to_str().unwrap(), "journal", "export"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(exported(&o), entries);
    assert!(
        text(&o.stderr).contains("journaling is off"),
        "{}",
        text(&o.stderr)
    );
}

fn load(text: &str) -> Result<config::ResolvedCrm, String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crmgate.toml");
    std::fs::write(&path, text).unwrap();
    config::load_file(&path, &Overrides::default())
        .map_err(|e| e.message.replace(&path.display().to_string(), "FILE"))
}

#[test]
fn journal_section_is_checked_with_key_paths() {
    let crm = load(
        "[journal]\nretention_days = 30\nmax_entries = 5000\nmax_size_mb = 64\non_failure = \"allow\"\npath = \"/var/lib/crmgate/journal.sqlite3\"\n",
    )
    .unwrap();
    let journal = &crm.journal;
    assert!(journal.enabled);
    assert_eq!(journal.on_failure, OnFailure::Allow);
    assert_eq!(journal.bounds.max_entries, Some(5000));
    assert_eq!(journal.bounds.max_bytes, Some(64 * 1024 * 1024));
    assert_eq!(
        journal.bounds.max_age,
        Some(Duration::from_secs(30 * 86_400))
    );
    match &journal.storage {
        Storage::Sqlite { path } => assert_eq!(
            path.as_deref(),
            Some(Path::new("/var/lib/crmgate/journal.sqlite3"))
        ),
        other => panic!("{other:?}"),
    }

    for (toml, expected) in [
        (
            "[journal]\nretention = 3\n",
            "config error in FILE: unknown key journal.retention (did you mean retention_days?)",
        ),
        (
            "[journal]\nretention_days = 0\n",
            "config error in FILE: journal.retention_days: must be between 1 and 36500",
        ),
        (
            "[journal]\nurl_env = \"CRMGATE_TEST_JOURNAL_URL_UNSET\"\n",
            "config error in FILE: journal.url_env: environment variable CRMGATE_TEST_JOURNAL_URL_UNSET is not set (export CRMGATE_TEST_JOURNAL_URL_UNSET=postgres://… before starting crmgate)",
        ),
        (
            "[journal]\nurl = \"postgres://u:pw@db/crm\"\npath = \"j.sqlite3\"\n",
            "config error in FILE: journal.path: set either path (a SQLite file) or url/url_env (PostgreSQL), not both",
        ),
    ] {
        assert_eq!(load(toml).unwrap_err(), expected, "{toml}");
    }
    let e = load("[journal]\non_failure = \"ignore\"\n").unwrap_err();
    assert!(
        e.contains("journal.on_failure") && e.contains("refuse") && e.contains("allow"),
        "{e}"
    );
    let e = load("[journal]\nurl = \"mysql://u:s3cret@db/crm\"\n").unwrap_err();
    assert!(e.contains("journal.url") && !e.contains("s3cret"), "{e}");
}

#[test]
fn a_relative_journal_path_is_beside_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crmgate.toml");
    std::fs::write(&path, "[journal]\npath = \"data/journal.sqlite3\"\n").unwrap();
    let crm = config::load_file(&path, &Overrides::default()).unwrap();
    match &crm.journal.storage {
        Storage::Sqlite { path: Some(file) } => {
            assert_eq!(file, &dir.path().join("data/journal.sqlite3"))
        }
        other => panic!("{other:?}"),
    }
    // without a [journal] section: on, in the data directory, refusing unjournaled writes
    let crm = config::load_file(
        &{
            std::fs::write(&path, "[crm.a]\nkind = \"demo\"\n").unwrap();
            path.clone()
        },
        &Overrides::default(),
    )
    .unwrap();
    assert!(crm.journal.enabled);
    assert_eq!(crm.journal.on_failure, OnFailure::Refuse);
}

#[test]
fn the_example_config_documents_every_journal_key() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("[journal]"));
    for key in crmgate_journal::config::JOURNAL_KEYS {
        assert!(text.contains(&format!("{key} =")), "{key} undocumented");
    }
    let crm = config::load_file(&path, &Overrides::default()).unwrap();
    assert!(crm.journal.enabled);
    let store = crmgate_journal::open(&crm.journal).unwrap().unwrap();
    assert!(store.location().starts_with("sqlite "));
}
