//! Who a request is, as BottleCRM's middleware decides it: a personal access token in
//! `Authorization: Bearer bcrm_pat_…` (exactly `Bearer `, case-sensitive) or in `Token:`;
//! anything else, and unknown, revoked or expired tokens, get no organisation context — which
//! BottleCRM answers with 403 "Organization context is required", not 401. Then the token's
//! scopes (`resource:read|write`, empty = unrestricted) are checked against the path.

use super::state::{Role, Store};
use axum::http::HeaderMap;

/// The caller of one request.
#[derive(Debug, Clone)]
pub struct Principal {
    /// Profile index.
    pub profile: usize,
    /// Organisation index.
    pub org: usize,
    /// ADMIN role.
    pub admin: bool,
    /// Token scopes (empty: unrestricted).
    pub scopes: Vec<String>,
}

impl Principal {
    /// Whether this caller may see a record created by `created_by` and assigned to `assigned`
    /// (profile ids): admins see everything in their organisation, users what they created or
    /// are assigned to.
    pub fn sees(&self, store: &Store, created_by: usize, assigned: &[&str]) -> bool {
        self.admin
            || created_by == self.profile
            || assigned.contains(&store.profiles[self.profile].id.as_str())
    }
}

/// The 403 detail for a request without organisation context.
pub const NO_ORG: &str = "Organization context is required. Please login again.";

fn pat(value: &str) -> Option<&str> {
    value.starts_with("bcrm_pat_").then_some(value)
}

/// The principal of a request, if its credentials are valid.
pub fn authenticate(store: &Store, headers: &HeaderMap) -> Option<Principal> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let candidates = [
        header("authorization")
            .and_then(|v| v.strip_prefix("Bearer "))
            .and_then(pat),
        header("token").and_then(pat),
    ];
    candidates.into_iter().flatten().find_map(|raw| {
        let token = store.tokens.iter().find(|t| t.raw == raw.trim())?;
        if token.revoked || token.expired {
            return None;
        }
        let p = &store.profiles[token.profile];
        Some(Principal {
            profile: token.profile,
            org: p.org,
            admin: p.role == Role::Admin,
            scopes: token.scopes.clone(),
        })
    })
}

/// The scope refusal for `method path`, if the token's scopes do not cover it.
pub fn scope_refusal(who: &Principal, method: &str, path: &str) -> Option<String> {
    if who.scopes.is_empty() {
        return None;
    }
    let action = if matches!(method, "GET" | "HEAD" | "OPTIONS") {
        "read"
    } else {
        "write"
    };
    let resource = path
        .strip_prefix("/api/")
        .and_then(|rest| rest.split('/').next())
        .filter(|r| !r.is_empty());
    let Some(resource) = resource else {
        return Some(format!(
            "This token is not scoped for {action} access to this endpoint."
        ));
    };
    let allowed = who
        .scopes
        .iter()
        .any(|s| s == &format!("{resource}:{action}") || s == &format!("*:{action}"));
    (!allowed).then(|| format!("This token is not scoped for {action} access to {resource}."))
}
