//! crmgate backend for espocrm (being written).
