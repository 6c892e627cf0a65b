//! The `crmgate` binary: see [`crmgate::cli`].

fn main() -> std::process::ExitCode {
    crmgate::cli::main()
}
