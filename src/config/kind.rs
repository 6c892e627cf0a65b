//! The registry of backends: each `kind` and the vendor crate whose typed section reads the rest
//! of `[crm.NAME]`. The vendor crates own their keys, checks, defaults and construction (each
//! `backends/<vendor>/src/config.rs` implements [`VendorSection`]); this file only maps a
//! `kind` to that type. Each vendor is a cargo feature of the binary (all on by default).

use super::Ctx;
use crmgate_core::Result;
use crmgate_core::config::VendorSection;
use serde::Deserialize;
use std::fmt;

/// Which backend a section configures: the value of `kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// The embedded demo CRM (always built).
    Demo,
    /// EspoCRM (feature `espocrm`).
    Espocrm,
    /// Bitrix24 (feature `bitrix24`).
    Bitrix24,
    /// BottleCRM (feature `bottlecrm`).
    Bottlecrm,
    /// Atomic CRM (feature `atomic`).
    Atomic,
}

impl Kind {
    /// Every kind, in the order messages list them.
    pub const ALL: [Kind; 5] = [
        Kind::Demo,
        Kind::Espocrm,
        Kind::Bitrix24,
        Kind::Bottlecrm,
        Kind::Atomic,
    ];

    /// The spelling in the config file (and the cargo feature's name).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Demo => "demo",
            Kind::Espocrm => "espocrm",
            Kind::Bitrix24 => "bitrix24",
            Kind::Bottlecrm => "bottlecrm",
            Kind::Atomic => "atomic",
        }
    }

    /// Whether this binary was built with the kind's feature.
    pub fn is_built(self) -> bool {
        match self {
            Kind::Demo => true,
            Kind::Espocrm => cfg!(feature = "espocrm"),
            Kind::Bitrix24 => cfg!(feature = "bitrix24"),
            Kind::Bottlecrm => cfg!(feature = "bottlecrm"),
            Kind::Atomic => cfg!(feature = "atomic"),
        }
    }

    /// Every kind's spelling, comma-separated.
    pub fn list() -> String {
        Kind::ALL.map(Kind::as_str).join(", ")
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A section's vendor keys, read by the vendor crate's own section type.
pub enum Vendor {
    /// `kind = "demo"`.
    Demo(crmgate_demo::config::DemoSection),
    /// `kind = "espocrm"`.
    #[cfg(feature = "espocrm")]
    Espocrm(crmgate_espocrm::config::EspoSection),
    /// `kind = "bitrix24"`.
    #[cfg(feature = "bitrix24")]
    Bitrix24(crmgate_bitrix24::config::Bitrix24Section),
    /// `kind = "bottlecrm"`.
    #[cfg(feature = "bottlecrm")]
    Bottlecrm(crmgate_bottlecrm::config::BottleSection),
    /// `kind = "atomic"`.
    #[cfg(feature = "atomic")]
    Atomic(Box<crmgate_atomic::config::AtomicSection>),
    /// A kind this binary was built without: its keys are not read, and selecting it is an
    /// error ([`super::ResolvedCrm::section`]).
    NotBuilt(Kind),
}

impl Vendor {
    /// Read `table` (the section minus its common keys) as `kind`'s section; `prefix` is the
    /// section's key path, for messages.
    pub(crate) fn parse(ctx: &Ctx, prefix: &str, kind: Kind, table: toml::Table) -> Result<Self> {
        use super::messages::vendor_section as read;
        Ok(match kind {
            Kind::Demo => Vendor::Demo(read(ctx, prefix, kind, table)?),
            #[cfg(feature = "espocrm")]
            Kind::Espocrm => Vendor::Espocrm(read(ctx, prefix, kind, table)?),
            #[cfg(feature = "bitrix24")]
            Kind::Bitrix24 => Vendor::Bitrix24(read(ctx, prefix, kind, table)?),
            #[cfg(feature = "bottlecrm")]
            Kind::Bottlecrm => Vendor::Bottlecrm(read(ctx, prefix, kind, table)?),
            #[cfg(feature = "atomic")]
            Kind::Atomic => Vendor::Atomic(Box::new(read(ctx, prefix, kind, table)?)),
            #[allow(unreachable_patterns)]
            other => Vendor::NotBuilt(other),
        })
    }

    /// The vendor's section, if this binary has the vendor.
    pub fn section(&self) -> Option<&dyn VendorSection> {
        match self {
            Vendor::Demo(s) => Some(s),
            #[cfg(feature = "espocrm")]
            Vendor::Espocrm(s) => Some(s),
            #[cfg(feature = "bitrix24")]
            Vendor::Bitrix24(s) => Some(s),
            #[cfg(feature = "bottlecrm")]
            Vendor::Bottlecrm(s) => Some(s),
            #[cfg(feature = "atomic")]
            Vendor::Atomic(s) => Some(s.as_ref()),
            Vendor::NotBuilt(_) => None,
        }
    }
}

/// Only the kind: a section's values (a URL with a token among them) stay out of `Debug`.
impl fmt::Debug for Vendor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.section() {
            Some(section) => f
                .debug_struct("Vendor")
                .field("inline_secrets", &section.inline_secrets())
                .field("identity_keys", &section.identity_keys())
                .finish_non_exhaustive(),
            None => f.write_str("Vendor(not built)"),
        }
    }
}
