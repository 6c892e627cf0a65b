//! EspoCRM error answers → crmgate errors. Pure: a response and what was being done in, one
//! [`Error`] with a stable code and an actionable suggestion out.
//!
//! EspoCRM says what went wrong mostly in the `X-Status-Reason` header, rarely in the body
//! (recorded on 9.1.7): validation failures name field and rule; 409 `duplicate` carries the
//! matching records; 403 names the missing access; auth failures are a bare 401. A 403 with
//! *no* `X-Status-Reason` and an HTML body is the failed-login lockout (too many bad
//! credentials from this address in 60 s), which blocks valid keys too: it becomes
//! `RATE_LIMITED` with a 60 s wait, since retrying at once only extends it.

use crate::map;
use crmgate_core::schema::{EntitySchema, FieldType};
use crmgate_core::upstream::UpstreamResponse;
use crmgate_core::{Error, ErrorCode};
use serde_json::{Value, json};

/// What a request was doing, for the wording of its error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Reading entity types, metadata or the current user.
    Metadata,
    /// Listing or searching.
    Search,
    /// Reading one record.
    Read,
    /// Creating.
    Create,
    /// Updating.
    Update,
    /// Deleting.
    Delete,
    /// Listing related records.
    Related,
    /// Adding an association.
    Link,
    /// Removing an association.
    Unlink,
    /// Reading the stream.
    Stream,
    /// Posting a note.
    Note,
    /// Filing an email draft.
    DraftEmail,
    /// Filling an email template.
    Template,
    /// Reordering a kanban column.
    Kanban,
    /// Restoring a soft-deleted record (`action/restoreDeleted`).
    Restore,
}

impl Op {
    fn acl_action(self) -> &'static str {
        match self {
            Op::Create | Op::DraftEmail | Op::Note => "create",
            Op::Update | Op::Link | Op::Unlink | Op::Kanban | Op::Restore => "edit",
            Op::Delete => "delete",
            Op::Stream => "stream",
            _ => "read",
        }
    }
}

/// The request an error answered.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    /// What it was doing.
    pub op: Op,
    /// Canonical entity name (`contacts`).
    pub entity: &'a str,
    /// Native entity type (`Contact`).
    pub native: &'a str,
    /// The record, if one.
    pub id: Option<&'a str>,
    /// The link, if one.
    pub link: Option<&'a str>,
    /// How the caller signs in: `api_key`, `hmac`, `basic` or `bearer`.
    pub auth: &'a str,
    /// Site URL, for the deep links of duplicates.
    pub site: &'a str,
    /// The entity's schema, when the caller has it (field types word validation failures).
    pub schema: Option<&'a EntitySchema>,
    /// The `versionNumber` an update sent (`X-Version-Number`).
    pub version: Option<i64>,
}

/// `X-Status-Reason`, if the header was sent (possibly empty).
fn reason(response: &UpstreamResponse) -> Option<&str> {
    response.header_str("x-status-reason").map(str::trim)
}

fn is_html(response: &UpstreamResponse) -> bool {
    response
        .header_str("content-type")
        .is_some_and(|ct| ct.starts_with("text/html"))
}

/// `messageTranslation` of an error body: `(label, data)`.
fn translation(response: &UpstreamResponse) -> Option<(String, Value)> {
    let body: Value = serde_json::from_slice(&response.body).ok()?;
    let t = body.get("messageTranslation")?;
    Some((
        t.get("label")?.as_str()?.to_owned(),
        t.get("data").cloned().unwrap_or(Value::Null),
    ))
}

/// Parse `Field validation failure; entityType: X, field: f, type: t.` into `(f, t)`.
pub fn validation_reason(reason: &str) -> Option<(String, String)> {
    let rest = reason.strip_prefix("Field validation failure;")?;
    let part = |key: &str| {
        rest.split([',', ';'])
            .map(str::trim)
            .find_map(|p| p.strip_prefix(key))
            .map(|v| v.trim().trim_end_matches('.').to_owned())
    };
    Some((part("field:")?, part("type:")?))
}

/// What EspoCRM 9 accepts as a phone number (`phoneNumberInternational`, on by default).
const PHONE_FORMAT: &str = "give it in international form: + and the country code, then the \
    number, e.g. +1 212 555 0100 or +44 20 7946 0958 (spaces, dashes, dots and parentheses are \
    fine; EspoCRM stores +12125550100); a number without the + and country code is refused \
    unless the EspoCRM administrator turned international phone numbers off, and an extension \
    only when phone extensions are on";

fn rule_words(rule: &str) -> (&'static str, &'static str) {
    match rule {
        "required" => ("is required", "give it a value"),
        "valid" => (
            "is not one of the allowed values",
            "use one of the values crm_describe lists for it",
        ),
        "maxLength" => ("is too long", "shorten it (crm_describe gives max_length)"),
        "emailAddress" => (
            "is not a valid email address",
            "give an address like name@example.com",
        ),
        "phoneNumber" => (
            "is not a valid phone number",
            "give a number like +15550100",
        ),
        "min" => ("is below the minimum", "give a larger value"),
        "max" => ("is above the maximum", "give a smaller value"),
        "pattern" => (
            "contains characters this field does not accept",
            "remove special characters",
        ),
        "noEmptyString" => ("cannot be an empty string", "give it a value"),
        _ => ("was refused", "check the value against crm_describe"),
    }
}

fn auth_suggestion(auth: &str) -> &'static str {
    match auth {
        "bearer" => {
            "send an EspoCRM API key as the bearer token (Administration → API Users → the user's API Key); it may have been regenerated or the user deactivated"
        }
        "hmac" => {
            "check api_key and hmac_secret of the EspoCRM API user (authentication method HMAC); the secret is shown once when the user is created — regenerate it if lost"
        }
        "basic" => {
            "check username and password (or the auth token) in the config; users with two-factor authentication cannot sign in this way — use an API user instead"
        }
        _ => {
            "check the api_key of the EspoCRM API user (Administration → API Users); it may have been regenerated or the user deactivated"
        }
    }
}

/// Map an EspoCRM error answer to a crmgate error.
pub fn map_error(response: &UpstreamResponse, cx: &Ctx<'_>) -> Error {
    let status = response.status.as_u16();
    let reason = reason(response);
    let said = reason.filter(|r| !r.is_empty());
    let with_reason = |base: String| match said {
        Some(r) => format!("{base}: EspoCRM says \"{r}\""),
        None => base,
    };
    match status {
        401 => {
            let message = if said == Some("second-step-required") {
                "EspoCRM asks for a second authentication factor, which an API client cannot give"
                    .to_owned()
            } else {
                "EspoCRM refused the credentials (HTTP 401)".to_owned()
            };
            Error::new(ErrorCode::AuthFailed, message, auth_suggestion(cx.auth))
        }
        400 if said.is_some_and(|r| r.starts_with("Auth:")) => Error::new(
            ErrorCode::AuthFailed,
            with_reason("EspoCRM could not read the credentials".into()),
            auth_suggestion(cx.auth),
        ),
        403 if reason.is_none() && is_html(response) => Error::new(
            ErrorCode::RateLimited,
            "EspoCRM is refusing this address after too many failed logins (its lockout blocks valid credentials too)",
            "wait at least 60 seconds before any new request — each refused request extends the lockout — and check the configured credentials",
        )
        .with_retry_after(60),
        403 if cx.op == Op::Restore => restore_refused(cx, said),
        403 => permission_denied(response, cx, said),
        // restoreDeleted's 404 says nothing (`new NotFound()`)
        404 if cx.op == Op::Restore && reason.is_some() => Error::new(
            ErrorCode::NotFound,
            format!(
                "EspoCRM has no {} record {:?}, deleted or not: it may have been purged",
                cx.entity,
                cx.id.unwrap_or_default()
            ),
            "a record EspoCRM removed for good cannot be restored; create it again",
        ),
        // EspoCRM always says why it answers 404; a bare 404 comes from something else
        404 if reason.is_none() => wrong_url(cx),
        404 => not_found(cx, said),
        400 => validation(response, cx, said),
        409 if said == Some("duplicate") => duplicate(response, cx),
        409 if said == Some("modified") => modified(response, cx),
        409 => Error::new(
            ErrorCode::Conflict,
            with_reason(format!("{} changed or is locked", record_words(cx))),
            "read the record again with crm_get and retry with its current state",
        ),
        _ => {
            let mut error = response.generic_error();
            if let Some(r) = said {
                error.message = format!("{}: EspoCRM says \"{r}\"", error.message);
            }
            error
        }
    }
}

/// `CONFIG`: the configured address answers, but not as EspoCRM's API does.
pub fn wrong_url(cx: &Ctx<'_>) -> Error {
    Error::config(format!(
        "{}/api/v1 does not answer like EspoCRM's API (HTTP 404 without EspoCRM's \
         X-Status-Reason): the configured url is probably not the EspoCRM site",
        cx.site
    ))
    .with_suggestion(
        "check url in the crmgate config: it is the address you open EspoCRM at, e.g. \
         https://crm.example.com (crmgate adds /api/v1)",
    )
}

/// A failed answer (5xx, or a 429 after retries) the upstream layer handed back, with
/// EspoCRM's `X-Status-Reason` added to the message when it gave one.
pub fn failed_answer(failure: crmgate_core::upstream::UpstreamError) -> Error {
    let said = failure
        .answer
        .as_ref()
        .and_then(reason)
        .filter(|r| !r.is_empty())
        .map(str::to_owned);
    let mut error = failure.error;
    if let Some(r) = said {
        error.message = format!("{}: EspoCRM says \"{r}\"", error.message);
    }
    error
}

fn record_words(cx: &Ctx<'_>) -> String {
    match cx.id {
        Some(id) => format!("{} record {id:?}", cx.entity),
        None => format!("the {} record", cx.entity),
    }
}

fn permission_denied(response: &UpstreamResponse, cx: &Ctx<'_>, said: Option<&str>) -> Error {
    if let Some((label, data)) = translation(response)
        && label == "cannotRelateForbidden"
    {
        let foreign = data
            .get("foreignEntityType")
            .and_then(Value::as_str)
            .unwrap_or("the linked entity");
        return Error::new(
            ErrorCode::PermissionDenied,
            format!(
                "EspoCRM refused to link {} to a {foreign} record the API user may not read{}",
                cx.entity,
                said.map(|r| format!(" (\"{r}\")")).unwrap_or_default()
            ),
            format!(
                "ask an EspoCRM administrator to give the API user's role read access to {foreign}, or use a {foreign} the user can read (an API user may always assign records to itself)"
            ),
        )
        .with_details(json!({"foreign_entity": foreign}));
    }
    if said == Some("Not allowed 'from' address.") {
        return Error::new(
            ErrorCode::PermissionDenied,
            "EspoCRM refused the draft's From address: the API user does not own it",
            "set email_from in the crmgate config to an address of the API user (its User record, a personal email account, or a group account it may use)",
        );
    }
    if said.is_some_and(|r| r.starts_with("Max size")) {
        return Error::validation(
            format!(
                "EspoCRM refused the page size: \"{}\"",
                said.unwrap_or_default()
            ),
            "ask for at most 200 records per request",
        );
    }
    let action = cx.op.acl_action();
    Error::new(
        ErrorCode::PermissionDenied,
        match said {
            Some(r) => format!(
                "the EspoCRM user may not {action} {}: EspoCRM says \"{r}\"",
                record_or_entity(cx)
            ),
            None => format!("the EspoCRM user may not {action} {}", record_or_entity(cx)),
        },
        format!(
            "ask an EspoCRM administrator to grant the API user's role \"{action}\" on {} (Administration → Roles); records owned by others need the level \"all\" or \"team\"",
            cx.native
        ),
    )
}

fn record_or_entity(cx: &Ctx<'_>) -> String {
    match (cx.id, cx.link) {
        (Some(id), Some(link)) => format!("{}.{link} of {id:?}", cx.entity),
        (Some(id), None) => format!("{} record {id:?}", cx.entity),
        _ => cx.entity.to_owned(),
    }
}

fn not_found(cx: &Ctx<'_>, said: Option<&str>) -> Error {
    if let Some(r) = said {
        if r.starts_with("Controller ") {
            return Error::new(
                ErrorCode::NotFound,
                format!("EspoCRM has no entity type {:?}", cx.native),
                "crm_entities lists the entity types this user can reach",
            );
        }
        if r == "Link does not exist." || r.contains("does not have link") {
            return Error::new(
                ErrorCode::NotFound,
                format!(
                    "{} has no link {:?} in EspoCRM",
                    cx.entity,
                    cx.link.unwrap_or_default()
                ),
                format!("crm_describe {} lists its links", cx.entity),
            );
        }
    }
    match (cx.op, cx.id) {
        (Op::Link | Op::Unlink, Some(id)) => Error::new(
            ErrorCode::NotFound,
            format!(
                "{} record {id:?} or the record to {} does not exist",
                cx.entity,
                if cx.op == Op::Link { "link" } else { "unlink" }
            ),
            "check both ids with crm_get",
        ),
        (Op::Template, _) => Error::new(
            ErrorCode::NotFound,
            "the email template does not exist",
            "find templates with crm_search on email_templates, or leave template out",
        ),
        (_, Some(id)) => Error::not_found(cx.entity, id),
        _ => Error::new(
            ErrorCode::NotFound,
            match said {
                Some(r) => format!("EspoCRM found nothing: \"{r}\""),
                None => "EspoCRM found no such record or endpoint".into(),
            },
            "check the id, or find the record with crm_search",
        ),
    }
}

fn validation(response: &UpstreamResponse, cx: &Ctx<'_>, said: Option<&str>) -> Error {
    let parsed = said.and_then(validation_reason).or_else(|| {
        let (label, data) = translation(response)?;
        if label != "validationFailure" {
            return None;
        }
        Some((
            data.get("field")?.as_str()?.to_owned(),
            data.get("type")?.as_str()?.to_owned(),
        ))
    });
    if let Some((field, rule)) = parsed {
        // Email's subject is stored as `name`
        let shown = if cx.native == "Email" && field == "name" {
            "subject".to_owned()
        } else {
            field.clone()
        };
        let (what, fix) = match field_kind(cx, &field) {
            // `valid` is EspoCRM's rule name for any malformed value: say what this field takes
            Some(FieldType::Phone) if rule == "valid" => {
                ("is not a phone number EspoCRM accepts", PHONE_FORMAT)
            }
            Some(FieldType::Phone) if rule == "maxLength" => (
                "is too long for a phone number (36 characters at most)",
                "give one number, in international form",
            ),
            Some(FieldType::Email) if rule == "valid" => (
                "is not a valid email address",
                "give an address like name@example.com",
            ),
            Some(FieldType::Date) if rule == "valid" => ("is not a date", "give it as YYYY-MM-DD"),
            Some(FieldType::DateTime) if rule == "valid" => (
                "is not a date and time",
                "give it as UTC \"YYYY-MM-DD HH:mm:ss\" or ISO 8601",
            ),
            Some(FieldType::Integer | FieldType::Number | FieldType::Money) if rule == "valid" => {
                ("is not a number", "give a number")
            }
            Some(FieldType::Boolean) if rule == "valid" => {
                ("is not true or false", "give true or false")
            }
            Some(FieldType::Enum | FieldType::MultiEnum) | None if rule == "valid" => {
                rule_words(&rule)
            }
            Some(_) if rule == "valid" => (
                "is not a valid value for this field",
                "check its type with crm_describe",
            ),
            _ => rule_words(&rule),
        };
        return Error::validation(
            format!(
                "EspoCRM refused {}.{shown}: it {what} (rule {rule})",
                cx.entity
            ),
            format!("{fix} and try again"),
        )
        .with_details(json!({"field": shown, "rule": rule, "entity": cx.entity}));
    }
    Error::validation(
        match said {
            Some(r) => format!("EspoCRM rejected the request: \"{r}\""),
            None => "EspoCRM rejected the request as invalid (HTTP 400)".into(),
        },
        "check field names and values against crm_describe",
    )
}

/// The common type of an attribute EspoCRM named in a validation failure: from the schema
/// when the caller has it (the failure names the field; an email or phone field's attribute
/// has the field's name), else from the name (`phoneNumber`, `…PhoneNumber`).
fn field_kind(cx: &Ctx<'_>, field: &str) -> Option<FieldType> {
    if let Some(schema) = cx.schema {
        let named = |name: String| schema.field(&name).map(|f| f.field_type);
        return named(field.to_owned())
            .or_else(|| named(format!("{field}Id")))
            .or_else(|| named(format!("{field}Ids")));
    }
    let lower = field.to_ascii_lowercase();
    if lower.ends_with("phonenumber") || lower == "phone" {
        return Some(FieldType::Phone);
    }
    if lower.ends_with("emailaddress") {
        return Some(FieldType::Email);
    }
    None
}

/// 409 `modified`: the record is no longer at the version the update sent, and the update
/// would change fields someone else changed since; EspoCRM wrote nothing. Its body carries
/// the current values of those fields and the current version.
fn modified(response: &UpstreamResponse, cx: &Ctx<'_>) -> Error {
    let body: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
    let values = body
        .get("values")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let now = body.get("versionNumber").and_then(Value::as_i64);
    let shown: Vec<String> = values
        .iter()
        .take(10)
        .map(|(field, value)| {
            let mut text = match value {
                Value::String(s) => format!("{s:?}"),
                other => other.to_string(),
            };
            crmgate_core::text::truncate_in_place(&mut text, 80);
            format!("{field} = {text}")
        })
        .collect();
    let versions = match (cx.version, now) {
        (Some(sent), Some(now)) => format!(" (read at version {sent}, now {now})"),
        (None, Some(now)) => format!(" (now version {now})"),
        _ => String::new(),
    };
    Error::new(
        ErrorCode::Conflict,
        format!(
            "{} was changed in EspoCRM after crmgate last read it{versions}; nothing was written{}",
            record_words(cx),
            if shown.is_empty() {
                String::new()
            } else {
                format!(
                    ". Now stored for the fields this update would change: {}",
                    shown.join(", ")
                )
            }
        ),
        "read the record again with crm_get, check that your change still applies to what is there now, then send the update again",
    )
    .with_details(json!({
        "current": values,
        "version": now,
        "read_version": cx.version,
    }))
}

/// `PERMISSION_DENIED` for a restore the caller may not run (not an administrator), before
/// anything is sent.
pub fn restore_not_permitted(cx: &Ctx<'_>) -> Error {
    restore_refused(cx, None)
}

/// 403 on `action/restoreDeleted`: EspoCRM lets only administrators restore (an empty
/// `Forbidden`), and answers `No 'deleted' attribute.` for a record that is not deleted.
fn restore_refused(cx: &Ctx<'_>, said: Option<&str>) -> Error {
    if said.is_some_and(|r| r.contains("deleted")) {
        return Error::new(
            ErrorCode::Conflict,
            format!(
                "{} is not deleted in EspoCRM: there is nothing to restore (it may have been restored already)",
                record_words(cx)
            ),
            "read it with crm_get: it is there",
        );
    }
    Error::permission_denied(
        format!(
            "only an EspoCRM administrator may restore deleted records (restoreDeleted); the user crmgate signs in as for {} is not one",
            cx.entity
        ),
        "EspoCRM: administrator",
    )
    .with_suggestion(
        "an EspoCRM administrator can restore it (or crmgate can, signed in as one); otherwise create the record again",
    )
}

fn duplicate(response: &UpstreamResponse, cx: &Ctx<'_>) -> Error {
    let matches = map::duplicates(cx.site, cx.native, &response.body);
    let listed: Vec<Value> = matches
        .iter()
        .map(|r| json!({"id": r.id, "title": r.title, "url": r.url}))
        .collect();
    let names: Vec<String> = matches
        .iter()
        .take(5)
        .map(|r| format!("{} [{}]", r.title, r.id))
        .collect();
    Error::new(
        ErrorCode::Duplicate,
        if names.is_empty() {
            format!("EspoCRM found existing {} that look the same", cx.entity)
        } else {
            format!(
                "EspoCRM found {} existing {} that look the same: {}",
                matches.len(),
                cx.entity,
                names.join(", ")
            )
        },
        "use the existing record (crm_get / crm_update), or, if this really is a different one, call crm_create again with skip_duplicate_check: true",
    )
    .with_details(json!({"matches": listed}))
}
