//! The demo backend, the reference implementation, passes the conformance suite.

use crmgate_core::confirm::ConfirmSigner;
use crmgate_core::conformance::{self, Fixture};
use crmgate_core::gateway::{Gateway, GatewaySettings, Tier};
use crmgate_demo::DemoBackend;
use serde_json::json;
use std::sync::Arc;

fn fields(v: serde_json::Value) -> crmgate_core::model::Fields {
    v.as_object().unwrap().clone()
}

#[tokio::test]
async fn demo_backend_passes_the_conformance_suite() {
    let settings = GatewaySettings {
        tier: Tier::Destructive,
        ..GatewaySettings::default()
    };
    let gateway = Gateway::new(
        Arc::new(DemoBackend::new()),
        settings,
        ConfirmSigner::random(),
    );
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
    assert!(report.passed.len() >= 10, "{:?}", report.passed);
}
