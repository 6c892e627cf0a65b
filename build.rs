//! Link-time settings of the crmgate binary.
//!
//! On Linux with glibc, relative relocations are packed (`DT_RELR`, glibc ≥ 2.36, GNU ld ≥ 2.38
//! or lld ≥ 15; an older toolchain ignores the request): a position-independent binary of this
//! size otherwise carries ~45,000 relocation entries that the dynamic loader walks one by one
//! before `main` — more than half of the instructions of a stdio start-up.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-arg=-Wl,-z,pack-relative-relocs");
    }
}
