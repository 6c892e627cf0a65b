//! The `Origin` check of hosted mode (DNS-rebinding and cross-site protection for browsers).
//!
//! A request without `Origin` (every non-browser client) passes. A request with one passes
//! when the origin is listed in `[http] allowed_origins` (`scheme://host[:port]`, or
//! `scheme://host:*` for any port), or when it is the server's own loopback origin: a loopback
//! host (`localhost`, `127.0.0.0/8`, `[::1]`) that is also the request's `Host`, same port —
//! a page served by this very server, or a local client such as the MCP conformance suite.
//! A rebinding page (`http://evil.example:8900` resolving to 127.0.0.1) is neither.

use axum::http::{HeaderMap, header};

/// An origin as (scheme, host, port), lowercased, with the scheme's default port filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Origin {
    scheme: String,
    host: String,
    port: Option<u16>,
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        _ => None,
    }
}

/// Split `host[:port]` (IPv6 in brackets), lowercased.
fn host_port(authority: &str) -> Option<(String, Option<u16>)> {
    let authority = authority.trim().to_ascii_lowercase();
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        (format!("[{host}]"), after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host.to_owned(), Some(port)),
            None => (authority.clone(), None),
        }
    };
    let port = match port {
        None => None,
        Some(p) => Some(p.parse::<u16>().ok()?),
    };
    (!host.is_empty()).then_some((host, port))
}

fn parse(origin: &str) -> Option<Origin> {
    let (scheme, rest) = origin.trim().split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if rest.contains(['/', '?', '#', '@']) {
        return None;
    }
    let (host, port) = host_port(rest)?;
    let port = port.or_else(|| default_port(&scheme));
    Some(Origin { scheme, host, port })
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host == "[::1]"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Whether `entry` of `allowed_origins` admits `origin`.
fn listed(origin: &Origin, entry: &str) -> bool {
    if let Some(base) = entry.trim().strip_suffix(":*") {
        return parse(base).is_some_and(|e| e.scheme == origin.scheme && e.host == origin.host);
    }
    parse(entry).is_some_and(|e| &e == origin)
}

/// `Ok` when the request may proceed; `Err(origin)` names the refused origin.
pub fn check(headers: &HeaderMap, allowed: &[String]) -> Result<(), String> {
    let Some(value) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let raw = value.to_str().unwrap_or("(not text)").to_owned();
    let Some(origin) = parse(&raw) else {
        return Err(raw);
    };
    if allowed.iter().any(|entry| listed(&origin, entry)) {
        return Ok(());
    }
    let own = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(host_port)
        .is_some_and(|(host, port)| {
            let port = port.or_else(|| default_port(&origin.scheme));
            is_loopback(&host) && host == origin.host && port == origin.port
        });
    if own { Ok(()) } else { Err(raw) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(host: &str, origin: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        if let Some(o) = origin {
            h.insert(header::ORIGIN, HeaderValue::from_str(o).unwrap());
        }
        h
    }

    #[test]
    fn the_servers_own_loopback_origin_passes_and_others_need_listing() {
        let none: &[String] = &[];
        assert!(check(&headers("127.0.0.1:8900", None), none).is_ok());
        assert!(
            check(
                &headers("127.0.0.1:8900", Some("http://127.0.0.1:8900")),
                none
            )
            .is_ok()
        );
        assert!(
            check(
                &headers("localhost:8900", Some("http://LOCALHOST:8900")),
                none
            )
            .is_ok()
        );
        assert!(check(&headers("[::1]:8900", Some("http://[::1]:8900")), none).is_ok());
        assert!(check(&headers("localhost", Some("http://localhost")), none).is_ok());
        // another port, another host, a rebinding name, a non-loopback own host
        for (host, origin) in [
            ("127.0.0.1:8900", "http://127.0.0.1:3000"),
            ("127.0.0.1:8900", "http://localhost:8900"),
            ("evil.example:8900", "http://evil.example:8900"),
            ("crm.example.com", "https://crm.example.com"),
            ("127.0.0.1:8900", "null"),
            ("127.0.0.1:8900", "http://127.0.0.1:8900/path"),
        ] {
            assert_eq!(
                check(&headers(host, Some(origin)), none),
                Err(origin.to_owned()),
                "{host} {origin}"
            );
        }
        let allowed = vec![
            "https://app.example.com".to_owned(),
            "http://localhost:*".to_owned(),
        ];
        assert!(
            check(
                &headers("crm.example.com", Some("https://app.example.com:443")),
                &allowed
            )
            .is_ok()
        );
        assert!(
            check(
                &headers("127.0.0.1:8900", Some("http://localhost:5173")),
                &allowed
            )
            .is_ok()
        );
        assert!(
            check(
                &headers("crm.example.com", Some("http://app.example.com")),
                &allowed
            )
            .is_err()
        );
    }
}
