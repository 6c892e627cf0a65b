//! `[redis]`: the section's type and checks live in `crmgate-shared`
//! ([`crmgate_shared::RedisConfig`]); this places its problems in the file, warns about an
//! inline URL (it may carry a password), and requires a shared confirm-token key: with
//! `[redis]` set, replicas serve one deployment, and a confirm token one replica issued must be
//! accepted by another.

use super::Ctx;
use super::secrets::inline_secret_warning;
use crmgate_core::Result;
use crmgate_shared::{RedisConfig, RedisSettings};
use std::path::Path;

/// `[redis]` keys, for "did you mean".
pub const REDIS_KEYS: &[&str] = &["url", "url_env", "key_prefix", "replicas", "op_timeout_ms"];

/// Check `[redis]` (`file`: the config file, for the inline-URL warning; `confirm_key_set`:
/// whether `confirm_secret_env` / `confirm_secret` is set).
pub(crate) fn resolve(
    ctx: &Ctx,
    file: Option<&Path>,
    raw: RedisConfig,
    confirm_key_set: bool,
) -> Result<RedisSettings> {
    if raw.url.is_some()
        && let Some(file) = file
        && let Some(warning) = inline_secret_warning(file, "redis.url", "url_env")
    {
        tracing::warn!("{warning}");
    }
    let settings = raw
        .resolve()
        .map_err(|problem| ctx.error(&problem.key, problem.message))?;
    if !confirm_key_set {
        return Err(ctx.error(
            "confirm_secret_env",
            "is required once [redis] is set: every replica must sign confirm tokens with one \
             key (confirm_secret_env = \"CRMGATE_CONFIRM_SECRET\", a random value of at least \
             32 characters in that variable)",
        ));
    }
    Ok(settings)
}
