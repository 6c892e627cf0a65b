//! What a vendor crate needs to own its `[crm.NAME]` keys: the [`VendorSection`] trait it
//! implements for its typed, `deny_unknown_fields` section struct; the two secret value types
//! ([`EnvVarName`], [`InlineSecret`]) and [`secret`] to read them; and [`shown`], the one rule
//! for echoing a configured value in a message.
//!
//! The gateway binary finds the file, parses the common keys, picks the vendor by `kind`, and
//! deserializes the rest of the section into that vendor's struct; the vendor checks its keys
//! together and builds its backend. Errors are a [`ConfigProblem`] naming the key, which the
//! binary turns into the one-line `config error in FILE: crm.NAME.KEY: WHAT`.
//!
//! **No secret is ever echoed.** An inline secret's value never reaches a message, not even in a
//! type error; a `*_env` value that is not a variable name is refused without being shown (it is
//! most likely the secret pasted in the wrong key); any other value is quoted only when [`shown`]
//! judges it cannot be a secret.

use crate::backend::Backend;
use crate::cache::MetadataCache;
use crate::upstream::UpstreamConfig;
use secrecy::SecretString;
use serde::de::{self, Deserializer, Visitor};
use std::fmt;
use std::sync::Arc;

/// A problem with one key of a section (`key` relative to the section, e.g. `api_key_env`;
/// empty for the section as a whole).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The key, relative to the section.
    pub key: String,
    /// What is wrong and what to write instead; never a secret.
    pub message: String,
}

impl ConfigProblem {
    /// A problem with `key`.
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigProblem {
            key: key.into(),
            message: message.into(),
        }
    }

    /// A required key that is absent.
    pub fn missing(key: &str, kind: &str, what: &str) -> Self {
        ConfigProblem::new(key, format!("missing: kind {kind:?} needs {what}"))
    }
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.key, self.message)
        }
    }
}

/// A backend constructor's error (no key to blame: the section as a whole).
impl From<crate::Error> for ConfigProblem {
    fn from(error: crate::Error) -> Self {
        ConfigProblem::new("", error.message)
    }
}

/// Result of reading a section.
pub type ConfigResult<T> = std::result::Result<T, ConfigProblem>;

/// A vendor's section, deserialized (the vendor's struct is `#[serde(deny_unknown_fields)]` and
/// holds only the vendor's own keys; the common keys are the gateway's). Implemented by each
/// vendor crate in its `config.rs`.
pub trait VendorSection: Send + Sync {
    /// Timeouts, rate limits and retries towards this vendor; the common keys (`timeout_s`,
    /// `[crm.NAME.rate_limit]`) adjust them.
    fn upstream_defaults(&self) -> UpstreamConfig {
        UpstreamConfig::default()
    }

    /// The secret keys this section holds inline rather than as `<key>_env` (the gateway warns
    /// when the file is readable by others).
    fn inline_secrets(&self) -> Vec<&'static str>;

    /// The keys present that carry one CRM user's credential: hosted mode refuses them unless
    /// `shared_identity = true`.
    fn identity_keys(&self) -> Vec<&'static str>;

    /// The OAuth authorization server that issues this CRM's user tokens, when the section
    /// says (named in hosted mode's protected-resource metadata).
    fn authorization_server(&self) -> Option<String> {
        None
    }

    /// A `raw_call_allow` entry (a method or a prefix ending in `*`, already trimmed and free of
    /// whitespace), normalised by the vendor's raw-method grammar — the form crm_call compares
    /// against — or why it could match no method. Vendors without crm_call keep it as written.
    fn raw_call_pattern(&self, pattern: &str) -> std::result::Result<String, String> {
        Ok(pattern.to_owned())
    }

    /// The backend: every key checked together, secrets read from the environment. No network.
    fn build(
        &self,
        upstream: UpstreamConfig,
        cache: &MetadataCache,
    ) -> ConfigResult<Arc<dyn Backend>>;
}

/// The value of a `<key>_env` key: the name of the environment variable holding the secret.
/// Deserializing refuses, without showing it, anything that is not a variable name
/// (`[A-Za-z_][A-Za-z0-9_]*`) or that is a mixed-case run shaped like a key: that is most likely
/// the secret itself.
#[derive(Clone, PartialEq, Eq)]
pub struct EnvVarName(String);

/// Why a `<key>_env` value was refused (the value itself is never part of it).
pub const NOT_A_VARIABLE_NAME: &str = "this is not an environment variable name (letters, digits \
     and _) and looks like the secret itself: put the secret in an environment variable and name \
     that variable here (the value is not shown)";

impl EnvVarName {
    /// Check `name`; the error never contains it.
    pub fn new(name: &str) -> Result<Self, &'static str> {
        let name = name.trim();
        if name.is_empty() {
            return Err("is empty: name the environment variable that holds the secret");
        }
        let mut chars = name.chars();
        let first_ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
        if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') || name.len() > 255 {
            return Err(NOT_A_VARIABLE_NAME);
        }
        let name = EnvVarName(name.to_owned());
        // `sk_live_51Hx…` fits the grammar; a real variable name that mixed is unheard of
        if !name.conventional() && secret_shaped(&name.0) {
            return Err(NOT_A_VARIABLE_NAME);
        }
        Ok(name)
    }

    /// The usual `UPPER_CASE` form.
    fn conventional(&self) -> bool {
        self.0
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    }

    /// The name, for reading the variable.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name for a message: as written when it has the usual `UPPER_CASE` form and no
    /// secret shape, else `None` (it may be a secret that happens to fit the grammar).
    pub fn shown(&self) -> Option<&str> {
        (self.conventional() && !secret_shaped(&self.0)).then_some(self.0.as_str())
    }
}

impl fmt::Debug for EnvVarName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.shown() {
            Some(name) => write!(f, "EnvVarName({name})"),
            None => f.write_str("EnvVarName([not shown])"),
        }
    }
}

impl<'de> de::Deserialize<'de> for EnvVarName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text =
            deserializer.deserialize_any(StringOnly("the name of an environment variable"))?;
        EnvVarName::new(&text).map_err(de::Error::custom)
    }
}

/// A secret written inline in the config file. Its value never reaches a message, `Debug`
/// included: a value of the wrong type is refused by its type alone.
#[derive(Clone)]
pub struct InlineSecret(SecretString);

impl InlineSecret {
    /// The secret.
    pub fn secret(&self) -> &SecretString {
        &self.0
    }
}

impl fmt::Debug for InlineSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InlineSecret([REDACTED])")
    }
}

impl<'de> de::Deserialize<'de> for InlineSecret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = deserializer.deserialize_any(StringOnly("a string"))?;
        if text.is_empty() {
            return Err(de::Error::custom("is empty"));
        }
        Ok(InlineSecret(SecretString::from(text)))
    }
}

/// A visitor that takes a string and refuses anything else by its type only, never its value.
struct StringOnly(&'static str);

impl StringOnly {
    fn refuse<E: de::Error>(&self, what: &str) -> E {
        E::custom(format!("must be {}, not {what}", self.0))
    }
}

impl<'de> Visitor<'de> for StringOnly {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<String, E> {
        Err(self.refuse("a boolean"))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<String, E> {
        Err(self.refuse("an integer"))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<String, E> {
        Err(self.refuse("an integer"))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<String, E> {
        Err(self.refuse("a number"))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<String, A::Error> {
        Err(self.refuse("an array"))
    }

    fn visit_map<A: de::MapAccess<'de>>(self, _: A) -> Result<String, A::Error> {
        Err(self.refuse("a table (a date, or keys under it)"))
    }
}

/// The secret `key` of a section: from the environment variable named by `<key>_env`, or
/// inline from `<key>`; `None` when neither is set. Messages name keys and (conventional)
/// variable names only.
pub fn secret(
    key: &str,
    env: Option<&EnvVarName>,
    inline: Option<&InlineSecret>,
) -> ConfigResult<Option<SecretString>> {
    let env_key = format!("{key}_env");
    match (env, inline) {
        (Some(_), Some(_)) => Err(ConfigProblem::new(
            key,
            format!("set either {env_key} or {key}, not both"),
        )),
        (Some(var), None) => {
            let named = match var.shown() {
                Some(name) => format!("environment variable {name}"),
                None => "the environment variable it names (the name is not shown: it is not \
                         in UPPER_CASE and may be the secret itself)"
                    .to_owned(),
            };
            match std::env::var(var.as_str()) {
                Ok(value) if value.trim().is_empty() => Err(ConfigProblem::new(
                    env_key,
                    format!("{named} is set but empty"),
                )),
                Ok(value) => Ok(Some(SecretString::from(value))),
                Err(std::env::VarError::NotPresent) => {
                    let how = match var.shown() {
                        Some(name) => format!(
                            " (export {name}=... before starting crmgate, or set it in the MCP client's \"env\")"
                        ),
                        None => String::new(),
                    };
                    Err(ConfigProblem::new(
                        env_key,
                        format!("{named} is not set{how}"),
                    ))
                }
                Err(std::env::VarError::NotUnicode(_)) => Err(ConfigProblem::new(
                    env_key,
                    format!("{named} is not valid UTF-8"),
                )),
            }
        }
        (None, Some(inline)) => Ok(Some(inline.secret().clone())),
        (None, None) => Ok(None),
    }
}

/// The names of the keys among `keys` that are set, for [`VendorSection::inline_secrets`] and
/// [`VendorSection::identity_keys`].
pub fn present(keys: &[(&'static str, bool)]) -> Vec<&'static str> {
    keys.iter()
        .filter(|(_, set)| *set)
        .map(|(key, _)| *key)
        .collect()
}

/// The keys a section type takes (its serde field names), read from serde's own refusal of an
/// unknown key: for documentation checks, without a hand-kept list.
pub fn field_names<T: serde::de::DeserializeOwned>() -> Vec<String> {
    let probe = serde_json::json!({ "\u{1}": null });
    match serde_json::from_value::<T>(probe) {
        Ok(_) => Vec::new(),
        Err(e) => {
            let message = e.to_string();
            message
                .split_once("`, expected ")
                .map(|(_, expected)| {
                    expected
                        .split('`')
                        .skip(1)
                        .step_by(2)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        }
    }
}

/// `value` quoted for a message when it cannot be a secret; otherwise a description that
/// reveals nothing but its length. Used for every configured value a message repeats.
pub fn shown(value: &str) -> String {
    let plain = value.chars().count() <= 64
        && value.chars().all(|c| c.is_ascii_graphic() || c == ' ')
        && !secret_shaped(value);
    if plain {
        format!("{value:?}")
    } else {
        format!(
            "(a value of {} characters, not shown)",
            value.chars().count()
        )
    }
}

/// Whether `value` has the shape of a credential: a URL with a user or password, or a run of
/// letters and digits long and mixed enough to be a key or token (`sk_live_…`, a JWT, hex).
pub fn secret_shaped(value: &str) -> bool {
    if value.contains('@') && value.contains(':') {
        return true;
    }
    value
        .split(|c: char| !(c.is_alphanumeric() || c == '+' || c == '/' || c == '='))
        .any(|run| {
            let len = run.chars().count();
            let digit = run.chars().any(|c| c.is_ascii_digit());
            let letter = run.chars().any(char::is_alphabetic);
            let lower = run.chars().any(char::is_lowercase);
            let upper = run.chars().any(char::is_uppercase);
            len >= 24 || (len >= 8 && ((digit && letter) || (lower && upper)))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Section {
        api_key: Option<InlineSecret>,
        api_key_env: Option<EnvVarName>,
    }

    fn parse(json: &str) -> Result<Section, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    const KEY: &str = "sk_live_51HxQv2ABCdefGHI0123456789";

    #[test]
    fn an_env_key_holding_the_secret_is_refused_without_showing_it() {
        for pasted in [
            KEY,
            "https://acme.bitrix24.com/rest/1/s3cretcode/",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig",
            "pa ss word",
            "9abc",
        ] {
            let e = parse(&format!(r#"{{"api_key_env": {pasted:?}}}"#)).unwrap_err();
            assert!(e.contains("looks like the secret itself"), "{e}");
            assert!(!e.contains(pasted), "{e}");
        }
        let e = parse(r#"{"api_key_env": ""}"#).unwrap_err();
        assert!(e.contains("is empty"), "{e}");
        let ok = parse(r#"{"api_key_env": "ESPO_API_KEY"}"#).unwrap();
        assert_eq!(ok.api_key_env.unwrap().shown(), Some("ESPO_API_KEY"));
    }

    #[test]
    fn a_wrong_type_never_echoes_the_value() {
        let e = parse(r#"{"api_key": 123456789}"#).unwrap_err();
        assert!(e.contains("must be a string, not an integer") && !e.contains("123456789"));
        let e = parse(r#"{"api_key_env": ["X"]}"#).unwrap_err();
        assert!(e.contains("not an array"), "{e}");
        let inline = parse(&format!(r#"{{"api_key": {KEY:?}}}"#)).unwrap();
        assert!(!format!("{inline:?}").contains(KEY));
    }

    #[test]
    fn secrets_come_from_the_named_variable_or_inline() {
        use secrecy::ExposeSecret;
        let path = EnvVarName::new("PATH").unwrap();
        let value = secret("api_key", Some(&path), None).unwrap().unwrap();
        assert_eq!(value.expose_secret(), std::env::var("PATH").unwrap());
        let unset = EnvVarName::new("CRMGATE_NEVER_SET_IN_TESTS").unwrap();
        let e = secret("api_key", Some(&unset), None).unwrap_err();
        assert_eq!(e.key, "api_key_env");
        assert!(e.message.contains("CRMGATE_NEVER_SET_IN_TESTS is not set"));
        // a lower-case name fits the grammar but may be a short password: never shown
        let odd = EnvVarName::new("hunter2").unwrap();
        let e = secret("password", Some(&odd), None).unwrap_err();
        assert!(!e.message.contains("hunter2"), "{}", e.message);
        let both = secret(
            "api_key",
            Some(&path),
            parse(r#"{"api_key": "x"}"#).unwrap().api_key.as_ref(),
        )
        .unwrap_err();
        assert!(both.message.contains("not both"));
        assert!(secret("api_key", None, None).unwrap().is_none());
    }

    #[test]
    fn field_names_come_from_serde() {
        assert_eq!(field_names::<Section>(), ["api_key", "api_key_env"]);
    }

    #[test]
    fn only_harmless_values_are_shown() {
        for plain in [
            "many",
            "salesforce",
            "crm.deal.list",
            "Account*",
            "/mcp",
            "a b",
        ] {
            assert_eq!(shown(plain), format!("{plain:?}"));
        }
        for secretish in [
            KEY,
            "https://bot:pw@crm.example.com",
            "5f1e3c9a7b2d4e6f",
            "AKIAIOSFODNN7EXAMPLE",
            "correcthorsebatterystaplex",
            "tab\there",
            "ключ",
        ] {
            let s = shown(secretish);
            assert!(!s.contains(secretish) && s.contains("not shown"), "{s}");
        }
    }
}
