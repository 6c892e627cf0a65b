//! The `crmgate` binary: see [`crmgate::cli`].

/// mimalloc: a call allocates a few hundred small objects (rmcp's message types, JSON values),
/// and glibc's malloc spent a third of a hosted call's instructions on them (docs/performance.md).
/// Built without transparent huge pages (`no_thp`), which would make each 2 MiB of its arena
/// resident at once.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    crmgate::cli::main()
}
