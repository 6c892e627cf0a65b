//! Seeded people: contacts (most at a company) and leads (some converted from contacts, one
//! with a description that tries to give instructions).

use super::data::*;
use super::{Person, Seeder, end_ms, fold, slug, start_ms};
use crate::clock::{day_ms, format_ms};
use crate::kind::{Kind, LEAD_SOURCES, LIFECYCLE, label_of};
use serde_json::{Value, json};
use std::collections::BTreeSet;

impl Seeder {
    fn unique_email(used: &mut BTreeSet<String>, local: &str, domain: &str) -> String {
        let mut email = format!("{local}@{domain}");
        let mut n = 2;
        while !used.insert(email.clone()) {
            email = format!("{local}{n}@{domain}");
            n += 1;
        }
        email
    }

    pub(super) fn contacts(&mut self) {
        let mut used = BTreeSet::new();
        for i in 0..80 {
            let company = match i {
                0..40 => Some(i),
                40..74 => Some(self.rng.below(self.companies.len())),
                _ => None,
            };
            let first = self.rng.pick(FIRST_NAMES).to_string();
            let last = self.rng.pick(LAST_NAMES).to_string();
            let domain = company.map_or("mail.example", |c| self.companies[c].domain);
            let local = format!("{}.{}", fold(&first), fold(&last));
            let email = (i % 13 != 5).then(|| Self::unique_email(&mut used, &local, domain));
            let (created_after, owner) = match company {
                Some(c) => (self.companies[c].created, self.companies[c].owner.clone()),
                None => (start_ms(), self.active_user()),
            };
            let created = self.moment(created_after, end_ms() - day_ms(20));
            let updated = self.moment(created, end_ms());
            let country = company.map_or("United States", |c| self.companies[c].country);
            let phone = if self.rng.chance(70) {
                json!(self.phone(country))
            } else {
                Value::Null
            };
            let job_title = if self.rng.chance(85) {
                json!(self.rng.pick(JOB_TITLES))
            } else {
                Value::Null
            };
            let lifecycle = self.rng.pick(LIFECYCLE).0;
            let pairs = vec![
                ("first_name", json!(first)),
                ("last_name", json!(last)),
                ("email", json!(email)),
                ("phone", phone),
                ("job_title", job_title),
                (
                    "company_id",
                    json!(company.map(|c| self.companies[c].id.clone())),
                ),
                ("lifecycle", json!(lifecycle)),
                ("owner_id", json!(owner)),
            ];
            let id = self.insert(Kind::Contacts, pairs, created, updated);
            self.contacts.push(Person {
                id,
                first,
                email,
                company,
                created,
            });
        }
    }

    pub(super) fn leads(&mut self) {
        let mut used = BTreeSet::new();
        let converted_from: Vec<usize> = (40..80)
            .filter(|&c| self.contacts[c].email.is_some() && self.contacts[c].company.is_some())
            .take(8)
            .collect();
        let statuses = [("new", 4), ("contacted", 4), ("qualified", 3), ("lost", 2)];
        for i in 0..40 {
            let (pairs, created, updated, first, email) = if let Some(&c) = converted_from.get(i) {
                let contact = &self.contacts[c];
                let company = &self.companies[contact.company.unwrap_or_default()];
                let row = self
                    .store
                    .row(Kind::Contacts, &contact.id)
                    .map(|r| r.fields.clone())
                    .unwrap_or_default();
                let (converted, contact_id, first, email) = (
                    contact.created,
                    contact.id.clone(),
                    contact.first.clone(),
                    contact.email.clone(),
                );
                let (company_id, company_name) = (company.id.clone(), company.name);
                let created = self.moment(converted - day_ms(30), converted - day_ms(2));
                used.insert(email.clone().unwrap_or_default());
                let source = self.rng.pick(LEAD_SOURCES).0;
                let pairs = vec![
                    (
                        "first_name",
                        row.get("first_name").cloned().unwrap_or_default(),
                    ),
                    (
                        "last_name",
                        row.get("last_name").cloned().unwrap_or_default(),
                    ),
                    ("company_name", json!(company_name)),
                    ("email", json!(email)),
                    ("phone", row.get("phone").cloned().unwrap_or_default()),
                    ("source", json!(source)),
                    ("status", json!("converted")),
                    ("owner_id", row.get("owner_id").cloned().unwrap_or_default()),
                    ("converted_contact_id", json!(contact_id)),
                    ("converted_company_id", json!(company_id)),
                    ("converted_at", json!(format_ms(converted))),
                ];
                (pairs, created, converted, first, email)
            } else {
                let first = self.rng.pick(FIRST_NAMES).to_string();
                let last = self.rng.pick(LAST_NAMES).to_string();
                let company = (i % 10 != 3).then(|| LEAD_COMPANIES[i % LEAD_COMPANIES.len()]);
                let domain = company.map_or("mail.example".to_string(), |c| {
                    format!("{}.example", slug(c))
                });
                let local = format!("{}.{}", fold(&first), fold(&last));
                let email = (i % 12 != 6).then(|| Self::unique_email(&mut used, &local, &domain));
                let created = self.moment(start_ms() + day_ms(120), end_ms() - day_ms(5));
                let updated = self.moment(created, end_ms());
                let source = self.rng.pick(LEAD_SOURCES).0;
                let status = *self.rng.weighted(&statuses);
                let description = if i == 20 {
                    json!(SUSPICIOUS_TEXT)
                } else if self.rng.chance(30) {
                    let product = self.rng.pick(PRODUCTS).to_lowercase();
                    json!(format!(
                        "Asked about the {product} ({}).",
                        label_of(LEAD_SOURCES, source)
                    ))
                } else {
                    Value::Null
                };
                let phone = if self.rng.chance(60) {
                    json!(self.phone("United States"))
                } else {
                    Value::Null
                };
                let owner = self.active_user();
                let pairs = vec![
                    ("first_name", json!(first)),
                    ("last_name", json!(last)),
                    ("company_name", json!(company)),
                    ("email", json!(email)),
                    ("phone", phone),
                    ("source", json!(source)),
                    ("status", json!(status)),
                    ("description", description),
                    ("owner_id", json!(owner)),
                ];
                (pairs, created, updated, first, email)
            };
            let id = self.insert(Kind::Leads, pairs, created, updated);
            if converted_from.get(i).is_some() {
                let text = "Lead converted".to_string();
                self.store.add_event(
                    Kind::Leads,
                    &id,
                    "converted",
                    format_ms(updated),
                    None,
                    text,
                );
            }
            self.leads.push(Person {
                id,
                first,
                email,
                company: None,
                created,
            });
        }
    }
}
