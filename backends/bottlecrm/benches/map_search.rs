//! The cost of mapping one BottleCRM list answer to records: the recorded 10-record leads list
//! (catalogues whole, `tests/fixtures/bench__leads_list_10.json`) mapped N times.
//!
//! `cargo bench -p crmgate-bottlecrm --bench map_search [-- N] [all|compact]` prints ns per
//! record, reading the compact fields (what a search without `fields` returns) and every field.
//! For instruction counts, run the built binary under callgrind with two values of N and one
//! selection, and take the difference (start-up cancels out):
//! `valgrind --tool=callgrind --callgrind-out-file=/tmp/m.out target/release/deps/map_search-… 100 all`.

use crmgate_bottlecrm::describe;
use crmgate_bottlecrm::entities::Entity;
use crmgate_bottlecrm::map::list;
use crmgate_core::model::FieldSelection;
use std::hint::black_box;
use std::time::Instant;

const FIXTURE: &str = include_str!("../tests/fixtures/bench__leads_list_10.json");

/// The answer's body as BottleCRM sends it (compact JSON).
fn body() -> Vec<u8> {
    let fixture: serde_json::Value = serde_json::from_str(FIXTURE).expect("fixture");
    serde_json::to_vec(&fixture["response"]["body"]).expect("body")
}

/// One search's mapping: the answer's bytes → the records of every section, reading the
/// `fields` selected (a search without `fields` selects the compact set).
fn map(body: &[u8], fields: &FieldSelection) -> usize {
    list::sections(Entity::Leads, body, Some("https://app.example"), fields)
        .expect("sections")
        .iter()
        .map(|s| s.rows.iter().map(|r| r.fields.len()).sum::<usize>())
        .sum()
}

/// Map `n` times; ns per record.
fn run(body: &[u8], fields: &FieldSelection, n: usize, records: usize) -> f64 {
    black_box(map(body, fields));
    let start = Instant::now();
    for _ in 0..n {
        black_box(map(black_box(body), fields));
    }
    start.elapsed().as_nanos() as f64 / (n * records) as f64
}

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(2_000);
    let body = body();
    let records = list::sections(Entity::Leads, &body, None, &FieldSelection::All)
        .expect("sections")
        .iter()
        .map(|s| s.rows.len())
        .sum::<usize>();
    let compact = FieldSelection::Only(describe::build(None).get(Entity::Leads).compact_fields());
    // `all` alone (for callgrind): only the every-field mapping
    let only_all = std::env::args().any(|a| a == "all");
    let only_compact = std::env::args().any(|a| a == "compact");
    for (label, fields) in [("compact", &compact), ("all", &FieldSelection::All)] {
        if (only_all && label != "all") || (only_compact && label != "compact") {
            continue;
        }
        let ns = run(&body, fields, n, records);
        println!(
            "map_search {label}: {n} answers of {records} records ({} bytes): {ns:.0} ns/record",
            body.len()
        );
    }
}
