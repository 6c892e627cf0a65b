//! The conformance suite on real PostgreSQL (postgres transport), acting as Alice through the
//! `authenticator` login role under Atomic CRM's RLS policies.

use crmgate_atomic::testkit::{PgTestDb, TestUser};
use crmgate_atomic::{AtomicBackend, Credential};
use crmgate_core::conformance::{self, Fixture};
use crmgate_core::testkit;
use serde_json::json;
use std::sync::Arc;

use crmgate_core::testkit::fields;

#[tokio::test]
async fn postgres_transport_passes_the_conformance_suite() {
    let Some(db) = PgTestDb::create("conformance").await else {
        return;
    };
    let config = db.config(
        db.gateway_url(),
        Credential::AccessToken(TestUser::Alice.token(3600)),
    );
    let gateway = testkit::gateway(Arc::new(
        AtomicBackend::new(config, testkit::cache()).unwrap(),
    ));
    let fixture = Fixture {
        write_entity: "contacts".into(),
        create: fields(json!({
            "first_name": "Conformance",
            "last_name": "Check",
            "status": "warm",
            "email_jsonb": [{"email": "conformance.check@suite.example", "type": "Work"}]
        })),
        update: fields(json!({"title": "Tester", "status": "hot"})),
        paging_entity: "contacts".into(),
        page_size: 7,
        link: Some(("company".into(), "3".into())),
        missing_id: "999999".into(),
    };
    let report = conformance::run(&gateway, &fixture).await;
    assert_eq!(report.passed.len(), 12, "{:?}", report.passed);
}
