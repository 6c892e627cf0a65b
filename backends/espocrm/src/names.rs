//! Canonical entity names for EspoCRM's native entity types (`Account` → `companies`,
//! `Opportunity` → `deals`, …). Custom entities keep their native name.

/// Native EspoCRM entity type → crmgate canonical name.
const CANONICAL: &[(&str, &str)] = &[
    ("Account", "companies"),
    ("Contact", "contacts"),
    ("Lead", "leads"),
    ("Opportunity", "deals"),
    ("Task", "tasks"),
    ("Case", "cases"),
    ("Meeting", "meetings"),
    ("Call", "calls"),
    ("Email", "emails"),
    ("EmailTemplate", "email_templates"),
    ("Note", "notes"),
    ("User", "users"),
    ("Team", "teams"),
    ("Document", "documents"),
    ("Campaign", "campaigns"),
    ("TargetList", "target_lists"),
    ("KnowledgeBaseArticle", "articles"),
    ("Product", "products"),
    ("Quote", "quotes"),
    ("SalesOrder", "sales_orders"),
    ("Invoice", "invoices"),
];

/// The canonical name of a native entity type; custom entities keep their native name.
pub fn canonical(native: &str) -> String {
    CANONICAL
        .iter()
        .find(|(n, _)| *n == native)
        .map(|(_, c)| (*c).to_owned())
        .unwrap_or_else(|| native.to_owned())
}

/// The native entity type of a canonical name, when it is one of the built-in ones.
pub fn native_of(canonical: &str) -> Option<&'static str> {
    CANONICAL
        .iter()
        .find(|(_, c)| *c == canonical)
        .map(|(n, _)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_names_map_both_ways_and_custom_ones_stay() {
        assert_eq!(canonical("Account"), "companies");
        assert_eq!(canonical("Opportunity"), "deals");
        assert_eq!(canonical("CProject"), "CProject");
        assert_eq!(native_of("deals"), Some("Opportunity"));
        assert_eq!(native_of("CProject"), None);
    }
}
