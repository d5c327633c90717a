//! Seed files: source servers (and templates) registered at start and on reset. The README's
//! "Seed files" section documents the format for users (its example is tested below).
//!
//! JSON (`.json`) or YAML (anything else):
//!
//! ```yaml
//! sources:
//!   - name: db-01               # required; every other field of POST /v3/sources is optional
//!     id: 5b2c...               # optional fixed id (default: a random UUID)
//!     os_type: LINUX            # default LINUX
//!     os_version: CENTOS7.9
//!     ip: 10.0.0.11
//!     disks:                    # default: one 40 GiB disk with 10 GiB used
//!       - {name: /dev/vda, size: 42949672960, used_size: 10737418240, device_use: BOOT}
//!   - name: fail-web-02         # names starting with `fail-` make every replication fail
//!   - name: flaky-web-03        # `flaky-`: the first replication fails, a restart succeeds
//! templates:
//!   - {name: tpl-db, region: ap-southeast-3, projectid: 0123..., flavor: s6.large.2}
//! ```

use crate::error::EmulatorError;
use crate::state::{World, sms_source, sms_template};
use migplan_wire::sms::{RegisterSourceRequest, Template};
use serde::Deserialize;
use std::path::Path;

/// The seed file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedFile {
    /// Source servers to register.
    #[serde(default)]
    pub sources: Vec<SeedSource>,
    /// Templates to create.
    #[serde(default)]
    pub templates: Vec<Template>,
}

/// A seeded source: a registration body plus an optional fixed id.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SeedSource {
    /// Fixed id.
    #[serde(default)]
    pub id: Option<String>,
    /// The registration body.
    #[serde(flatten)]
    pub source: RegisterSourceRequest,
}

/// Parses seed text; `json` selects the JSON parser.
pub fn parse(text: &str, json: bool) -> Result<SeedFile, String> {
    if json {
        serde_json::from_str(text).map_err(|e| e.to_string())
    } else {
        serde_saphyr::from_str(text).map_err(|e| e.to_string())
    }
}

/// Reads and parses a seed file.
pub fn load(path: &Path) -> Result<SeedFile, EmulatorError> {
    let text = std::fs::read_to_string(path).map_err(|source| EmulatorError::Io {
        action: "read",
        path: path.to_owned(),
        source,
    })?;
    let json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    parse(&text, json).map_err(|message| EmulatorError::Seed {
        path: path.to_owned(),
        message,
    })
}

/// Builds a world from a seed.
pub fn world(seed: &SeedFile, now: i64, path: &Path) -> Result<World, EmulatorError> {
    let mut w = World::default();
    for s in &seed.sources {
        sms_source::register(&mut w, s.source.clone(), s.id.clone(), now).map_err(|e| {
            EmulatorError::Seed {
                path: path.to_owned(),
                message: e.message,
            }
        })?;
    }
    for t in &seed.templates {
        sms_template::create(&mut w, t.clone()).map_err(|e| EmulatorError::Seed {
            path: path.to_owned(),
            message: e.message,
        })?;
    }
    Ok(w)
}

/// Adds to a world what a seed names and it lacks: sources whose name (and fixed id) are not
/// registered yet, templates whose name is not there yet. Present ones are left exactly as
/// they are (a resumed world keeps its tasks' sources in their states). Returns how many were
/// added.
pub fn add_missing(
    w: &mut World,
    seed: &SeedFile,
    now: i64,
    path: &Path,
) -> Result<usize, EmulatorError> {
    let mut added = 0;
    for s in &seed.sources {
        let known = w
            .sources
            .iter()
            .any(|r| r.reg.name == s.source.name || s.id.as_deref().is_some_and(|id| id == r.id));
        if !known {
            sms_source::register(w, s.source.clone(), s.id.clone(), now).map_err(|e| {
                EmulatorError::Seed {
                    path: path.to_owned(),
                    message: e.message,
                }
            })?;
            added += 1;
        }
    }
    for t in &seed.templates {
        if !w.templates.iter().any(|r| r.template.name == t.name) {
            sms_template::create(w, t.clone()).map_err(|e| EmulatorError::Seed {
                path: path.to_owned(),
                message: e.message,
            })?;
            added += 1;
        }
    }
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_and_json_seeds() {
        let y = parse("sources:\n  - name: db-01\n    id: fixed\n    os_type: WINDOWS\n  - name: web-01\ntemplates:\n  - name: tpl\n", false).unwrap();
        assert_eq!(y.sources.len(), 2);
        assert_eq!(y.sources[0].id.as_deref(), Some("fixed"));
        let w = world(&y, 0, Path::new("x")).unwrap();
        assert_eq!(w.sources[0].id, "fixed");
        assert_eq!(w.sources[0].reg.os_version, "WINDOWS2019");
        assert_eq!(w.templates.len(), 1);
        let j = parse(
            r#"{"sources":[{"name":"a","disks":[{"name":"/dev/vda","size":1024}]}]}"#,
            true,
        )
        .unwrap();
        assert_eq!(j.sources[0].source.disks[0].size, 1024);
        assert!(parse("servers: []", false).is_err());
    }

    /// The README documents the format for users: its example must stay a valid seed.
    #[test]
    fn the_readme_example_is_a_valid_seed() {
        let readme = include_str!("../../../README.md");
        let (_, after) = readme
            .split_once("<!-- seed-example")
            .expect("the README marks its seed example");
        let yaml = after
            .split_once("```yaml\n")
            .and_then(|(_, rest)| rest.split_once("```"))
            .map(|(block, _)| block)
            .expect("a yaml block after the marker");
        let seed = parse(yaml, false).expect("the README's seed parses");
        assert_eq!(seed.sources.len(), 2);
        assert_eq!(seed.templates.len(), 1);
        let w = world(&seed, 0, Path::new("README.md")).expect("and seeds a world");
        assert_eq!(w.sources[0].id, "5b2c6d1e-0f3a-4b5c-8d7e-9f0a1b2c3d4e");
        assert_eq!(w.sources[0].reg.disks[0].used_size, Some(10_737_418_240));
        assert_eq!(
            w.templates[0].template.flavor.as_deref(),
            Some("s6.large.2")
        );
    }

    #[test]
    fn add_missing_keeps_what_is_there() {
        let first = parse(
            "sources:\n  - name: db-01\n    id: fixed\ntemplates:\n  - name: tpl\n",
            false,
        )
        .unwrap();
        let mut w = world(&first, 0, Path::new("x")).unwrap();
        w.sources[0].reg.os_version = "CHANGED".into();
        let later = parse("sources:\n  - name: db-01\n  - name: web-01\ntemplates:\n  - name: tpl\n  - name: tpl-2\n", false).unwrap();
        assert_eq!(add_missing(&mut w, &later, 0, Path::new("x")).unwrap(), 2);
        assert_eq!(w.sources.len(), 2);
        assert_eq!(
            w.sources[0].reg.os_version, "CHANGED",
            "an existing source is not re-registered"
        );
        assert_eq!(w.templates.len(), 2);
        assert_eq!(add_missing(&mut w, &later, 0, Path::new("x")).unwrap(), 0);
    }
}
