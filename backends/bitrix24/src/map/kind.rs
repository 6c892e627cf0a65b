//! Entity types: `entityTypeId` ↔ canonical name, native name (`crm.item:<entityTypeId>`),
//! deep links and timeline owner types.

/// The standard CRM types served through `crm.item.*`: (entityTypeId, canonical, label).
pub const STANDARD: [(i64, &str, &str); 4] = [
    (1, "leads", "Leads"),
    (2, "deals", "Deals"),
    (3, "contacts", "Contacts"),
    (4, "companies", "Companies"),
];

/// The canonical name of a standard type.
pub fn canonical(entity_type_id: i64) -> Option<&'static str> {
    STANDARD
        .iter()
        .find(|(id, _, _)| *id == entity_type_id)
        .map(|(_, name, _)| *name)
}

/// The native name: `crm.item:<entityTypeId>`.
pub fn native(entity_type_id: i64) -> String {
    format!("crm.item:{entity_type_id}")
}

/// The entityTypeId of a native name.
pub fn from_native(native: &str) -> Option<i64> {
    native
        .strip_prefix("crm.item:")
        .and_then(|id| id.trim().parse().ok())
}

/// The entity's segment in legacy method names and UI paths (`lead`, `deal`, …).
pub fn legacy(entity_type_id: i64) -> Option<&'static str> {
    match entity_type_id {
        1 => Some("lead"),
        2 => Some("deal"),
        3 => Some("contact"),
        4 => Some("company"),
        _ => None,
    }
}

/// Deep link into the portal's UI.
pub fn url(portal: &str, entity_type_id: i64, id: &str) -> String {
    match legacy(entity_type_id) {
        Some(segment) => format!("{portal}/crm/{segment}/details/{id}/"),
        None => format!("{portal}/crm/type/{entity_type_id}/details/{id}/"),
    }
}

/// `ENTITY_TYPE` of `crm.timeline.comment.*`: `lead`, `deal`, …, `dynamic_<id>`.
pub fn timeline_type(entity_type_id: i64) -> String {
    match legacy(entity_type_id) {
        Some(segment) => segment.to_owned(),
        None => format!("dynamic_{entity_type_id}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_links_and_owner_types() {
        assert_eq!(native(2), "crm.item:2");
        assert_eq!(from_native("crm.item:128"), Some(128));
        assert_eq!(from_native("Deal"), None);
        assert_eq!(
            url("https://a.bitrix24.com", 2, "7"),
            "https://a.bitrix24.com/crm/deal/details/7/"
        );
        assert_eq!(
            url("https://a.bitrix24.com", 128, "7"),
            "https://a.bitrix24.com/crm/type/128/details/7/"
        );
        assert_eq!(timeline_type(3), "contact");
        assert_eq!(timeline_type(130), "dynamic_130");
    }
}
