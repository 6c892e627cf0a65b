//! Gateway behaviour every backend shares, over a small in-memory backend: a field added in the
//! CRM after its schema was cached is found by one fresh `describe` (once per call, nothing
//! refreshed for known fields), and crm_link on a to-one link names the reference field to
//! update instead.

use async_trait::async_trait;
use crmgate_core::confirm::ConfirmSigner;
use crmgate_core::gateway::{
    CreateArgs, Gateway, GatewaySettings, GetArgs, LinkArgs, SearchArgs, Tier, UpdateArgs,
};
use crmgate_core::model::{
    DeleteKind, EntityCatalog, EntityInfo, Features, FieldSelection, Operation, Page, ProbeReport,
    Record, SearchRequest, TotalKind,
};
use crmgate_core::schema::{EntitySchema, FieldSchema, FieldType, LinkKind, LinkSchema};
use crmgate_core::{Backend, CallContext, ErrorCode, Result};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// One entity whose CRM-side fields can grow while the schema the backend hands out stays
/// cached until `describe_fresh`.
struct Growing {
    catalog: Arc<EntityCatalog>,
    cached: Mutex<Arc<EntitySchema>>,
    /// Fields the CRM has now.
    crm_fields: Mutex<Vec<FieldSchema>>,
    fresh_calls: AtomicUsize,
}

fn schema_of(fields: Vec<FieldSchema>) -> Arc<EntitySchema> {
    Arc::new(EntitySchema {
        entity: "deals".into(),
        native: "Deal".into(),
        fields,
        links: vec![
            LinkSchema {
                name: "account".into(),
                target: "companies".into(),
                kind: LinkKind::One,
                writable: false,
            },
            LinkSchema {
                name: "owner".into(),
                target: "users".into(),
                kind: LinkKind::One,
                writable: false,
            },
            LinkSchema {
                name: "region".into(),
                target: "regions".into(),
                kind: LinkKind::One,
                writable: false,
            },
        ],
    })
}

fn base_fields() -> Vec<FieldSchema> {
    vec![
        FieldSchema::new("id", FieldType::Id).read_only(),
        FieldSchema::new("name", FieldType::Text),
        FieldSchema::new("accountId", FieldType::Reference).links_to("companies"),
        FieldSchema::new("owner_id", FieldType::Reference)
            .links_to("users")
            .read_only(),
    ]
}

impl Growing {
    fn new() -> Arc<Self> {
        let entity = EntityInfo {
            name: "deals".into(),
            native: "Deal".into(),
            label: "Deals".into(),
            operations: [
                Operation::Search,
                Operation::Get,
                Operation::Create,
                Operation::Update,
                Operation::Link,
            ]
            .into_iter()
            .collect(),
            filter_ops: crmgate_core::filter::FilterOp::ALL.to_vec(),
            total: TotalKind::Exact,
            delete: DeleteKind::Hard,
            actions: Vec::new(),
            notes: Vec::new(),
            denied: Vec::new(),
            key: 0,
        };
        Arc::new(Growing {
            catalog: Arc::new(EntityCatalog::new(vec![entity])),
            cached: Mutex::new(schema_of(base_fields())),
            crm_fields: Mutex::new(base_fields()),
            fresh_calls: AtomicUsize::new(0),
        })
    }

    /// An administrator adds a field in the CRM.
    fn add_field(&self, field: FieldSchema) {
        self.crm_fields.lock().unwrap().push(field);
    }

    fn record(&self, data: &serde_json::Map<String, Value>) -> Record {
        Record::new("1", "one", data.clone())
    }
}

#[async_trait]
impl Backend for Growing {
    fn kind(&self) -> &'static str {
        "growing"
    }
    fn features(&self) -> Features {
        Features {
            write: true,
            link: true,
            ..Features::default()
        }
    }
    async fn entities(&self, _cx: &CallContext) -> Result<Arc<EntityCatalog>> {
        Ok(self.catalog.clone())
    }
    async fn probe(&self, _cx: &CallContext) -> Result<ProbeReport> {
        Ok(ProbeReport {
            crm: "growing".into(),
            identity: None,
        })
    }
    async fn describe(&self, _cx: &CallContext, _e: &EntityInfo) -> Result<Arc<EntitySchema>> {
        Ok(self.cached.lock().unwrap().clone())
    }
    async fn describe_fresh(
        &self,
        _cx: &CallContext,
        _e: &EntityInfo,
        stale: &Arc<EntitySchema>,
    ) -> Result<Arc<EntitySchema>> {
        self.fresh_calls.fetch_add(1, Ordering::SeqCst);
        let mut cached = self.cached.lock().unwrap();
        if Arc::ptr_eq(&cached, stale) {
            *cached = schema_of(self.crm_fields.lock().unwrap().clone());
        }
        Ok(cached.clone())
    }
    async fn search(&self, _cx: &CallContext, _r: &SearchRequest) -> Result<Page> {
        Ok(Page {
            records: Vec::new(),
            total: Some(0),
            next_cursor: None,
        })
    }
    async fn get(
        &self,
        _cx: &CallContext,
        _e: &EntityInfo,
        _ids: &[String],
        _f: &FieldSelection,
    ) -> Result<Vec<Record>> {
        Ok(vec![self.record(&serde_json::Map::new())])
    }
    async fn create(
        &self,
        _cx: &CallContext,
        _e: &EntityInfo,
        data: &crmgate_core::model::Fields,
        _o: crmgate_core::model::CreateOptions,
    ) -> Result<crmgate_core::model::Created> {
        Ok(crmgate_core::model::Created::Record(self.record(data)))
    }
    async fn update(
        &self,
        _cx: &CallContext,
        _e: &EntityInfo,
        _id: &str,
        data: &crmgate_core::model::Fields,
    ) -> Result<Record> {
        Ok(self.record(data))
    }
}

fn gateway(backend: Arc<Growing>) -> Gateway {
    Gateway::new(
        backend,
        GatewaySettings {
            tier: Tier::Destructive,
            ..GatewaySettings::default()
        },
        ConfirmSigner::random(),
    )
}

fn data(v: Value) -> serde_json::Map<String, Value> {
    v.as_object().unwrap().clone()
}

fn cx() -> CallContext {
    CallContext::configured()
}

#[tokio::test]
async fn a_field_added_in_the_crm_is_found_by_one_fresh_describe() {
    let backend = Growing::new();
    let gw = gateway(backend.clone());
    // known fields never refresh
    gw.update(
        &cx(),
        UpdateArgs {
            entity: "deals".into(),
            id: "1".into(),
            data: data(json!({"name": "x"})),
            preview: false,
        },
    )
    .await
    .unwrap();
    assert_eq!(backend.fresh_calls.load(Ordering::SeqCst), 0);

    backend.add_field(FieldSchema::new("cRegion", FieldType::Text));
    let updated = gw
        .update(
            &cx(),
            UpdateArgs {
                entity: "deals".into(),
                id: "1".into(),
                data: data(json!({"cRegion": "EMEA"})),
                preview: false,
            },
        )
        .await
        .unwrap();
    assert_eq!(backend.fresh_calls.load(Ordering::SeqCst), 1);
    assert!(serde_json::to_string(&updated).unwrap().contains("EMEA"));
    // the refreshed schema serves the next calls: filters, projections and creates know it
    gw.search(
        &cx(),
        serde_json::from_value::<SearchArgs>(json!({
            "entity": "deals", "where": [{"field": "cRegion", "op": "eq", "value": "EMEA"}],
            "fields": ["cRegion"]
        }))
        .unwrap(),
    )
    .await
    .unwrap();
    gw.create(
        &cx(),
        CreateArgs {
            entity: "deals".into(),
            data: data(json!({"name": "y", "cRegion": "APAC"})),
            skip_duplicate_check: false,
        },
    )
    .await
    .unwrap();
    assert_eq!(backend.fresh_calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_field_the_crm_does_not_have_is_unknown_after_one_refresh_per_call() {
    let backend = Growing::new();
    let gw = gateway(backend.clone());
    for (n, call) in [
        ("update", json!({"cNope": 1})),
        ("filter", json!({"field": "cNope", "op": "eq", "value": 1})),
        ("get", json!(["cNope"])),
    ]
    .into_iter()
    .enumerate()
    {
        let e = match call.0 {
            "update" => gw
                .update(
                    &cx(),
                    UpdateArgs {
                        entity: "deals".into(),
                        id: "1".into(),
                        data: data(call.1),
                        preview: false,
                    },
                )
                .await
                .unwrap_err(),
            "filter" => gw
                .search(
                    &cx(),
                    serde_json::from_value::<SearchArgs>(
                        json!({"entity": "deals", "where": [call.1]}),
                    )
                    .unwrap(),
                )
                .await
                .unwrap_err(),
            _ => gw
                .get(
                    &cx(),
                    serde_json::from_value::<GetArgs>(
                        json!({"entity": "deals", "id": "1", "fields": call.1}),
                    )
                    .unwrap(),
                )
                .await
                .unwrap_err(),
        };
        assert_eq!(e.code, ErrorCode::UnknownField, "{}: {}", call.0, e.message);
        assert_eq!(backend.fresh_calls.load(Ordering::SeqCst), n + 1);
    }
}

#[tokio::test]
async fn crm_link_on_a_to_one_link_names_the_field_to_update() {
    let backend = Growing::new();
    let gw = gateway(backend);
    let link = |name: &str, target: &str| LinkArgs {
        entity: "deals".into(),
        id: "1".into(),
        link: name.into(),
        target_id: target.into(),
    };
    let e = gw.link(&cx(), link("account", "a42")).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::NotAllowed);
    assert!(e.message.contains("accountId"), "{}", e.message);
    assert!(
        e.suggestion.contains("crm_update") && e.suggestion.contains(r#""accountId": "a42""#),
        "{}",
        e.suggestion
    );
    assert_eq!(e.details.as_ref().unwrap()["field"], "accountId");
    // a hostile target id is not repeated
    let long = "x/".repeat(5000);
    let e = gw.unlink(&cx(), link("account", &long)).await.unwrap_err();
    assert!(!e.suggestion.contains("x/x/"), "{}", e.suggestion);
    assert!(
        e.suggestion.contains(r#""accountId": "…""#),
        "{}",
        e.suggestion
    );
    // held by a read-only field: said so
    let e = gw.link(&cx(), link("owner", "u1")).await.unwrap_err();
    assert!(e.message.contains("owner_id") && e.message.contains("read-only"));
    // no field holds it: the general advice
    let e = gw.link(&cx(), link("region", "r1")).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::NotAllowed);
    assert!(e.details.is_none());
}
