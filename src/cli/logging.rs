//! Logs: to stderr only (stdout belongs to MCP in stdio mode), `RUST_LOG` respected, default
//! `warn`, colour only on a terminal.
//!
//! At the default level the formatting subscriber is built on first use: tracing-subscriber's
//! span registry costs ~30K instructions and 32 KB to set up (a sixth of what crmgate adds to a
//! bare server's start-up), and a quiet session never logs. [`Deferred`] answers tracing's
//! level questions itself and builds the real subscriber when the first event or span that
//! passes the level arrives, then hands it everything.

use std::io::IsTerminal;
use std::sync::OnceLock;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::util::SubscriberInitExt;

/// Install the process's log subscriber (once; later calls do nothing).
pub fn init() {
    let stderr_is_terminal = std::io::stderr().is_terminal();
    // a second call (tests) finds a subscriber installed and changes nothing
    match std::env::var_os("RUST_LOG") {
        Some(_) => {
            let _ = tracing_subscriber::fmt()
                .with_writer(std::io::stderr)
                .with_ansi(stderr_is_terminal)
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
                )
                .try_init();
        }
        None => {
            let _ = Deferred::new(LevelFilter::WARN, move || {
                tracing_subscriber::fmt()
                    .with_writer(std::io::stderr)
                    .with_ansi(stderr_is_terminal)
                    .with_max_level(LevelFilter::WARN)
                    .finish()
            })
            .try_init();
        }
    }
}

/// A subscriber at a fixed level whose real subscriber is built when first needed.
pub struct Deferred<S, F> {
    level: LevelFilter,
    make: F,
    inner: OnceLock<S>,
}

impl<S: Subscriber, F: Fn() -> S> Deferred<S, F> {
    /// Let through what `level` admits, to the subscriber `make` builds on first use.
    pub fn new(level: LevelFilter, make: F) -> Self {
        Deferred {
            level,
            make,
            inner: OnceLock::new(),
        }
    }

    /// Whether the real subscriber has been built.
    #[cfg(test)]
    fn built(&self) -> bool {
        self.inner.get().is_some()
    }

    fn inner(&self) -> &S {
        self.inner.get_or_init(&self.make)
    }
}

impl<S, F> Subscriber for Deferred<S, F>
where
    S: Subscriber,
    F: Fn() -> S + Send + Sync + 'static,
{
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        if self.level >= *metadata.level() {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        self.level >= *metadata.level()
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(self.level)
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        self.inner().new_span(span)
    }

    // Every span id comes from `new_span`, so the real subscriber exists for the methods below
    // that take one; `inner()` only fetches it. `current_span` keeps tracing's default
    // ("unknown"): no span at this level is entered around crmgate's own work.
    fn record(&self, span: &Id, values: &Record<'_>) {
        self.inner().record(span, values)
    }

    fn record_follows_from(&self, span: &Id, follows: &Id) {
        self.inner().record_follows_from(span, follows)
    }

    fn event(&self, event: &Event<'_>) {
        self.inner().event(event)
    }

    fn enter(&self, span: &Id) {
        self.inner().enter(span)
    }

    fn exit(&self, span: &Id) {
        self.inner().exit(span)
    }

    fn clone_span(&self, id: &Id) -> Id {
        self.inner().clone_span(id)
    }

    fn try_close(&self, id: Id) -> bool {
        self.inner().try_close(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    /// A writer into a shared buffer, for the formatting subscriber under test.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn nothing_is_built_until_something_passes_the_level_then_all_of_it_is_logged() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let deferred = Arc::new(Deferred::new(LevelFilter::WARN, move || {
            let writer = writer.clone();
            tracing_subscriber::fmt()
                .with_writer(move || writer.clone())
                .with_ansi(false)
                .with_max_level(LevelFilter::WARN)
                .finish()
        }));
        let dispatch = tracing::Dispatch::from(deferred.clone());
        tracing::dispatcher::with_default(&dispatch, || {
            let quiet = tracing::info_span!("quiet", n = 1);
            let _entered = quiet.enter();
            tracing::info!("not logged");
            tracing::debug!("not logged either");
        });
        assert!(!deferred.built(), "built for events below the level");
        assert!(buffer.0.lock().unwrap().is_empty());
        tracing::dispatcher::with_default(&dispatch, || {
            let span = tracing::warn_span!("call", tool = "crm_get");
            let _entered = span.enter();
            tracing::warn!(code = 7, "the CRM was slow");
            tracing::error!("and then failed");
        });
        assert!(deferred.built());
        let logged = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        assert!(
            logged.contains("WARN") && logged.contains("call{tool=\"crm_get\"}"),
            "{logged}"
        );
        assert!(logged.contains("the CRM was slow code=7"), "{logged}");
        assert!(logged.contains("ERROR") && logged.contains("and then failed"));
        assert!(!logged.contains("not logged"), "{logged}");
    }
}
