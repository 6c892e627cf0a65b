//! The tool surface, without any MCP types: which tools a deployment lists, and how a call
//! with JSON arguments becomes a gateway operation and comes back as structured JSON plus a
//! short text. The MCP server and `crmgate call` both go through [`call`].
//!
//! Errors never escape as protocol errors: every failure — bad arguments, a tier refusal, an
//! upstream outage — is an outcome with `is_error` and `structured.error`.
//!
//! Strict-mode clients send every argument; an optional one they have nothing for arrives as
//! `null`, `""` or `[]`, which means "absent" here (top-level arguments only: inside `data`, an
//! empty string is a value).

mod journal_text;
mod portable;
mod render;
mod schema;
mod specs;

pub use portable::{lint_input, lint_output, to_strict, tool_name_ok};
pub use render::{BEGIN as CRM_DATA_BEGIN, END as CRM_DATA_END};
pub use schema::{Facts, delete_kind};
pub use specs::{TOOLS, ToolKind, ToolSpec, find, input_schema, output_schema};

use crate::app::App;
use async_trait::async_trait;
use crmgate_core::gateway::*;
use crmgate_core::meta::{self, CallMeta, NoticeSink};
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

/// The figures of this deployment that tool descriptions state.
pub fn facts(app: &App) -> Facts {
    let settings = app.gateway.settings();
    Facts {
        default_limit: settings.default_limit,
        limit_cap: settings.limit_cap,
        max_get_ids: settings.max_get_ids,
        delete: delete_kind(app.gateway.backend().kind()),
        tier: settings.tier,
    }
}

/// The description of a tool as this deployment lists it.
pub fn description(app: &App, spec: &ToolSpec) -> String {
    facts(app).fill(spec.description)
}

/// What the client on the other end offers beyond plain calls (over MCP: elicitation and log
/// messages). The CLI and hosted mode offer nothing: [`NoHost`].
#[async_trait]
pub trait Host: Send + Sync {
    /// Ask the human whether to go ahead with a destructive step described by `question`.
    /// `None` when this host cannot ask (then the confirm-token flow applies).
    async fn confirm(&self, question: String) -> Option<Confirmation>;
    /// Where the notices of a call go (rate-limit waits, retries), if anywhere.
    fn notices(&self) -> Option<NoticeSink>;
    /// Where a bulk change reports progress and learns of a cancellation (over MCP:
    /// `notifications/progress` when the client sent a progressToken, and the request's
    /// cancellation).
    fn bulk_watch(&self) -> &dyn BulkWatch {
        &Unwatched
    }
}

/// The human's answer to [`Host::confirm`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmation {
    /// Go ahead.
    Accepted,
    /// No.
    Declined,
    /// Dismissed without an answer.
    Cancelled,
}

/// A host that can neither ask nor show notices.
pub struct NoHost;

#[async_trait]
impl Host for NoHost {
    async fn confirm(&self, _question: String) -> Option<Confirmation> {
        None
    }
    fn notices(&self) -> Option<NoticeSink> {
        None
    }
}

/// Whether `spec` is listed (and callable) in this app: tier and backend features allow it.
pub fn is_listed(app: &App, spec: &ToolSpec) -> bool {
    let settings = app.gateway.settings();
    let tier_ok = settings.tier >= spec.tier;
    let configured = match spec.kind {
        ToolKind::Call => !settings.raw_call_allow.is_empty(),
        ToolKind::History | ToolKind::Undo => app.gateway.journal().is_some(),
        _ => true,
    };
    tier_ok && configured && (spec.available)(&app.gateway.backend().features())
}

/// The tools this app lists, in order.
pub fn list(app: &App) -> Vec<&'static ToolSpec> {
    TOOLS.iter().filter(|t| is_listed(app, t)).collect()
}

/// Whether the tool may destroy data in this app (crm_action only at the destructive tier).
pub fn destructive_hint(app: &App, spec: &ToolSpec) -> bool {
    match spec.kind {
        ToolKind::Action | ToolKind::Call | ToolKind::Undo => {
            app.gateway.settings().tier == Tier::Destructive
        }
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
    call_with(app, cx, name, args, &NoHost).await
}

/// [`call`], through a host that may ask the human to confirm and show notices.
pub async fn call_with(
    app: &App,
    cx: &CallContext,
    name: &str,
    args: Value,
    host: &dyn Host,
) -> ToolOutcome {
    let (result, meta) = meta::measure_with(host.notices(), async {
        if let Some(budget) = &app.budget {
            // boxed: a step on Redis is a large future, and most calls never take it
            Box::pin(budget.take(cx.scope())).await?;
        }
        crate::isolate::tool_call(name, dispatch(app, cx, name, args, host)).await
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

/// Each gateway operation's future is boxed: inline, the largest (bulk, undo) would size every
/// call's future, and moving it (rmcp spawns each request) would copy it whole.
async fn dispatch(
    app: &App,
    cx: &CallContext,
    name: &str,
    args: Value,
    host: &dyn Host,
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
            let _: EntitiesArgs = parse(spec, args)?;
            let out = Box::pin(g.entities(cx)).await?;
            done(&out, render::entities(&out))
        }
        ToolKind::Describe => {
            let a: DescribeArgs = parse(spec, args)?;
            let out = Box::pin(g.describe(cx, &a.entity)).await?;
            done(&*out, render::describe(&out))
        }
        ToolKind::Search => {
            let out = Box::pin(g.search(cx, parse(spec, args)?)).await?;
            done(&out, render::search(&out))
        }
        ToolKind::Get => {
            let out = Box::pin(g.get(cx, parse(spec, args)?)).await?;
            done(&out, render::get(&out))
        }
        ToolKind::Related => {
            let out = Box::pin(g.related(cx, parse(spec, args)?)).await?;
            done(&out, render::related(&out))
        }
        ToolKind::Timeline => {
            let out = Box::pin(g.timeline(cx, parse(spec, args)?)).await?;
            done(&out, render::timeline(&out))
        }
        ToolKind::Create => {
            let out = Box::pin(g.create(cx, parse(spec, args)?)).await?;
            done(&out, render::create(&out))
        }
        ToolKind::Update => {
            let a: UpdateToolArgs = parse(spec, args)?;
            match (a.id, a.ids) {
                (Some(id), None) => {
                    let (entity, data, preview) = (a.entity, a.data, a.preview);
                    let args = UpdateArgs {
                        entity,
                        id,
                        data,
                        preview,
                    };
                    let out = Box::pin(g.update(cx, args)).await?;
                    done(&out, render::update(&out))
                }
                (None, Some(ids)) => {
                    let token = a.confirm_token.filter(|_| !a.preview);
                    let args = BulkArgs {
                        entity: a.entity,
                        ids,
                        data: a.data,
                        confirm_token: token,
                    };
                    let out = Box::pin(g.update_many(cx, args, host.bulk_watch())).await?;
                    done(&out, journal_text::bulk(&out, "crm_update"))
                }
                _ => Err(one_or_many("crm_update")),
            }
        }
        ToolKind::Link => {
            let out = Box::pin(g.link(cx, parse(spec, args)?)).await?;
            done(&out, "Linked.".into())
        }
        ToolKind::Unlink => {
            let out = Box::pin(g.unlink(cx, parse(spec, args)?)).await?;
            done(&out, "Unlinked.".into())
        }
        ToolKind::Note => {
            let out = Box::pin(g.note(cx, parse(spec, args)?)).await?;
            done(&out, render::one("Note added:", &out.note))
        }
        ToolKind::DraftEmail => {
            let out = Box::pin(g.draft_email(cx, parse(spec, args)?)).await?;
            done(&out, render::one("Draft filed, not sent:", &out.draft))
        }
        ToolKind::Action => {
            let args: ActionArgs = parse(spec, args)?;
            let out = Box::pin(g.action(cx, args.clone())).await?;
            if let ActionOutput::Preview { confirm_token, .. } = &out {
                let question = render::ask_action(&out);
                let what = format!("{} on {} {}", args.action, args.entity, args.id);
                if ask(host, question, &what).await? {
                    let token = Some(confirm_token.clone());
                    let args = ActionArgs {
                        confirm_token: token,
                        ..args
                    };
                    let out = Box::pin(g.action(cx, args)).await?;
                    return done(
                        &out,
                        format!("{} (confirmed by the user)", render::action(&out)),
                    );
                }
            }
            done(&out, render::action(&out))
        }
        ToolKind::Delete => {
            let a: DeleteToolArgs = parse(spec, args)?;
            let (entity, confirm_token) = (a.entity, a.confirm_token);
            let id = match (a.id, a.ids) {
                (Some(id), None) => id,
                (None, Some(ids)) => {
                    let args = BulkArgs {
                        entity,
                        ids,
                        data: Default::default(),
                        confirm_token,
                    };
                    return bulk_delete(app, cx, args, host).await;
                }
                _ => return Err(one_or_many("crm_delete")),
            };
            let args = DeleteArgs {
                entity,
                id,
                confirm_token,
            };
            let out = Box::pin(g.delete(cx, args.clone())).await?;
            if let DeleteOutput::Preview { confirm_token, .. } = &out {
                let question = render::ask_delete(&args.entity, &out);
                let what = format!("deleting {} {}", args.entity, args.id);
                if ask(host, question, &what).await? {
                    let token = Some(confirm_token.clone());
                    let args = DeleteArgs {
                        confirm_token: token,
                        ..args
                    };
                    let out = Box::pin(g.delete(cx, args)).await?;
                    return done(
                        &out,
                        format!("{} (confirmed by the user)", render::delete(&out)),
                    );
                }
            }
            done(&out, render::delete(&out))
        }
        ToolKind::Query => {
            let out = Box::pin(g.sql(cx, parse(spec, args)?)).await?;
            done(&out, render::query(&out))
        }
        ToolKind::Call => {
            let out = Box::pin(g.raw_call(cx, parse(spec, args)?)).await?;
            done(&out, render::call(&out))
        }
        ToolKind::History => {
            let out = Box::pin(g.history(cx, parse(spec, args)?)).await?;
            done(&out, journal_text::history(&out))
        }
        ToolKind::Undo => {
            let out = Box::pin(g.undo(cx, parse(spec, args)?)).await?;
            done(&out, journal_text::undo(&out))
        }
    }
}

/// `VALIDATION` for a call with both `id` and `ids`, or neither.
fn one_or_many(tool: &str) -> Error {
    Error::validation(
        format!("{tool} takes id, or ids for a bulk change (one of them)"),
        "pass id for one record, or ids (a list) for several",
    )
}

/// Bulk crm_delete: the preview (asking the human where the host can), then the deletes.
async fn bulk_delete(
    app: &App,
    cx: &CallContext,
    args: BulkArgs,
    host: &dyn Host,
) -> Result<(Value, String), Error> {
    let g = &app.gateway;
    let out = Box::pin(g.delete_many(cx, args.clone(), host.bulk_watch())).await?;
    if let Some(token) = &out.confirm_token {
        let question = journal_text::bulk(&out, "crm_delete");
        let what = format!("deleting {} {} records", out.records.len(), args.entity);
        if ask(host, question, &what).await? {
            let args = BulkArgs {
                confirm_token: Some(token.clone()),
                ..args
            };
            let out = Box::pin(g.delete_many(cx, args, host.bulk_watch())).await?;
            let text = journal_text::bulk(&out, "crm_delete");
            return done(&out, format!("{text} (confirmed by the user)"));
        }
    }
    done(&out, journal_text::bulk(&out, "crm_delete"))
}

/// Ask the human through `host` about a destructive step previewed in `question`. `Ok(true)`:
/// they agreed; `Ok(false)`: this host cannot ask (the token flow applies); an error: they said
/// no or dismissed it, and nothing is done.
async fn ask(host: &dyn Host, question: String, what: &str) -> Result<bool, Error> {
    match host.confirm(question).await {
        None => Ok(false),
        Some(Confirmation::Accepted) => Ok(true),
        Some(answer) => {
            let how = if answer == Confirmation::Declined {
                "declined"
            } else {
                "dismissed"
            };
            Err(Error::not_allowed(
                format!("the user {how} {what} when asked; nothing was done"),
                "do not try again unless the user asks for it",
            ))
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
    let args = match args {
        Value::Null => json!({}),
        Value::Object(mut map) => {
            // the names come from the tool schemas, built once when first needed
            if map.values().any(is_empty) {
                let known = argument_names(spec);
                map.retain(|k, v| !(is_empty(v) && known.contains(k)));
            }
            Value::Object(map)
        }
        _ => {
            return Err(Error::validation(
                format!("{} arguments must be a JSON object", spec.name),
                "pass named arguments, e.g. {\"entity\": \"contacts\"}",
            ));
        }
    };
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

/// The argument names a tool declares (an unknown name is refused even when empty).
fn argument_names(spec: &ToolSpec) -> &'static [String] {
    static NAMES: std::sync::OnceLock<Vec<Vec<String>>> = std::sync::OnceLock::new();
    let all = NAMES.get_or_init(|| {
        TOOLS
            .iter()
            .map(|t| {
                let schema = input_schema(t.kind, &Facts::placeholder());
                schema["properties"]
                    .as_object()
                    .map(|p| p.keys().cloned().collect())
                    .unwrap_or_default()
            })
            .collect()
    });
    TOOLS
        .iter()
        .position(|t| std::ptr::eq(t, spec))
        .map_or(&[], |i| &all[i])
}

/// `null`, `""`, `[]`: what a strict-mode client sends for an argument it has no value for.
fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}
