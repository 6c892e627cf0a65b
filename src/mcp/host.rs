//! What an MCP client offers beyond plain tool calls, as a [`tools::Host`]:
//!
//! - **Elicitation** (form mode): a destructive confirm asks the human directly, with the
//!   preview, so the confirmation does not depend on the model obeying instructions. Only over
//!   stdio (a stateless HTTP request has no channel back to the client) and only when the
//!   client declared the capability; anything else keeps the confirm-token flow.
//! - **Log messages**: the notices of a call (rate-limit waits, retries, metadata loads) as
//!   `notifications/message`, at or above the level the client set with `logging/setLevel`
//!   (`info` until it does), all sent before the call's result.
//! - **Progress and cancellation** of a bulk change: `notifications/progress` after each group
//!   of records when the request carried a `progressToken`; a `notifications/cancelled` for the
//!   request stops the change before the next group.
//!
//! rmcp marks logging deprecated: protocol 2026-07-28 drops it (SEP-2577); 2025-11-25 clients,
//! the ones that have it, still use it.
#![allow(deprecated)]

use crate::tools::{self, Confirmation};
use async_trait::async_trait;
use crmgate_core::gateway::BulkWatch;
use crmgate_core::meta::{Notice, NoticeLevel, NoticeSink};
use rmcp::model::*;
use rmcp::service::ElicitationMode;
use rmcp::{Peer, RoleServer};
use serde_json::json;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;

/// How long a human may take to answer a confirmation.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(600);

/// The log level a client asked for, shared by the requests of one connection.
#[derive(Debug, Clone)]
pub struct LogLevel(Arc<AtomicU8>);

impl Default for LogLevel {
    fn default() -> Self {
        LogLevel(Arc::new(AtomicU8::new(rank(LoggingLevel::Info))))
    }
}

impl LogLevel {
    /// Set by `logging/setLevel`.
    pub fn set(&self, level: LoggingLevel) {
        self.0.store(rank(level), Ordering::Relaxed);
    }

    fn admits(&self, level: LoggingLevel) -> bool {
        rank(level) >= self.0.load(Ordering::Relaxed)
    }
}

fn rank(level: LoggingLevel) -> u8 {
    match level {
        LoggingLevel::Debug => 0,
        LoggingLevel::Info => 1,
        LoggingLevel::Notice => 2,
        LoggingLevel::Warning => 3,
        LoggingLevel::Error => 4,
        LoggingLevel::Critical => 5,
        LoggingLevel::Alert => 6,
        LoggingLevel::Emergency => 7,
    }
}

fn level_of(notice: &Notice) -> LoggingLevel {
    match notice.level {
        NoticeLevel::Debug => LoggingLevel::Debug,
        NoticeLevel::Info => LoggingLevel::Info,
        NoticeLevel::Warning => LoggingLevel::Warning,
    }
}

/// The client of one stdio connection, for the duration of one tool call.
pub struct McpHost {
    peer: Peer<RoleServer>,
    level: LogLevel,
    /// Notices on their way out; [`McpHost::flush`] waits for them.
    sending: Arc<Mutex<Vec<JoinHandle<()>>>>,
    watch: Watch,
}

/// A bulk change's progress and cancellation for one request.
struct Watch {
    peer: Peer<RoleServer>,
    token: Option<ProgressToken>,
    cancelled: tokio_util::sync::CancellationToken,
    sending: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl BulkWatch for Watch {
    fn progress(&self, done: usize, total: usize) {
        let Some(token) = self.token.clone() else {
            return;
        };
        let param = ProgressNotificationParam::new(token, done as f64)
            .with_total(total as f64)
            .with_message(format!("{done} of {total} records"));
        let peer = self.peer.clone();
        let handle = tokio::spawn(async move {
            let _ = peer.notify_progress(param).await;
        });
        self.sending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(handle);
    }

    fn cancelled(&self) -> bool {
        self.cancelled.is_cancelled()
    }
}

impl McpHost {
    /// A host over `peer`, sending notices at or above `level`. Costs nothing until a notice.
    pub fn new(peer: Peer<RoleServer>, level: LogLevel) -> Self {
        let sending: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        McpHost {
            watch: Watch {
                peer: peer.clone(),
                token: None,
                cancelled: Default::default(),
                sending: sending.clone(),
            },
            peer,
            level,
            sending,
        }
    }

    /// For the request with this `progressToken` (if any) and cancellation token.
    pub fn for_request(
        mut self,
        token: Option<ProgressToken>,
        cancelled: tokio_util::sync::CancellationToken,
    ) -> Self {
        self.watch.token = token;
        self.watch.cancelled = cancelled;
        self
    }

    /// Wait until every notice of the call has gone out (before the call's result does).
    pub async fn flush(&self) {
        let pending = std::mem::take(&mut *self.sending.lock().unwrap_or_else(|e| e.into_inner()));
        for handle in pending {
            let _ = handle.await;
        }
    }
}

#[async_trait]
impl tools::Host for McpHost {
    async fn confirm(&self, question: String) -> Option<Confirmation> {
        if !self
            .peer
            .supported_elicitation_modes()
            .contains(&ElicitationMode::Form)
        {
            return None;
        }
        let schema: ElicitationSchema = serde_json::from_value(json!({
            "type": "object",
            "properties": {"confirm": {
                "type": "boolean",
                "title": "Go ahead",
                "description": "Check to go ahead; leave unchecked to stop"
            }},
            "required": ["confirm"]
        }))
        .ok()?;
        let params = ElicitRequestParams::FormElicitationParams {
            meta: None,
            message: question,
            requested_schema: schema,
        };
        let answer = self
            .peer
            .create_elicitation_with_timeout(params, Some(ANSWER_TIMEOUT))
            .await;
        match answer {
            Ok(result) => Some(match result.action {
                ElicitationAction::Accept => {
                    let yes = result
                        .content
                        .as_ref()
                        .and_then(|c| c.get("confirm"))
                        .and_then(serde_json::Value::as_bool)
                        .unwrap_or(false);
                    if yes {
                        Confirmation::Accepted
                    } else {
                        Confirmation::Declined
                    }
                }
                ElicitationAction::Decline => Confirmation::Declined,
                _ => Confirmation::Cancelled,
            }),
            Err(e) => {
                // the client could not ask after all: fall back to the confirm-token flow
                tracing::debug!(error = %e, "elicitation failed; using the token flow");
                None
            }
        }
    }

    fn bulk_watch(&self) -> &dyn BulkWatch {
        &self.watch
    }

    fn notices(&self) -> Option<NoticeSink> {
        let (peer, level, sending) = (self.peer.clone(), self.level.clone(), self.sending.clone());
        Some(Arc::new(move |notice: Notice| {
            let level_now = level_of(&notice);
            if !level.admits(level_now) {
                return;
            }
            let message = LoggingMessageNotificationParam::new(level_now, json!(notice.text))
                .with_logger("crmgate");
            let peer = peer.clone();
            let handle = tokio::spawn(async move {
                let _ = peer.notify_logging_message(message).await;
            });
            sending
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(handle);
        }))
    }
}
