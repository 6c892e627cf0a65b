//! Where shared state lives right now, for `/metrics` and `crmgate check`.

use std::fmt::Write;

/// Where the shared state lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// No `[redis]` configured: everything is in this process.
    Local,
    /// Redis is configured but nothing has needed it yet (no I/O at start-up).
    Pending,
    /// Budgets, blocks and rejected credentials are shared through Redis.
    Shared,
    /// Redis is configured but unreachable: local limits scaled to `1 / replicas` while a
    /// background probe waits for Redis to return.
    LocalFallback,
}

impl Mode {
    /// `local`, `pending`, `shared` or `local-fallback`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Local => "local",
            Mode::Pending => "pending",
            Mode::Shared => "shared",
            Mode::LocalFallback => "local-fallback",
        }
    }

    pub(crate) fn from_u8(v: u8) -> Mode {
        match v {
            0 => Mode::Local,
            1 => Mode::Pending,
            2 => Mode::Shared,
            _ => Mode::LocalFallback,
        }
    }

    pub(crate) fn as_u8(self) -> u8 {
        match self {
            Mode::Local => 0,
            Mode::Pending => 1,
            Mode::Shared => 2,
            Mode::LocalFallback => 3,
        }
    }
}

/// What went wrong talking to Redis, by kind only (an error's text could name the server).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// No answer within `op_timeout_ms`.
    Timeout,
    /// Nothing listens at the address.
    Refused,
    /// The connection broke or could not be made.
    Io,
    /// The password or ACL user was refused, or lacks a permission.
    Auth,
    /// Redis answered an error (out of memory, read-only replica, script error, …).
    Server,
    /// Anything else (an unexpected reply).
    Other,
}

impl FailureKind {
    /// `timeout`, `refused`, `io`, `auth`, `server` or `other`.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Timeout => "timeout",
            FailureKind::Refused => "refused",
            FailureKind::Io => "io",
            FailureKind::Auth => "auth",
            FailureKind::Server => "server",
            FailureKind::Other => "other",
        }
    }

    pub(crate) fn from_u8(v: u8) -> Option<FailureKind> {
        Some(match v {
            1 => FailureKind::Timeout,
            2 => FailureKind::Refused,
            3 => FailureKind::Io,
            4 => FailureKind::Auth,
            5 => FailureKind::Server,
            6 => FailureKind::Other,
            _ => return None,
        })
    }

    pub(crate) fn as_u8(self) -> u8 {
        match self {
            FailureKind::Timeout => 1,
            FailureKind::Refused => 2,
            FailureKind::Io => 3,
            FailureKind::Auth => 4,
            FailureKind::Server => 5,
            FailureKind::Other => 6,
        }
    }

    pub(crate) fn of(error: &redis::RedisError) -> FailureKind {
        use redis::{ErrorKind, ServerErrorKind};
        if error.is_timeout() {
            FailureKind::Timeout
        } else if error.is_connection_refusal() {
            FailureKind::Refused
        } else if matches!(
            error.kind(),
            ErrorKind::AuthenticationFailed | ErrorKind::Server(ServerErrorKind::NoPerm)
        ) {
            FailureKind::Auth
        } else if error.is_io_error() || error.is_connection_dropped() {
            FailureKind::Io
        } else if matches!(error.kind(), ErrorKind::Server(_) | ErrorKind::Extension) {
            FailureKind::Server
        } else {
            FailureKind::Other
        }
    }
}

/// A snapshot of the shared state's health.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// Where the state lives now.
    pub mode: Mode,
    /// The kind of the last Redis failure, if any happened.
    pub last_error: Option<FailureKind>,
    /// How often the mode changed between shared and local fallback.
    pub transitions: u64,
    /// Operations answered by Redis.
    pub shared_ops: u64,
    /// Operations answered locally because Redis was unavailable.
    pub fallback_ops: u64,
    /// The configured replica count (the local fallback keeps `1 / replicas` of each budget).
    pub replicas: u32,
    /// Keys held in this process (local budgets, fallback state, local copies of flags).
    pub local_keys: usize,
}

impl Health {
    /// Append the Prometheus text-format lines for this snapshot to `out`.
    pub fn write_prometheus(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "# HELP crmgate_shared_state_mode Where rate budgets, vendor blocks and rejected \
             credentials live (1 for the current mode).\n\
             # TYPE crmgate_shared_state_mode gauge"
        );
        for mode in [
            Mode::Local,
            Mode::Pending,
            Mode::Shared,
            Mode::LocalFallback,
        ] {
            let _ = writeln!(
                out,
                "crmgate_shared_state_mode{{mode=\"{}\"}} {}",
                mode.as_str(),
                u8::from(mode == self.mode)
            );
        }
        let counters = [
            (
                "crmgate_shared_state_transitions_total",
                "Changes between shared (Redis) and local fallback.",
                self.transitions,
            ),
            (
                "crmgate_shared_state_redis_ops_total",
                "Operations answered by Redis.",
                self.shared_ops,
            ),
            (
                "crmgate_shared_state_fallback_ops_total",
                "Operations answered locally while Redis was unavailable.",
                self.fallback_ops,
            ),
        ];
        for (name, help, value) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP crmgate_shared_state_replicas Configured replica count.\n\
             # TYPE crmgate_shared_state_replicas gauge\n\
             crmgate_shared_state_replicas {}\n\
             # HELP crmgate_shared_state_local_keys Keys held in this process.\n\
             # TYPE crmgate_shared_state_local_keys gauge\n\
             crmgate_shared_state_local_keys {}",
            self.replicas, self.local_keys
        );
        if let Some(kind) = self.last_error {
            let _ = writeln!(
                out,
                "# HELP crmgate_shared_state_last_error The kind of the last Redis failure.\n\
                 # TYPE crmgate_shared_state_last_error gauge\n\
                 crmgate_shared_state_last_error{{kind=\"{}\"}} 1",
                kind.as_str()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for mode in [
            Mode::Local,
            Mode::Pending,
            Mode::Shared,
            Mode::LocalFallback,
        ] {
            assert_eq!(Mode::from_u8(mode.as_u8()), mode);
        }
        for kind in [
            FailureKind::Timeout,
            FailureKind::Refused,
            FailureKind::Io,
            FailureKind::Auth,
            FailureKind::Server,
            FailureKind::Other,
        ] {
            assert_eq!(FailureKind::from_u8(kind.as_u8()), Some(kind));
        }
        assert_eq!(FailureKind::from_u8(0), None);
    }

    #[test]
    fn prometheus_lines_mark_the_current_mode() {
        let health = Health {
            mode: Mode::LocalFallback,
            last_error: Some(FailureKind::Refused),
            transitions: 3,
            shared_ops: 10,
            fallback_ops: 4,
            replicas: 2,
            local_keys: 7,
        };
        let mut out = String::new();
        health.write_prometheus(&mut out);
        assert!(out.contains("crmgate_shared_state_mode{mode=\"local-fallback\"} 1\n"));
        assert!(out.contains("crmgate_shared_state_mode{mode=\"shared\"} 0\n"));
        assert!(out.contains("crmgate_shared_state_transitions_total 3\n"));
        assert!(out.contains("crmgate_shared_state_fallback_ops_total 4\n"));
        assert!(out.contains("crmgate_shared_state_last_error{kind=\"refused\"} 1\n"));
        assert!(out.contains("crmgate_shared_state_local_keys 7\n"));
        // every line is a comment or `name{labels} value`
        for line in out.lines() {
            assert!(
                line.starts_with('#') || line.split(' ').count() == 2,
                "bad line: {line}"
            );
        }
    }
}
