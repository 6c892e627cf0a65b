//! The sandbox's seed: the same users and CRM as `tests/sql/seed.sql` (two users — Alice, the
//! first to sign up, is administrator — 8 companies, 30 contacts, 12 deals, 15 tasks, 10
//! contact notes, 6 deal notes, 6 tags), inserted through the same triggers.

use super::db::{Actor, Db};
use super::state::AuthUser;
use crate::testkit::TestUser;
use crate::timefmt::{format_unix, parse_timestamp};
use serde_json::{Value, json};

/// Sign-in passwords of the seeded users.
pub const ALICE_PASSWORD: &str = "alice-password";
/// Bob's password.
pub const BOB_PASSWORD: &str = "bob-password";

fn at(base: &str, days: i64, hours: i64) -> String {
    let (secs, _) = parse_timestamp(base).unwrap_or((0, String::new()));
    format_unix(secs + days * 86_400 + hours * 3600)
}

fn insert(db: &mut Db, table: &str, row: Value) {
    if let Value::Object(map) = row
        && let Err(e) = db.insert(Actor::Owner, table, &map)
    {
        panic!("sandbox seed: {table}: {}", e.message);
    }
}

/// The users and the database.
pub fn seed() -> (Vec<AuthUser>, Db) {
    let users = vec![
        AuthUser {
            id: TestUser::Alice.id().into(),
            email: TestUser::Alice.email().into(),
            password: ALICE_PASSWORD.into(),
        },
        AuthUser {
            id: TestUser::Bob.id().into(),
            email: TestUser::Bob.email().into(),
            password: BOB_PASSWORD.into(),
        },
    ];
    let mut db = Db::new();
    // handle_new_user(): a sales row per sign-up, the first one administrator
    for (i, (user, first, last)) in [(&users[0], "Alice", "Admin"), (&users[1], "Bob", "Seller")]
        .into_iter()
        .enumerate()
    {
        insert(
            &mut db,
            "sales",
            json!({"first_name": first, "last_name": last, "email": user.email, "user_id": user.id, "administrator": i == 0}),
        );
    }
    for (name, color) in [
        ("football-fan", "#eddcd2"),
        ("holiday-card", "#fff1e6"),
        ("influencer", "#fde2e4"),
        ("manager", "#fad2e1"),
        ("musician", "#c5dedd"),
        ("vip", "#dbe7e4"),
    ] {
        insert(&mut db, "tags", json!({"name": name, "color": color}));
    }
    let names = [
        "Acme Corp",
        "Globex",
        "Initech",
        "Umbrella Health",
        "Stark Materials",
        "Wayne Energy",
        "Hooli",
        "Vandelay Imports",
    ];
    let sectors = [
        "industrials",
        "information-technology",
        "information-technology",
        "health-care",
        "materials",
        "energy",
        "communication-services",
        "consumer-staples",
    ];
    let sizes = [50, 250, 10, 500, 250, 500, 1, 10];
    let cities = [
        "Springfield",
        "Cypress Creek",
        "Austin",
        "Raccoon City",
        "Malibu",
        "Gotham",
        "Palo Alto",
        "New York",
    ];
    for n in 1..=8i64 {
        let i = (n - 1) as usize;
        insert(
            &mut db,
            "companies",
            json!({
                "created_at": at("2026-01-01T09:00:00Z", n, 0),
                "name": names[i],
                "sector": sectors[i],
                "size": sizes[i],
                "website": format!("https://www.{}.example", names[i].replace(' ', "").to_lowercase()),
                "phone_number": format!("+1 555 01{n:02}"),
                "city": cities[i],
                "country": "US",
                "sales_id": 1 + n % 2,
                "description": format!("Company number {n}"),
            }),
        );
    }
    let firsts = [
        "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Ken", "Dennis", "Margaret", "Linus",
    ];
    let lasts = [
        "Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Thompson", "Ritchie",
        "Hamilton", "Torvalds",
    ];
    let genders = [
        "female", "female", "male", "male", "female", "male", "male", "male", "female", "male",
    ];
    let titles = ["CEO", "CTO", "Engineer", "Buyer", "Manager"];
    let statuses = ["cold", "warm", "hot", "in-contract"];
    for n in 1..=30i64 {
        let tags = if n % 4 == 0 {
            json!([1, 6])
        } else if n % 5 == 0 {
            json!([3])
        } else {
            Value::Null
        };
        insert(
            &mut db,
            "contacts",
            json!({
                "first_name": firsts[((n - 1) % 10) as usize],
                "last_name": format!("{} {n}", lasts[((n * 3) % 10) as usize]),
                "gender": genders[((n - 1) % 10) as usize],
                "title": titles[(n % 5) as usize],
                "background": format!("Met at conference {n}"),
                "first_seen": at("2026-02-01T10:00:00Z", n, 0),
                "last_seen": at("2026-03-01T10:00:00Z", 0, n),
                "has_newsletter": n % 3 == 0,
                "status": statuses[(n % 4) as usize],
                "tags": tags,
                "company_id": 1 + n % 8,
                "sales_id": 1 + n % 2,
                "email_jsonb": [{"email": format!("Person{n}@Example.com"), "type": "Work"}],
                "phone_jsonb": [{"number": format!("+1 555 10{n:02}"), "type": "Work"}],
            }),
        );
    }
    let kinds = ["website", "redesign", "print run", "ui kit"];
    let categories = [
        "website-design",
        "ui-design",
        "print-project",
        "copywriting",
        "other",
    ];
    let stages = [
        "opportunity",
        "proposal-sent",
        "in-negociation",
        "won",
        "lost",
        "delayed",
    ];
    for n in 1..=12i64 {
        let created = at("2026-01-15T12:00:00Z", n, 0);
        insert(
            &mut db,
            "deals",
            json!({
                "name": format!("Deal {n} {}", kinds[(n % 4) as usize]),
                "company_id": 1 + n % 8,
                "contact_ids": [1 + n % 30, 1 + (n + 7) % 30],
                "category": categories[(n % 5) as usize],
                "stage": stages[(n % 6) as usize],
                "description": format!("Deal description {n}"),
                "amount": n * 1000,
                "created_at": created,
                "updated_at": created,
                "expected_closing_date": &at("2026-06-01T00:00:00Z", n, 0)[..10],
                "sales_id": 1 + n % 2,
                "index": n % 3,
            }),
        );
    }
    let types = ["call", "email", "meeting", "follow-up"];
    for n in 1..=15i64 {
        insert(
            &mut db,
            "tasks",
            json!({
                "contact_id": 1 + n % 10,
                "type": types[(n % 4) as usize],
                "text": format!("Task {n}"),
                "due_date": at("2026-04-01T09:00:00Z", n, 0),
                "done_date": if n % 3 == 0 { json!("2026-04-02T09:00:00+00:00") } else { Value::Null },
                "sales_id": 1 + n % 2,
            }),
        );
    }
    let note_statuses = ["cold", "warm", "hot"];
    for n in 1..=10i64 {
        insert(
            &mut db,
            "contact_notes",
            json!({
                "contact_id": 1 + n % 5,
                "text": format!("Note {n} about the contact"),
                "date": at("2026-03-10T08:00:00Z", 0, n),
                "sales_id": 1 + n % 2,
                "status": note_statuses[(n % 3) as usize],
            }),
        );
    }
    for n in 1..=6i64 {
        insert(
            &mut db,
            "deal_notes",
            json!({
                "deal_id": 1 + n % 4,
                "type": "Email",
                "text": format!("Deal note {n}"),
                "date": at("2026-03-12T08:00:00Z", 0, n),
                "sales_id": 1 + n % 2,
            }),
        );
    }
    (users, db)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sandbox's rows are the rows PostgreSQL holds after tests/sql/seed.sql
    /// (recorded in tests/fixtures/rows.json).
    #[test]
    fn the_seed_matches_the_recorded_postgres_rows() {
        let (_, db) = seed();
        let recorded: Value =
            serde_json::from_str(include_str!("../../tests/fixtures/rows.json")).unwrap();
        let cases = [
            ("contacts_summary", 4),
            ("companies_summary", 2),
            ("deals", 1),
            ("tasks", 3),
            ("contact_notes", 1),
            ("deal_notes", 1),
            ("sales", 2),
            ("tags", 6),
        ];
        for (relation, id) in cases {
            let row = db
                .rows(relation)
                .unwrap()
                .into_iter()
                .find(|r| r["id"] == id)
                .unwrap();
            assert_eq!(Value::Object(row), recorded[relation], "{relation} {id}");
        }
    }
}
