//! Request handlers, one module per area, behind one dispatcher mirroring EspoCRM's route table
//! (`Resources/routes.json`): special routes first, then the generic record routes.

mod extras;
mod links;
mod mass;
mod records;
mod validate;
mod writes;

use super::Shared;
use super::defs::defs;
use super::respond::Answer;
use super::state::User;
use axum::http::HeaderMap;
use serde_json::{Value, json};

/// One authenticated request.
pub struct Req<'a> {
    /// Upper-case method.
    pub method: &'a str,
    /// Decoded path segments after `/api/v1`.
    pub segments: Vec<String>,
    /// Decoded query pairs, in order.
    pub query: Vec<(String, String)>,
    /// Request headers.
    pub headers: &'a HeaderMap,
    /// Raw body.
    pub body: &'a [u8],
    /// The caller.
    pub user: &'a User,
}

impl Req<'_> {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The JSON body; a malformed one is EspoCRM's 500 with an empty body.
    pub fn json(&self) -> Result<Value, Answer> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        serde_json::from_slice(self.body).map_err(|_| Answer::bare(500))
    }

    /// A JSON object body (missing → empty object).
    pub fn object(&self) -> Result<serde_json::Map<String, Value>, Answer> {
        match self.json()? {
            Value::Object(m) => Ok(m),
            Value::Null => Ok(Default::default()),
            _ => Err(Answer::error(400, "Bad request data.")),
        }
    }
}

/// `GET I18n` without credentials: a handful of scopes only (recorded).
pub fn public_i18n() -> Value {
    extras::i18n(false)
}

fn controller_missing(entity: &str) -> Answer {
    Answer::error(404, format!("Controller '{entity}' does not exist."))
}

/// Route one authenticated request.
pub fn dispatch(shared: &Shared, req: &Req<'_>) -> Answer {
    let segs: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    let result = match (req.method, segs.as_slice()) {
        ("GET", []) => Ok(Answer::ok(json!("EspoCRM REST API"))),
        ("GET", ["App", "user"]) => Ok(extras::app_user(shared, req)),
        ("GET", ["Metadata"]) => Ok(extras::metadata(req)),
        ("GET", ["I18n"]) => Ok(Answer::ok(extras::i18n(true))),
        ("GET", ["Settings"]) => Ok(Answer::ok(extras::settings())),
        ("GET", ["Kanban", entity]) => extras::kanban(shared, req, entity),
        ("PUT", ["Kanban", "order"]) => extras::kanban_order(shared, req),
        ("POST", ["EmailTemplate", id, "prepare"]) => extras::prepare(shared, req, id),
        ("POST", ["MassAction"]) => mass::process(shared, req),
        (_, [entity, ..]) if !defs().has_entity(entity) => Err(controller_missing(entity)),
        // PHP resolves action names case-insensitively
        ("POST", [entity, "action", action]) if action.eq_ignore_ascii_case("restoreDeleted") => {
            writes::restore(shared, req, entity)
        }
        (_, [entity, "action", action]) => Err(Answer::error(
            404,
            format!(
                "Action {} '{action}' does not exist in controller '{entity}'.",
                req.method
            ),
        )),
        ("GET", [entity]) => records::list(shared, req, entity),
        ("POST", ["Note"]) => extras::post_note(shared, req),
        ("POST", ["Email"]) => extras::create_email(shared, req),
        ("POST", [entity]) => writes::create(shared, req, entity),
        ("GET", [entity, id]) => records::read(shared, req, entity, id),
        ("PUT" | "PATCH", [entity, id]) => writes::update(shared, req, entity, id),
        ("DELETE", [entity, id]) => writes::delete(shared, req, entity, id),
        ("GET", [entity, id, "stream"]) => extras::stream(shared, req, entity, id, false),
        ("GET", [entity, id, "posts"]) => extras::stream(shared, req, entity, id, true),
        ("PUT" | "DELETE", [entity, id, "subscription"]) => extras::follow(shared, req, entity, id),
        ("GET", [entity, id, link]) => links::related(shared, req, entity, id, link),
        ("POST", [entity, id, link]) => links::change(shared, req, entity, id, link, true),
        ("DELETE", [entity, id, link]) => links::change(shared, req, entity, id, link, false),
        _ => Err(Answer::html(404, None)),
    };
    result.unwrap_or_else(|a| a)
}
