//! The `crmgate` command line.
//!
//! Exit codes: 0 success; 1 the command failed (bad config, CRM unreachable, a tool call that
//! returned `isError`); 2 the command line itself is wrong (unknown client, malformed JSON,
//! a mode not in this version, clap's own usage errors).
//!
//! stdout carries only the command's result (MCP frames for `serve`, JSON for `call`, a
//! pasteable snippet for `client-config`); everything else — logs, errors, hints — goes to
//! stderr. An error is one line `error: CODE: message`, then `hint: suggestion`.

use crate::app::App;
use crate::client_config::{self, Client};
use crate::config::{self, Overrides, ResolvedCrm};
use crate::{backends, mcp, tools};
use clap::{Args, Parser, Subcommand, ValueEnum};
use crmgate_core::gateway::Tier;
use crmgate_core::model::Operation;
use crmgate_core::{CallContext, Error, ErrorCode};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

mod logging;
mod serve_args;

/// One MCP server for working inside any CRM.
#[derive(Debug, Parser)]
#[command(
    name = "crmgate",
    version,
    arg_required_else_help = true,
    after_help = "With no config file, crmgate serves a built-in demo CRM.\nDocs: README.md and config.example.toml."
)]
pub struct Cli {
    /// Flags every command takes.
    #[command(flatten)]
    pub global: Global,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// `--config`, `--crm`, `--tier`: override the config file, on every command.
#[derive(Debug, Clone, Args)]
pub struct Global {
    /// Config file [default: $CRMGATE_CONFIG, else ~/.config/crmgate/config.toml; none: the
    /// built-in demo CRM]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Which [crm.NAME] of the config to use [default: the config's `default`]
    #[arg(long, global = true, value_name = "NAME")]
    pub crm: Option<String>,
    /// What the agent may do, overriding the config's tier
    #[arg(long, global = true, value_enum, value_name = "TIER")]
    pub tier: Option<TierArg>,
}

/// `--tier` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TierArg {
    /// Look only
    Read,
    /// Also create, update, link, annotate, draft
    Write,
    /// Also delete and outward-facing actions, each with a confirm token
    Destructive,
}

impl From<TierArg> for Tier {
    fn from(t: TierArg) -> Tier {
        match t {
            TierArg::Read => Tier::Read,
            TierArg::Write => Tier::Write,
            TierArg::Destructive => Tier::Destructive,
        }
    }
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve MCP over stdio (what MCP clients start)
    Serve {
        /// Serve MCP over streamable HTTP on ADDR (e.g. 127.0.0.1:8900) for many users, each
        /// acting as the bearer token they send
        #[arg(long, value_name = "ADDR")]
        http: Option<std::net::SocketAddr>,
    },
    /// List the tools offered at the configured tier, each with its description
    Tools {
        /// Print the tools/list result as served over MCP, as JSON
        #[arg(long)]
        json: bool,
        /// Print each listed tool's output schema (the shape of its structuredContent), as JSON
        #[arg(long, conflicts_with = "json")]
        output_schemas: bool,
    },
    /// Call one tool and print its structuredContent as JSON
    Call {
        /// Tool name, e.g. crm_search
        tool: String,
        /// Arguments as one JSON object (default {}); `-` reads them from stdin
        #[arg(value_name = "JSON")]
        args: Option<String>,
    },
    /// Check the config, reach the CRM, and show what this identity may do
    Check,
    /// Print a ready-to-paste snippet registering crmgate with an MCP client
    #[command(name = "client-config")]
    ClientConfig {
        /// claude-desktop, claude-code, cursor, vscode, codex, zed or windsurf
        client: String,
        /// Server name in the client's config
        #[arg(long, default_value = "crmgate")]
        name: String,
    },
    /// The change journal (operators)
    Journal {
        /// What to do with it
        #[command(subcommand)]
        action: JournalAction,
    },
    /// Run a vendor sandbox (a fake of the vendor's API) on a local port
    Sandbox {
        /// espocrm, bitrix24, bottlecrm or atomic
        vendor: String,
        /// Port to listen on
        #[arg(long, value_name = "N")]
        port: Option<u16>,
    },
}

/// `crmgate journal …`
#[derive(Debug, Subcommand)]
pub enum JournalAction {
    /// Print journal entries as JSON lines, oldest first: every caller's, of every CRM unless
    /// --crm NAME is given
    Export {
        /// Only entries since: an RFC 3339 time (2026-01-31T09:00:00Z), a date (2026-01-31)
        /// or an age (90m, 24h, 7d, 2w)
        #[arg(long, value_name = "WHEN")]
        since: Option<String>,
        /// Only this caller scope (the entries' "scope": configured, caller:…)
        #[arg(long, value_name = "SCOPE")]
        scope: Option<String>,
    },
}

/// A command's failure: one `error:` line, an optional `hint:` line, and an exit code.
#[derive(Debug)]
pub struct Failure {
    line: String,
    hint: Option<String>,
    exit: u8,
}

impl Failure {
    /// A failure of the command (exit 1).
    fn error(error: Error) -> Self {
        Failure::from_error(error, 1)
    }

    /// A wrong command line (exit 2).
    fn usage(error: Error) -> Self {
        Failure::from_error(error, 2)
    }

    fn from_error(error: Error, exit: u8) -> Self {
        let hint = (!error.suggestion.is_empty()).then(|| one_line(&error.suggestion));
        Failure {
            line: one_line(&format!("{}: {}", error.code, error.message)),
            hint,
            exit,
        }
    }

    fn report(&self) {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "error: {}", self.line);
        if let Some(hint) = &self.hint {
            let _ = writeln!(err, "hint: {hint}");
        }
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure::error(error)
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Run the command line; the binary's `main`.
pub fn main() -> ExitCode {
    // the usual `serve` lines without clap's command tree (a sixth of start-up); the rest,
    // help and errors included, through clap
    let cli = serve_args::read(std::env::args_os()).unwrap_or_else(Cli::parse);
    logging::init();
    crate::isolate::install_panic_hook();
    match run(cli) {
        Ok(code) => code,
        Err(failure) => {
            failure.report();
            ExitCode::from(failure.exit)
        }
    }
}

/// Run one parsed command.
pub fn run(cli: Cli) -> Result<ExitCode, Failure> {
    let global = cli.global;
    match cli.command {
        Command::Serve { http: Some(addr) } => {
            let crm = load(&global)?;
            backends::check_hosted_identity(&crm)?;
            let rt = hosted_runtime().map_err(|e| Failure {
                line: format!("could not start the async runtime: {e}"),
                hint: None,
                exit: 1,
            })?;
            let mut settings = crm.http.clone();
            if settings.authorization_servers.is_empty() {
                // the vendor may know who issues its tokens (Atomic: Supabase Auth): name it so
                // OAuth clients can sign users in
                settings
                    .authorization_servers
                    .extend(crm.authorization_server());
            }
            block_on(&rt, async {
                let shared = crm.shared_identity;
                let app = backends::app(crm)?;
                crate::http::serve(app, settings, shared, addr)
                    .await
                    .map_err(|e| Failure {
                        line: one_line(&format!("{e:#}")),
                        hint: Some("is the address free and yours to bind?".into()),
                        exit: 1,
                    })
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve { http: None } => {
            let crm = load(&global)?;
            let rt = runtime()?;
            block_on(&rt, async {
                let app = backends::app(crm)?;
                mcp::serve_stdio(app).await.map_err(|e| Failure {
                    line: one_line(&format!("{e:#}")),
                    hint: None,
                    exit: 1,
                })
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Tools {
            json,
            output_schemas,
        } => {
            let crm = load(&global)?;
            let rt = runtime()?;
            let app = block_on(&rt, async { backends::app(crm) })?;
            if json {
                emit(&tools_json(&app))?;
            } else if output_schemas {
                let schemas: serde_json::Map<String, serde_json::Value> = tools::list(&app)
                    .into_iter()
                    .map(|spec| (spec.name.to_owned(), tools::output_schema(spec.kind)))
                    .collect();
                let mut text =
                    serde_json::to_string_pretty(&schemas).expect("JSON values serialise");
                text.push('\n');
                emit(&text)?;
            } else {
                emit(&tools_listing(&app))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Call { tool, args } => {
            let args = call_args(args.as_deref())?;
            let crm = load(&global)?;
            let rt = runtime()?;
            let outcome = block_on(&rt, async {
                let app = backends::app(crm)?;
                Ok::<_, Failure>(tools::call(&app, &CallContext::configured(), &tool, args).await)
            })?;
            let mut text =
                serde_json::to_string_pretty(&outcome.structured).expect("JSON values serialise");
            text.push('\n');
            emit(&text)?;
            Ok(if outcome.is_error {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Check => {
            let crm = load(&global)?;
            let rt = runtime()?;
            block_on(&rt, check(crm))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::ClientConfig { client, name } => {
            client_config_cmd(&global, &client, &name)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Journal {
            action: JournalAction::Export { since, scope },
        } => {
            let since = since
                .as_deref()
                .map(crate::journal_cmd::parse_since)
                .transpose()
                .map_err(Failure::usage)?;
            let crm = load(&global)?;
            let what = crate::journal_cmd::Export {
                since,
                crm: global.crm.clone(),
                scope,
            };
            let rt = runtime()?;
            let mut out = std::io::stdout().lock();
            block_on(
                &rt,
                crate::journal_cmd::export(&crm.journal, what, &mut out),
            )
            .map_err(|e| match e {
                crmgate_journal::export::ExportError::Journal(e) => Failure::error(e),
                crmgate_journal::export::ExportError::Write(e) => Failure {
                    line: format!("cannot write to stdout: {e}"),
                    hint: None,
                    exit: 1,
                },
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Sandbox { vendor, port } => {
            let rt = runtime()?;
            block_on(&rt, backends::sandbox(&vendor, port.unwrap_or(0))).map_err(Failure::usage)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn overrides(global: &Global) -> Overrides {
    Overrides {
        config: global.config.clone(),
        crm: global.crm.clone(),
        tier: global.tier.map(Tier::from),
    }
}

fn load(global: &Global) -> Result<ResolvedCrm, Failure> {
    Ok(config::load(&overrides(global))?)
}

/// Hosted mode's own runtime: the accept loop, signals, what the app starts with. Requests are
/// served on one runtime per core (`http::conn`'s shards), not here.
fn hosted_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// Run `future` to its end on `rt`, its state on the heap. `Runtime::block_on` keeps the future
/// it polls in its own stack frame: the serving futures are ~32 KB, and every page of a frame
/// that large is touched (stack probes), on top of the frames polled below it.
fn block_on<F: std::future::Future>(rt: &tokio::runtime::Runtime, future: F) -> F::Output {
    rt.block_on(Box::pin(future))
}

/// One thread is plenty for one stdio client or one call, and starts fastest. Sockets and
/// timers only: nothing here waits for a signal (hosted mode builds its own runtime).
fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| Failure {
            line: format!("could not start the async runtime: {e}"),
            hint: None,
            exit: 1,
        })
}

/// Write to stdout; a closed pipe (`crmgate tools | head -1`) is not an error.
fn emit(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure {
            line: format!("cannot write to stdout: {e}"),
            hint: None,
            exit: 1,
        }),
    }
}

/// `crmgate call`'s JSON argument: absent → `{}`, `-` → stdin.
fn call_args(arg: Option<&str>) -> Result<serde_json::Value, Failure> {
    let text = match arg {
        None => return Ok(serde_json::json!({})),
        Some("-") => {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text).map_err(|e| {
                Failure::usage(Error::validation(
                    format!("cannot read the arguments from stdin: {e}"),
                    "pipe one JSON object into crmgate call TOOL -",
                ))
            })?;
            text
        }
        Some(text) => text.to_owned(),
    };
    if text.trim().is_empty() {
        return Ok(serde_json::json!({}));
    }
    serde_json::from_str(&text).map_err(|e| {
        Failure::usage(Error::validation(
            format!("the tool arguments are not valid JSON: {e}"),
            "pass one JSON object in single quotes, e.g. crmgate call crm_search '{\"entity\":\"contacts\",\"limit\":2}', or - to read it from stdin",
        ))
    })
}

/// `crmgate tools --json`: the tools/list result exactly as served over MCP.
fn tools_json(app: &App) -> String {
    let mut text =
        serde_json::to_string_pretty(&mcp::tools_list_json(app)).expect("JSON values serialise");
    text.push('\n');
    text
}

/// `crmgate tools`: per tool a line with name, tier and hints, then its description indented.
fn tools_listing(app: &App) -> String {
    let listed = tools::list(app);
    let width = listed.iter().map(|t| t.name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for spec in listed {
        let mut hints = Vec::new();
        if tools::read_only_hint(app, spec) {
            hints.push("read-only");
        }
        if tools::destructive_hint(app, spec) {
            hints.push("destructive");
        }
        if spec.idempotent {
            hints.push("idempotent");
        }
        let hints = if hints.is_empty() {
            "-".to_owned()
        } else {
            hints.join(", ")
        };
        out.push_str(&format!(
            "{:<width$}  {:<11}  {hints}\n    {}\n",
            spec.name,
            spec.tier.as_str(),
            tools::description(app, spec)
        ));
    }
    out
}

/// `crmgate check`: config, reachability and auth, and what the tier permits.
async fn check(crm: ResolvedCrm) -> Result<(), Failure> {
    let source = match &crm.source {
        Some(path) => path.display().to_string(),
        None => "none found: serving the built-in demo CRM".to_owned(),
    };
    let tier = crm.settings.tier;
    emit(&format!(
        "config:   {source}\ncrm:      {}\nkind:     {}\ntier:     {}\n",
        crm.name,
        crm.kind,
        tier.as_str()
    ))?;
    let app = backends::app(crm)?;
    let cx = CallContext::configured();
    // reachability and credentials first: a probe that fails says so, never "reached: yes"
    let probe = match app.gateway.backend().probe(&cx).await {
        Ok(probe) => probe,
        Err(e) => {
            emit(&format!("reached:  no — {}\n", one_line(&e.message)))?;
            return Err(e.into());
        }
    };
    let out = app.gateway.entities(&cx).await?;
    let who = probe
        .identity
        .map(|i| format!(" as {i}"))
        .unwrap_or_default();
    let mut text = format!(
        "reached:  yes, {}{who} (credentials accepted), {} entities\n",
        probe.crm,
        out.entities.len()
    );
    for entity in out.entities.iter() {
        let name = if entity.native == entity.name {
            entity.name.clone()
        } else {
            format!("{} ({})", entity.name, entity.native)
        };
        let (allowed, above): (Vec<Operation>, Vec<Operation>) = entity
            .operations
            .iter()
            .partition(|op| operation_tier(**op) <= tier);
        text.push_str(&format!("  {name}: {}", op_names(&allowed)));
        if !above.is_empty() {
            text.push_str(&format!(" [not at this tier: {}]", op_names(&above)));
        }
        if !entity.actions.is_empty() {
            let actions: Vec<String> = entity
                .actions
                .iter()
                .map(|a| {
                    let needs = if a.destructive {
                        Tier::Destructive
                    } else {
                        Tier::Write
                    };
                    if needs <= tier {
                        a.name.clone()
                    } else {
                        format!("{} (needs {})", a.name, needs.as_str())
                    }
                })
                .collect();
            text.push_str(&format!("; actions: {}", actions.join(", ")));
        }
        text.push('\n');
    }
    text.push_str(&format!(
        "tier {}:  {}\n",
        tier.as_str(),
        tier_summary(tier)
    ));
    let names: Vec<&str> = tools::list(&app).iter().map(|t| t.name).collect();
    text.push_str(&format!(
        "tools:    {} ({})\n",
        names.len(),
        names.join(", ")
    ));
    text.push_str("ok\n");
    emit(&text)
}

/// The least tier an operation needs (actions: write, or destructive per action).
fn operation_tier(op: Operation) -> Tier {
    match op {
        Operation::Search | Operation::Get | Operation::Related | Operation::Timeline => Tier::Read,
        Operation::Delete => Tier::Destructive,
        Operation::Create
        | Operation::Update
        | Operation::Link
        | Operation::Note
        | Operation::DraftEmail
        | Operation::Action => Tier::Write,
    }
}

fn op_names(ops: &[Operation]) -> String {
    ops.iter()
        .map(|op| {
            serde_json::to_value(op)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn tier_summary(tier: Tier) -> &'static str {
    match tier {
        Tier::Read => {
            "look only (entities, describe, search, get, related, timeline); --tier write adds changes"
        }
        Tier::Write => {
            "look, create, update, link, notes, email drafts, non-destructive actions; deletes and destructive actions need --tier destructive"
        }
        Tier::Destructive => {
            "everything; deletes and destructive actions each need a confirm token from a preview"
        }
    }
}

/// `crmgate client-config CLIENT`: header on stderr, snippet on stdout.
fn client_config_cmd(global: &Global, client: &str, name: &str) -> Result<(), Failure> {
    let client: Client = client.parse().map_err(|_| {
        Failure::usage(Error::validation(
            format!("unknown client {client:?}"),
            format!("use one of: {}", client_config::client_names()),
        ))
    })?;
    client_config::check_name(name).map_err(|why| {
        Failure::usage(Error::validation(
            why,
            "pass --name with a plain name such as crmgate",
        ))
    })?;
    let exe = std::env::current_exe().map_err(|e| {
        Failure::error(Error::new(
            ErrorCode::Config,
            format!("cannot find the path of this crmgate executable: {e}"),
            "write the snippet by hand with the absolute path of crmgate",
        ))
    })?;
    // the client starts crmgate without this shell's environment: pass the config explicitly
    // when it was named here, by --config or CRMGATE_CONFIG
    let env = std::env::var_os(config::CONFIG_ENV).filter(|v| !v.is_empty());
    let located = config::locate(
        global.config.as_deref(),
        env.as_deref().map(std::path::Path::new),
        &[],
    )?;
    let tier = global.tier.map(|t| Tier::from(t).as_str());
    let args = client_config::server_args(located.path.as_deref(), global.crm.as_deref(), tier);
    // hosts start servers with a minimal environment: name every secret variable the CRM needs
    let env = match &located.path {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                Failure::error(Error::config(format!(
                    "cannot read {}: {e}",
                    path.display()
                )))
            })?;
            client_config::secret_env_vars(&text, global.crm.as_deref()).map_err(|why| {
                Failure::error(Error::config(format!("{}: {why}", path.display())))
            })?
        }
        None => Vec::new(),
    };
    let snippet = client_config::snippet(client, name, &exe, &args, &env);
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "# {}", snippet.header);
    let shown = exe.to_string_lossy();
    if shown.contains("/target/debug/") || shown.contains("\\target\\debug\\") {
        let _ = writeln!(
            err,
            "# note: this is a debug build inside a cargo target dir; for daily use run `cargo install --path .` and generate the snippet with the installed crmgate"
        );
    }
    drop(err);
    emit(&snippet.body)
}
