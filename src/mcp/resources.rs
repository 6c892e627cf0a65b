//! Resources: `crm://schema/{entity}`, the describe output of each entity as JSON.

use crate::app::App;
use crmgate_core::CallContext;
use rmcp::ErrorData as McpError;
use rmcp::model::*;

const PREFIX: &str = "crm://schema/";

/// The URI template.
pub fn template() -> ResourceTemplate {
    ResourceTemplate::new(format!("{PREFIX}{{entity}}"), "entity-schema")
        .with_description("Fields and links of one entity, as crm_describe returns them")
        .with_mime_type("application/json")
}

/// One resource per entity the caller can reach.
pub async fn list(app: &App, cx: &CallContext) -> Result<ListResourcesResult, McpError> {
    let entities = app.gateway.entities(cx).await.map_err(to_mcp)?.entities;
    let resources = entities
        .iter()
        .map(|e| {
            Resource::new(format!("{PREFIX}{}", e.name), format!("{}-schema", e.name))
                .with_title(format!("Schema of {} ({})", e.label, e.native))
                .with_mime_type("application/json")
        })
        .collect();
    Ok(ListResourcesResult::with_all_items(resources))
}

/// Read `crm://schema/{entity}`.
pub async fn read(app: &App, cx: &CallContext, uri: &str) -> Result<ReadResourceResult, McpError> {
    let Some(entity) = uri.strip_prefix(PREFIX).filter(|e| !e.is_empty()) else {
        return Err(McpError::resource_not_found(
            format!("no resource {uri}; schemas are at {PREFIX}{{entity}}"),
            None,
        ));
    };
    let schema = app.gateway.describe(cx, entity).await.map_err(to_mcp)?;
    let text = serde_json::to_string(&*schema)
        .map_err(|e| McpError::internal_error(e.to_string(), None))?;
    Ok(ReadResourceResult::new(vec![
        ResourceContents::text(text, uri).with_mime_type("application/json"),
    ]))
}

fn to_mcp(e: crmgate_core::Error) -> McpError {
    let data = serde_json::to_value(&e).ok();
    match e.code {
        crmgate_core::ErrorCode::UnknownEntity | crmgate_core::ErrorCode::NotFound => {
            McpError::resource_not_found(format!("{}: {}", e.message, e.suggestion), data)
        }
        _ => McpError::internal_error(format!("{}: {}", e.code, e.message), data),
    }
}
