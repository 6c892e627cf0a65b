//! crmgate backend for atomic (being written).
