//! crm_action: an action from crm_entities; a destructive one needs the destructive tier and a
//! confirm token bound to the record's version. Journaled like every write.

use super::journaled::{WriteRecord, fields_value};
use super::outcome::{Check, explain};
use super::*;
use crate::confirm::{Intent, TOKEN_LIFETIME};
use crate::journal::{Change, EntityRef};
use crate::model::{ActionInfo, FieldSelection, Fields, Pending};
use crate::schema::FieldType;
use serde_json::{Value, json};

impl Gateway {
    /// crm_action: destructive actions need the destructive tier and a confirm token.
    pub async fn action(&self, cx: &CallContext, args: ActionArgs) -> Result<ActionOutput> {
        self.within_deadline(self.action_now(cx, args)).await
    }

    async fn action_now(&self, cx: &CallContext, args: ActionArgs) -> Result<ActionOutput> {
        self.require_tier(Tier::Write, "crm_action")?;
        let entity = self
            .resolve_for(cx, &args.entity, Operation::Action)
            .await?;
        let Some(action) = entity
            .actions
            .iter()
            .find(|a| a.name == args.action)
            .cloned()
        else {
            let names: Vec<&str> = entity.actions.iter().map(|a| a.name.as_str()).collect();
            let hint = crate::text::did_you_mean(&args.action, names.iter().copied())
                .map(|b| format!("did you mean {b:?}? "))
                .unwrap_or_default();
            return Err(Error::new(
                crate::ErrorCode::NotFound,
                format!("{} has no action {:?}", entity.name, args.action),
                format!("{hint}actions on {}: {}", entity.name, names.join(", ")),
            ));
        };
        check_action_params(&entity.name, &action, &args.params)?;
        let id = self.record_id(&entity, &args.id, "id")?;
        let what = format!("{} action", action.name);
        let check = |e| {
            explain(
                e,
                Check::Record {
                    entity: &entity,
                    id: &id,
                    what: &what,
                },
            )
        };
        if !action.destructive {
            let result = self
                .journaled_action(cx, &entity, &id, &action, &args.params, None)
                .await
                .map_err(check)?;
            return Ok(ActionOutput::Done {
                action: action.name,
                result,
            });
        }
        self.require_tier(Tier::Destructive, &format!("the {} action", action.name))?;
        let current = self.current(cx, &entity, &id).await?;
        // known outcomes, or the refusal the CRM is known to give
        let notes = self.backend.preview_notes(
            &entity,
            &current,
            Pending::Action(&action, &args.params),
        )?;
        let version = record_version(&current);
        let intent = Intent {
            operation: &action.name,
            entity: &entity.native,
            id: &id,
            version: &version,
            caller: cx.scope(),
        };
        match given(&args.confirm_token) {
            None => Ok(ActionOutput::Preview {
                confirm_token: self.signer.issue(intent),
                preview: self.present(current, &FieldSelection::All),
                description: action.description.clone(),
                action: action.name,
                expires_in_s: TOKEN_LIFETIME.as_secs(),
                notes,
            }),
            Some(token) => {
                self.signer.verify(token, intent)?;
                let before = Some(fields_value(&current.fields));
                let result = self
                    .journaled_action(cx, &entity, &id, &action, &args.params, before)
                    .await
                    .map_err(check)?;
                Ok(ActionOutput::Done {
                    action: action.name,
                    result,
                })
            }
        }
    }

    /// Run an action, journaled (`before`: the record as read for the confirm token).
    async fn journaled_action(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        id: &str,
        action: &ActionInfo,
        params: &Fields,
        before: Option<Value>,
    ) -> Result<Value> {
        let change = |result| Change::Action {
            action: action.name.clone(),
            destructive: action.destructive,
            result,
        };
        let pending = self
            .journal_one(
                cx,
                WriteRecord {
                    tool: "crm_action",
                    arguments: json!({"entity": entity.name, "id": id, "action": action.name,
                        "params": params}),
                    entity: EntityRef::from(entity),
                    id: Some(id),
                    change: change(None),
                    before,
                },
            )
            .await?;
        let result = self.backend.action(cx, entity, id, action, params).await;
        pending
            .finish(&result, |r| (None, None, Some(change(Some(r.clone())))))
            .await;
        result
    }
}

fn check_action_params(entity: &str, action: &ActionInfo, params: &Fields) -> Result<()> {
    for name in params.keys() {
        if !action.params.iter().any(|p| &p.name == name) {
            let names: Vec<&str> = action.params.iter().map(|p| p.name.as_str()).collect();
            return Err(Error::validation(
                format!("{entity}.{} takes no parameter {name:?}", action.name),
                if names.is_empty() {
                    "pass no params".to_owned()
                } else {
                    format!("parameters: {}", names.join(", "))
                },
            ));
        }
    }
    for param in &action.params {
        match params.get(&param.name) {
            None | Some(Value::Null) if param.required => {
                return Err(Error::validation(
                    format!(
                        "{entity}.{} needs the parameter {:?}",
                        action.name, param.name
                    ),
                    format!("pass params: {{\"{}\": …}}", param.name),
                ));
            }
            Some(Value::String(value))
                if param.param_type == FieldType::Enum
                    && !param.options.is_empty()
                    && !param.options.iter().any(|o| &o.value == value) =>
            {
                let allowed: Vec<String> = param
                    .options
                    .iter()
                    .map(|o| format!("{} ({})", o.value, o.label))
                    .collect();
                return Err(Error::validation(
                    format!("{value:?} is not an allowed {}", param.name),
                    format!("allowed: {}", allowed.join(", ")),
                ));
            }
            _ => {}
        }
    }
    Ok(())
}
