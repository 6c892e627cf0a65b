//! Base URLs of CRMs and their web apps, checked and normalised one way for every vendor: parsed
//! (not pattern-matched), http or https, a host, no credentials, no query or fragment, no
//! trailing slash.
//!
//! Problems are described, never quoted: a configured URL may embed a secret (a Bitrix24 webhook
//! code in its path, a password in `user:pass@`).

use reqwest::Url;
use std::fmt;

/// Why a URL was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlProblem {
    /// Not a URL at all (often: no `https://`).
    NotAUrl,
    /// A scheme other than http or https.
    NotHttp,
    /// No host.
    NoHost,
    /// `user:password@` in the URL.
    Credentials,
    /// A `?query` or `#fragment`.
    QueryOrFragment,
}

impl UrlProblem {
    /// What is wrong and what is expected, without the URL.
    pub fn message(self) -> &'static str {
        match self {
            UrlProblem::NotAUrl => {
                "is not a URL: write it in full, starting with https:// (e.g. https://crm.example.com)"
            }
            UrlProblem::NotHttp => "must start with http:// or https://",
            UrlProblem::NoHost => "has no host name",
            UrlProblem::Credentials => {
                "must not carry a user name or password (user:pass@): configure the credential \
                 with its own key, from an environment variable"
            }
            UrlProblem::QueryOrFragment => {
                "must be the address only, without a ?query or #fragment"
            }
        }
    }
}

impl fmt::Display for UrlProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

/// Parse an absolute http(s) URL with a host and without credentials.
pub fn parse_http(raw: &str) -> Result<Url, UrlProblem> {
    let url = Url::parse(raw.trim()).map_err(|_| UrlProblem::NotAUrl)?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(UrlProblem::NotHttp);
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(UrlProblem::NoHost);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlProblem::Credentials);
    }
    Ok(url)
}

/// `raw` as a base URL, `http(s)://host[:port][/path]` with no trailing slash, with the first
/// of `strip` that ends it removed (e.g. `["/api/v1"]`: a site URL pasted with its API path).
pub fn normalise(raw: &str, strip: &[&str]) -> Result<String, UrlProblem> {
    let url = parse_http(raw)?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(UrlProblem::QueryOrFragment);
    }
    let full = url.as_str().trim_end_matches('/');
    let base = strip
        .iter()
        .find_map(|suffix| full.strip_suffix(suffix))
        .unwrap_or(full);
    Ok(base.trim_end_matches('/').to_owned())
}

/// The origin `scheme://host[:port]` of `raw`; a bare host name (`crm.example.com`) is taken as
/// `https://`. Any path is dropped.
pub fn origin(raw: &str) -> Result<String, UrlProblem> {
    let raw = raw.trim();
    let url = if raw.contains("://") {
        parse_http(raw)?
    } else {
        parse_http(&format!("https://{raw}"))?
    };
    Ok(url.origin().ascii_serialization())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_normalised() {
        let n = |raw: &str| normalise(raw, &["/api/v1", "/api"]);
        assert_eq!(
            n("https://crm.example.com/").unwrap(),
            "https://crm.example.com"
        );
        assert_eq!(
            n(" https://CRM.example.com ").unwrap(),
            "https://crm.example.com"
        );
        assert_eq!(
            n("https://crm.example.com/espo/api/v1/").unwrap(),
            "https://crm.example.com/espo"
        );
        assert_eq!(
            n("http://127.0.0.1:8000/api").unwrap(),
            "http://127.0.0.1:8000"
        );
        assert_eq!(n("http://[::1]:8080").unwrap(), "http://[::1]:8080");
        assert_eq!(n("crm.example.com"), Err(UrlProblem::NotAUrl));
        assert_eq!(n("ftp://crm.example.com"), Err(UrlProblem::NotHttp));
        assert_eq!(
            n("https://x.example/?a=1"),
            Err(UrlProblem::QueryOrFragment)
        );
        assert_eq!(
            n("https://x.example/#top"),
            Err(UrlProblem::QueryOrFragment)
        );
        assert_eq!(
            n("https://bot:s3cret@x.example"),
            Err(UrlProblem::Credentials)
        );
        assert_eq!(n(""), Err(UrlProblem::NotAUrl));
        for problem in [UrlProblem::Credentials, UrlProblem::NotAUrl] {
            assert!(!problem.message().contains("s3cret"));
        }
    }

    #[test]
    fn origins_drop_the_path() {
        assert_eq!(
            origin("acme.bitrix24.com").unwrap(),
            "https://acme.bitrix24.com"
        );
        assert_eq!(
            origin("http://127.0.0.1:8080/").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            origin("https://acme.bitrix24.com/rest/1/code/").unwrap(),
            "https://acme.bitrix24.com"
        );
        assert!(origin("").is_err());
        assert!(origin("ftp://x").is_err());
    }
}
