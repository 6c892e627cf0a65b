//! The demo backend, the reference implementation, passes the conformance suite.

use crmgate_core::conformance::{self, Fixture};
use crmgate_core::testkit::{self, fields};
use crmgate_demo::DemoBackend;
use serde_json::json;
use std::sync::Arc;

#[tokio::test]
async fn demo_backend_passes_the_conformance_suite() {
    let gateway = testkit::gateway(Arc::new(DemoBackend::new()));
    let company = gateway
        .search(
            &crmgate_core::CallContext::configured(),
            crmgate_core::gateway::SearchArgs {
                entity: "companies".into(),
                limit: Some(1),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .records[0]
        .id
        .clone();
    let fixture = Fixture {
        write_entity: "contacts".into(),
        create: fields(
            json!({"first_name": "Conformance", "last_name": "Check", "email": "conformance.check@suite.example", "lifecycle": "lead"}),
        ),
        update: fields(json!({"job_title": "Tester", "lifecycle": "customer"})),
        paging_entity: "contacts".into(),
        page_size: 7,
        link: Some(("company".into(), company)),
        missing_id: "no-such-record".into(),
    };
    let report = conformance::run(&gateway, &fixture).await;
    assert_eq!(report.passed.len(), 12, "{:?}", report.passed);
}
