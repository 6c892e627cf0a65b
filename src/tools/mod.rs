//! The tool surface, without any MCP types: which tools a deployment lists, and how a call
//! with JSON arguments becomes a gateway operation and comes back as structured JSON plus a
//! short text. The MCP server and `crmgate call` both go through [`call`].
//!
//! Errors never escape as protocol errors: every failure — bad arguments, a tier refusal, an
//! upstream outage — is an outcome with `is_error` and `structured.error`.

mod render;
mod specs;

pub use specs::{TOOLS, ToolKind, ToolSpec, find, input_schema, output_schema};

use crate::app::App;
use crmgate_core::gateway::*;
use crmgate_core::meta::{self, CallMeta};
use crmgate_core::{CallContext, Error, ErrorCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// The outcome of one tool call.
#[derive(Debug, Clone)]
pub struct ToolOutcome {
    /// structuredContent: the result, or `{error: {...}}`.
    pub structured: Value,
    /// A short human rendering.
    pub text: String,
    /// Whether it failed.
    pub is_error: bool,
    /// Accounting for `_meta`.
    pub meta: CallMeta,
}

/// Whether `spec` is listed (and callable) in this app: tier and backend features allow it.
pub fn is_listed(app: &App, spec: &ToolSpec) -> bool {
    let settings = app.gateway.settings();
    let tier_ok = settings.tier >= spec.tier;
    let configured = spec.kind != ToolKind::Call || !settings.raw_call_allow.is_empty();
    tier_ok && configured && (spec.available)(&app.gateway.backend().features())
}

/// The tools this app lists, in order.
pub fn list(app: &App) -> Vec<&'static ToolSpec> {
    TOOLS.iter().filter(|t| is_listed(app, t)).collect()
}

/// Whether the tool may destroy data in this app (crm_action only at the destructive tier).
pub fn destructive_hint(app: &App, spec: &ToolSpec) -> bool {
    match spec.kind {
        ToolKind::Action | ToolKind::Call => app.gateway.settings().tier == Tier::Destructive,
        _ => spec.destructive,
    }
}

/// Whether the tool only reads in this app (crm_call is read-only below the write tier).
pub fn read_only_hint(app: &App, spec: &ToolSpec) -> bool {
    match spec.kind {
        ToolKind::Call => app.gateway.settings().tier == Tier::Read,
        _ => spec.read_only,
    }
}

/// Call a tool by name with JSON arguments, acting for `cx`.
pub async fn call(app: &App, cx: &CallContext, name: &str, args: Value) -> ToolOutcome {
    let (result, meta) = meta::measure(async {
        if let Some(budget) = &app.budget {
            budget.take(cx.scope())?;
        }
        crate::isolate::tool_call(name, dispatch(app, cx, name, args)).await
    })
    .await;
    if let Some(metrics) = &app.metrics {
        let outcome = result.as_ref().map_or_else(|e| e.code.as_str(), |_| "ok");
        metrics.record_call(name, outcome, &meta);
    }
    match result {
        Ok((structured, text)) => ToolOutcome {
            structured,
            text,
            is_error: false,
            meta,
        },
        Err(error) => {
            tracing::debug!(tool = name, code = %error.code, "tool call refused");
            ToolOutcome {
                text: render::error(&error),
                structured: json!({ "error": error }),
                is_error: true,
                meta,
            }
        }
    }
}

async fn dispatch(
    app: &App,
    cx: &CallContext,
    name: &str,
    args: Value,
) -> Result<(Value, String), Error> {
    let Some(spec) = find(name) else {
        let names: Vec<&str> = list(app).iter().map(|t| t.name).collect();
        return Err(Error::new(
            ErrorCode::NotFound,
            format!("no tool named {name:?}"),
            format!("tools: {}", names.join(", ")),
        ));
    };
    if !is_listed(app, spec) {
        app.gateway.require_tier(spec.tier, spec.name)?;
        return Err(Error::not_allowed(
            format!(
                "{} is not available with this CRM or configuration",
                spec.name
            ),
            "crm_entities shows what this CRM supports",
        ));
    }
    let g = &app.gateway;
    match spec.kind {
        ToolKind::Entities => {
            let out = g.entities(cx).await?;
            done(&out, render::entities(&out))
        }
        ToolKind::Describe => {
            #[derive(serde::Deserialize)]
            #[serde(deny_unknown_fields)]
            struct DescribeArgs {
                entity: String,
            }
            let a: DescribeArgs = parse(spec, args)?;
            let out = g.describe(cx, &a.entity).await?;
            done(&*out, render::describe(&out))
        }
        ToolKind::Search => {
            let out = g.search(cx, parse(spec, args)?).await?;
            done(&out, render::search(&out))
        }
        ToolKind::Get => {
            let out = g.get(cx, parse(spec, args)?).await?;
            done(&out, render::get(&out))
        }
        ToolKind::Related => {
            let out = g.related(cx, parse(spec, args)?).await?;
            done(
                &out,
                render::records("related record", &out.records, out.has_more),
            )
        }
        ToolKind::Timeline => {
            let out = g.timeline(cx, parse(spec, args)?).await?;
            done(&out, render::timeline(&out))
        }
        ToolKind::Create => {
            let out = g.create(cx, parse(spec, args)?).await?;
            done(
                &out,
                format!("Created {}", render::record_line(&out.record)),
            )
        }
        ToolKind::Update => {
            let out = g.update(cx, parse(spec, args)?).await?;
            done(&out, render::update(&out))
        }
        ToolKind::Link => {
            let out = g.link(cx, parse(spec, args)?).await?;
            done(&out, "Linked.".into())
        }
        ToolKind::Unlink => {
            let out = g.unlink(cx, parse(spec, args)?).await?;
            done(&out, "Unlinked.".into())
        }
        ToolKind::Note => {
            let out = g.note(cx, parse(spec, args)?).await?;
            done(
                &out,
                format!("Note added: {}", render::record_line(&out.note)),
            )
        }
        ToolKind::DraftEmail => {
            let out = g.draft_email(cx, parse(spec, args)?).await?;
            done(
                &out,
                format!(
                    "Draft filed (not sent): {}",
                    render::record_line(&out.draft)
                ),
            )
        }
        ToolKind::Action => {
            let out = g.action(cx, parse(spec, args)?).await?;
            done(&out, render::action(&out))
        }
        ToolKind::Delete => {
            let out = g.delete(cx, parse(spec, args)?).await?;
            done(&out, render::delete(&out))
        }
        ToolKind::Query => {
            let out = g.sql(cx, parse(spec, args)?).await?;
            done(
                &out,
                format!(
                    "{} rows{}",
                    out.rows.len(),
                    if out.truncated { " (truncated)" } else { "" }
                ),
            )
        }
        ToolKind::Call => {
            let out = g.raw_call(cx, parse(spec, args)?).await?;
            done(&out, "Vendor call done.".into())
        }
    }
}

fn done<T: Serialize + ?Sized>(out: &T, text: String) -> Result<(Value, String), Error> {
    let value = serde_json::to_value(out)
        .map_err(|e| Error::upstream_protocol(format!("result could not be serialised: {e}")))?;
    Ok((value, text))
}

/// Parse arguments into the operation's type; a mismatch is a `VALIDATION` error naming the
/// problem (serde's message names the field and the expected type).
fn parse<T: DeserializeOwned>(spec: &ToolSpec, args: Value) -> Result<T, Error> {
    let args = if args.is_null() { json!({}) } else { args };
    if !args.is_object() {
        return Err(Error::validation(
            format!("{} arguments must be a JSON object", spec.name),
            "pass named arguments, e.g. {\"entity\": \"contacts\"}",
        ));
    }
    serde_json::from_value(args).map_err(|e| {
        Error::validation(
            format!("invalid arguments for {}: {e}", spec.name),
            format!(
                "check the argument names and types against the input schema of {}",
                spec.name
            ),
        )
    })
}
