//! Who is calling, as EspoCRM's `Core/Api/Auth.php` decides it: `Espo-Authorization` first,
//! then `X-Api-Key`, then `X-Hmac-Authorization` (verified over `METHOD /path`, hex or legacy
//! raw digest), then `Authorization: Basic`. Failures are an empty `text/html` 401
//! (`WWW-Authenticate` only when no credentials came at all). More than 10 failed logins from
//! one address within 60 s lock that address out: 403, empty, no reason — valid keys too —
//! and every refused request counts as another failure.

use super::respond::Answer;
use super::state::{Login, User};
use crate::auth::{split_credentials, verify_hmac};
use axum::http::HeaderMap;
use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed logins allowed per address within [`WINDOW`].
pub const MAX_FAILED: usize = 10;
/// The lockout window.
pub const WINDOW: Duration = Duration::from_secs(60);

/// Failed logins per address.
#[derive(Debug, Default)]
pub struct Lockout {
    failures: Mutex<BTreeMap<IpAddr, VecDeque<Instant>>>,
}

impl Lockout {
    fn fail(&self, ip: IpAddr) {
        let mut f = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f.entry(ip).or_default().push_back(Instant::now());
    }

    fn locked(&self, ip: IpAddr) -> bool {
        let mut f = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let q = f.entry(ip).or_default();
        while q.front().is_some_and(|t| t.elapsed() > WINDOW) {
            q.pop_front();
        }
        q.len() > MAX_FAILED
    }
}

/// Which credential header a request carried (for the request log).
pub fn kind(headers: &HeaderMap) -> &'static str {
    if headers.contains_key("espo-authorization") {
        "espo"
    } else if headers.contains_key("x-api-key") {
        "api_key"
    } else if headers.contains_key("x-hmac-authorization") {
        "hmac"
    } else if headers.contains_key("authorization") {
        "basic"
    } else {
        "none"
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The user of a request, or the answer refusing it. `resource_path` is the path after
/// `/api/v1`, as signed.
pub fn authenticate(
    users: &[User],
    lockout: &Lockout,
    headers: &HeaderMap,
    method: &str,
    resource_path: &str,
    ip: IpAddr,
) -> Result<User, Answer> {
    if lockout.locked(ip) {
        lockout.fail(ip);
        return Err(Answer::html(403, None));
    }
    let by_password = |name: &str, password: &[u8]| {
        users.iter().find(|u| {
            u.user_name == name
                && matches!(&u.login, Login::Password(p) if p.as_bytes() == password)
        })
    };
    let found = if let Some(value) = header(headers, "espo-authorization") {
        match split_credentials(value) {
            None => {
                return Err(Answer::html(
                    400,
                    Some("Auth: Bad authorization string provided."),
                ));
            }
            Some((name, password)) => by_password(&name, &password),
        }
    } else if let Some(key) = header(headers, "x-api-key") {
        users
            .iter()
            .find(|u| matches!(&u.login, Login::ApiKey(k) if k == key))
    } else if let Some(value) = header(headers, "x-hmac-authorization") {
        split_credentials(value).and_then(|(key, hash)| {
            users.iter().find(|u| match &u.login {
                Login::Hmac { key: k, secret } => {
                    *k == key && verify_hmac(secret, method, resource_path, &hash)
                }
                _ => false,
            })
        })
    } else if let Some(basic) =
        header(headers, "authorization").and_then(|v| v.strip_prefix("Basic "))
    {
        split_credentials(basic).and_then(|(name, password)| by_password(&name, &password))
    } else {
        return Err(Answer::html(401, None).with_header("www-authenticate", "Basic realm=\"\""));
    };
    match found {
        Some(user) => Ok(user.clone()),
        None => {
            lockout.fail(ip);
            Err(Answer::html(401, None))
        }
    }
}
