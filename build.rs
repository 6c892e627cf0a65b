//! Link-time settings of the crmgate binary (Linux with glibc).
//!
//! - Relative relocations are packed (`DT_RELR`, glibc ≥ 2.36, GNU ld ≥ 2.38 or lld ≥ 15; an
//!   older toolchain ignores the request): the ~45,000 pointers of this position-independent
//!   binary are then described in 13 KB instead of a 1 MB table the loader reads page by page
//!   before `main` (measured: about 2.5 MiB less resident at start-up).
//! - With lld (rustc's default linker on x86_64 Linux since 1.90), the functions a typical
//!   session runs (`link/hot-symbols.txt`, made by `scripts/hot_symbols.py`) are placed side by
//!   side: the kernel maps code 64 KB at a time around each page touched, so packed hot code
//!   keeps a session's resident code small. A name the build no longer has is skipped.
//!   `CRMGATE_LINK_ORDER=0` turns this off (for a linker other than lld).

use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=link/hot-symbols.txt");
    println!("cargo:rerun-if-env-changed=CRMGATE_LINK_ORDER");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    if os != "linux" || env != "gnu" {
        return;
    }
    println!("cargo:rustc-link-arg=-Wl,-z,pack-relative-relocs");
    let wanted = std::env::var("CRMGATE_LINK_ORDER").map_or(true, |v| v != "0");
    let flags = std::env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    let other_linker = flags.contains("linker");
    if wanted && arch == "x86_64" && !other_linker && rustc_minor() >= 90 {
        let order = Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap())
            .join("link")
            .join("hot-symbols.txt");
        if order.exists() {
            println!(
                "cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
                order.display()
            );
            println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
        }
    }
}

/// The minor version of the rustc building this (`1.95.0` → 95); 0 when unknown.
fn rustc_minor() -> u32 {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    std::process::Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|out| {
            let text = String::from_utf8(out.stdout).ok()?;
            text.split_whitespace()
                .nth(1)?
                .split('.')
                .nth(1)?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}
