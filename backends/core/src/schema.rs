//! What an entity looks like: its fields (type, required, read-only, enum options with labels)
//! and its links to other entities. Backends build these from vendor metadata; the gateway uses
//! them to validate writes and to pick the compact default projection.

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

/// One field of an entity.
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
    /// Cannot be written.
    pub read_only: bool,
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
    /// A writable, optional field of the given type, not in the compact projection.
    pub fn new(name: impl Into<String>, field_type: FieldType) -> Self {
        FieldSchema {
            name: name.into(),
            label: String::new(),
            field_type,
            required: false,
            read_only: false,
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
        self.read_only = true;
        self
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
