//! The stdio transport: newline-delimited JSON-RPC, answering every line it cannot use.
//!
//! rmcp's own transport drops a line that is not JSON without a word, so a client that sent a
//! request on it waits forever. Here every line gets a JSON-RPC answer or becomes a message:
//!
//! - not JSON (invalid UTF-8, a lone surrogate escape, nesting past the parser's depth limit,
//!   a line past [`MAX_LINE`]): `-32700 Parse error`, `id: null`;
//! - JSON but not a JSON-RPC message (an array/batch, no `jsonrpc: "2.0"`, a bad id):
//!   `-32600 Invalid Request`, with the id when it can be read;
//! - a request whose params do not fit its method (`tools/call` with `arguments` that are not
//!   an object): `-32602 Invalid params`, with its id;
//! - a notification crmgate does not know: ignored, as JSON-RPC asks.
//!
//! The server keeps serving after each of these. Writes go through one writer task, so an
//! error answer never interleaves with a response.

use rmcp::RoleServer;
use rmcp::model::{
    CallToolRequest, CallToolRequestParams, ClientRequest, GetPromptRequestParams,
    InitializeRequestParams, JsonRpcMessage, JsonRpcRequest, JsonRpcVersion2_0,
    ReadResourceRequestParams, RequestId,
};
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use serde_json::{Value, json};
use std::future::Future;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The longest line read (one message), as rmcp's own limit.
pub const MAX_LINE: usize = 16 * 1024 * 1024;

/// MCP methods a client sends; a request for one of these whose params do not parse is -32602.
const METHODS: &[&str] = &[
    "initialize",
    "ping",
    "server/discover",
    "tools/list",
    "tools/call",
    "prompts/list",
    "prompts/get",
    "resources/list",
    "resources/read",
    "resources/templates/list",
    "resources/subscribe",
    "resources/unsubscribe",
    "completion/complete",
    "logging/setLevel",
];

/// Newline-delimited JSON-RPC over a reader and a writer, for rmcp's server.
pub struct LineTransport<R> {
    read: BufReader<R>,
    line: Vec<u8>,
    /// Inside an oversized line: drop bytes until its newline.
    discarding: bool,
    out: Option<mpsc::UnboundedSender<Vec<u8>>>,
    writer: Option<JoinHandle<()>>,
}

impl<R: AsyncRead + Send + Unpin> LineTransport<R> {
    /// A transport reading `read` and writing `write` (one task owns the writer).
    pub fn new<W: AsyncWrite + Send + Unpin + 'static>(read: R, mut write: W) -> Self {
        let (out, mut lines) = mpsc::unbounded_channel::<Vec<u8>>();
        let writer = tokio::spawn(async move {
            while let Some(line) = lines.recv().await {
                if write.write_all(&line).await.is_err() || write.flush().await.is_err() {
                    break;
                }
            }
        });
        LineTransport {
            read: BufReader::new(read),
            line: Vec::new(),
            discarding: false,
            out: Some(out),
            writer: Some(writer),
        }
    }

    fn answer(&self, reply: Value) {
        if let Some(out) = &self.out {
            let mut bytes = serde_json::to_vec(&reply).unwrap_or_default();
            bytes.push(b'\n');
            let _ = out.send(bytes);
        }
    }

    /// Read until a whole line is in `self.line` (`Some(true)`), an oversized line was dropped
    /// (`Some(false)`), or the stream ended (`None`). Cancel-safe: a partial line stays in
    /// `self.line` and the next call resumes it.
    async fn read_line(&mut self) -> Option<bool> {
        loop {
            let available = match self.read.fill_buf().await {
                Ok([]) => return None,
                Ok(bytes) => bytes,
                Err(e) => {
                    tracing::debug!(error = %e, "stdin closed");
                    return None;
                }
            };
            let newline = available.iter().position(|b| *b == b'\n');
            let take = newline.map_or(available.len(), |i| i + 1);
            let mut oversized = false;
            if self.discarding {
                if newline.is_some() {
                    self.discarding = false;
                }
            } else if self.line.len() + take > MAX_LINE {
                self.line.clear();
                self.discarding = newline.is_none();
                oversized = true;
            } else {
                self.line.extend_from_slice(&available[..take]);
            }
            self.read.consume(take);
            if oversized {
                return Some(false);
            }
            if newline.is_some() && !self.discarding {
                return Some(true);
            }
        }
    }
}

/// The JSON-RPC error answering one message (a line, an HTTP body), or `None` when it is
/// usable (or a notification to ignore).
pub fn refusal(message: &[u8]) -> Option<Value> {
    match judge(message) {
        Verdict::Answer(reply) => Some(reply),
        Verdict::Message(_) | Verdict::Skip => None,
    }
}

/// What to do with one line.
#[derive(Debug)]
enum Verdict {
    /// A message for rmcp.
    Message(Box<RxJsonRpcMessage<RoleServer>>),
    /// Answer this and read on.
    Answer(Value),
    /// Nothing to do (blank line, unknown notification).
    Skip,
}

fn error(id: Value, code: i32, message: String) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

/// Decide what one line (without its newline) is.
fn judge(line: &[u8]) -> Verdict {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line); // a UTF-8 BOM
    if line.iter().all(u8::is_ascii_whitespace) {
        return Verdict::Skip;
    }
    if let Some(call) = tools_call(line) {
        return Verdict::Message(Box::new(call));
    }
    // The common case costs one parse, as in rmcp's own transport: a request rmcp reads as the
    // method it names, or a notification (rmcp checks the version and the message's shape).
    // Anything else is judged below, where every problem gets its precise answer.
    if let Ok(message) = serde_json::from_slice::<RxJsonRpcMessage<RoleServer>>(line) {
        let usable = match &message {
            JsonRpcMessage::Request(request) => !matches!(
                &request.request,
                ClientRequest::CustomRequest(custom) if METHODS.contains(&custom.method.as_str())
            ),
            JsonRpcMessage::Notification(_) => true,
            _ => false,
        };
        if usable {
            return Verdict::Message(Box::new(message));
        }
    }
    let value: Value = match serde_json::from_slice(line) {
        Ok(value) => value,
        Err(e) => return Verdict::Answer(error(Value::Null, -32700, format!("Parse error: {e}"))),
    };
    let id = match value.get("id") {
        Some(id @ (Value::String(_) | Value::Number(_))) => Some(id.clone()),
        _ => None,
    };
    let method = value.get("method").and_then(Value::as_str);
    let envelope_ok = value.is_object()
        && value.get("jsonrpc") == Some(&json!("2.0"))
        && (value.get("id").is_none() || id.is_some());
    if !envelope_ok {
        let why = if value.is_array() {
            "Invalid Request: batches are not supported; send one message per line"
        } else {
            "Invalid Request: not a JSON-RPC 2.0 message"
        };
        return Verdict::Answer(error(id.unwrap_or(Value::Null), -32600, why.to_owned()));
    }
    match serde_json::from_value::<RxJsonRpcMessage<RoleServer>>(value.clone()) {
        // rmcp takes a known method whose params do not parse as a custom request (and would
        // answer "method not found"): it is a request with invalid params
        Ok(JsonRpcMessage::Request(request)) if matches!(&request.request, ClientRequest::CustomRequest(custom) if METHODS.contains(&custom.method.as_str())) =>
        {
            let method = method.unwrap_or_default();
            let message = invalid_params(method, value.get("params").cloned());
            Verdict::Answer(error(
                id.unwrap_or(Value::Null),
                -32602,
                message.unwrap_or_default(),
            ))
        }
        Ok(message) => Verdict::Message(Box::new(message)),
        Err(e) => match (id, method) {
            // a notification nobody here knows: JSON-RPC says ignore it
            (None, Some(_)) => Verdict::Skip,
            (Some(id), Some(method)) if METHODS.contains(&method) => Verdict::Answer(error(
                id,
                -32602,
                format!("Invalid params for {method}: {e}"),
            )),
            (id, _) => Verdict::Answer(error(
                id.unwrap_or(Value::Null),
                -32600,
                format!("Invalid Request: {e}"),
            )),
        },
    }
}

/// The hot path: a well-formed `tools/call` request read straight into its type. rmcp reads a
/// message by buffering it and trying each of its 22 request types in turn, building an error
/// for every one that does not fit (`tools/call` is the 14th): about a fifth of a whole demo
/// `crm_get`. Here the envelope is read first (version, id, method, and no `result`/`error`,
/// as rmcp's shape check asks), then the request as rmcp's own `CallToolRequest` (its params
/// and `_meta`). Anything else — another method, params that do not fit — is `None`, and the
/// line goes the general way.
fn tools_call(line: &[u8]) -> Option<RxJsonRpcMessage<RoleServer>> {
    /// Whether a key is present at all (even as `null`, which rmcp's shape check counts).
    #[derive(Default)]
    struct Present(bool);
    impl<'de> serde::Deserialize<'de> for Present {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            serde::de::IgnoredAny::deserialize(d).map(|_| Present(true))
        }
    }
    #[derive(serde::Deserialize)]
    struct Envelope<'a> {
        #[allow(dead_code)] // read to check it is "2.0"
        jsonrpc: JsonRpcVersion2_0,
        id: RequestId,
        #[serde(borrow)]
        method: std::borrow::Cow<'a, str>,
        #[serde(default)]
        result: Present,
        #[serde(default)]
        error: Present,
    }
    let envelope: Envelope = serde_json::from_slice(line).ok()?;
    if envelope.method != "tools/call" || envelope.result.0 || envelope.error.0 {
        return None;
    }
    let request: CallToolRequest = serde_json::from_slice(line).ok()?;
    Some(JsonRpcMessage::Request(JsonRpcRequest::new(
        envelope.id,
        request.into(),
    )))
}

/// What is wrong with the params of a request for a known `method` (serde's words).
fn problem_with_params(method: &str, params: Value) -> String {
    let parsed = match method {
        "tools/call" => serde_json::from_value::<CallToolRequestParams>(params).map(drop),
        "initialize" => serde_json::from_value::<InitializeRequestParams>(params).map(drop),
        "prompts/get" => serde_json::from_value::<GetPromptRequestParams>(params).map(drop),
        "resources/read" => serde_json::from_value::<ReadResourceRequestParams>(params).map(drop),
        _ => return "they do not fit the method".to_owned(),
    };
    match parsed {
        Err(e) => e.to_string(),
        Ok(()) => "they do not fit the method".to_owned(),
    }
}

/// The `-32602` message for a request rmcp took as a custom request: one for a known `method`
/// whose params do not fit it (`None` for a method crmgate does not know). Over HTTP, where
/// rmcp parses the body, this is how such a request gets the same answer as over stdio.
pub fn invalid_params(method: &str, params: Option<Value>) -> Option<String> {
    METHODS.contains(&method).then(|| {
        format!(
            "Invalid params for {method}: {}",
            problem_with_params(method, params.unwrap_or(Value::Null))
        )
    })
}

impl<R: AsyncRead + Send + Unpin> Transport<RoleServer> for LineTransport<R> {
    type Error = std::io::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleServer>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        let out = self.out.clone();
        async move {
            let mut bytes = serde_json::to_vec(&item).map_err(std::io::Error::other)?;
            bytes.push(b'\n');
            match out {
                Some(out) if out.send(bytes).is_ok() => Ok(()),
                _ => Err(std::io::Error::new(
                    std::io::ErrorKind::NotConnected,
                    "stdout is closed",
                )),
            }
        }
    }

    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleServer>> {
        loop {
            match self.read_line().await? {
                false => self.answer(error(
                    Value::Null,
                    -32700,
                    format!("Parse error: a message longer than {MAX_LINE} bytes"),
                )),
                true => {
                    let line = std::mem::take(&mut self.line);
                    let verdict = judge(line.strip_suffix(b"\n").unwrap_or(&line));
                    self.line = line;
                    self.line.clear();
                    match verdict {
                        Verdict::Message(message) => return Some(*message),
                        Verdict::Answer(reply) => {
                            tracing::debug!(%reply, "answered an unusable line");
                            self.answer(reply);
                        }
                        Verdict::Skip => {}
                    }
                }
            }
        }
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        drop(self.out.take());
        if let Some(writer) = self.writer.take() {
            let _ = writer.await; // everything queued goes out first
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(line: &[u8]) -> Value {
        match judge(line) {
            Verdict::Answer(v) => v,
            other => panic!("{}: {other:?}", String::from_utf8_lossy(line)),
        }
    }

    #[test]
    fn lines_that_are_not_json_get_a_parse_error() {
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        for line in [
            b"{this is not json".as_slice(),
            b"\xff\xfe{}",
            br#"{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"\ud800"}}"#,
            deep.as_bytes(),
            b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"",
        ] {
            let reply = answer(line);
            assert_eq!(reply["error"]["code"], -32700, "{reply}");
            assert_eq!(reply["id"], Value::Null);
            assert_eq!(reply["jsonrpc"], "2.0");
        }
    }

    #[test]
    fn json_that_is_not_a_request_gets_invalid_request_or_params() {
        let batch = answer(br#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#);
        assert_eq!(batch["error"]["code"], -32600);
        let no_version = answer(br#"{"id":4,"method":"ping"}"#);
        assert_eq!(
            (
                no_version["error"]["code"].clone(),
                no_version["id"].clone()
            ),
            (json!(-32600), json!(4))
        );
        let bad_id = answer(br#"{"jsonrpc":"2.0","id":{"x":1},"method":"ping"}"#);
        assert_eq!(bad_id["error"]["code"], -32600);
        for (n, args) in ["[1,2]", "\"text\"", "7", "true"].iter().enumerate() {
            let line = format!(
                r#"{{"jsonrpc":"2.0","id":{n},"method":"tools/call","params":{{"name":"crm_search","arguments":{args}}}}}"#
            );
            let reply = answer(line.as_bytes());
            assert_eq!(reply["error"]["code"], -32602, "{reply}");
            assert_eq!(reply["id"], n);
        }
    }

    /// The `tools/call` fast path reads exactly what rmcp's own parse reads, and declines
    /// whatever rmcp would read differently or refuse.
    #[test]
    fn the_tools_call_fast_path_agrees_with_rmcp() {
        let same = [
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"crm_get","arguments":{"entity":"deals","id":"dl-1"}}}"#,
            r#"{"id":"a-1","params":{"arguments":{},"name":"crm_entities"},"method":"tools/call","jsonrpc":"2.0"}"#,
            r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"crm_search","arguments":{"q":"x"},"_meta":{"progressToken":"p-1","io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#,
            r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"crm_search"},"extra":{"ignored":true}}"#,
            r#"{"jsonrpc":"2.0","id":4,"method":"tools\/call","params":{"name":"crm_search","arguments":null}}"#,
            r#"{"jsonrpc":"2.0","id":-5,"method":"tools/call","params":{"name":"crm_get","arguments":{"entity":"deals","id":"dl-1"},"task":{"ttl":1000}}}"#,
        ];
        for line in same {
            let fast = tools_call(line.as_bytes()).unwrap_or_else(|| panic!("declined: {line}"));
            let rmcp: RxJsonRpcMessage<RoleServer> = serde_json::from_str(line).unwrap();
            assert_eq!(
                serde_json::to_value(&fast).unwrap(),
                serde_json::to_value(&rmcp).unwrap(),
                "{line}"
            );
            assert!(matches!(
                fast,
                JsonRpcMessage::Request(JsonRpcRequest {
                    request: ClientRequest::CallToolRequest(_),
                    ..
                })
            ));
        }
        let declined = [
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"crm_get","arguments":[1]}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"arguments":{}}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call"}"#,
            r#"{"jsonrpc":"1.0","id":1,"method":"tools/call","params":{"name":"x"}}"#,
            r#"{"jsonrpc":"2.0","id":null,"method":"tools/call","params":{"name":"x"}}"#,
            r#"{"jsonrpc":"2.0","method":"tools/call","params":{"name":"x"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"},"result":null}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"},"error":{}}"#,
            r#"{"jsonrpc":"2.0","id":1,"id":2,"method":"tools/call","params":{"name":"x"}}"#,
            r#"[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}}]"#,
        ];
        for line in declined {
            assert!(tools_call(line.as_bytes()).is_none(), "{line}");
        }
    }

    #[test]
    fn messages_pass_and_noise_is_skipped() {
        assert!(matches!(
            judge(br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#),
            Verdict::Message(_)
        ));
        assert!(matches!(
            judge(b"\xEF\xBB\xBF{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}\r"),
            Verdict::Message(_)
        ));
        assert!(matches!(judge(b"   "), Verdict::Skip));
        // an unknown notification is never answered (rmcp may take it as a custom one)
        assert!(!matches!(
            judge(br#"{"jsonrpc":"2.0","method":"notifications/whatever","params":{}}"#),
            Verdict::Answer(_)
        ));
    }
}
