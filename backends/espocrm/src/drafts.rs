//! Filing email drafts: the From address (`email_from`, else the API user's own address — a
//! non-admin may only send as an address it owns), the template named by id or by name and
//! filled by `POST EmailTemplate/{id}/prepare` for the draft's record, and the `POST Email`
//! with `status: "Draft"` ([`crate::email`] builds it; never `Sending`).

use crate::backend::EspoBackend;
use crate::client::Call;
use crate::email;
use crate::errors::Op;
use crate::list::{self, ListQuery};
use crate::map::{self, segment};
use crmgate_core::model::{EmailDraft, EntityInfo, Record};
use crmgate_core::{CallContext, Error, ErrorCode, Result};
use reqwest::Method;
use serde_json::{Value, json};

/// File the draft.
pub(crate) async fn draft(
    backend: &EspoBackend,
    cx: &CallContext,
    draft: &EmailDraft,
) -> Result<Record> {
    let from = sender(backend, cx).await?;
    let parent = draft
        .parent
        .as_ref()
        .map(|(e, id)| (e.native.as_str(), id.as_str()));
    let prepared = match &draft.template {
        Some(name) => {
            let first = draft.to.first().map(String::as_str).unwrap_or_default();
            Some(template(backend, cx, name.trim(), parent, first).await?)
        }
        None => None,
    };
    let body = email::draft_body(
        &from,
        &draft.to,
        &draft.subject,
        &draft.body,
        parent,
        prepared.as_ref(),
    );
    let emails = crate::actions::emails_entity();
    let response = backend
        .client
        .expect(
            cx,
            Call::new(Method::POST, "/Email").json(body),
            backend.ctx(cx, Op::DraftEmail, &emails, None),
        )
        .await?;
    map::record_from_body(backend.client.site(), "Email", &response.body)
}

/// The configured or the user's own From address.
async fn sender(backend: &EspoBackend, cx: &CallContext) -> Result<String> {
    // email_from belongs to the configured identity: never used for a hosted caller
    if let Some(from) = &backend.client.config().email_from
        && matches!(cx.identity(), crmgate_core::Identity::Configured)
    {
        return Ok(from.clone());
    }
    let access = backend.meta.access(cx).await?;
    access.user_email.clone().ok_or_else(|| {
        Error::not_allowed(
            "EspoCRM needs a From address for drafts, and the API user has no email address",
            "give the API user an email address in EspoCRM (Administration → API Users), or set email_from in the crmgate config to an address it may use",
        )
    })
}

async fn template(
    backend: &EspoBackend,
    cx: &CallContext,
    name: &str,
    parent: Option<(&str, &str)>,
    to: &str,
) -> Result<email::Prepared> {
    let templates = EntityInfo {
        name: "email_templates".into(),
        native: "EmailTemplate".into(),
        label: "Email Template".into(),
        operations: Default::default(),
        filter_ops: Vec::new(),
        total: crmgate_core::model::TotalKind::Exact,
        delete: crmgate_core::model::DeleteKind::Soft,
        actions: Vec::new(),
        notes: Vec::new(),
        denied: Vec::new(),
        key: u64::MAX,
    };
    let id = if email::looks_like_id(name) {
        name.to_owned()
    } else {
        let query = ListQuery {
            where_items: vec![json!({"type": "equals", "attribute": "name", "value": name})],
            select: Some(vec!["id".into(), "name".into()]),
            ..Default::default()
        };
        let found = list::fetch(
            &backend.client,
            cx,
            "/EmailTemplate",
            &query,
            0,
            2,
            false,
            backend.ctx(cx, Op::Search, &templates, None),
        )
        .await?;
        match found.list.as_slice() {
            [one] => one
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            [] => {
                return Err(Error::new(
                    ErrorCode::NotFound,
                    format!("no email template named {name:?}"),
                    "crm_search on email_templates lists the templates; pass the name or id",
                ));
            }
            _ => {
                return Err(Error::validation(
                    format!("several email templates are named {name:?}"),
                    "pass the template's id instead (crm_search on email_templates)",
                ));
            }
        }
    };
    let mut body = serde_json::Map::new();
    if let Some((kind, pid)) = parent {
        body.insert("parentType".into(), json!(kind));
        body.insert("parentId".into(), json!(pid));
    }
    body.insert("emailAddress".into(), json!(to));
    crate::ids::check(&id, "template id")?;
    let call = Call::new(
        Method::POST,
        format!("/EmailTemplate/{}/prepare", segment(&id)),
    )
    .json(Value::Object(body))
    .idempotent(true);
    let response = backend
        .client
        .expect(
            cx,
            call,
            backend.ctx(cx, Op::Template, &templates, Some(&id)),
        )
        .await?;
    Ok(email::prepared(&map::parse_json(&response.body)?))
}
