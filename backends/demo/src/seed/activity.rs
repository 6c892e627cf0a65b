//! Seeded pipeline and activity: deals with their stage history, tasks, notes and email
//! drafts, attached to the records seeded before them.

use super::data::*;
use super::{Deal, Seeder, end_ms, fill, long_text};
use crate::clock::{SEED_NOW_MS, day_ms, days_from_civil, format_date, format_ms};
use crate::kind::{DEAL_STAGES, Kind};
use serde_json::{Value, json};

impl Seeder {
    pub(super) fn deals(&mut self) {
        let stages: Vec<(&str, u64)> = DEAL_STAGES
            .iter()
            .zip([8, 8, 8, 6, 6, 4])
            .map(|((v, _, _), w)| (*v, w))
            .collect();
        for i in 0..40 {
            let company = if i < 25 { i } else { self.rng.below(25) };
            let people: Vec<usize> = (0..self.contacts.len())
                .filter(|&c| self.contacts[c].company == Some(company))
                .collect();
            let contact = (!people.is_empty()).then(|| people[self.rng.below(people.len())]);
            let mut contact_ids: Vec<String> = contact
                .iter()
                .map(|&c| self.contacts[c].id.clone())
                .collect();
            if people.len() > 1 && self.rng.chance(40) {
                let other = &self.contacts[people[self.rng.below(people.len())]].id;
                if !contact_ids.contains(other) {
                    contact_ids.push(other.clone());
                }
            }
            let stage = *self.rng.weighted(&stages);
            let closed = stage.starts_with("closed");
            let co = &self.companies[company];
            let (co_id, co_name, co_created, owner) =
                (co.id.clone(), co.name, co.created, co.owner.clone());
            let currency = country_info(co.country).1;
            let name = format!("{co_name}: {}", self.rng.pick(PRODUCTS));
            let after = contact.map_or(co_created, |c| self.contacts[c].created.max(co_created));
            let created = self.moment(after, end_ms() - day_ms(10));
            let updated = self.moment(created, end_ms());
            let close_date = if i % 13 == 11 {
                Value::Null
            } else if closed {
                json!(format_date(
                    self.rng.range(created / 86_400_000, end_ms() / 86_400_000)
                ))
            } else {
                let from = days_from_civil(2026, 4, 6);
                json!(format_date(self.rng.range(from, from + 170)))
            };
            let description = if i == 0 {
                json!(long_text(&format!("{name}: deal history."), 2))
            } else if self.rng.chance(25) {
                json!(format!(
                    "Scope: {} for {co_name}.",
                    self.rng.pick(PRODUCTS).to_lowercase()
                ))
            } else {
                Value::Null
            };
            let amount = (i % 17 != 9).then(|| self.rng.range(4, 500) * 500);
            let pairs = vec![
                ("name", json!(name)),
                ("amount", json!(amount)),
                ("currency", json!(currency)),
                ("stage", json!(stage)),
                ("close_date", close_date),
                ("probability", json!(crate::kind::stage_probability(stage))),
                ("company_id", json!(co_id)),
                (
                    "contact_id",
                    json!(contact.map(|c| self.contacts[c].id.clone())),
                ),
                ("contact_ids", json!(contact_ids)),
                ("description", description),
                ("owner_id", json!(owner)),
            ];
            let id = self.insert(Kind::Deals, pairs, created, updated);
            self.stage_history(&id, stage, created, updated, &owner);
            self.deals.push(Deal {
                id,
                name,
                company,
                contact,
                created,
            });
        }
    }

    /// Stage-change events leading to the deal's current stage.
    fn stage_history(&mut self, id: &str, stage: &str, created: i64, updated: i64, owner: &str) {
        let open = ["prospecting", "qualification", "proposal", "negotiation"];
        let mut path: Vec<&str> = match stage {
            "closed_won" => open.to_vec(),
            "closed_lost" => open[..1 + self.rng.below(4)].to_vec(),
            s => open
                .iter()
                .take_while(|o| **o != s)
                .copied()
                .chain([s])
                .collect(),
        };
        if stage.starts_with("closed") {
            path.push(stage);
        }
        let steps = path.len().saturating_sub(1) as i64;
        for (n, pair) in path.windows(2).enumerate() {
            let at = created + (updated - created) * (n as i64 + 1) / (steps + 1);
            let (from, to) = (
                crate::kind::stage_label(pair[0]),
                crate::kind::stage_label(pair[1]),
            );
            let text = format!("Stage changed from {from} to {to}");
            self.store.add_event(
                Kind::Deals,
                id,
                "stage_change",
                format_ms(at),
                Some(owner),
                text,
            );
        }
    }

    /// A parent for a task or note: the fields pointing at it, a first name, a company name,
    /// a deal name, and when the parent was created.
    fn parent(
        &mut self,
        weights: [u64; 4],
    ) -> (Vec<(&'static str, Value)>, String, String, String, i64) {
        let which = *self.rng.weighted(&[
            (0, weights[0]),
            (1, weights[1]),
            (2, weights[2]),
            (3, weights[3]),
        ]);
        let company_name = |s: &Self, c: Option<usize>| {
            c.map_or("the team".into(), |c| s.companies[c].name.to_string())
        };
        match which {
            0 => {
                let d = &self.deals[self.rng.below(self.deals.len())];
                let contact = d.contact.map(|c| &self.contacts[c]);
                let mut refs = vec![
                    ("deal_id", json!(d.id)),
                    ("company_id", json!(self.companies[d.company].id)),
                ];
                refs.extend(contact.map(|c| ("contact_id", json!(c.id))));
                let first = contact.map_or("the team".into(), |c| c.first.clone());
                (
                    refs,
                    first,
                    self.companies[d.company].name.into(),
                    d.name.clone(),
                    d.created,
                )
            }
            1 => {
                let c = &self.contacts[self.rng.below(self.contacts.len())];
                let mut refs = vec![("contact_id", json!(c.id))];
                refs.extend(
                    c.company
                        .map(|co| ("company_id", json!(self.companies[co].id))),
                );
                (
                    refs,
                    c.first.clone(),
                    company_name(self, c.company),
                    "the renewal".into(),
                    c.created,
                )
            }
            2 => {
                let l = &self.leads[self.rng.below(self.leads.len())];
                let company = self
                    .store
                    .row(Kind::Leads, &l.id)
                    .and_then(|r| r.fields.get("company_name"))
                    .and_then(Value::as_str)
                    .unwrap_or("their company")
                    .to_string();
                (
                    vec![("lead_id", json!(l.id))],
                    l.first.clone(),
                    company,
                    "the first order".into(),
                    l.created,
                )
            }
            _ => {
                let n = self.rng.below(self.companies.len());
                let co = &self.companies[n];
                (
                    vec![("company_id", json!(co.id))],
                    "the team".into(),
                    co.name.into(),
                    "the account plan".into(),
                    co.created,
                )
            }
        }
    }

    pub(super) fn tasks(&mut self) {
        let statuses = [
            ("not_started", 5),
            ("in_progress", 3),
            ("waiting", 1),
            ("completed", 4),
            ("deferred", 1),
        ];
        let priorities = [("low", 2), ("normal", 5), ("high", 3), ("urgent", 1)];
        for i in 0..30 {
            let (refs, first, company, deal, after) = self.parent([50, 25, 15, 10]);
            let subject = fill(
                self.rng.pick::<&str>(TASK_SUBJECTS),
                &first,
                &company,
                &deal,
            );
            let created = self.moment(after.max(end_ms() - day_ms(90)), end_ms());
            let updated = self.moment(created, end_ms());
            let status = *self.rng.weighted(&statuses);
            let due = (i % 9 != 4).then(|| {
                format_date(
                    self.rng
                        .range(days_from_civil(2026, 3, 9), days_from_civil(2026, 5, 22)),
                )
            });
            let mut pairs = vec![
                ("subject", json!(subject)),
                ("due_date", json!(due)),
                ("status", json!(status)),
                ("priority", json!(self.rng.weighted(&priorities))),
                ("assignee_id", json!(self.active_user())),
                (
                    "completed_at",
                    json!((status == "completed").then(|| format_ms(updated))),
                ),
            ];
            if self.rng.chance(30) {
                pairs.push((
                    "description",
                    json!(format!("Context: {deal} with {company}.")),
                ));
            }
            pairs.extend(refs);
            self.insert(Kind::Tasks, pairs, created, updated);
        }
    }

    pub(super) fn notes(&mut self) {
        for i in 0..40 {
            let (refs, first, company, _, after) = self.parent([35, 30, 15, 20]);
            let body = if i < 2 {
                long_text(
                    &format!("Meeting notes: {company} steering committee"),
                    i + 3,
                )
            } else {
                let product = self.rng.pick(PRODUCTS).to_lowercase();
                fill(
                    self.rng.pick::<&str>(NOTE_TEXTS),
                    &first,
                    &company,
                    &product,
                )
            };
            let created = self.moment(after, SEED_NOW_MS - day_ms(2));
            let author = self.users[self.rng.below(self.users.len())].clone();
            let mut pairs = vec![
                ("body", json!(body)),
                ("pinned", json!(self.rng.chance(10))),
                ("author_id", json!(author)),
            ];
            pairs.extend(refs);
            self.insert(Kind::Notes, pairs, created, created);
        }
    }

    pub(super) fn emails(&mut self) {
        for n in [3, 7, 12] {
            let deal = &self.deals[n];
            let Some(contact) = deal.contact.map(|c| &self.contacts[c]) else {
                continue;
            };
            let Some(email) = contact.email.clone() else {
                continue;
            };
            let subject = format!("Following up: {}", deal.name);
            let body = format!(
                "Hi {},\n\nThanks again for your time. I'm following up on {}: is there anything \
                 you need from me to move forward?\n\nBest,\nAlex Morgan",
                contact.first, deal.name
            );
            let pairs = vec![
                ("to", json!([email])),
                ("subject", json!(subject)),
                ("body", json!(body)),
                ("status", json!("draft")),
                ("template", json!("follow_up")),
                ("deal_id", json!(deal.id)),
            ];
            let created = SEED_NOW_MS - day_ms(n as i64);
            self.insert(Kind::Emails, pairs, created, created);
        }
    }
}
