//! Deterministic seed data (a fixed-seed SplitMix64): leads (at least 300), deals in two
//! pipelines, contacts, companies, smart process items and timeline comments.

use super::spec::{self, SPA};
use super::state::{ACCESS_TOKEN, Data, EXPIRED_TOKEN, REFRESH_TOKEN, iso};
use serde_json::{Map, Value, json};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const FIRST: &[&str] = &[
    "Olga", "Ivan", "Maria", "Peter", "Sofia", "Alexei", "Nina", "Viktor", "Irina", "Pavel",
    "Daria", "Oleg",
];
const LAST: &[&str] = &[
    "Sokolova",
    "Kuznetsov",
    "Popova",
    "Volkov",
    "Lebedeva",
    "Kozlov",
    "Morozova",
    "Novikov",
    "Fedorova",
    "Mikhailov",
];
const COMPANIES: &[&str] = &[
    "Northwind",
    "Globex",
    "Initech",
    "Umbrella",
    "Vandelay",
    "Stark Supply",
    "Acme",
    "Hooli",
    "Soylent",
    "Wonka",
    "Tyrell",
    "Cyberdyne",
    "Aperture",
    "Gringotts",
    "Oceanic",
];
const PRODUCTS: &[&str] = &[
    "CRM rollout",
    "Website",
    "Support plan",
    "Hardware",
    "Training",
    "Audit",
    "Integration",
];
const BASE_TIME: i64 = 1_735_689_600; // 2025-01-01

/// The seeded portal with `leads` leads.
pub fn seed(leads: usize) -> Data {
    let mut rng = Rng(0x0B17_0024);
    let mut data = Data {
        next_comment: 1,
        ..Data::default()
    };
    data.access_tokens.insert(ACCESS_TOKEN.into());
    data.expired_tokens.insert(EXPIRED_TOKEN.into());
    data.refresh_tokens.insert(REFRESH_TOKEN.into());
    for i in 1..=15 {
        let title = COMPANIES[i - 1];
        let item = json!({
            "title": format!("{title} Ltd"),
            "typeId": rng.pick(&["CUSTOMER", "SUPPLIER", "PARTNER"]),
            "industry": rng.pick(&["IT", "TELECOM", "MANUFACTURING"]),
            "employees": rng.pick(&["EMPLOYEES_1", "EMPLOYEES_2"]),
            "revenue": (rng.below(90) + 10) as f64 * 100_000.0,
            "currencyId": "USD",
            "fm": [{"typeId": "PHONE", "valueType": "WORK", "value": format!("+1 555 01{i:02}")},
                   {"typeId": "EMAIL", "valueType": "WORK", "value": format!("office@{}.example", title.to_lowercase().replace(' ', ""))}],
        });
        insert(&mut data, &mut rng, 4, item, i as i64);
    }
    for i in 1..=40 {
        let (first, last) = (rng.pick(FIRST), rng.pick(LAST));
        let item = json!({
            "honorific": rng.pick(&["HNR_EN_1", "HNR_EN_2", "HNR_EN_3"]),
            "name": first,
            "secondName": "",
            "lastName": last,
            "post": rng.pick(&["CEO", "CTO", "Buyer", "Office manager", "Engineer"]),
            "typeId": rng.pick(&["CLIENT", "SUPPLIER", "PARTNER"]),
            "sourceId": rng.pick(&["CALL", "EMAIL", "WEB", "PARTNER"]),
            "birthdate": format!("19{}-0{}-1{}T00:00:00+03:00", 60 + rng.below(39), 1 + rng.below(9), rng.below(10)),
            "companyId": 1 + rng.below(15),
            "fm": [{"typeId": "EMAIL", "valueType": "WORK", "value": format!("{}.{}{i}@client.example", first.to_lowercase(), last.to_lowercase())}],
        });
        insert(&mut data, &mut rng, 3, item, i);
    }
    for i in 1..=leads {
        let (first, last, company) = (rng.pick(FIRST), rng.pick(LAST), rng.pick(COMPANIES));
        let stage = rng.pick(&[
            "NEW",
            "NEW",
            "IN_PROCESS",
            "IN_PROCESS",
            "PROCESSED",
            "CONVERTED",
            "JUNK",
        ]);
        let item = json!({
            "title": format!("Lead #{i}: {company} {}", rng.pick(PRODUCTS)),
            "honorific": rng.pick(&["HNR_EN_1", "HNR_EN_2"]),
            "name": first,
            "lastName": last,
            "companyTitle": if i % 7 == 0 { String::new() } else { format!("{company} Ltd") },
            "post": rng.pick(&["Director", "Manager", "Owner"]),
            "birthdate": if i % 3 == 0 { Value::Null } else { json!(format!("19{}-0{}-2{}T00:00:00+03:00", 60 + rng.below(39), 1 + rng.below(9), rng.below(9))) },
            "sourceId": rng.pick(&["CALL", "EMAIL", "WEB", "ADVERTISING", "PARTNER"]),
            "stageId": stage,
            "opportunity": (rng.below(200) * 250) as f64,
            "currencyId": rng.pick(&["USD", "USD", "EUR"]),
            "isManualOpportunity": "N",
            "comments": format!("Asked about {} during a {} call.", rng.pick(PRODUCTS).to_lowercase(), rng.pick(&["first", "follow-up", "demo"])),
            "UF_CRM_LEAD_NOTE": if i % 4 == 0 { "budget confirmed" } else { "" },
            "fm": [{"typeId": "PHONE", "valueType": "MOBILE", "value": format!("+1 555 2{:03}", i % 1000)},
                   {"typeId": "EMAIL", "valueType": "WORK", "value": format!("{}.{}{i}@lead.example", first.to_lowercase(), last.to_lowercase())}],
        });
        insert(&mut data, &mut rng, 1, item, i as i64);
    }
    for i in 1..=60 {
        let category = if i % 4 == 0 { 1 } else { 0 };
        let stage = if category == 1 {
            rng.pick(&["C1:NEW", "C1:NEGOTIATION", "C1:WON", "C1:LOSE"])
        } else {
            rng.pick(&[
                "NEW",
                "PREPARATION",
                "PREPAYMENT_INVOICE",
                "EXECUTING",
                "WON",
                "LOSE",
            ])
        };
        let contact = 1 + rng.below(40) as i64;
        let item = json!({
            "title": format!("{} — {}", rng.pick(PRODUCTS), rng.pick(COMPANIES)),
            "typeId": rng.pick(&["SALE", "COMPLEX", "SERVICES"]),
            "categoryId": category,
            "stageId": stage,
            "probability": rng.below(10) * 10,
            "opportunity": (rng.below(400) * 500) as f64 + if i % 5 == 0 { 0.5 } else { 0.0 },
            "currencyId": rng.pick(&["USD", "EUR"]),
            "isManualOpportunity": "Y",
            "comments": "",
            "begindate": format!("2025-0{}-01T00:00:00+03:00", 1 + rng.below(9)),
            "closedate": format!("2025-1{}-15T00:00:00+03:00", rng.below(3)),
            "companyId": match 1 + rng.below(15) {
                _ if i % 10 == 0 => 0,
                company => company,
            },
            "contactId": contact,
            "contactIds": [contact],
            "sourceId": rng.pick(&["CALL", "WEB", "PARTNER"]),
            "UF_CRM_1721812814433": if i % 2 == 0 { json!(79) } else { json!(80) },
        });
        insert(&mut data, &mut rng, 2, item, i);
    }
    for i in 1..=12 {
        let item = json!({
            "title": format!("Project {}", rng.pick(COMPANIES)),
            "categoryId": 3,
            "stageId": rng.pick(&["DT128_3:NEW", "DT128_3:PREPARATION", "DT128_3:SUCCESS", "DT128_3:FAIL"]),
            "opportunity": (rng.below(100) * 1000) as f64,
            "currencyId": "USD",
            "begindate": "2025-03-01T00:00:00+03:00",
            "closedate": "2025-09-30T00:00:00+03:00",
            "companyId": 1 + rng.below(15),
            "contactId": 1 + rng.below(40),
        });
        insert(&mut data, &mut rng, SPA, item, i);
    }
    for i in 1..=20i64 {
        let at = iso(BASE_TIME + i * 5400);
        data.comments.push(
            json!({"ID": i, "CREATED": at, "ENTITY_ID": 1 + (i % 6), "ENTITY_TYPE": "deal",
                   "AUTHOR_ID": 1 + i % 5, "COMMENT": format!("Called the client (note {i})"), "FILES": []})
            .as_object()
            .cloned()
            .unwrap_or_default(),
        );
        data.next_comment = i + 1;
    }
    data
}

fn insert(data: &mut Data, rng: &mut Rng, etid: i64, item: Value, n: i64) {
    let mut map: Map<String, Value> = item.as_object().cloned().unwrap_or_default();
    let created = BASE_TIME + n * 3600 + etid * 60;
    let user = 1 + rng.below(5) as i64;
    map.insert("id".into(), json!(n));
    map.insert("assignedById".into(), json!(user));
    map.insert("createdBy".into(), json!(user));
    map.insert("updatedBy".into(), json!(user));
    map.insert("createdTime".into(), json!(iso(created)));
    map.insert("updatedTime".into(), json!(iso(created + 86_400)));
    map.entry("opened").or_insert(json!("Y"));
    complete(etid, &mut map);
    data.items.entry(etid).or_default().insert(n, map);
    let next = data.next_id.entry(etid).or_insert(1);
    *next = (*next).max(n + 1);
}

/// Fill what the portal computes: every declared field present (null when unset; `0` for a
/// reference to no company, contact, lead or deal, as the portal stores and returns it),
/// stage semantics and `closed` from the stage.
pub fn complete(etid: i64, item: &mut Map<String, Value>) {
    for f in spec::fields(etid).unwrap_or_default() {
        let empty = if f.multiple {
            json!([])
        } else if spec::is_reference(f.btype) {
            json!(0)
        } else {
            Value::Null
        };
        let slot = item.entry(f.name).or_insert(Value::Null);
        if slot.is_null() {
            *slot = empty;
        }
    }
    let stage = item
        .get("stageId")
        .and_then(Value::as_str)
        .map(str::to_owned);
    if let Some(stage) = stage {
        let semantics = spec::STATUSES
            .iter()
            .find(|(entity, id, ..)| *id == stage && is_stage_dict(etid, entity))
            .map(|(.., s, _)| if s.is_empty() { "P" } else { *s })
            .unwrap_or("P");
        if item.contains_key("stageSemanticId") {
            item.insert("stageSemanticId".into(), json!(semantics));
        }
        if etid == 2 {
            item.insert(
                "closed".into(),
                json!(if semantics == "P" { "N" } else { "Y" }),
            );
        }
    }
}

/// Whether a dictionary holds the stages of an entity type.
pub fn is_stage_dict(etid: i64, entity: &str) -> bool {
    match etid {
        1 => entity == "STATUS",
        2 => entity.starts_with("DEAL_STAGE"),
        e => entity.starts_with(&format!("DYNAMIC_{e}_STAGE_")),
    }
}
