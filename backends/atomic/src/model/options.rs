//! Allowed values of the enum-like columns. The database enforces none of them: Atomic CRM
//! keeps them in the singleton `configuration` row (admin-editable) and falls back to the app's
//! defaults for keys the row lacks. crmgate does the same, so writes are checked against what
//! this instance's users see in the app.

use crmgate_core::schema::EnumOption;
use serde_json::Value;
use std::collections::BTreeMap;

/// Where a column's allowed values come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionSource {
    /// Free values.
    None,
    /// A key of `configuration.config` (with the app's default when absent).
    Config(&'static str),
    /// Values fixed in the app's code.
    Fixed(&'static [(&'static str, &'static str)]),
}

const DEAL_STAGES: &[(&str, &str)] = &[
    ("opportunity", "Opportunity"),
    ("proposal-sent", "Proposal Sent"),
    ("in-negociation", "In Negociation"),
    ("won", "Won"),
    ("lost", "Lost"),
    ("delayed", "Delayed"),
];
const DEAL_CATEGORIES: &[(&str, &str)] = &[
    ("other", "Other"),
    ("copywriting", "Copywriting"),
    ("print-project", "Print project"),
    ("ui-design", "UI Design"),
    ("website-design", "Website design"),
];
const NOTE_STATUSES: &[(&str, &str)] = &[
    ("cold", "Cold"),
    ("warm", "Warm"),
    ("hot", "Hot"),
    ("in-contract", "In Contract"),
];
const TASK_TYPES: &[(&str, &str)] = &[
    ("none", "None"),
    ("email", "Email"),
    ("demo", "Demo"),
    ("lunch", "Lunch"),
    ("meeting", "Meeting"),
    ("follow-up", "Follow-up"),
    ("thank-you", "Thank you"),
    ("ship", "Ship"),
    ("call", "Call"),
];
const COMPANY_SECTORS: &[(&str, &str)] = &[
    ("communication-services", "Communication Services"),
    ("consumer-discretionary", "Consumer Discretionary"),
    ("consumer-staples", "Consumer Staples"),
    ("energy", "Energy"),
    ("financials", "Financials"),
    ("health-care", "Health Care"),
    ("industrials", "Industrials"),
    ("information-technology", "Information Technology"),
    ("materials", "Materials"),
    ("real-estate", "Real Estate"),
    ("utilities", "Utilities"),
];
/// Genders, fixed in the app (`contacts/contactModel.ts`).
pub const GENDERS: &[(&str, &str)] = &[
    ("male", "Male"),
    ("female", "Female"),
    ("nonbinary", "Nonbinary"),
];
/// Company sizes (employee bands), fixed in the app (`companies/sizes.ts`).
pub const COMPANY_SIZES: &[i64] = &[1, 10, 50, 250, 500];
/// Types of emails and phones, fixed in the app.
pub const CONTACT_POINT_TYPES: &[&str] = &["Work", "Home", "Other"];

/// The app's default for a configuration key.
pub fn default_for(key: &str) -> &'static [(&'static str, &'static str)] {
    match key {
        "dealStages" => DEAL_STAGES,
        "dealCategories" => DEAL_CATEGORIES,
        "noteStatuses" => NOTE_STATUSES,
        "taskTypes" => TASK_TYPES,
        "companySectors" => COMPANY_SECTORS,
        _ => &[],
    }
}

/// The allowed values in force: the configuration row's lists over the defaults.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AllowedValues {
    configured: BTreeMap<String, Vec<EnumOption>>,
}

impl AllowedValues {
    /// From the `config` column of the `configuration` row (`None`: no row or no access).
    /// Entries are `{value, label}` objects (current app) or plain strings (older rows);
    /// anything else in a list is skipped, and an empty or unusable list keeps the default.
    pub fn from_config(config: Option<&Value>) -> Self {
        let mut configured = BTreeMap::new();
        if let Some(Value::Object(map)) = config {
            for (key, value) in map {
                let Some(items) = value.as_array() else {
                    continue;
                };
                let options: Vec<EnumOption> = items.iter().filter_map(option_of).collect();
                if !options.is_empty() {
                    configured.insert(key.clone(), options);
                }
            }
        }
        AllowedValues { configured }
    }

    /// The options of a column.
    pub fn options(&self, source: OptionSource) -> Vec<EnumOption> {
        match source {
            OptionSource::None => Vec::new(),
            OptionSource::Fixed(list) => {
                list.iter().map(|(v, l)| EnumOption::new(*v, *l)).collect()
            }
            OptionSource::Config(key) => match self.configured.get(key) {
                Some(list) => list.clone(),
                None => default_for(key)
                    .iter()
                    .map(|(v, l)| EnumOption::new(*v, *l))
                    .collect(),
            },
        }
    }
}

fn option_of(item: &Value) -> Option<EnumOption> {
    match item {
        Value::String(s) if !s.trim().is_empty() => Some(EnumOption::new(s.clone(), s.clone())),
        Value::Object(o) => {
            let value = match o.get("value")? {
                Value::String(s) if !s.is_empty() => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => return None,
            };
            let label = o
                .get("label")
                .and_then(Value::as_str)
                .unwrap_or(&value)
                .to_owned();
            Some(EnumOption::new(value, label))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn configured_lists_override_defaults_key_by_key() {
        let config = json!({
            "dealStages": [{"value": "lead", "label": "Lead"}, {"value": "signed", "label": "Signed"}, 7],
            "taskTypes": ["Call", "Visit"],
            "noteStatuses": [],
            "currency": "EUR"
        });
        let allowed = AllowedValues::from_config(Some(&config));
        let stages = allowed.options(OptionSource::Config("dealStages"));
        assert_eq!(
            stages,
            vec![
                EnumOption::new("lead", "Lead"),
                EnumOption::new("signed", "Signed")
            ]
        );
        assert_eq!(
            allowed.options(OptionSource::Config("taskTypes"))[1].value,
            "Visit"
        );
        // empty list: the default stays
        assert_eq!(
            allowed.options(OptionSource::Config("noteStatuses")).len(),
            4
        );
        let defaults = AllowedValues::from_config(None);
        let stages: Vec<String> = defaults
            .options(OptionSource::Config("dealStages"))
            .into_iter()
            .map(|o| o.value)
            .collect();
        assert_eq!(
            stages,
            [
                "opportunity",
                "proposal-sent",
                "in-negociation",
                "won",
                "lost",
                "delayed"
            ]
        );
        assert!(defaults.options(OptionSource::None).is_empty());
        assert_eq!(defaults.options(OptionSource::Fixed(GENDERS)).len(), 3);
    }
}
