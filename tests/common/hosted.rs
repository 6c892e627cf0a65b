//! Hosted mode through the built binary: `crmgate serve --http 127.0.0.1:0` on a config file,
//! its address read from the start-up line on stderr, an rmcp client over streamable HTTP with
//! a bearer token. The child is killed when dropped.

use rmcp::ServiceExt;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use std::io::{BufRead, BufReader};

/// A running `crmgate serve --http`, killed on drop.
pub struct Hosted {
    child: std::process::Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    _home: tempfile::TempDir,
}

impl Hosted {
    /// Spawn on `config` (written to a file in a temporary home) with `env` set.
    pub fn spawn(config: &str, env: &[(&str, &str)]) -> Hosted {
        let home = tempfile::tempdir().unwrap();
        let path = home.path().join("crmgate.toml");
        std::fs::write(&path, config).unwrap();
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_crmgate"));
        cmd.arg("--config")
            .arg(&path)
            .args(["serve", "--http", "127.0.0.1:0"])
            .env_remove("CRMGATE_CONFIG")
            .env("HOME", home.path())
            .env("XDG_CONFIG_HOME", home.path())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        for (key, value) in env {
            cmd.env(key, value);
        }
        let mut child = cmd.spawn().expect("spawn crmgate serve --http");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let address = lines.by_ref().map_while(Result::ok).find_map(|line| {
            line.split("serving MCP at http://")
                .nth(1)
                .and_then(|rest| rest.split('/').next())
                .map(str::to_owned)
        });
        let Some(address) = address else {
            let _ = child.kill();
            panic!("crmgate serve --http exited before printing its address");
        };
        // keep draining stderr so the child never blocks on a full pipe
        std::thread::spawn(move || lines.for_each(drop));
        Hosted {
            child,
            base: format!("http://{address}"),
            _home: home,
        }
    }

    /// An MCP client for `/mcp` acting as `token`.
    pub async fn client(&self, token: &str) -> super::Client {
        let config = StreamableHttpClientTransportConfig::with_uri(format!("{}/mcp", self.base))
            .auth_header(token);
        ().serve(StreamableHttpClientTransport::from_config(config))
            .await
            .expect("initialize over HTTP")
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Hosted {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
