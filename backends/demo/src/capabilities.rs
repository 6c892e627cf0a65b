//! What can be done with each entity: operations, filter operators, totals, delete kind and
//! record actions (with their parameters), as reported by `entities()`.

use crate::kind::{DEAL_STAGES, Kind};
use crmgate_core::model::{ActionInfo, ActionParam, DeleteKind, EntityInfo, Operation, TotalKind};
use crmgate_core::schema::{EntitySchema, EnumOption, FieldType as T};
use std::collections::BTreeSet;

/// Deal stages as enum options.
pub(crate) fn stage_options() -> Vec<EnumOption> {
    DEAL_STAGES
        .iter()
        .map(|(v, l, _)| EnumOption::new(*v, *l))
        .collect()
}

fn operations(kind: Kind) -> BTreeSet<Operation> {
    use Operation::*;
    let ops: &[Operation] = match kind {
        Kind::Companies | Kind::Contacts => &[
            Search, Get, Related, Timeline, Create, Update, Delete, Link, Note, DraftEmail,
        ],
        Kind::Leads | Kind::Deals => &[
            Search, Get, Related, Timeline, Create, Update, Delete, Link, Note, DraftEmail, Action,
        ],
        Kind::Tasks => &[Search, Get, Related, Create, Update, Delete, Link, Action],
        Kind::Notes => &[Search, Get, Related, Create, Update, Delete, Link],
        Kind::Users => &[Search, Get, Related],
        Kind::Emails => &[Search, Get, Related, Delete],
    };
    ops.iter().copied().collect()
}

fn param(
    name: &str,
    description: &str,
    param_type: T,
    required: bool,
    options: Vec<EnumOption>,
) -> ActionParam {
    ActionParam {
        name: name.into(),
        description: description.into(),
        param_type,
        required,
        options,
    }
}

fn action(
    name: &str,
    description: &str,
    destructive: bool,
    params: Vec<ActionParam>,
) -> ActionInfo {
    ActionInfo {
        name: name.into(),
        description: description.into(),
        destructive,
        params,
    }
}

fn actions(kind: Kind) -> Vec<ActionInfo> {
    match kind {
        Kind::Leads => vec![action(
            "convert",
            "Convert the lead: creates a contact, a company when company_name is new (an existing \
             company of that name is reused), optionally a deal; marks the lead converted and \
             returns the ids created",
            false,
            vec![
                param(
                    "create_deal",
                    "also create a deal for the new contact",
                    T::Boolean,
                    false,
                    vec![],
                ),
                param(
                    "deal_name",
                    "name of that deal (default: from the lead)",
                    T::Text,
                    false,
                    vec![],
                ),
                param(
                    "deal_amount",
                    "amount of that deal",
                    T::Money,
                    false,
                    vec![],
                ),
            ],
        )],
        Kind::Deals => vec![
            action(
                "move_stage",
                "Move the deal to another pipeline stage; sets the stage's default probability \
                 and records the change on the deal's timeline",
                false,
                vec![
                    param(
                        "stage",
                        "the stage to move to",
                        T::Enum,
                        true,
                        stage_options(),
                    ),
                    param(
                        "reason",
                        "why, recorded on the timeline",
                        T::Text,
                        false,
                        vec![],
                    ),
                ],
            ),
            action(
                "send_quote",
                "Emails the quote for this deal to the customer (`to`, or the deal's primary \
                 contact) and records it on the timeline",
                true,
                vec![
                    param(
                        "to",
                        "recipient (default: the primary contact)",
                        T::Email,
                        false,
                        vec![],
                    ),
                    param("message", "a cover message", T::Text, false, vec![]),
                ],
            ),
        ],
        Kind::Tasks => vec![action(
            "complete",
            "Mark the task completed (idempotent); the completion is recorded on the timeline of \
             the records the task is attached to",
            false,
            vec![param(
                "outcome",
                "what came of the task",
                T::Text,
                false,
                vec![],
            )],
        )],
        _ => vec![],
    }
}

/// The entity info of a kind: its filter operators are the union of its fields' (the demo
/// runs every operator that makes sense for a field's type), its key the kind's index.
pub(crate) fn info(kind: Kind, schema: &EntitySchema) -> EntityInfo {
    let mut notes = Vec::new();
    if kind == Kind::Deals {
        notes.push("currency is set when a deal is created and cannot be changed".to_owned());
    }
    EntityInfo {
        name: kind.name().into(),
        native: kind.native().into(),
        label: kind.label().into(),
        operations: operations(kind),
        filter_ops: schema.filter_ops_union(),
        total: TotalKind::Exact,
        delete: DeleteKind::Hard,
        actions: actions(kind),
        notes,
        denied: Vec::new(),
        key: kind.index() as u64,
    }
}
