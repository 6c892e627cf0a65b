//! Typed, borrowing readers: BottleCRM's answers read straight from the bytes into records.
//!
//! A list answer is mostly catalogues (every user, country, tag, account, contact of the
//! organisation) next to a page of rows, and each row nests whole objects where it means a
//! reference (an assignee's full profile, an opportunity's whole account with its contacts).
//! Reading all of that into `serde_json::Value` trees, copying the rows out and then cutting the
//! references down to ids cost more than everything else in a search. Here the envelope's keys
//! are matched without allocating, catalogues and whatever a reference holds besides its `id`
//! are skipped unread ([`IgnoredAny`]), and each row's fields are built once, in place, into the
//! record that leaves the backend. The same readers run over a `serde_json::Value` (tests,
//! answers already parsed), so there is one mapping.

use super::record::{self, money_fields};
use crate::entities::Entity;
use crate::ids;
use crmgate_core::Error;
use crmgate_core::model::{Fields, Record};
use serde::de::{
    self, DeserializeSeed, Deserializer, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use serde_json::Value;
use std::borrow::Cow;
use std::fmt;

/// How the messages crmgate raises while reading begin (kept whole in the error they become;
/// serde's own never begin so).
const OWN: &str = "BottleCRM";

/// A serde error from reading an answer → `UPSTREAM_PROTOCOL`. Messages raised here are kept;
/// serde's own (which may quote a value from the answer) become a position only.
pub fn protocol(what: &str, e: serde_json::Error) -> Error {
    let message = e.to_string();
    if message.starts_with(OWN) {
        let message = match message.find(" at line ") {
            Some(i) => message[..i].to_owned(),
            None => message,
        };
        return Error::upstream_protocol(message);
    }
    Error::upstream_protocol(format!(
        "BottleCRM's {what} is not what crmgate expects (at line {} column {}); the API may \
         have changed",
        e.line(),
        e.column()
    ))
}

/// A map key, borrowed from the input when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E: de::Error>(
                self,
                v: &'de str,
            ) -> std::result::Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> std::result::Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// A reference (an object with an `id`, a bare id, or a list of either) → its id(s),
/// canonical; everything else the object holds is skipped unread.
struct Reference;

impl<'de> DeserializeSeed<'de> for Reference {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Reference {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a reference")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Value, E> {
        Ok(Value::String(ids::tidy(v)))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> std::result::Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_unit<E: de::Error>(self) -> std::result::Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> std::result::Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element_seed(Reference)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Value, A::Error> {
        let mut id = Value::Null;
        while let Some(Key(key)) = map.next_key::<Key>()? {
            if key == "id" {
                id = map.next_value_seed(Reference)?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(id)
    }
}

/// One BottleCRM object (list row, detail object, write answer) → a [`Record`].
#[derive(Clone, Copy)]
pub struct Row<'a> {
    /// Its entity.
    pub entity: Entity,
    /// The BottleCRM web app, for deep links.
    pub app_url: Option<&'a str>,
    /// The fields to keep (`None`: all). The id, `updated_at` and the title's fields are read
    /// too; the rest is skipped unread. The gateway projects to the selection afterwards.
    pub keep: Option<&'a [String]>,
}

impl<'a> Row<'a> {
    /// A reader keeping every field.
    pub fn all(entity: Entity, app_url: Option<&'a str>) -> Self {
        Row {
            entity,
            app_url,
            keep: None,
        }
    }

    /// Whether the field (by its record name) is read.
    fn keeps(&self, name: &str) -> bool {
        let Some(keep) = self.keep else {
            return true;
        };
        keep.iter().any(|f| f == name)
            || matches!(name, "id" | "updated_at")
            || record::title_fields(self.entity).contains(&name)
    }
}

impl<'de> DeserializeSeed<'de> for Row<'_> {
    type Value = Record;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Record, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Row<'_> {
    type Value = Record;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a record object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Record, A::Error> {
        let entity = self.entity;
        let money = money_fields(entity);
        let mut fields = Fields::new();
        while let Some(Key(key)) = map.next_key::<Key>()? {
            let k: &str = &key;
            let name = record::write_name(entity, k);
            if !self.keeps(name) {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            let value = if entity == Entity::Accounts && k == "tags" {
                record::normalise(entity, k, map.next_value::<Value>()?)
            } else if record::is_reference(k) {
                map.next_value_seed(Reference)?
            } else if money.contains(&k) {
                record::normalise(entity, k, map.next_value::<Value>()?)
            } else {
                map.next_value::<Value>()?
            };
            let name = if std::ptr::eq(name, k) {
                key.into_owned()
            } else {
                name.to_owned()
            };
            fields.insert(name, value);
        }
        let projected = self.keep.is_some();
        record::from_fields(entity, fields, self.app_url, !projected)
            .map_err(|e| A::Error::custom(e.message))
    }
}

/// Read one record from `d` (see [`Row`]).
pub fn row<'de, D: Deserializer<'de>>(
    entity: Entity,
    app_url: Option<&str>,
    d: D,
) -> std::result::Result<Record, D::Error> {
    Row::all(entity, app_url).deserialize(d)
}

/// The rows of one section: a list of records.
struct Rows<'a>(Row<'a>);

impl<'de> DeserializeSeed<'de> for Rows<'_> {
    type Value = Vec<Record>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Rows<'_> {
    type Value = Vec<Record>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of records")
    }
    fn visit_seq<A: SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(10));
        while let Some(r) = seq.next_element_seed(self.0)? {
            out.push(r);
        }
        Ok(out)
    }
}

/// Where one section lives in a list envelope; an empty container means the top level.
#[derive(Clone, Copy)]
pub struct Layout {
    /// The object holding the section (`open_leads`), or `""`.
    pub container: &'static str,
    /// The key of its rows.
    pub rows: &'static str,
    /// The key of its total.
    pub count: &'static str,
    /// Other names of the same rows and total (contacts' legacy keys).
    pub alias: Option<(&'static str, &'static str)>,
}

/// What has been read of one section so far.
#[derive(Default)]
pub struct Found {
    /// Its rows.
    pub rows: Option<Vec<Record>>,
    /// Its total.
    pub count: Option<u64>,
}

/// Read one key of a section's holder: rows, count, or something to skip.
fn section_entry<'de, A: MapAccess<'de>>(
    map: &mut A,
    key: &str,
    layout: &Layout,
    row: Row<'_>,
    found: &mut Found,
) -> std::result::Result<bool, A::Error> {
    let (rows_alias, count_alias) = layout.alias.unwrap_or(("", ""));
    if (key == layout.rows || key == rows_alias) && found.rows.is_none() {
        found.rows = Some(map.next_value_seed(Rows(row))?);
        return Ok(true);
    }
    if (key == layout.count || key == count_alias) && found.count.is_none() {
        let count = match map.next_value::<Value>()? {
            Value::Number(n) => n.as_u64(),
            _ => None,
        };
        found.count = Some(count.ok_or_else(|| {
            A::Error::custom(format!(
                "{OWN}'s {} list answer has a {} that is not a count",
                row.entity.spec().name,
                layout.count
            ))
        })?);
        return Ok(true);
    }
    Ok(false)
}

/// The object holding one section (`{"open_leads": [...], "leads_count": 8, …}`).
struct Holder<'s, 'a> {
    layout: Layout,
    row: Row<'a>,
    found: &'s mut Found,
}

impl<'de> DeserializeSeed<'de> for Holder<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Holder<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list section")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<(), A::Error> {
        while let Some(Key(key)) = map.next_key::<Key>()? {
            if !section_entry(&mut map, &key, &self.layout, self.row, self.found)? {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

/// A whole list envelope: the sections its layouts name, catalogues skipped.
pub struct Envelope<'a> {
    /// Where each section lives.
    pub layouts: &'static [Layout],
    /// How rows are read.
    pub row: Row<'a>,
}

impl<'de> DeserializeSeed<'de> for Envelope<'_> {
    type Value = Vec<Found>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Vec<Found>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Envelope<'_> {
    type Value = Vec<Found>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list answer")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Vec<Found>, A::Error> {
        let mut found: Vec<Found> = self.layouts.iter().map(|_| Found::default()).collect();
        while let Some(Key(key)) = map.next_key::<Key>()? {
            let mut used = false;
            for (layout, found) in self.layouts.iter().zip(found.iter_mut()) {
                if layout.container.is_empty() {
                    used = section_entry(&mut map, &key, layout, self.row, found)?;
                } else if layout.container == key {
                    map.next_value_seed(Holder {
                        layout: *layout,
                        row: self.row,
                        found,
                    })?;
                    used = true;
                }
                if used {
                    break;
                }
            }
            if !used {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// A detail answer: the record under `key` (`lead_obj`), everything else skipped.
pub struct Detail<'a> {
    /// The key of the record.
    pub key: &'static str,
    /// How it is read.
    pub row: Row<'a>,
}

impl<'de> DeserializeSeed<'de> for Detail<'_> {
    type Value = Option<Record>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Detail<'_> {
    type Value = Option<Record>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a detail answer")
    }
    fn visit_map<A: MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        let mut record = None;
        while let Some(Key(key)) = map.next_key::<Key>()? {
            if key == self.key && record.is_none() {
                record = Some(map.next_value_seed(self.row)?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(record)
    }
}
