//! Server templates: `/v3/vm/templates` (create/update bodies are wrapped in `{"template": ...}`).

use crate::value::{Redacted, bool_or_string, null_as_empty};
use serde::{Deserialize, Serialize};

/// A server template, as sent in create/update and as returned by show/list.
///
/// `is_template` is a boolean in requests and comes back as a string (`"true"`) from GET;
/// both are accepted, and it is written as a boolean.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)] // field names are the API's; see REFERENCE §1.10
pub struct Template {
    /// Present in answers only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: String,
    #[serde(
        deserialize_with = "bool_or_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub is_template: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Project id (no underscore on the wire).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub projectid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_server_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub availability_zone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volumetype: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flavor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpc: Option<TemplateVpc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nics: Option<Vec<TemplateNic>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_groups: Option<Vec<TemplateSecurityGroup>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publicip: Option<TemplatePublicIp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk: Option<Vec<TemplateDisk>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_volume_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_password: Option<Redacted>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_id: Option<String>,
}

/// VPC of a template (`"autoCreate"` id/name means create automatically).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)]
pub struct TemplateVpc {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cidr: Option<String>,
}

/// NIC of a template.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)]
pub struct TemplateNic {
    pub id: String,
    pub name: String,
    pub cidr: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
}

/// Security group of a template.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)]
pub struct TemplateSecurityGroup {
    pub id: String,
    pub name: String,
}

/// Public IP of a template.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)]
pub struct TemplatePublicIp {
    /// e.g. `5_bgp`.
    #[serde(rename = "type")]
    pub ip_type: String,
    /// Mbit/s.
    pub bandwidth_size: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bandwidth_share_type: Option<String>,
}

/// Disk of a template.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)]
pub struct TemplateDisk {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub index: i32,
    pub name: String,
    pub disktype: String,
    /// GB.
    pub size: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_use: Option<String>,
}

/// `{"template": ...}`: body of create/update and answer of `GET /v3/vm/templates/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TemplateEnvelope {
    /// The template.
    pub template: Template,
}

/// Query of `GET /v3/vm/templates` (`limit` 0..100, default 50).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)]
pub struct ListTemplatesQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub availability_zone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u32>,
}

/// Answer of `GET /v3/vm/templates`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ListTemplatesResponse {
    /// Total matching.
    pub count: u64,
    /// This page.
    #[serde(deserialize_with = "null_as_empty")]
    pub templates: Vec<Template>,
}
