//! The sandbox's state: organisations, user profiles, tokens, tags, records, comments, the
//! outward emails BottleCRM would have sent, the request log and pending faults.
//!
//! Records are stored the way writes take them (references as ids, decimals as strings) and
//! rendered into BottleCRM's nested answer shapes by [`super::render`]. Ids are UUIDs derived
//! from a counter; timestamps come from a clock that starts at the wall time and moves forward
//! by a millisecond per write, so `updated_at` always changes and order is stable.

use super::faults::Fault;
use crate::entities::Entity;
use crate::ids;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

/// A user's role in an organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Sees and changes everything in the organisation.
    Admin,
    /// Sees only records it created or is assigned to.
    User,
}

/// An organisation.
#[derive(Debug, Clone)]
pub struct Org {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
}

/// A user profile (what `assigned_to` holds) and its user.
#[derive(Debug, Clone)]
pub struct Profile {
    /// Profile id.
    pub id: String,
    /// User id (what `created_by` holds).
    pub user_id: String,
    /// Email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Index of its organisation.
    pub org: usize,
}

/// A personal access token.
#[derive(Debug, Clone)]
pub struct Token {
    /// The raw `bcrm_pat_…` value.
    pub raw: String,
    /// Index of its profile.
    pub profile: usize,
    /// `resource:action` scopes; empty means unrestricted.
    pub scopes: Vec<String>,
    /// Revoked.
    pub revoked: bool,
    /// Past its expiry.
    pub expired: bool,
}

/// A tag.
#[derive(Debug, Clone)]
pub struct Tag {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Colour.
    pub color: String,
    /// Index of its organisation.
    pub org: usize,
    /// Created at.
    pub created_at: String,
}

/// One stored record.
#[derive(Debug, Clone)]
pub struct Row {
    /// Id.
    pub id: String,
    /// Index of its organisation.
    pub org: usize,
    /// Index of the creating profile.
    pub created_by: usize,
    /// Creation time.
    pub created_at: String,
    /// Fields in write shape.
    pub f: Map<String, Value>,
}

impl Row {
    /// A string field.
    pub fn s(&self, key: &str) -> Option<&str> {
        self.f.get(key).and_then(Value::as_str)
    }

    /// The ids in a list field.
    pub fn ids(&self, key: &str) -> Vec<&str> {
        self.f
            .get(key)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }
}

/// A comment on a record.
#[derive(Debug, Clone)]
pub struct CommentRow {
    /// Id.
    pub id: String,
    /// The record's entity.
    pub entity: Entity,
    /// The record's id.
    pub object_id: String,
    /// Index of the organisation.
    pub org: usize,
    /// Text.
    pub text: String,
    /// When.
    pub at: String,
    /// Index of the commenting profile.
    pub by: usize,
    /// An internal note (cases).
    pub internal: bool,
}

/// Everything the sandbox holds.
#[derive(Debug, Default)]
pub struct Store {
    /// Organisations.
    pub orgs: Vec<Org>,
    /// Profiles.
    pub profiles: Vec<Profile>,
    /// Tokens.
    pub tokens: Vec<Token>,
    /// Tags.
    pub tags: Vec<Tag>,
    /// Records per entity.
    pub rows: BTreeMap<Entity, Vec<Row>>,
    /// Comments.
    pub comments: Vec<CommentRow>,
    /// Emails BottleCRM would have sent (invoice sends, assignment notices).
    pub emails: Vec<String>,
    /// Requests received (`METHOD /path?query`), faulted ones included.
    pub log: Vec<String>,
    /// Faults waiting to be injected.
    pub faults: Vec<Fault>,
    seq: u64,
    clock_ms: u64,
    invoice_seq: u64,
}

impl Store {
    /// An empty store whose clock starts now.
    pub fn new() -> Self {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        Store {
            clock_ms: now,
            ..Default::default()
        }
    }

    /// A fresh UUID.
    pub fn new_id(&mut self) -> String {
        self.seq += 1;
        let a = splitmix(self.seq.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x5bd1_e995);
        let b = splitmix(a ^ self.seq);
        ids::from_bits(a, b)
    }

    /// The next timestamp (strictly increasing), ISO 8601 with microseconds.
    pub fn now(&mut self) -> String {
        self.clock_ms += 1;
        iso(self.clock_ms)
    }

    /// Today's date, `YYYY-MM-DD`.
    pub fn today(&self) -> String {
        iso(self.clock_ms)[..10].to_owned()
    }

    /// The next invoice number.
    pub fn invoice_number(&mut self) -> String {
        self.invoice_seq += 1;
        format!(
            "INV-{}-{:04}",
            self.today().replace('-', ""),
            self.invoice_seq
        )
    }

    /// Records of an entity.
    pub fn rows(&self, entity: Entity) -> &[Row] {
        self.rows.get(&entity).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Records of an entity, mutable.
    pub fn rows_mut(&mut self, entity: Entity) -> &mut Vec<Row> {
        self.rows.entry(entity).or_default()
    }

    /// One record of an organisation by id.
    pub fn find(&self, entity: Entity, org: usize, id: &str) -> Option<&Row> {
        self.rows(entity)
            .iter()
            .find(|r| r.id == id && r.org == org)
    }

    /// A profile index by profile id, within an organisation.
    pub fn profile_by_id(&self, org: usize, id: &str) -> Option<usize> {
        self.profiles
            .iter()
            .position(|p| p.id == id && p.org == org)
    }

    /// A tag index by id, within an organisation.
    pub fn tag_by_id(&self, org: usize, id: &str) -> Option<usize> {
        self.tags.iter().position(|t| t.id == id && t.org == org)
    }
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Milliseconds since the epoch → `2026-11-21T05:36:12.458000Z`.
pub fn iso(ms: u64) -> String {
    let c = crmgate_core::time::Civil::from_unix((ms / 1000) as i64);
    format!("{}T{}.{:06}Z", c.date(), c.time(), (ms % 1000) * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_and_ids() {
        assert_eq!(iso(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(iso(1_795_238_172_458), "2026-11-21T05:16:12.458000Z");
        let mut s = Store::new();
        let (a, b) = (s.new_id(), s.new_id());
        assert!(a != b && ids::is_canonical(&a));
        assert!(s.now() < s.now());
    }
}
