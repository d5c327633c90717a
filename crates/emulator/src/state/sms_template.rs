//! SMS server templates (`/v3/vm/templates`).

use super::{World, new_id};
use crate::api_error::{ApiError, codes};
use migplan_wire::sms::{ListTemplatesQuery, Template};
use serde::{Deserialize, Serialize};

/// A stored template.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TemplateRec {
    /// Id.
    pub id: String,
    /// The template as created (id filled in).
    pub template: Template,
}

/// `POST /v3/vm/templates`.
pub fn create(world: &mut World, mut template: Template) -> Result<String, ApiError> {
    if template.name.trim().is_empty() {
        return Err(ApiError::sms_invalid("template.name is required"));
    }
    let id = new_id();
    template.id = Some(id.clone());
    if template.is_template.is_none() {
        template.is_template = Some(true);
    }
    world.templates.push(TemplateRec {
        id: id.clone(),
        template,
    });
    Ok(id)
}

/// Finds a template.
pub fn find<'w>(world: &'w World, id: &str) -> Result<&'w TemplateRec, ApiError> {
    world.templates.iter().find(|t| t.id == id).ok_or_else(|| {
        ApiError::sms(
            404,
            codes::SMS_TEMPLATE_NOT_FOUND,
            format!("template {id} does not exist"),
        )
    })
}

/// Templates matching a list query, newest first.
pub fn matching<'w>(world: &'w World, q: &ListTemplatesQuery) -> Vec<&'w TemplateRec> {
    world
        .templates
        .iter()
        .rev()
        .filter(|t| q.id.as_deref().is_none_or(|id| t.id == id))
        .filter(|t| {
            q.name
                .as_deref()
                .is_none_or(|n| t.template.name.contains(n))
        })
        .filter(|t| {
            q.region
                .as_deref()
                .is_none_or(|r| t.template.region.as_deref() == Some(r))
        })
        .filter(|t| {
            q.availability_zone
                .as_deref()
                .is_none_or(|z| t.template.availability_zone.as_deref() == Some(z))
        })
        .collect()
}

/// The wire JSON of a template as GET returns it: `is_template` as a string, no password.
pub fn to_wire(t: &TemplateRec) -> serde_json::Value {
    let mut tpl = t.template.clone();
    tpl.target_password = None;
    let mut v = serde_json::to_value(&tpl).unwrap_or_default();
    if let Some(obj) = v.as_object_mut() {
        let flag = tpl.is_template.unwrap_or(true);
        obj.insert(
            "is_template".into(),
            serde_json::Value::String(flag.to_string()),
        );
    }
    v
}
