//! Records as EspoCRM returns them: stored attributes plus the derived ones — person names,
//! `…Name` of links, link-multiple ids/names/columns (detail reads only), foreign fields, the
//! email and phone data arrays, converted currency, follow state.

use super::defs::defs;
use super::state::{Rec, Store, User, person_name};
use serde_json::{Map, Value, json};

/// A record for output; `detail` adds what only `GET {Entity}/{id}` returns.
pub fn render(store: &Store, entity: &str, rec: &Rec, detail: bool, user: &User) -> Rec {
    let d = defs();
    let mut out = rec.clone();
    let id = rec
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let get = |k: &str| rec.get(k).cloned().unwrap_or(Value::Null);
    for (name, def) in d.fields(entity) {
        let kind = def.get("type").and_then(Value::as_str).unwrap_or("varchar");
        match kind {
            "personName" => {
                out.insert(name.clone(), json!(person_name(rec)));
            }
            "link" => {
                let attr = format!("{name}Id");
                let target = d
                    .link_target(entity, name)
                    .or_else(|| def.get("entity").and_then(Value::as_str))
                    .unwrap_or("User");
                let fid = get(&attr);
                let fname = fid
                    .as_str()
                    .and_then(|f| store.name_of(target, f))
                    .map_or(Value::Null, Value::String);
                out.insert(attr, fid);
                out.insert(format!("{name}Name"), fname);
            }
            "linkOne" | "file" | "image" => {
                out.entry(format!("{name}Id")).or_insert(Value::Null);
                out.entry(format!("{name}Name")).or_insert(Value::Null);
            }
            "linkParent" => {
                let (pt, pid) = (get(&format!("{name}Type")), get(&format!("{name}Id")));
                let pname = match (pt.as_str(), pid.as_str()) {
                    (Some(t), Some(i)) => store.name_of(t, i).map_or(Value::Null, Value::String),
                    _ => Value::Null,
                };
                out.insert(format!("{name}Type"), pt);
                out.insert(format!("{name}Id"), pid);
                out.insert(format!("{name}Name"), pname);
            }
            "linkMultiple" | "attachmentMultiple"
                if detail && !def["noLoad"].as_bool().unwrap_or(false) =>
            {
                let target = d.link_target(entity, name).unwrap_or("Attachment");
                let related = store.related(entity, &id, name);
                let ids: Vec<&str> = related.iter().map(|(i, _)| i.as_str()).collect();
                let names: Map<String, Value> = related
                    .iter()
                    .map(|(i, _)| {
                        (
                            i.clone(),
                            store.name_of(target, i).map_or(Value::Null, Value::String),
                        )
                    })
                    .collect();
                out.insert(format!("{name}Ids"), json!(ids));
                out.insert(format!("{name}Names"), Value::Object(names));
                if let Some(columns) = def.get("columns").and_then(Value::as_object) {
                    let cols: Map<String, Value> = related
                        .iter()
                        .map(|(i, c)| {
                            let row: Map<String, Value> = columns
                                .keys()
                                .map(|col| {
                                    (col.clone(), c.get(col).cloned().unwrap_or(Value::Null))
                                })
                                .collect();
                            (i.clone(), Value::Object(row))
                        })
                        .collect();
                    out.insert(format!("{name}Columns"), Value::Object(cols));
                }
            }
            "foreign" => {
                let link = def.get("link").and_then(Value::as_str).unwrap_or_default();
                let field = def.get("field").and_then(Value::as_str).unwrap_or_default();
                let value = d
                    .link_target(entity, link)
                    .zip(rec.get(&format!("{link}Id")).and_then(Value::as_str))
                    .and_then(|(t, fid)| store.find(t, fid))
                    .and_then(|r| r.get(field).cloned())
                    .unwrap_or(Value::Null);
                out.insert(name.clone(), value);
            }
            "email" | "phone" => {
                let value = get(name);
                out.insert(name.clone(), value.clone());
                if detail {
                    let data = match rec.get(&format!("{name}Data")) {
                        Some(Value::Array(a)) => Value::Array(a.clone()),
                        _ => match value.as_str() {
                            Some(v) if kind == "email" => {
                                json!([{"emailAddress": v, "lower": v.to_lowercase(), "primary": true, "optOut": false, "invalid": false}])
                            }
                            Some(v) => {
                                json!([{"phoneNumber": v, "type": def.get("defaultType").cloned().unwrap_or(json!("Office")), "primary": true, "optOut": false, "invalid": false}])
                            }
                            None => json!([]),
                        },
                    };
                    out.insert(format!("{name}Data"), data);
                } else {
                    out.remove(&format!("{name}Data"));
                }
            }
            "bool" => {
                let v = rec.get(name).cloned().unwrap_or(json!(false));
                out.insert(name.clone(), if v.is_null() { json!(false) } else { v });
            }
            "currencyConverted" => {
                let base = name.strip_suffix("Converted").unwrap_or(name);
                out.insert(name.clone(), get(base));
            }
            "currency" => {
                let currency = format!("{name}Currency");
                let v = get(name);
                if !v.is_null() && rec.get(&currency).is_none_or(Value::is_null) {
                    out.insert(currency, json!("USD"));
                }
                out.insert(name.clone(), v);
            }
            "datetimeOptional" => {
                out.insert(name.clone(), get(name));
                out.entry(format!("{name}Date")).or_insert(Value::Null);
            }
            "address" | "map" | "linkMultiple" | "attachmentMultiple" => {}
            _ => {
                out.entry(name.clone()).or_insert(Value::Null);
            }
        }
    }
    if entity == "Note" {
        for (link, t) in [("parent", "parentType"), ("related", "relatedType")] {
            let name = rec
                .get(t)
                .and_then(Value::as_str)
                .zip(rec.get(&format!("{link}Id")).and_then(Value::as_str))
                .and_then(|(t, i)| store.name_of(t, i))
                .map_or(Value::Null, Value::String);
            out.insert(format!("{link}Name"), name);
        }
    }
    if detail && d.scope(entity).and_then(|s| s.get("stream")) == Some(&json!(true)) {
        let followed = store
            .follows
            .contains(&(user.id.clone(), entity.to_owned(), id.clone()));
        out.insert("isFollowed".into(), json!(followed));
    }
    if d.versioned(entity) {
        out.entry("versionNumber").or_insert(json!(1));
    }
    if !detail {
        for attr in d.detail_only(entity) {
            out.remove(&attr);
        }
    }
    out.retain(|k, _| !k.starts_with('_'));
    out
}
