//! The sandbox's data: organisation A ("Acme Lab") with an ADMIN and a USER, organisation B
//! ("Beta Lab") with its own ADMIN, their tokens (unrestricted, scoped, revoked, expired), and
//! records like the ones the recording was made with.

use super::records::insert;
use super::state::{Org, Profile, Role, Store, Tag, Token};
use crate::entities::Entity;
use serde_json::{Value, json};

/// Unrestricted token of org A's ADMIN (`admin@acme.test`).
pub const ADMIN_A: &str = "bcrm_pat_SandboxAdminOrgA_00000000000000000000000000";
/// Unrestricted token of org A's USER-role profile (`user@acme.test`).
pub const USER_A: &str = "bcrm_pat_SandboxUserOrgA_000000000000000000000000000";
/// Unrestricted token of org B's ADMIN (`admin@beta.test`).
pub const ADMIN_B: &str = "bcrm_pat_SandboxAdminOrgB_00000000000000000000000000";
/// Org A ADMIN token scoped to `["leads:read"]`.
pub const LEADS_READ_A: &str = "bcrm_pat_SandboxLeadsReadOnlyOrgA_000000000000000000";
/// A revoked token of org A's ADMIN.
pub const REVOKED_A: &str = "bcrm_pat_SandboxRevokedOrgA_000000000000000000000000";
/// An expired token of org A's ADMIN.
pub const EXPIRED_A: &str = "bcrm_pat_SandboxExpiredOrgA_000000000000000000000000";

/// The seeded store.
pub fn seed() -> Store {
    let mut s = Store::new();
    for name in ["Acme Lab (org A)", "Beta Lab (org B)"] {
        let id = s.new_id();
        s.orgs.push(Org {
            id,
            name: name.into(),
        });
    }
    for (email, name, role, org) in [
        ("admin@acme.test", "Alice Admin", Role::Admin, 0),
        ("user@acme.test", "Uma User", Role::User, 0),
        ("admin@beta.test", "Bob Beta", Role::Admin, 1),
    ] {
        let (id, user_id) = (s.new_id(), s.new_id());
        s.profiles.push(Profile {
            id,
            user_id,
            email: email.into(),
            name: name.into(),
            role,
            org,
        });
    }
    for (raw, profile, scopes, revoked, expired) in [
        (ADMIN_A, 0, vec![], false, false),
        (USER_A, 1, vec![], false, false),
        (ADMIN_B, 2, vec![], false, false),
        (LEADS_READ_A, 0, vec!["leads:read".to_owned()], false, false),
        (REVOKED_A, 0, vec![], true, false),
        (EXPIRED_A, 0, vec![], false, true),
    ] {
        s.tokens.push(Token {
            raw: raw.into(),
            profile,
            scopes,
            revoked,
            expired,
        });
    }
    for (name, color, org) in [
        ("VIP", "red", 0),
        ("Enterprise", "blue", 0),
        ("Partner", "green", 1),
    ] {
        let (id, created_at) = (s.new_id(), s.now());
        s.tags.push(Tag {
            id,
            name: name.into(),
            color: color.into(),
            org,
            created_at,
        });
    }
    let vip = s.tags[0].id.clone();
    let enterprise = s.tags[1].id.clone();
    let admin = s.profiles[0].id.clone();
    let user = s.profiles[1].id.clone();
    let (a, b) = (0usize, 1usize);

    let acct = |s: &mut Store, v: Value| insert(s, Entity::Accounts, a, 0, v);
    let globex = acct(
        &mut s,
        json!({"name": "Globex Corporation", "industry": "SOFTWARE", "city": "Springfield", "country": "US",
        "annual_revenue": "1200000.00", "number_of_employees": 250, "email": "info@globex.example", "phone": "+14155550101",
        "website": "https://globex.example", "tags": [vip]}),
    );
    let initech = acct(
        &mut s,
        json!({"name": "Initech", "industry": "FINANCE", "city": "Austin", "country": "US",
        "email": "hello@initech.example", "number_of_employees": 120}),
    );
    let umbrella = acct(
        &mut s,
        json!({"name": "Umbrella Health", "industry": "HEALTHCARE", "city": "London", "country": "GB", "assigned_to": [user]}),
    );
    let stark = acct(
        &mut s,
        json!({"name": "Stark Widgets", "industry": "MANUFACTURING", "city": "Berlin", "country": "DE"}),
    );
    acct(
        &mut s,
        json!({"name": "Old Co", "city": "Leeds", "country": "GB", "is_active": false}),
    );
    insert(
        &mut s,
        Entity::Accounts,
        b,
        2,
        json!({"name": "Beta Industries", "city": "Oslo", "country": "NO"}),
    );

    let contact = |s: &mut Store, by: usize, v: Value| insert(s, Entity::Contacts, a, by, v);
    let hank = contact(
        &mut s,
        0,
        json!({"first_name": "Hank", "last_name": "Scorpio", "email": "hank@globex.example",
        "phone": "+14155550111", "organization": "Globex Corporation", "title": "CEO", "department": "Executive",
        "city": "Springfield", "country": "US", "account": globex, "tags": [vip]}),
    );
    let peter = contact(
        &mut s,
        0,
        json!({"first_name": "Peter", "last_name": "Gibbons", "email": "peter@initech.example",
        "organization": "Initech", "city": "Austin", "country": "US", "account": initech}),
    );
    contact(
        &mut s,
        0,
        json!({"first_name": "Samir", "last_name": "Nagheenanajar", "email": "samir@initech.example",
        "city": "Austin", "country": "US", "account": initech}),
    );
    contact(
        &mut s,
        0,
        json!({"first_name": "Alice", "last_name": "Marsh", "email": "alice@umbrella.example",
        "city": "London", "country": "GB", "account": umbrella}),
    );
    let tony = contact(
        &mut s,
        0,
        json!({"first_name": "Tony", "last_name": "Vance", "email": "tony@stark.example",
        "city": "Berlin", "country": "DE", "account": stark}),
    );
    contact(
        &mut s,
        0,
        json!({"first_name": "Bill", "last_name": "Lumbergh", "email": "bill@initech.example",
        "city": "Austin", "country": "US", "account": initech, "is_active": false}),
    );
    contact(
        &mut s,
        1,
        json!({"first_name": "Dana", "last_name": "Scully", "email": "dana@fbi.example",
        "city": "Washington", "country": "US", "assigned_to": [user]}),
    );
    insert(
        &mut s,
        Entity::Contacts,
        b,
        2,
        json!({"first_name": "Bea", "last_name": "Beta", "email": "bea@beta.example", "country": "NO"}),
    );

    let lead = |s: &mut Store, by: usize, v: Value| insert(s, Entity::Leads, a, by, v);
    lead(
        &mut s,
        0,
        json!({"title": "Website inquiry", "first_name": "Jane", "last_name": "Smith",
        "email": "jane.smith@acme-prospect.example", "phone": "+14155550120", "job_title": "CTO",
        "company_name": "Acme Prospects", "status": "assigned", "source": "email", "industry": "SOFTWARE",
        "rating": "HOT", "opportunity_amount": "5000.00", "currency": "USD", "probability": 50,
        "close_date": "2026-12-31", "city": "Springfield", "state": "IL", "postcode": "62701", "country": "US",
        "next_follow_up": "2026-11-28", "description": "Met at expo", "tags": [vip], "assigned_to": [admin]}),
    );
    lead(
        &mut s,
        0,
        json!({"title": "Trade show badge scan", "first_name": "Emma", "last_name": "Brown",
        "email": "emma@litware.example", "company_name": "Litware", "status": "assigned", "source": "public relations",
        "city": "Toronto", "country": "CA", "tags": [enterprise]}),
    );
    lead(
        &mut s,
        0,
        json!({"title": "Conversion candidate", "first_name": "Carlos", "last_name": "Mendes",
        "email": "carlos@adventure.example", "company_name": "Adventure Works", "status": "in process",
        "source": "existing customer", "opportunity_amount": "12000.00", "city": "Lisbon", "country": "PT"}),
    );
    lead(
        &mut s,
        0,
        json!({"title": "Campaign signup", "first_name": "Li", "last_name": "Wei", "email": "li.wei@fabrikam.example",
        "company_name": "Fabrikam", "status": "assigned", "source": "compaign", "city": "Shanghai", "country": "CN"}),
    );
    lead(
        &mut s,
        0,
        json!({"title": "Lost deal", "first_name": "Omar", "last_name": "Haddad", "email": "omar@tailspin.example",
        "company_name": "Tailspin Toys", "status": "closed", "source": "other", "city": "Dubai", "country": "AE"}),
    );
    lead(
        &mut s,
        0,
        json!({"title": "Northwind reorder", "first_name": "Nina", "last_name": "Olsen",
        "email": "nina@northwind.example", "company_name": "Northwind Traders", "status": "recycled", "source": "call",
        "city": "Seattle", "country": "US"}),
    );
    lead(
        &mut s,
        0,
        json!({"title": "Phone-only lead", "first_name": "Paul", "last_name": "Nomail", "phone": "+14155550177",
        "status": "assigned", "source": "call", "city": "Denver", "country": "US"}),
    );
    lead(
        &mut s,
        1,
        json!({"title": "User's own lead", "first_name": "Uli", "last_name": "Umbra", "email": "uli@umbra.example",
        "status": "assigned", "source": "partner", "city": "Vienna", "country": "AT"}),
    );
    lead(
        &mut s,
        0,
        json!({"title": "Assigned to the user", "first_name": "Maria", "last_name": "Garcia",
        "email": "maria@contoso.example", "company_name": "Contoso", "status": "in process", "source": "partner",
        "city": "Madrid", "country": "ES", "assigned_to": [user]}),
    );
    for (first, email) in [
        ("Berit", "berit@beta.example"),
        ("Bjorn", "bjorn@beta.example"),
    ] {
        insert(
            &mut s,
            Entity::Leads,
            b,
            2,
            json!({"title": "Beta lead", "first_name": first, "last_name": "Lund",
            "email": email, "status": "assigned", "source": "call", "country": "NO"}),
        );
    }

    let opp = |s: &mut Store, v: Value| insert(s, Entity::Opportunities, a, 0, v);
    let globex_deal = opp(
        &mut s,
        json!({"name": "Globex platform deal", "account": globex, "stage": "PROPOSAL",
        "opportunity_type": "NEW_BUSINESS", "currency": "USD", "amount": "45000.00", "probability": 60,
        "lead_source": "PARTNER", "contacts": [hank], "tags": [vip], "assigned_to": [admin], "description": "Annual platform licence"}),
    );
    opp(
        &mut s,
        json!({"name": "Initech renewal", "account": initech, "stage": "NEGOTIATION", "opportunity_type": "RENEWAL",
        "currency": "USD", "amount": "18000.00", "probability": 80, "lead_source": "EXISTING CUSTOMER"}),
    );
    opp(
        &mut s,
        json!({"name": "Umbrella pilot", "account": umbrella, "stage": "PROSPECTING", "amount": "7000.00",
        "probability": 10, "assigned_to": [user]}),
    );
    opp(
        &mut s,
        json!({"name": "Stark expansion (won)", "account": stark, "stage": "CLOSED_WON", "amount": "30000.00",
        "probability": 100, "closed_on": "2026-11-01"}),
    );

    let today = s.today();
    let task = |s: &mut Store, by: usize, v: Value| insert(s, Entity::Tasks, a, by, v);
    task(
        &mut s,
        0,
        json!({"title": "Call Hank about proposal", "status": "New", "priority": "High", "due_date": "2026-11-25",
        "description": "Discuss pricing", "account": globex, "assigned_to": [admin], "tags": [vip]}),
    );
    task(
        &mut s,
        0,
        json!({"title": "Send Initech renewal quote", "status": "In Progress", "priority": "Medium", "due_date": "2026-11-30", "account": initech}),
    );
    task(
        &mut s,
        0,
        json!({"title": "Archive old notes", "status": "Completed", "priority": "Low"}),
    );
    task(
        &mut s,
        1,
        json!({"title": "Follow up Umbrella pilot", "status": "New", "priority": "Medium", "due_date": "2026-12-02", "assigned_to": [user]}),
    );
    task(
        &mut s,
        0,
        json!({"title": "Prepare Stark invoice", "status": "New", "priority": "High", "due_date": "2026-12-05", "account": stark}),
    );
    task(
        &mut s,
        0,
        json!({"title": "Quarterly pipeline review", "status": "In Progress", "priority": "High", "due_date": "2026-12-15"}),
    );
    task(
        &mut s,
        0,
        json!({"title": "Renew SSL certificate", "status": "New", "priority": "Low", "due_date": "2027-01-10"}),
    );
    task(
        &mut s,
        0,
        json!({"title": "Book expo booth", "status": "Completed", "priority": "Medium", "due_date": "2026-11-10"}),
    );
    task(
        &mut s,
        0,
        json!({"title": "Check Litware lead", "status": "New", "priority": "Low", "due_date": today}),
    );
    // the first task listed (highest id) carries every filterable kind of value
    if let Some(first) = s
        .rows_mut(Entity::Tasks)
        .iter_mut()
        .max_by(|x, y| x.id.cmp(&y.id))
    {
        first.f.entry("due_date").and_modify(|d| {
            if d.is_null() {
                *d = json!("2026-12-20")
            }
        });
    }

    let case = |s: &mut Store, v: Value| insert(s, Entity::Cases, a, 0, v);
    case(
        &mut s,
        json!({"name": "Login failure on portal", "status": "New", "priority": "High", "case_type": "Incident",
        "account": globex, "contacts": [hank], "description": "Users cannot log in since the update", "assigned_to": [admin]}),
    );
    case(
        &mut s,
        json!({"name": "Invoice question", "status": "Assigned", "priority": "Normal", "case_type": "Question", "account": initech}),
    );
    case(
        &mut s,
        json!({"name": "Data export broken", "status": "Pending", "priority": "Urgent", "case_type": "Problem", "account": umbrella}),
    );

    let sol = |s: &mut Store, v: Value| insert(s, Entity::Solutions, a, 0, v);
    sol(
        &mut s,
        json!({"title": "Reset a locked portal account", "description": "Go to Admin > Users, select the user, click Unlock.", "status": "draft"}),
    );
    sol(
        &mut s,
        json!({"title": "Configuring SSO", "description": "Settings > Security > SSO; paste the IdP metadata URL.", "status": "approved", "is_published": true}),
    );
    sol(
        &mut s,
        json!({"title": "CSV export limits", "description": "Exports are capped at 10,000 rows; split by date.", "status": "reviewed"}),
    );

    for (title, account, contact, currency, items) in [
        (
            "Globex platform licence Q4",
            &globex,
            &hank,
            "USD",
            vec![
                ("Platform licence", "1", "40000.00"),
                ("Onboarding", "10", "500.00"),
            ],
        ),
        (
            "Initech support plan",
            &initech,
            &peter,
            "USD",
            vec![("Support plan", "1", "1300.00")],
        ),
        (
            "Stark widgets order",
            &stark,
            &tony,
            "EUR",
            vec![("Widgets", "100", "25.00")],
        ),
    ] {
        let fields =
            super::writes::invoice_fields(&mut s, title, account, contact, currency, &items);
        let id = insert(&mut s, Entity::Invoices, a, 0, fields);
        if title.starts_with("Globex")
            && let Some(r) = s.rows_mut(Entity::Invoices).iter_mut().find(|r| r.id == id)
        {
            r.f.insert("opportunity".into(), json!(globex_deal));
        }
    }
    s
}
