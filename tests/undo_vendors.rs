//! The journal and undo on every vendor sandbox (Atomic: PostgREST over the real PostgreSQL),
//! through `tools::call`: each write journaled with its before/after, undo of update, create
//! and delete restoring the record (compared field by field, what the CRM maintains itself
//! left out), CONFLICT after a concurrent change with nothing touched — and the cost: upstream
//! requests per write with the journal on and off (sandbox request logs).

mod undo_common;

use serde_json::{Value, json};
use undo_common::*;

/// One vendor's scenario: an entity, a create, an update and a field to change concurrently.
struct Case {
    entity: &'static str,
    create: Value,
    update: Value,
    concurrent: Value,
}

/// The scenario on `app`; `requests` reads the sandbox's request count. Returns the upstream
/// requests of one crm_update.
async fn scenario(app: &crmgate::app::App, case: &Case, requests: &dyn Fn() -> usize) -> usize {
    let cx = me();
    let entity = case.entity;
    // create → journaled with its after; undo deletes it
    let created = ok(
        app,
        &cx,
        "crm_create",
        json!({"entity": entity, "data": case.create}),
    )
    .await;
    let id = created["record"]["id"].as_str().unwrap().to_owned();
    let history = ok(app, &cx, "crm_history", json!({"limit": 1})).await;
    let entry = &history["entries"][0];
    assert_eq!(
        (entry["tool"].as_str(), entry["id"].as_str()),
        (Some("crm_create"), Some(id.as_str()))
    );
    for (field, value) in case.create.as_object().unwrap() {
        assert_eq!(
            &entry["after"][field], value,
            "{entity} create after.{field}"
        );
    }

    // update → before/after of the changed fields; undo restores the record
    let original = state(app, &cx, entity, &id).await;
    let before = requests();
    ok(
        app,
        &cx,
        "crm_update",
        json!({"entity": entity, "id": id, "data": case.update}),
    )
    .await;
    let per_update = requests() - before;
    let history = ok(app, &cx, "crm_history", json!({"limit": 1})).await;
    let entry = &history["entries"][0];
    for (field, value) in case.update.as_object().unwrap() {
        assert_eq!(
            &entry["after"][field], value,
            "{entity} update after.{field}"
        );
        assert_eq!(
            entry["before"][field],
            original.get(field).cloned().unwrap_or(Value::Null),
            "{entity} update before.{field}"
        );
    }
    undo_newest(app, &cx).await;
    assert_eq!(
        state(app, &cx, entity, &id).await,
        original,
        "{entity}: undo of the update"
    );

    // a concurrent change since: CONFLICT naming the field, nothing touched
    ok(
        app,
        &cx,
        "crm_update",
        json!({"entity": entity, "id": id, "data": case.update}),
    )
    .await;
    let entry = newest(app, &cx).await;
    ok(
        app,
        &cx,
        "crm_update",
        json!({"entity": entity, "id": id, "data": case.concurrent}),
    )
    .await;
    let now = state(app, &cx, entity, &id).await;
    let e = err(app, &cx, "crm_undo", json!({"entry_id": entry})).await;
    assert_eq!(e["code"], "CONFLICT", "{e}");
    let field = case.concurrent.as_object().unwrap().keys().next().unwrap();
    assert!(
        e["details"]["fields"]
            .as_array()
            .unwrap()
            .contains(&json!(field)),
        "{e}"
    );
    assert_eq!(
        state(app, &cx, entity, &id).await,
        now,
        "{entity}: nothing touched"
    );

    // delete → restored (soft delete) or recreated from the journaled state
    let kept = state(app, &cx, entity, &id).await;
    let preview = ok(app, &cx, "crm_delete", json!({"entity": entity, "id": id})).await;
    let token = preview["confirm_token"].as_str().unwrap();
    ok(
        app,
        &cx,
        "crm_delete",
        json!({"entity": entity, "id": id, "confirm_token": token}),
    )
    .await;
    let done = undo_newest(app, &cx).await;
    let back = done["steps"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        state(app, &cx, entity, &back).await,
        kept,
        "{entity}: undo of the delete"
    );

    // and the record it brought back can be taken away again (undo of create)
    let again = ok(
        app,
        &cx,
        "crm_create",
        json!({"entity": entity, "data": variant(&case.create, "again"), "skip_duplicate_check": true}),
    )
    .await;
    let again = again["record"]["id"].as_str().unwrap().to_owned();
    undo_newest(app, &cx).await;
    let gone = err(app, &cx, "crm_get", json!({"entity": entity, "id": again})).await;
    assert_eq!(gone["code"], "NOT_FOUND");
    per_update
}

/// Upstream requests of one crm_update with the journal off.
async fn update_requests_unjournaled(
    app: &crmgate::app::App,
    case: &Case,
    requests: &dyn Fn() -> usize,
) -> usize {
    let cx = me();
    let created = ok(
        app,
        &cx,
        "crm_create",
        json!({"entity": case.entity, "data": variant(&case.create, "off"), "skip_duplicate_check": true}),
    )
    .await;
    let id = created["record"]["id"].as_str().unwrap().to_owned();
    let before = requests();
    ok(
        app,
        &cx,
        "crm_update",
        json!({"entity": case.entity, "id": id, "data": case.update}),
    )
    .await;
    requests() - before
}

#[tokio::test]
async fn espocrm_journal_and_undo_with_restore() {
    use crmgate_espocrm::sandbox::{Sandbox, credentials};
    let sandbox = Sandbox::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    // an administrator: EspoCRM restores soft-deleted records for admins only
    let section = format!(
        "[crm.espo]\nkind = \"espocrm\"\nurl = \"{}\"\nusername = \"{}\"\npassword = \"{}\"\n",
        sandbox.url(),
        credentials::ADMIN_USER,
        credentials::ADMIN_PASSWORD
    );
    let case = Case {
        entity: "companies",
        create: json!({"name": "Undo Industries", "website": "https://undo.example"}),
        update: json!({"website": "https://changed.example"}),
        concurrent: json!({"website": "https://someone-else.example"}),
    };
    let requests = || sandbox.requests().len();
    let app = app(&section, &dir, "");
    let journaled = scenario(&app, &case, &requests).await;
    // the delete came back under its old id (restore, not recreate)
    let cx = me();
    let history = ok(&app, &cx, "crm_history", json!({"limit": 10})).await;
    assert!(history.to_string().contains("crm_undo"));
    let off = tempfile::tempdir().unwrap();
    let unjournaled =
        update_requests_unjournaled(&crmgate_app(&section, &off), &case, &requests).await;
    println!("espocrm: requests per crm_update, journal on {journaled}, off {unjournaled}");
    assert!(journaled <= unjournaled + 1);
}

#[tokio::test]
async fn espocrm_undo_of_a_delete_restores_the_old_id() {
    use crmgate_espocrm::sandbox::{Sandbox, credentials};
    let sandbox = Sandbox::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let section = format!(
        "[crm.espo]\nkind = \"espocrm\"\nurl = \"{}\"\nusername = \"{}\"\npassword = \"{}\"\n",
        sandbox.url(),
        credentials::ADMIN_USER,
        credentials::ADMIN_PASSWORD
    );
    let app = app(&section, &dir, "");
    let cx = me();
    let id = any_id(&app, &cx, "companies").await;
    let kept = state(&app, &cx, "companies", &id).await;
    confirmed(
        &app,
        &cx,
        "crm_delete",
        json!({"entity": "companies", "id": id}),
    )
    .await;
    let entry = newest(&app, &cx).await;
    let preview = ok(&app, &cx, "crm_undo", json!({"entry_id": entry})).await;
    assert_eq!(preview["steps"][0]["inverse"], "restore");
    let mut args = json!({"entry_id": entry});
    args["confirm_token"] = preview["confirm_token"].clone();
    let done = ok(&app, &cx, "crm_undo", args).await;
    assert_eq!(done["steps"][0]["id"], id.as_str());
    assert_eq!(state(&app, &cx, "companies", &id).await, kept);
}

#[tokio::test]
async fn bitrix24_journal_and_undo() {
    use crmgate_bitrix24::sandbox::Sandbox;
    let sandbox = Sandbox::start(Default::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let section = format!(
        "[crm.portal]\nkind = \"bitrix24\"\nwebhook_url = \"{}\"\n",
        sandbox.webhook_url()
    );
    let case = Case {
        entity: "deals",
        create: json!({"title": "Undo deal", "opportunity": 500, "stageId": "NEW"}),
        update: json!({"opportunity": 750}),
        concurrent: json!({"opportunity": 900}),
    };
    let requests = || sandbox.requests();
    let journaled = scenario(&app(&section, &dir, ""), &case, &requests).await;
    let off = tempfile::tempdir().unwrap();
    let unjournaled =
        update_requests_unjournaled(&crmgate_app(&section, &off), &case, &requests).await;
    println!("bitrix24: requests per crm_update, journal on {journaled}, off {unjournaled}");
    assert!(journaled <= unjournaled + 1);
}

#[tokio::test]
async fn bottlecrm_journal_and_undo() {
    use crmgate_bottlecrm::sandbox::{ADMIN_A, Sandbox};
    let sandbox = Sandbox::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let section = format!(
        "[crm.bottle]\nkind = \"bottlecrm\"\nurl = \"{}\"\ntoken = \"{ADMIN_A}\"\napp_url = \"https://app.bottlecrm.example\"\n",
        sandbox.url()
    );
    let case = Case {
        entity: "contacts",
        create: json!({"first_name": "Una", "last_name": "Do", "email": "una@undo.example"}),
        update: json!({"title": "Buyer"}),
        concurrent: json!({"title": "Chief buyer"}),
    };
    let requests = || sandbox.requests();
    let journaled = scenario(&app(&section, &dir, ""), &case, &requests).await;
    let off = tempfile::tempdir().unwrap();
    let unjournaled =
        update_requests_unjournaled(&crmgate_app(&section, &off), &case, &requests).await;
    println!("bottlecrm: requests per crm_update, journal on {journaled}, off {unjournaled}");
    assert!(journaled <= unjournaled + 1);
}

/// `data` with `tag` in its names and email addresses: a second record the CRM does not take
/// for a duplicate.
fn variant(data: &Value, tag: &str) -> Value {
    let mut data = data.clone();
    for (key, value) in data.as_object_mut().unwrap() {
        if let Value::String(text) = value {
            if text.contains('@') {
                *text = format!("{tag}.{text}");
            } else if key.contains("name") || key.contains("title") {
                *text = format!("{text} {tag}");
            }
        }
    }
    data
}

/// The same CRM with the journal off.
fn crmgate_app(section: &str, dir: &tempfile::TempDir) -> crmgate::app::App {
    app(section, dir, "enabled = false\n")
}

/// Two replicas (two apps, each with its own connection pool) over one EspoCRM and one
/// PostgreSQL journal: one sees and undoes what the other wrote, an entry is undone once, and
/// two undos confirmed at the same moment cannot both run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgresql_journal_is_shared_by_two_replicas() {
    use crmgate_espocrm::sandbox::{Sandbox, credentials};
    use secrecy::ExposeSecret;
    let Some(db) = pg::TestDb::create("shared").await else {
        return;
    };
    let sandbox = Sandbox::start().await.unwrap();
    let section = format!(
        "[crm.espo]\nkind = \"espocrm\"\nurl = \"{}\"\napi_key = \"{}\"\n",
        sandbox.url(),
        credentials::API_KEY
    );
    let url = format!("url = {}\n", Value::from(db.url().expose_secret()));
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = app(&section, &dir_a, &url);
    let b = app(&section, &dir_b, &url);
    let cx = me();
    let id = any_id(&a, &cx, "companies").await;
    let original = state(&a, &cx, "companies", &id).await;
    ok(
        &a,
        &cx,
        "crm_update",
        json!({"entity": "companies", "id": id, "data": {"website": "https://replica-a.example"}}),
    )
    .await;
    let entry = newest(&a, &cx).await;
    assert_eq!(
        newest(&b, &cx).await,
        entry,
        "replica b sees replica a's entry"
    );
    // both preview; both confirm at once: exactly one undo runs
    let preview_a = ok(&a, &cx, "crm_undo", json!({"entry_id": entry})).await;
    let preview_b = ok(&b, &cx, "crm_undo", json!({"entry_id": entry})).await;
    let confirm =
        |preview: &Value| json!({"entry_id": entry, "confirm_token": preview["confirm_token"]});
    let (ra, rb) = tokio::join!(
        crmgate::tools::call(&a, &cx, "crm_undo", confirm(&preview_a)),
        crmgate::tools::call(&b, &cx, "crm_undo", confirm(&preview_b)),
    );
    assert_eq!(
        [ra.is_error, rb.is_error].iter().filter(|e| !**e).count(),
        1,
        "one undo runs: {} / {}",
        ra.text,
        rb.text
    );
    assert_eq!(state(&b, &cx, "companies", &id).await, original);
    let again = err(&a, &cx, "crm_undo", json!({"entry_id": entry})).await;
    assert_eq!(again["code"], "CONFLICT");
    drop(db);
}

/// The journal's look at a record before an update does not count as the caller having seen
/// it: a change made by someone else since the caller's last read is still `CONFLICT` on
/// EspoCRM (`X-Version-Number`), and nothing is written.
#[tokio::test]
async fn espocrm_an_update_after_a_change_elsewhere_is_still_conflict_with_the_journal_on() {
    use crmgate_espocrm::sandbox::{Sandbox, credentials};
    let sandbox = Sandbox::start().await.unwrap();
    let section = format!(
        "[crm.espo]\nkind = \"espocrm\"\nurl = \"{}\"\napi_key = \"{}\"\n",
        sandbox.url(),
        credentials::API_KEY
    );
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, b) = (app(&section, &dir_a, ""), app(&section, &dir_b, ""));
    let cx = me();
    let id = any_id(&a, &cx, "companies").await;
    full(&a, &cx, "companies", &id).await; // a reads the record
    ok(
        &b,
        &cx,
        "crm_update",
        json!({"entity": "companies", "id": id, "data": {"website": "https://b.example"}}),
    )
    .await;
    let e = err(
        &a,
        &cx,
        "crm_update",
        json!({"entity": "companies", "id": id, "data": {"website": "https://a.example"}}),
    )
    .await;
    assert_eq!(e["code"], "CONFLICT", "{e}");
    assert_eq!(
        full(&b, &cx, "companies", &id).await["website"],
        "https://b.example"
    );
    // a's refused write is journaled as failed, and there is nothing to undo
    let history = ok(&a, &cx, "crm_history", json!({"limit": 1})).await;
    assert_eq!(history["entries"][0]["outcome"], "failed");
    assert_eq!(history["entries"][0]["undoable"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn atomic_journal_and_undo_on_postgresql() {
    use crmgate_atomic::sandbox::{ALICE_PASSWORD, Sandbox};
    use secrecy::ExposeSecret;
    let sandbox = Sandbox::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let section = format!(
        "[crm.atomic]\nkind = \"atomic\"\ntransport = \"postgrest\"\nsupabase_url = \"{}\"\nanon_key = \"{}\"\n\
         email = \"{}\"\npassword = \"{ALICE_PASSWORD}\"\njwt_secret = \"{}\"\napp_url = \"https://crm.example.test\"\n",
        sandbox.url(),
        sandbox.anon_key().expose_secret(),
        crmgate_atomic::testkit::TestUser::Alice.email(),
        sandbox.jwt_secret().expose_secret()
    );
    let case = Case {
        entity: "deals",
        create: json!({"name": "Undo deal", "stage": "opportunity", "amount": 1200, "company_id": "2"}),
        update: json!({"amount": 1500}),
        concurrent: json!({"amount": 1700}),
    };
    let requests = || sandbox.requests().len();
    let journaled = scenario(&app(&section, &dir, ""), &case, &requests).await;
    let off = tempfile::tempdir().unwrap();
    let unjournaled =
        update_requests_unjournaled(&crmgate_app(&section, &off), &case, &requests).await;
    println!("atomic: requests per crm_update, journal on {journaled}, off {unjournaled}");
    assert!(journaled <= unjournaled + 1);
}

/// A confirmed bulk update on Bitrix24 goes out as `batch` requests (one per group of
/// records), not one request per record; undone as one batch.
#[tokio::test]
async fn bitrix24_a_bulk_update_is_sent_as_batches() {
    use crmgate_bitrix24::sandbox::Sandbox;
    let sandbox = Sandbox::start(Default::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let section = format!(
        "[crm.portal]\nkind = \"bitrix24\"\nwebhook_url = \"{}\"\n",
        sandbox.webhook_url()
    );
    let app = app(&section, &dir, "");
    let cx = me();
    let page = ok(
        &app,
        &cx,
        "crm_search",
        json!({"entity": "deals", "limit": 8}),
    )
    .await;
    let ids: Vec<Value> = page["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].clone())
        .collect();
    assert_eq!(ids.len(), 8);
    let mut before = Vec::new();
    for id in &ids {
        before.push(state(&app, &cx, "deals", id.as_str().unwrap()).await);
    }
    let args = json!({"entity": "deals", "ids": ids, "data": {"opportunity": 4242}});
    let preview = ok(&app, &cx, "crm_update", args.clone()).await;
    let mut confirmed = args;
    confirmed["confirm_token"] = preview["confirm_token"].clone();
    let sent = sandbox.requests();
    let done = ok(&app, &cx, "crm_update", confirmed).await;
    let requests = sandbox.requests() - sent;
    println!("bitrix24: a confirmed bulk update of 8 deals took {requests} requests");
    assert!(requests < 8, "{requests} requests for 8 records");
    assert!(
        done["records"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["done"] == true),
        "{done}"
    );
    for id in &ids {
        assert_eq!(
            full(&app, &cx, "deals", id.as_str().unwrap()).await["opportunity"],
            4242
        );
    }
    undo(&app, &cx, json!({"batch_id": done["batch_id"]})).await;
    for (id, was) in ids.iter().zip(&before) {
        assert_eq!(&state(&app, &cx, "deals", id.as_str().unwrap()).await, was);
    }
}
