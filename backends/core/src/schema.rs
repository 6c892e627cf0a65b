//! What an entity looks like: its fields (type, required, access, enum options with labels, the
//! filter operators each runs natively, whether it sorts) and its links to other entities.
//! Backends build these from vendor metadata; the gateway uses them to refuse what a field cannot
//! do before anything is sent, to validate writes and to pick the compact default projection.

use crate::filter::FilterOp;
use serde::Serialize;

/// The common field types every vendor's types are mapped onto.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FieldType {
    /// The record id.
    Id,
    /// A short single-line string.
    Text,
    /// Multi-line text (descriptions, bodies). Cut at the text cap in results.
    LongText,
    /// A whole number.
    Integer,
    /// A decimal number.
    Number,
    /// An amount of money (a number; the currency is another field).
    Money,
    /// true / false.
    Boolean,
    /// `YYYY-MM-DD`.
    Date,
    /// ISO 8601 date and time.
    DateTime,
    /// One of `options`.
    Enum,
    /// Several of `options`, as an array.
    MultiEnum,
    /// An email address.
    Email,
    /// A phone number.
    Phone,
    /// A web address.
    Url,
    /// The id of one record of `link_entity`.
    Reference,
    /// Ids of several records of `link_entity`, as an array.
    References,
    /// Any JSON value.
    Json,
}

impl FieldType {
    /// Whether values of this type have an order a CRM can sort by (not arrays or JSON).
    pub fn sorts(self) -> bool {
        !matches!(
            self,
            FieldType::MultiEnum | FieldType::References | FieldType::Json
        )
    }

    /// The wire spelling (`long_text`).
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::Id => "id",
            FieldType::Text => "text",
            FieldType::LongText => "long_text",
            FieldType::Integer => "integer",
            FieldType::Number => "number",
            FieldType::Money => "money",
            FieldType::Boolean => "boolean",
            FieldType::Date => "date",
            FieldType::DateTime => "date_time",
            FieldType::Enum => "enum",
            FieldType::MultiEnum => "multi_enum",
            FieldType::Email => "email",
            FieldType::Phone => "phone",
            FieldType::Url => "url",
            FieldType::Reference => "reference",
            FieldType::References => "references",
            FieldType::Json => "json",
        }
    }
}

/// One allowed value of an enum field, with its human label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnumOption {
    /// The stored value, to send in writes and filters.
    pub value: String,
    /// What the CRM's UI shows.
    pub label: String,
}

impl EnumOption {
    /// An option whose label is the given text.
    pub fn new(value: impl Into<String>, label: impl Into<String>) -> Self {
        EnumOption {
            value: value.into(),
            label: label.into(),
        }
    }
}

/// Who may write a field, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldAccess {
    /// Set on create and on update (the default; omitted from crm_describe).
    #[default]
    ReadWrite,
    /// Never written through crmgate: the CRM sets it (ids, timestamps, computed values).
    ReadOnly,
    /// Set when the record is created, never changed afterwards (Bitrix24's `isImmutable`).
    CreateOnly,
}

impl FieldAccess {
    /// Whether this is the default (`read_write`), which crm_describe leaves out.
    pub fn is_read_write(&self) -> bool {
        *self == FieldAccess::ReadWrite
    }

    /// The wire spelling (`create_only`).
    pub fn as_str(self) -> &'static str {
        match self {
            FieldAccess::ReadWrite => "read_write",
            FieldAccess::ReadOnly => "read_only",
            FieldAccess::CreateOnly => "create_only",
        }
    }
}

/// One field of an entity.
///
/// In crm_describe a field shows `access` only when it is not `read_write`, `filter_ops` only
/// when it can be filtered (the operators it runs natively), and `sortable: true` only when a
/// search can sort by it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldSchema {
    /// Native field name, as used in `fields`, `where` and `data`.
    pub name: String,
    /// Human label.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub label: String,
    /// Common type.
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// Must be given on create.
    pub required: bool,
    /// Who may write it: `read_write` (omitted), `read_only`, or `create_only`.
    #[serde(skip_serializing_if = "FieldAccess::is_read_write")]
    pub access: FieldAccess,
    /// Filter operators the CRM runs natively on this field; absent when it cannot be filtered.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub filter_ops: Vec<FilterOp>,
    /// Whether a search can sort by it; absent when it cannot.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub sortable: bool,
    /// Allowed values for enum / multi-enum fields.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<EnumOption>,
    /// For references: the canonical entity the id points to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link_entity: Option<String>,
    /// Longest accepted text, in characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_length: Option<usize>,
    /// Part of the compact default projection.
    #[serde(skip)]
    pub compact: bool,
}

impl FieldSchema {
    /// A writable, optional field of the given type, not in the compact projection, filtered
    /// with the operators that make sense for its type ([`FilterOp::for_type`]) and sortable
    /// when its type orders ([`FieldType::sorts`]). A backend narrows both to what its CRM runs.
    pub fn new(name: impl Into<String>, field_type: FieldType) -> Self {
        FieldSchema {
            name: name.into(),
            label: String::new(),
            field_type,
            required: false,
            access: FieldAccess::ReadWrite,
            filter_ops: FilterOp::for_type(field_type).to_vec(),
            sortable: field_type.sorts(),
            options: Vec::new(),
            link_entity: None,
            max_length: None,
            compact: false,
        }
    }

    /// Set the label.
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    /// Mark required on create.
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Mark read-only.
    pub fn read_only(mut self) -> Self {
        self.access = FieldAccess::ReadOnly;
        self
    }

    /// Mark create-only: set on create, never updated.
    pub fn create_only(mut self) -> Self {
        self.access = FieldAccess::CreateOnly;
        self
    }

    /// Set the access.
    pub fn access(mut self, access: FieldAccess) -> Self {
        self.access = access;
        self
    }

    /// Set the filter operators the CRM runs on this field (empty: not filterable).
    pub fn filter_ops(mut self, ops: &[FilterOp]) -> Self {
        self.filter_ops = normalised(ops);
        self
    }

    /// Keep only the operators also in `allowed` (e.g. what the backend runs at all).
    pub fn restrict_ops(mut self, allowed: &[FilterOp]) -> Self {
        self.filter_ops.retain(|op| allowed.contains(op));
        self
    }

    /// Set whether a search can sort by it.
    pub fn sortable(mut self, sortable: bool) -> Self {
        self.sortable = sortable;
        self
    }

    /// Whether it is never written through crmgate.
    pub fn is_read_only(&self) -> bool {
        self.access == FieldAccess::ReadOnly
    }

    /// Whether the CRM runs `op` on it natively.
    pub fn filters_with(&self, op: FilterOp) -> bool {
        self.filter_ops.contains(&op)
    }

    /// Include in the compact default projection.
    pub fn compact(mut self) -> Self {
        self.compact = true;
        self
    }

    /// Set enum options.
    pub fn options(mut self, options: Vec<EnumOption>) -> Self {
        self.options = options;
        self
    }

    /// Point a reference field at an entity.
    pub fn links_to(mut self, entity: impl Into<String>) -> Self {
        self.link_entity = Some(entity.into());
        self
    }

    /// Set the longest accepted text.
    pub fn max_length(mut self, max: usize) -> Self {
        self.max_length = Some(max);
        self
    }
}

/// Operators deduplicated, in documentation order.
fn normalised(ops: &[FilterOp]) -> Vec<FilterOp> {
    FilterOp::ALL
        .into_iter()
        .filter(|op| ops.contains(op))
        .collect()
}

/// How many records sit on the far side of a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    /// At most one (a contact's company).
    One,
    /// Any number (a company's contacts).
    Many,
}

/// A named association from one entity to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkSchema {
    /// Link name, as used in crm_related / crm_link.
    pub name: String,
    /// Canonical name of the entity on the far side.
    pub target: String,
    /// One or many.
    pub kind: LinkKind,
    /// Whether crm_link / crm_unlink can change it.
    pub writable: bool,
}

/// Fields and links of one entity.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct EntitySchema {
    /// Canonical name.
    pub entity: String,
    /// Native name.
    pub native: String,
    /// Every field.
    #[schemars(with = "Vec<serde_json::Map<String, serde_json::Value>>")]
    pub fields: Vec<FieldSchema>,
    /// Every link.
    #[schemars(with = "Vec<serde_json::Map<String, serde_json::Value>>")]
    pub links: Vec<LinkSchema>,
}

impl EntitySchema {
    /// Look up a field by its native name.
    pub fn field(&self, name: &str) -> Option<&FieldSchema> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Look up a link by name.
    pub fn link(&self, name: &str) -> Option<&LinkSchema> {
        self.links.iter().find(|l| l.name == name)
    }

    /// Names of all fields.
    pub fn field_names(&self) -> impl Iterator<Item = &str> + Clone {
        self.fields.iter().map(|f| f.name.as_str())
    }

    /// Names of the fields a search can sort by.
    pub fn sortable_fields(&self) -> impl Iterator<Item = &str> {
        self.fields
            .iter()
            .filter(|f| f.sortable)
            .map(|f| f.name.as_str())
    }

    /// Every operator some field runs natively (the entity-level union), in documentation order.
    pub fn filter_ops_union(&self) -> Vec<FilterOp> {
        FilterOp::ALL
            .into_iter()
            .filter(|op| self.fields.iter().any(|f| f.filters_with(*op)))
            .collect()
    }

    /// Names of the fields in the compact default projection.
    pub fn compact_fields(&self) -> Vec<String> {
        self.fields
            .iter()
            .filter(|f| f.compact)
            .map(|f| f.name.clone())
            .collect()
    }

    /// The field, or `UNKNOWN_FIELD` with a "did you mean".
    pub fn require_field(&self, name: &str) -> crate::Result<&FieldSchema> {
        self.field(name)
            .ok_or_else(|| crate::Error::unknown_field(&self.entity, name, self.field_names()))
    }

    /// The link, or `NOT_FOUND` listing the links that exist.
    pub fn require_link(&self, name: &str) -> crate::Result<&LinkSchema> {
        self.link(name).ok_or_else(|| {
            let names: Vec<&str> = self.links.iter().map(|l| l.name.as_str()).collect();
            let hint = crate::text::did_you_mean(name, names.iter().copied())
                .map(|b| format!("did you mean {b:?}? "))
                .unwrap_or_default();
            crate::Error::new(
                crate::ErrorCode::NotFound,
                format!("{} has no link {name:?}", self.entity),
                format!("{hint}links of {}: {}", self.entity, names.join(", ")),
            )
        })
    }
}
