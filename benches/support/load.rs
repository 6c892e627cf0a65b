//! The load generator's client: one keep-alive HTTP/1.1 connection per simulated client, sending
//! a request built once, byte for byte, and reading just enough of each answer (status, head,
//! body by `content-length` or chunks) to judge it.
//!
//! This is what wrk does. A general HTTP client (reqwest, hyper's pool, a `Request` per call)
//! spends about as much CPU per call as the server does, and on a 2-core machine that CPU is
//! taken from the server under test: the figures would measure the client.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One answer: its status and body.
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

/// A client's connection, reopened when the server closes it.
pub struct Connection {
    addr: SocketAddr,
    request: Vec<u8>,
    stream: Option<TcpStream>,
    /// What has been read and not yet used (the start of the next answer, if any).
    buffer: Vec<u8>,
    timeout: Duration,
    /// Connections opened so far: more than one means the server closed one (or it failed).
    pub opened: usize,
}

impl Connection {
    /// A connection to `url` (`http://host:port/path`) sending `body` as a POST with `headers`
    /// (`name: value` lines, without the line ends).
    pub fn new(url: &str, headers: &[String], body: &[u8], timeout: Duration) -> Connection {
        let rest = url.strip_prefix("http://").expect("an http:// URL");
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let addr = authority.parse().expect("a host:port address");
        let mut request = format!("POST {path} HTTP/1.1\r\nhost: {authority}\r\n");
        for header in headers {
            request.push_str(header);
            request.push_str("\r\n");
        }
        request.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
        let mut request = request.into_bytes();
        request.extend_from_slice(body);
        Connection {
            addr,
            request,
            stream: None,
            buffer: Vec::with_capacity(4096),
            timeout,
            opened: 0,
        }
    }

    /// Send the request and read its answer. After a failure the connection is dropped, and the
    /// next call opens a new one (a failed call is not sent again).
    pub async fn call(&mut self) -> io::Result<Answer> {
        match tokio::time::timeout(self.timeout, self.exchange()).await {
            Ok(Ok((answer, keep))) => {
                if !keep {
                    self.stream = None;
                }
                Ok(answer)
            }
            Ok(Err(e)) => {
                self.stream = None;
                Err(e)
            }
            Err(_) => {
                self.stream = None;
                Err(io::Error::new(io::ErrorKind::TimedOut, "no answer in time"))
            }
        }
    }

    async fn exchange(&mut self) -> io::Result<(Answer, bool)> {
        if self.stream.is_none() {
            let stream = TcpStream::connect(self.addr).await?;
            stream.set_nodelay(true)?;
            self.stream = Some(stream);
            self.opened += 1;
            self.buffer.clear();
        }
        let stream = self.stream.as_mut().expect("connected above");
        stream.write_all(&self.request).await?;
        let head_end = loop {
            if let Some(at) = find(&self.buffer, b"\r\n\r\n") {
                break at + 4;
            }
            read_more(stream, &mut self.buffer).await?;
        };
        let head = std::str::from_utf8(&self.buffer[..head_end])
            .map_err(|_| invalid("the answer's head is not UTF-8"))?
            .to_ascii_lowercase();
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok())
            .ok_or_else(|| invalid("no status in the answer"))?;
        let header = |name: &str| {
            head.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
                .map(str::trim)
        };
        let keep = header("connection") != Some("close");
        let body = if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
            self.buffer.drain(..head_end);
            read_chunked(stream, &mut self.buffer).await?
        } else {
            let length: usize = header("content-length")
                .ok_or_else(|| invalid("neither content-length nor chunks"))?
                .parse()
                .map_err(|_| invalid("a bad content-length"))?;
            while self.buffer.len() < head_end + length {
                read_more(stream, &mut self.buffer).await?;
            }
            let body = self.buffer[head_end..head_end + length].to_vec();
            self.buffer.drain(..head_end + length);
            body
        };
        Ok((Answer { status, body }, keep))
    }
}

/// The body of a chunked answer at the start of `buffer`, removing it from there.
async fn read_chunked(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = loop {
            if let Some(at) = find(buffer, b"\r\n") {
                break at;
            }
            read_more(stream, buffer).await?;
        };
        let size_text =
            std::str::from_utf8(&buffer[..line_end]).map_err(|_| invalid("a bad chunk size"))?;
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| invalid("a bad chunk size"))?;
        // the chunk and its closing line end (for the last, empty chunk: no trailers expected)
        while buffer.len() < line_end + 2 + size + 2 {
            read_more(stream, buffer).await?;
        }
        body.extend_from_slice(&buffer[line_end + 2..line_end + 2 + size]);
        buffer.drain(..line_end + 2 + size + 2);
        if size == 0 {
            return Ok(body);
        }
    }
}

async fn read_more(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> io::Result<()> {
    let mut chunk = [0u8; 8192];
    let n = stream.read(&mut chunk).await?;
    if n == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the server closed the connection",
        ));
    }
    buffer.extend_from_slice(&chunk[..n]);
    Ok(())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_owned())
}
