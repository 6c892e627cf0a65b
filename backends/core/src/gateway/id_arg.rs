//! Record ids in tool arguments: a string, or a whole number — `"id": 12` reads as `"12"`.
//! Agents often send a numeric id as a JSON number (Atomic CRM and Bitrix24 ids are numbers in
//! their own APIs); backends keep receiving text. Anything else (a fraction, a boolean, an
//! object) is refused naming what was expected. Used with `#[serde(deserialize_with)]`.

use serde::Deserialize;
use serde::de::{self, Deserializer};

/// One id as written: text, or a whole number.
#[derive(Deserialize)]
#[serde(untagged)]
enum IdValue {
    Text(String),
    Number(serde_json::Number),
}

impl IdValue {
    fn into_text<E: de::Error>(self) -> Result<String, E> {
        match self {
            IdValue::Text(text) => Ok(text),
            IdValue::Number(n) if n.is_i64() || n.is_u64() => Ok(n.to_string()),
            IdValue::Number(n) => Err(E::custom(format!(
                "{n} is not a record id: pass the id as a string or a whole number"
            ))),
        }
    }
}

/// An id: a string or a whole number.
pub fn id<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    IdValue::deserialize(d)
        .map_err(|_| de::Error::custom("expected a record id (a string or a whole number)"))?
        .into_text()
}

/// An optional id (use with `#[serde(default)]`).
pub fn opt_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Option::<IdValue>::deserialize(d)
        .map_err(|_| de::Error::custom("expected a record id (a string or a whole number)"))?
    {
        Some(value) => value.into_text().map(Some),
        None => Ok(None),
    }
}

/// An optional list of ids (use with `#[serde(default)]`).
pub fn opt_ids<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    match Option::<Vec<IdValue>>::deserialize(d).map_err(|_| {
        de::Error::custom("expected a list of record ids (strings or whole numbers)")
    })? {
        Some(values) => values
            .into_iter()
            .map(IdValue::into_text)
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::super::args::{GetArgs, LinkArgs, UpdateArgs};
    use serde_json::json;

    #[test]
    fn ids_are_strings_or_whole_numbers() {
        let get: GetArgs = serde_json::from_value(json!({"entity": "contacts", "id": 12})).unwrap();
        assert_eq!(get.id.as_deref(), Some("12"));
        let get: GetArgs =
            serde_json::from_value(json!({"entity": "contacts", "ids": [1, "2", 30000000000u64]}))
                .unwrap();
        assert_eq!(get.ids.unwrap(), ["1", "2", "30000000000"]);
        let get: GetArgs = serde_json::from_value(json!({"entity": "contacts"})).unwrap();
        assert!(get.id.is_none() && get.ids.is_none());
        let get: GetArgs =
            serde_json::from_value(json!({"entity": "contacts", "id": null})).unwrap();
        assert!(get.id.is_none());
        let update: UpdateArgs =
            serde_json::from_value(json!({"entity": "deals", "id": 7, "data": {"x": 1}})).unwrap();
        assert_eq!(update.id, "7");
        let link: LinkArgs = serde_json::from_value(
            json!({"entity": "deals", "id": "7", "link": "contacts", "target_id": 3}),
        )
        .unwrap();
        assert_eq!((link.id.as_str(), link.target_id.as_str()), ("7", "3"));
        for bad in [json!(1.5), json!(true), json!({"id": 1}), json!([1])] {
            let e = serde_json::from_value::<UpdateArgs>(
                json!({"entity": "deals", "id": bad, "data": {}}),
            )
            .unwrap_err();
            assert!(e.to_string().contains("record id"), "{e}");
        }
        let e = serde_json::from_value::<GetArgs>(json!({"entity": "deals", "ids": [1, 2.5]}))
            .unwrap_err();
        assert!(e.to_string().contains("record id"), "{e}");
    }
}
