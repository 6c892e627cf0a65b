//! The command lines MCP clients start crmgate with, read without clap.
//!
//! clap builds its whole command tree (every subcommand, every argument, their help) before it
//! reads a single argument: ~0.11M instructions, a sixth of a stdio server's start-up. The
//! lines `crmgate client-config` writes and MCP clients run are few: `serve`, with `--config`,
//! `--crm`, `--tier` (before or after it) and `--http` (after it), each at most once, as
//! `--name value` or `--name=value`. [`read`] accepts exactly those and gives up (`None`) on
//! anything else — help, a repeated or unknown flag, a value clap would refuse or read
//! differently — which clap then parses, errors and help included. Whatever [`read`] accepts,
//! clap reads the same (`tests` below compare them).

use super::{Cli, Command, Global, TierArg};
use std::ffi::OsString;
use std::path::PathBuf;

/// The parsed command line when it is a plain `serve`, else `None` (let clap parse it).
pub fn read(args: impl IntoIterator<Item = OsString>) -> Option<Cli> {
    let mut args = args.into_iter().skip(1);
    let mut global = Global {
        config: None,
        crm: None,
        tier: None,
    };
    let mut serve = false;
    let mut http = None;
    while let Some(arg) = args.next() {
        let arg = arg.into_string().ok()?;
        if arg == "serve" && !serve {
            serve = true;
            continue;
        }
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) => (name, Some(value.to_owned())),
            None => (arg.as_str(), None),
        };
        let value = match inline {
            Some(value) => value,
            None => args.next()?.into_string().ok()?,
        };
        // clap reads a leading `-` as the next flag, and refuses an empty value
        if value.is_empty() || value.starts_with('-') {
            return None;
        }
        match name {
            "--config" if global.config.is_none() => global.config = Some(PathBuf::from(value)),
            "--crm" if global.crm.is_none() => global.crm = Some(value),
            "--tier" if global.tier.is_none() => {
                global.tier = Some(match value.as_str() {
                    "read" => TierArg::Read,
                    "write" => TierArg::Write,
                    "destructive" => TierArg::Destructive,
                    _ => return None,
                })
            }
            "--http" if serve && http.is_none() => http = Some(value.parse().ok()?),
            _ => return None,
        }
    }
    serve.then_some(Cli {
        global,
        command: Command::Serve { http },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use proptest::prelude::*;

    fn argv(args: &[&str]) -> Vec<OsString> {
        std::iter::once("crmgate")
            .chain(args.iter().copied())
            .map(OsString::from)
            .collect()
    }

    /// What clap makes of the same line, compared through `Debug` (the parsed structs hold
    /// no secrets and derive it).
    fn clap_reads(args: &[&str]) -> Option<String> {
        Cli::try_parse_from(argv(args))
            .ok()
            .map(|cli| format!("{cli:?}"))
    }

    #[test]
    fn the_lines_clients_run_are_read_as_clap_reads_them() {
        let lines: &[&[&str]] = &[
            &["serve"],
            &["--config", "/home/a/crm.toml", "serve"],
            &["--config=/home/a/crm.toml", "--crm", "acme", "serve"],
            &["serve", "--config", "/etc/crmgate.toml", "--crm=acme"],
            &["--tier", "read", "serve"],
            &["serve", "--tier=destructive"],
            &["--config", "c.toml", "serve", "--http", "127.0.0.1:8900"],
            &["serve", "--http=[::1]:8900", "--crm", "x"],
            &["--crm", "name with spaces", "serve"],
            &["--config", "dir=with=equals/c.toml", "serve"],
        ];
        for line in lines {
            let quick = read(argv(line)).unwrap_or_else(|| panic!("{line:?} not read"));
            assert_eq!(Some(format!("{quick:?}")), clap_reads(line), "{line:?}");
        }
    }

    #[test]
    fn anything_else_is_left_to_clap() {
        let lines: &[&[&str]] = &[
            &[],
            &["--help"],
            &["serve", "--help"],
            &["-V"],
            &["tools"],
            &["call", "crm_search"],
            &["serve", "serve"],
            &["--config", "a", "--config", "b", "serve"],
            &["--config", "serve"],
            &["--config", "-x", "serve"],
            &["--config=", "serve"],
            &["--tier", "READ", "serve"],
            &["--tier", "admin", "serve"],
            &["--http", "127.0.0.1:1", "serve"],
            &["serve", "--http", "localhost:8900"],
            &["serve", "--http"],
            &["serve", "--", "--crm", "x"],
            &["serve", "--crmx", "x"],
            &["serve", "extra"],
        ];
        for line in lines {
            assert!(read(argv(line)).is_none(), "{line:?} was read");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_path_that_is_not_utf8_is_left_to_clap() {
        use std::os::unix::ffi::OsStringExt;
        let args = vec![
            OsString::from("crmgate"),
            OsString::from("--config"),
            OsString::from_vec(b"/tmp/\xff.toml".to_vec()),
            OsString::from("serve"),
        ];
        assert!(read(args).is_none());
    }

    fn token() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("serve".to_owned()),
            Just("--config".to_owned()),
            Just("--crm".to_owned()),
            Just("--tier".to_owned()),
            Just("--http".to_owned()),
            Just("--help".to_owned()),
            Just("read".to_owned()),
            Just("destructive".to_owned()),
            Just("127.0.0.1:8900".to_owned()),
            Just("--".to_owned()),
            Just("-".to_owned()),
            Just("".to_owned()),
            "(--config|--crm|--tier|--http)=[a-z0-9.:=/-]{0,8}",
            "[a-z0-9./:-]{1,8}",
        ]
    }

    /// A `serve` line of flags with values, in any order, written either way.
    fn serve_line() -> impl Strategy<Value = Vec<String>> {
        let flag = prop_oneof![
            "[a-z0-9./ ]{1,8}".prop_map(|v| ("--config", v)),
            "[a-z0-9.=]{1,8}".prop_map(|v| ("--crm", v)),
            prop_oneof![
                Just("read"),
                Just("write"),
                Just("destructive"),
                Just("all")
            ]
            .prop_map(|v| ("--tier", v.to_owned())),
            prop_oneof![
                Just("127.0.0.1:8900"),
                Just("[::1]:1"),
                Just("0.0.0.0:99999")
            ]
            .prop_map(|v| ("--http", v.to_owned())),
        ];
        (
            proptest::collection::vec((flag, any::<bool>()), 0..5),
            0usize..6,
        )
            .prop_map(|(flags, serve_at)| {
                let mut line = Vec::new();
                for (i, ((name, value), inline)) in flags.into_iter().enumerate() {
                    if i == serve_at {
                        line.push("serve".to_owned());
                    }
                    if inline {
                        line.push(format!("{name}={value}"));
                    } else {
                        line.push(name.to_owned());
                        line.push(value);
                    }
                }
                if !line.iter().any(|a| a == "serve") {
                    line.push("serve".to_owned());
                }
                line
            })
    }

    proptest! {
        /// Whatever the quick reader accepts, clap accepts and reads the same.
        #[test]
        fn what_is_read_quickly_clap_reads_the_same(
            line in prop_oneof![proptest::collection::vec(token(), 0..7), serve_line()]
        ) {
            let line: Vec<&str> = line.iter().map(String::as_str).collect();
            if let Some(quick) = read(argv(&line)) {
                prop_assert_eq!(Some(format!("{quick:?}")), clap_reads(&line));
            }
        }

        /// A well-formed `serve` line that clap accepts is read without clap, unless a flag
        /// repeats or `--http` comes before `serve` (those go to clap for its error).
        #[test]
        fn serve_lines_clap_accepts_are_read_quickly(line in serve_line()) {
            let line: Vec<&str> = line.iter().map(String::as_str).collect();
            let serve_at = line.iter().position(|a| *a == "serve").unwrap();
            let mut names: Vec<&str> = line
                .iter()
                .filter(|a| a.starts_with("--"))
                .map(|a| a.split('=').next().unwrap())
                .collect();
            let http_late = line[..serve_at].iter().all(|a| !a.starts_with("--http"));
            names.sort_unstable();
            let repeated = names.windows(2).any(|w| w[0] == w[1]);
            if clap_reads(&line).is_some() && !repeated && http_late {
                prop_assert!(read(argv(&line)).is_some(), "{:?} not read", line);
            }
        }
    }
}
