//! The Bitrix24 backend passes the conformance suite against its sandbox, at the destructive
//! tier: deals are written (created, updated, linked to a contact, noted, deleted), leads are
//! paged through.

mod common;

use crmgate_core::CallContext;
use crmgate_core::conformance::{self, Fixture};
use serde_json::json;

#[tokio::test]
async fn bitrix24_backend_passes_the_conformance_suite() {
    let (sandbox, _backend, gateway) = common::start(common::roomy()).await;
    let fixture = Fixture {
        write_entity: "deals".into(),
        create: json!({"title": "Conformance deal", "opportunity": 1234.5, "currencyId": "EUR", "stageId": "PREPARATION", "opened": true})
            .as_object()
            .cloned()
            .unwrap(),
        update: json!({"title": "Conformance deal (updated)", "opportunity": 2000, "stageId": "EXECUTING"})
            .as_object()
            .cloned()
            .unwrap(),
        paging_entity: "leads".into(),
        page_size: 40,
        link: Some(("contacts".into(), "5".into())),
        missing_id: "999999".into(),
    };
    let report = conformance::run(&gateway, &fixture).await;
    assert_eq!(report.passed.len(), 12, "{:?}", report.passed);
    // every list stayed on crm.item.* and the sandbox saw real traffic
    let log = sandbox.state().log();
    assert!(log.iter().any(|r| r.method == "crm.item.add"));
    assert!(log.iter().any(|r| r.method == "crm.deal.contact.add"));
    assert!(
        log.iter().all(|r| r.status != 503),
        "the bucket never refused"
    );
    let _ = CallContext::configured();
}
