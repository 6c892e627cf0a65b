//! Pure mappers between Bitrix24 JSON and the common model. No I/O; tested on documented
//! response shapes (`tests/fixtures/`).
//!
//! - [`kind`]: entityTypeId ↔ names, deep links, timeline owner types.
//! - [`dicts`]: stages (with semantics), pipelines, currencies, users, smart process types.
//! - [`fields`]: `crm.item.fields` → schema, keeping each field's Bitrix type.
//! - [`lookup`]: per-field value labels and pipelines with their stages, built once per
//!   entity type; the stage ⇄ pipeline rule of writes.
//! - [`record`]: items ⇄ records, with `labels` from the dictionaries.
//! - [`timeline`]: timeline comments → items and note records.

pub mod dicts;
pub mod fields;
pub mod kind;
pub mod lookup;
pub mod record;
pub mod timeline;
