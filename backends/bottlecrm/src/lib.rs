//! crmgate backend for bottlecrm (being written).
