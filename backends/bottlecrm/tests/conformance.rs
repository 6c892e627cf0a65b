//! The BottleCRM backend passes the conformance suite against its sandbox.

mod common;

use crmgate_bottlecrm::sandbox::{ADMIN_A, Sandbox};
use crmgate_core::conformance::{self, Fixture};
use serde_json::json;

#[tokio::test]
async fn bottlecrm_passes_the_conformance_suite_against_the_sandbox() {
    let sandbox = Sandbox::start().await.unwrap();
    let gateway = common::gateway(&sandbox, ADMIN_A);
    let fields = |v: serde_json::Value| v.as_object().unwrap().clone();
    let fixture = Fixture {
        write_entity: "contacts".into(),
        create: fields(
            json!({"first_name": "Conformance", "last_name": "Check", "email": "conformance.check@suite.example"}),
        ),
        update: fields(json!({"title": "Tester", "city": "Lisbon"})),
        paging_entity: "tasks".into(),
        page_size: 3,
        link: None,
        missing_id: common::MISSING.into(),
    };
    let report = conformance::run(&gateway, &fixture).await;
    assert_eq!(report.passed.len(), 12, "{:?}", report.passed);
    assert!(sandbox.requests() > 20, "the suite ran against the sandbox");
}
