//! The table of tools: name, tier, hints, description, input and output schemas.
//!
//! Schemas are written by hand rather than derived: the whole surface must stay small
//! (tools/list is sent to the model on every turn), and the names in them are the public
//! interface of DESIGN.md.

use crmgate_core::gateway::Tier;
use crmgate_core::model::Features;
use serde_json::{Value, json};

/// Which tool this is, for dispatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ToolKind {
    /// crm_entities
    Entities,
    /// crm_describe
    Describe,
    /// crm_search
    Search,
    /// crm_get
    Get,
    /// crm_related
    Related,
    /// crm_timeline
    Timeline,
    /// crm_create
    Create,
    /// crm_update
    Update,
    /// crm_link
    Link,
    /// crm_unlink
    Unlink,
    /// crm_note
    Note,
    /// crm_draft_email
    DraftEmail,
    /// crm_action
    Action,
    /// crm_delete
    Delete,
    /// crm_query
    Query,
    /// crm_call
    Call,
}

/// One tool of the surface.
#[derive(Debug)]
pub struct ToolSpec {
    /// Tool name.
    pub name: &'static str,
    /// Dispatch key.
    pub kind: ToolKind,
    /// Display title.
    pub title: &'static str,
    /// What the model reads.
    pub description: &'static str,
    /// Least tier that lists it.
    pub tier: Tier,
    /// Only reads.
    pub read_only: bool,
    /// May destroy data or reach outside the CRM.
    pub destructive: bool,
    /// Repeating the call has no further effect.
    pub idempotent: bool,
    /// Whether the backend offers it.
    pub available: fn(&Features) -> bool,
}

const fn spec(
    name: &'static str,
    kind: ToolKind,
    title: &'static str,
    tier: Tier,
    (read_only, destructive, idempotent): (bool, bool, bool),
    available: fn(&Features) -> bool,
    description: &'static str,
) -> ToolSpec {
    ToolSpec {
        name,
        kind,
        title,
        description,
        tier,
        read_only,
        destructive,
        idempotent,
        available,
    }
}

const READ: (bool, bool, bool) = (true, false, true);

/// Every tool crmgate knows, in listing order.
pub static TOOLS: [ToolSpec; 16] = [
    spec(
        "crm_entities",
        ToolKind::Entities,
        "List entity types",
        Tier::Read,
        READ,
        |_| true,
        "Entity types (canonical and native names; either is accepted everywhere) with the operations, filter operators and actions each supports. Start here.",
    ),
    spec(
        "crm_describe",
        ToolKind::Describe,
        "Describe an entity",
        Tier::Read,
        READ,
        |_| true,
        "Fields of an entity (type, required, access when not read_write: read_only or create_only, the filter_ops each field runs, sortable, enum options with labels) and its links. Read before writing or filtering.",
    ),
    spec(
        "crm_search",
        ToolKind::Search,
        "Search records",
        Tier::Read,
        READ,
        |_| true,
        "Find records. where: AND of {field, op, value}; any: OR of AND-groups; query: free text; sort: \"-field\". Returns a page and next_cursor.",
    ),
    spec(
        "crm_get",
        ToolKind::Get,
        "Get records",
        Tier::Read,
        READ,
        |_| true,
        "One record by id, or up to 100 by ids (missing ids listed).",
    ),
    spec(
        "crm_related",
        ToolKind::Related,
        "Related records",
        Tier::Read,
        READ,
        |f| f.related,
        "Records linked to one record through a link named by crm_describe.",
    ),
    spec(
        "crm_timeline",
        ToolKind::Timeline,
        "Record timeline",
        Tier::Read,
        READ,
        |f| f.timeline,
        "Notes, comments and activities of one record, newest first.",
    ),
    spec(
        "crm_create",
        ToolKind::Create,
        "Create a record",
        Tier::Write,
        (false, false, false),
        |f| f.write,
        "Create a record; data is checked against the schema first. Search first to avoid duplicates.",
    ),
    spec(
        "crm_update",
        ToolKind::Update,
        "Update a record",
        Tier::Write,
        (false, false, true),
        |f| f.write,
        "Change only the given fields. preview: true returns the before/after diff and writes nothing.",
    ),
    spec(
        "crm_link",
        ToolKind::Link,
        "Link records",
        Tier::Write,
        (false, false, true),
        |f| f.link,
        "Add one association (link name from crm_describe) without replacing the others.",
    ),
    spec(
        "crm_unlink",
        ToolKind::Unlink,
        "Unlink records",
        Tier::Write,
        (false, false, true),
        |f| f.link,
        "Remove one association; both records stay.",
    ),
    spec(
        "crm_note",
        ToolKind::Note,
        "Add a note",
        Tier::Write,
        (false, false, false),
        |f| f.note,
        "Add a note or comment to a record.",
    ),
    spec(
        "crm_draft_email",
        ToolKind::DraftEmail,
        "Draft an email",
        Tier::Write,
        (false, false, false),
        |f| f.draft_email,
        "File an email draft, optionally on a record and from a template. Never sends.",
    ),
    spec(
        "crm_action",
        ToolKind::Action,
        "Run an action",
        Tier::Write,
        (false, false, false),
        |f| f.actions,
        "Run an action listed by crm_entities (convert a lead, move a stage, …). Destructive actions first return a preview and confirm_token.",
    ),
    spec(
        "crm_delete",
        ToolKind::Delete,
        "Delete a record",
        Tier::Destructive,
        (false, true, true),
        |f| f.delete,
        "Without confirm_token: a preview and a confirm_token. Show the preview to the user; call again with the token to delete. A changed record voids the token.",
    ),
    spec(
        "crm_query",
        ToolKind::Query,
        "Read-only SQL",
        Tier::Read,
        READ,
        |f| f.sql,
        "One read-only SQL SELECT under your own row-level security.",
    ),
    spec(
        "crm_call",
        ToolKind::Call,
        "Raw vendor call",
        Tier::Read,
        (false, true, false),
        |f| f.raw_call,
        "Call a raw vendor method from the operator's allow-list. Prefer the crm_* tools.",
    ),
];

/// Look a tool up by name.
pub fn find(name: &str) -> Option<&'static ToolSpec> {
    TOOLS.iter().find(|t| t.name == name)
}

fn entity() -> Value {
    json!({"type": "string"})
}

fn text() -> Value {
    json!({"type": "string"})
}

fn page_args(props: &mut serde_json::Map<String, Value>) {
    props.insert("limit".into(), json!({"type": "integer", "minimum": 1}));
    props.insert(
        "cursor".into(),
        json!({"type": "string", "description": "next_cursor from the previous page"}),
    );
}

fn fields() -> Value {
    json!({"type": "array", "items": {"type": "string"}, "description": "Omit: compact; [\"*\"]: all"})
}

fn object(props: Value, required: &[&str]) -> Value {
    let mut schema = json!({"type": "object", "properties": props});
    if !required.is_empty() {
        schema["required"] = json!(required);
    }
    schema
}

fn condition() -> Value {
    json!({"type": "object", "properties": {
        "field": {"type": "string"},
        "op": {"enum": ["eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "contains", "starts_with", "is_null", "is_not_null", "between"]},
        "value": {"description": "array for in, not_in, between"}
    }, "required": ["field", "op"]})
}

/// The input schema of a tool.
pub fn input_schema(kind: ToolKind) -> Value {
    use ToolKind::*;
    let mut schema = match kind {
        Entities => object(json!({}), &[]),
        Describe => object(json!({"entity": entity()}), &["entity"]),
        Search => object(
            json!({
                "entity": entity(),
                "where": {"type": "array", "items": condition()},
                "any": {"type": "array", "items": {"type": "array"}, "description": "OR of lists of where items"},
                "query": text(),
                "sort": {"description": "\"field\", \"-field\", or a list of them"},
                "fields": fields(),
            }),
            &["entity"],
        ),
        Get => object(
            json!({"entity": entity(), "id": text(), "ids": {"type": "array", "items": {"type": "string"}, "maxItems": 100}, "fields": fields()}),
            &["entity"],
        ),
        Related => object(
            json!({"entity": entity(), "id": text(), "link": text(), "fields": fields()}),
            &["entity", "id", "link"],
        ),
        Timeline => object(json!({"entity": entity(), "id": text()}), &["entity", "id"]),
        Create => object(
            json!({"entity": entity(), "data": {"type": "object"}, "skip_duplicate_check": {"type": "boolean"}}),
            &["entity", "data"],
        ),
        Update => object(
            json!({"entity": entity(), "id": text(), "data": {"type": "object"}, "preview": {"type": "boolean"}}),
            &["entity", "id", "data"],
        ),
        Link | Unlink => object(
            json!({"entity": entity(), "id": text(), "link": text(), "target_id": text()}),
            &["entity", "id", "link", "target_id"],
        ),
        Note => object(
            json!({"entity": entity(), "id": text(), "text": text()}),
            &["entity", "id", "text"],
        ),
        DraftEmail => object(
            json!({
                "to": {"type": ["string", "array"], "items": {"type": "string"}},
                "subject": text(), "body": text(), "entity": entity(), "id": text(),
                "template": {"type": "string", "description": "Template name or id"}
            }),
            &["to", "subject", "body"],
        ),
        Action => object(
            json!({"entity": entity(), "id": text(), "action": text(), "params": {"type": "object"}, "confirm_token": text()}),
            &["entity", "id", "action"],
        ),
        Delete => object(
            json!({"entity": entity(), "id": text(), "confirm_token": text()}),
            &["entity", "id"],
        ),
        Query => object(
            json!({"sql": text(), "limit": {"type": "integer", "minimum": 1}}),
            &["sql"],
        ),
        Call => object(json!({"method": text(), "params": {}}), &["method"]),
    };
    if matches!(kind, Search | Related | Timeline) {
        page_args(schema["properties"].as_object_mut().expect("object schema"));
    }
    schema
}

/// The output schema (the shape of structuredContent on success).
pub fn output_schema(kind: ToolKind) -> Value {
    use ToolKind::*;
    let array = json!({"type": "array"});
    let obj = json!({"type": "object"});
    let paged = |key: &str| {
        object(
            json!({key: array.clone(), "has_more": {"type": "boolean"}, "next_cursor": text()}),
            &[key, "has_more"],
        )
    };
    match kind {
        Entities => object(json!({"entities": array}), &["entities"]),
        Describe => object(
            json!({"entity": text(), "native": text(), "fields": array, "links": array}),
            &["entity", "fields", "links"],
        ),
        Search => object(
            json!({"records": array, "total": {"type": "integer"}, "has_more": {"type": "boolean"}, "next_cursor": text(), "applied": obj}),
            &["records", "has_more", "applied"],
        ),
        Get => object(
            json!({"record": obj, "records": array, "missing": array}),
            &[],
        ),
        Related => paged("records"),
        Timeline => paged("items"),
        // the record, or (created: true, id_unknown) when the CRM did not report the id
        Create => object(
            json!({"record": obj, "created": {"type": "boolean"}, "id_unknown": obj}),
            &[],
        ),
        Update => object(json!({"record": obj, "diff": array}), &[]),
        Link | Unlink => object(json!({"ok": {"type": "boolean"}}), &["ok"]),
        Note => object(json!({"note": obj}), &["note"]),
        DraftEmail => object(json!({"draft": obj}), &["draft"]),
        Action => object(
            json!({"action": text(), "result": {}, "preview": obj, "confirm_token": text()}),
            &["action"],
        ),
        Delete => object(
            json!({"deleted": {"type": "boolean"}, "preview": obj, "confirm_token": text()}),
            &["deleted"],
        ),
        Query => object(
            json!({"columns": array, "rows": array, "truncated": {"type": "boolean"}}),
            &["columns", "rows"],
        ),
        Call => object(json!({"result": {}}), &["result"]),
    }
}
