//! crmgate backend for bitrix24 (being written).
