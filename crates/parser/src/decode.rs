//! Spanned YAML tree → [`PlanDocument`], collecting every shape error (unknown fields, wrong
//! types, bad keywords, out-of-range numbers, inline secrets) instead of stopping at the first.
//!
//! The field names each mapping accepts come from the JSON Schema generated from the document
//! types, so the schema editors use and the decoder cannot disagree.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use schemars::JsonSchema;

use crate::diagnostic::{Code, PlanDiagnostic, SourceFile, Span};
use crate::document::*;
use crate::excerpt::quote;
use crate::keyword::Keyword;
use crate::spec::Samples;
use crate::suggest::closest;
use crate::tree::Node;
use crate::window::Weekday;

/// Field names accepted by each mapping of the format, read from the generated schema.
struct KnownFields {
    plan: BTreeSet<String>,
    cloud: BTreeSet<String>,
    defaults: BTreeSet<String>,
    server_settings: BTreeSet<String>,
    server: BTreeSet<String>,
    redis_settings: BTreeSet<String>,
    redis: BTreeSet<String>,
    wave: BTreeSet<String>,
    window: BTreeSet<String>,
    target: BTreeSet<String>,
    network: BTreeSet<String>,
    endpoint: BTreeSet<String>,
    secret: BTreeSet<String>,
    on_failure: BTreeSet<String>,
    test: BTreeSet<String>,
    network_check: BTreeSet<String>,
    verify: BTreeSet<String>,
    quotas: BTreeSet<String>,
}

fn properties_of<T: JsonSchema>() -> BTreeSet<String> {
    let schema = schemars::SchemaGenerator::default().into_root_schema_for::<T>();
    schema
        .get("properties")
        .and_then(|p| p.as_object())
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

static KNOWN: LazyLock<KnownFields> = LazyLock::new(|| KnownFields {
    plan: properties_of::<PlanDocument>(),
    cloud: properties_of::<CloudSection>(),
    defaults: properties_of::<Defaults>(),
    server_settings: properties_of::<ServerSettings>(),
    server: properties_of::<ServerEntry>(),
    redis_settings: properties_of::<RedisSettings>(),
    redis: properties_of::<RedisEntry>(),
    wave: properties_of::<WaveEntry>(),
    window: properties_of::<WindowEntry>(),
    target: properties_of::<TargetDoc>(),
    network: properties_of::<NetworkDoc>(),
    endpoint: properties_of::<EndpointDoc>(),
    secret: properties_of::<SecretDoc>(),
    on_failure: properties_of::<OnFailureDoc>(),
    test: properties_of::<TestDoc>(),
    network_check: properties_of::<NetworkCheckDoc>(),
    verify: properties_of::<VerifyDoc>(),
    quotas: properties_of::<QuotasDoc>(),
});

/// A mapping being decoded: its entries and its own span.
struct Fields<'a> {
    entries: &'a [(Sp<String>, Sp<Node>)],
    span: Span,
    known: &'static BTreeSet<String>,
}

impl<'a> Fields<'a> {
    /// Keys of `known` that are written (non-null), whatever their value.
    fn written(&self, known: &BTreeSet<String>) -> BTreeSet<String> {
        self.entries
            .iter()
            .filter(|(k, v)| v.value != Node::Null && known.contains(&k.value))
            .map(|(k, _)| k.value.clone())
            .collect()
    }

    /// The value of `key`; `null` counts as absent.
    fn get(&self, key: &str) -> Option<&'a Sp<Node>> {
        debug_assert!(
            self.known.contains(key),
            "decoder reads unknown key `{key}`"
        );
        self.entries
            .iter()
            .find(|(k, _)| k.value == key)
            .map(|(_, v)| v)
            .filter(|v| v.value != Node::Null)
    }
}

/// Collects diagnostics while decoding.
pub(crate) struct Decoder<'s> {
    source: &'s SourceFile,
    pub(crate) errors: Vec<PlanDiagnostic>,
    undecodable_redis: Vec<Sp<String>>,
}

impl<'s> Decoder<'s> {
    pub(crate) fn new(source: &'s SourceFile) -> Self {
        Decoder {
            source,
            errors: Vec::new(),
            undecodable_redis: Vec::new(),
        }
    }

    fn error(&mut self, d: PlanDiagnostic) {
        self.errors.push(d);
    }

    fn wrong_type(&mut self, node: &Sp<Node>, field: &str, expected: &str) {
        if let Node::Long(_) = node.value {
            return; // reported once, as too long
        }
        let found = node.value.type_name();
        let mut d = PlanDiagnostic::new(
            Code::WrongType,
            format!("`{field}` must be {expected}, found {found}"),
            node.span,
            format!("expected {expected}"),
        );
        let field_ref = if field.contains(' ') {
            field.to_string()
        } else {
            format!("`{field}`")
        };
        d.message = format!("{field_ref} must be {expected}, found {found}");
        match (&node.value, expected) {
            (Node::Str(s), e) if e.contains("integer") && s.trim().parse::<i64>().is_ok() => {
                d = d.with_help("write the number without quotes");
            }
            (Node::Str(s), e) if e.contains("true") => {
                d = d.with_help(format!(
                    "plan files are YAML 1.2, where `{}` is a string: write `true` or `false`",
                    quote(s)
                ));
            }
            (_, "a list") => {
                d = d.with_help(format!("write one `- ` item per entry under `{field}`"));
            }
            _ => {}
        }
        self.error(d);
    }

    /// Opens a mapping and reports every key it does not know, with a suggestion.
    fn mapping<'a>(
        &mut self,
        node: &'a Sp<Node>,
        field: &str,
        known: &'static BTreeSet<String>,
    ) -> Option<Fields<'a>> {
        let Node::Map(entries) = &node.value else {
            self.wrong_type(node, field, "a mapping");
            return None;
        };
        for (key, _) in entries {
            if !known.contains(&key.value) {
                self.unknown_field(key, field, known);
            }
        }
        Some(Fields {
            entries,
            span: node.span,
            known,
        })
    }

    fn unknown_field(&mut self, key: &Sp<String>, within: &str, known: &BTreeSet<String>) {
        let mut d = PlanDiagnostic::new(
            Code::UnknownField,
            format!("unknown field `{}` in {within}", quote(&key.value)),
            key.span,
            "not a field here",
        );
        let hint = if let Some(s) = closest(&key.value, known.iter().map(String::as_str)) {
            format!("did you mean `{s}`?")
        } else if within == "defaults"
            && (KNOWN.server_settings.contains(&key.value)
                || KNOWN.redis_settings.contains(&key.value))
        {
            let section = if KNOWN.server_settings.contains(&key.value) {
                "servers"
            } else {
                "redis"
            };
            format!("defaults are per kind: move it under `defaults.{section}`")
        } else {
            let list: Vec<String> = known.iter().map(|k| format!("`{k}`")).collect();
            format!("{within} accepts {}", list.join(", "))
        };
        d = d.with_help(hint);
        self.error(d);
    }

    fn required<'a>(&mut self, f: &Fields<'a>, key: &str, within: &str) -> Option<&'a Sp<Node>> {
        let v = f.get(key);
        if v.is_none() {
            self.error(
                PlanDiagnostic::new(
                    Code::MissingField,
                    format!("{within} is missing `{key}`"),
                    f.span,
                    format!("`{key}` is required here"),
                )
                .with_help(format!("add `{key}:` to {within}")),
            );
        }
        v
    }

    /// A string; plain scalars that YAML typed as numbers or booleans keep their written text,
    /// so `project_id: 0123456789` is the string the user wrote.
    fn string(&mut self, node: &Sp<Node>, field: &str) -> Option<Sp<String>> {
        match &node.value {
            Node::Str(s) => Some(Sp::new(s.clone(), node.span)),
            Node::Int(_) | Node::Float(_) | Node::Bool(_) => {
                let text = self
                    .source
                    .text()
                    .get(node.span.offset..node.span.offset + node.span.len)
                    .unwrap_or_default()
                    .to_string();
                Some(Sp::new(text, node.span))
            }
            _ => {
                self.wrong_type(node, field, "a string");
                None
            }
        }
    }

    fn opt_string(&mut self, f: &Fields<'_>, key: &str) -> Option<Sp<String>> {
        f.get(key).and_then(|n| self.string(n, key))
    }

    fn boolean(&mut self, f: &Fields<'_>, key: &str) -> Option<Sp<bool>> {
        let node = f.get(key)?;
        match node.value {
            Node::Bool(b) => Some(Sp::new(b, node.span)),
            _ => {
                self.wrong_type(node, key, "`true` or `false`");
                None
            }
        }
    }

    fn uint(
        &mut self,
        node: &Sp<Node>,
        key: &str,
        min: u32,
        max: u32,
        unit: &str,
    ) -> Option<Sp<u32>> {
        let written = self
            .source
            .text()
            .get(node.span.offset..node.span.offset + node.span.len)
            .unwrap_or_default();
        let v = match node.value {
            Node::Int(v) => v,
            // A plain scalar written as an integer that does not fit 64 bits arrives as a
            // float (or, in hex or octal, as a string): out of range, not a fraction or a word.
            // (`0123` stays a string, as YAML 1.2 reads it.)
            Node::Float(_) if looks_integral(written) => {
                return self.integer_out_of_range(node, written, key, min, max, unit);
            }
            Node::Str(_) if looks_integral(written) && radix_prefixed(written) => {
                return self.integer_out_of_range(node, written, key, min, max, unit);
            }
            _ => {
                self.wrong_type(node, key, "an integer");
                return None;
            }
        };
        // `-0` is zero, but a sign on a count or a limit is a mistake worth pointing at.
        if v == 0 && written.trim_start().starts_with('-') {
            self.error(
                PlanDiagnostic::new(
                    Code::InvalidValue,
                    format!("`{key}` is written `-0`"),
                    node.span,
                    "negative zero",
                )
                .with_help("write `0`"),
            );
            return None;
        }
        match u32::try_from(v) {
            Ok(v) if (min..=max).contains(&v) => Some(Sp::new(v, node.span)),
            _ => {
                let range = if max == u32::MAX {
                    format!("at least {min}")
                } else {
                    format!("from {min} to {max}")
                };
                self.error(
                    PlanDiagnostic::new(
                        Code::OutOfRange,
                        format!("`{key}` is {v}, outside the range the API accepts"),
                        node.span,
                        format!("must be {range}"),
                    )
                    .with_help(format!("`{key}` is {unit}, {range}")),
                );
                None
            }
        }
    }

    fn integer_out_of_range(
        &mut self,
        node: &Sp<Node>,
        written: &str,
        key: &str,
        min: u32,
        max: u32,
        unit: &str,
    ) -> Option<Sp<u32>> {
        let range = if max == u32::MAX {
            format!("at least {min}")
        } else {
            format!("from {min} to {max}")
        };
        self.error(
            PlanDiagnostic::new(
                Code::OutOfRange,
                format!(
                    "`{key}` is {}, outside the range the API accepts",
                    quote(written.trim())
                ),
                node.span,
                format!("must be {range}"),
            )
            .with_help(format!("`{key}` is {unit}, {range}")),
        );
        None
    }

    fn opt_uint(
        &mut self,
        f: &Fields<'_>,
        key: &str,
        min: u32,
        max: u32,
        unit: &str,
    ) -> Option<Sp<u32>> {
        f.get(key).and_then(|n| self.uint(n, key, min, max, unit))
    }

    fn keyword<K: Keyword>(&mut self, node: &Sp<Node>, key: &str) -> Option<Sp<K>> {
        let s = self.string(node, key)?;
        if let Some(k) = K::parse(&s.value) {
            return Some(Sp::new(k, s.span));
        }
        let names = K::ALL.iter().map(|(n, _)| *n);
        let help = match closest(&s.value, names) {
            Some(n) => format!(
                "did you mean `{n}`? {} is one of {}",
                K::WHAT,
                K::expected()
            ),
            None => format!("{} is one of {}", K::WHAT, K::expected()),
        };
        self.error(
            PlanDiagnostic::new(
                Code::InvalidValue,
                format!("`{}` is not a valid {}", quote(&s.value), K::WHAT),
                s.span,
                format!("unknown {}", K::WHAT),
            )
            .with_help(help),
        );
        None
    }

    fn opt_keyword<K: Keyword>(&mut self, f: &Fields<'_>, key: &str) -> Option<Sp<K>> {
        f.get(key).and_then(|n| self.keyword(n, key))
    }

    fn list<'a>(&mut self, node: Option<&'a Sp<Node>>, key: &str) -> &'a [Sp<Node>] {
        match node.map(|n| (n, &n.value)) {
            None => &[],
            Some((_, Node::Seq(items))) => items,
            Some((n, _)) => {
                self.wrong_type(n, key, "a list");
                &[]
            }
        }
    }

    /// Decodes the whole document. `None` when the top level is unusable.
    ///
    /// Takes the tree: the entries of `servers`, `redis` and `waves` (nearly all of a big file)
    /// are dropped one by one as they are decoded, so the tree and the decoded plan are never
    /// both held whole.
    pub(crate) fn document(&mut self, mut root: Sp<Node>) -> Option<PlanDocument> {
        let mut take = |key: &str| -> Option<Vec<Sp<Node>>> {
            let Node::Map(entries) = &mut root.value else {
                return None;
            };
            match entries.iter_mut().find(|(k, _)| k.value == key) {
                Some((
                    _,
                    Sp {
                        value: Node::Seq(items),
                        ..
                    },
                )) => Some(std::mem::take(items)),
                _ => None,
            }
        };
        let (server_items, redis_items, wave_items) =
            (take("servers"), take("redis"), take("waves"));
        let root = &root;
        if root.value == Node::Null {
            self.error(
                PlanDiagnostic::new(
                    Code::MissingField,
                    "the plan file is empty",
                    root.span,
                    "empty",
                )
                .with_help("start with `version: 1`, `name:` and `cloud:`"),
            );
            return None;
        }
        let f = self.mapping(root, "the plan", &KNOWN.plan)?;
        let version = self.required(&f, "version", "the plan").and_then(|n| {
            let v = self.uint(n, "version", 0, u32::MAX, "the plan format version")?;
            if v.value != 1 {
                self.error(
                    PlanDiagnostic::new(
                        Code::UnsupportedVersion,
                        format!("plan format version {} is not supported", v.value),
                        v.span,
                        "unsupported version",
                    )
                    .with_help("this migplan reads format version 1: write `version: 1`"),
                );
            }
            Some(v)
        });
        let name = self
            .required(&f, "name", "the plan")
            .and_then(|n| self.string(n, "name"));
        let cloud = self
            .required(&f, "cloud", "the plan")
            .and_then(|n| self.cloud(n));
        let defaults = f.get("defaults").and_then(|n| self.defaults(n));
        let servers = self.entries(server_items, &f, "servers", Self::server);
        let redis = self.entries(redis_items, &f, "redis", Self::redis);
        let waves = self.entries(wave_items, &f, "waves", Self::wave);
        let windows = self.entries(None, &f, "windows", Self::window);
        Some(PlanDocument {
            windows,
            version: version?,
            name: name?,
            cloud: cloud?,
            defaults,
            servers,
            redis,
            waves,
            undecodable_redis: std::mem::take(&mut self.undecodable_redis),
        })
    }

    /// The decoded entries of the top-level list `key`: the items taken from the tree when it
    /// was a list, else the list as written (a value of another type is reported).
    fn entries<T>(
        &mut self,
        taken: Option<Vec<Sp<Node>>>,
        f: &Fields<'_>,
        key: &str,
        one: fn(&mut Self, &Sp<Node>) -> Option<T>,
    ) -> Vec<T> {
        match taken {
            Some(items) => items.into_iter().filter_map(|n| one(self, &n)).collect(),
            None => self
                .list(f.get(key), key)
                .iter()
                .filter_map(|n| one(self, n))
                .collect(),
        }
    }

    fn cloud(&mut self, node: &Sp<Node>) -> Option<CloudSection> {
        let f = self.mapping(node, "cloud", &KNOWN.cloud)?;
        let region = self
            .required(&f, "region", "cloud")
            .and_then(|n| self.string(n, "region"));
        let project_id = self
            .required(&f, "project_id", "cloud")
            .and_then(|n| self.string(n, "project_id"));
        Some(CloudSection {
            region: region?,
            project_id: project_id?,
            project_name: self.opt_string(&f, "project_name"),
            domain_id: self.opt_string(&f, "domain_id"),
            enterprise_project_id: self.opt_string(&f, "enterprise_project_id"),
            quotas: f.get("quotas").and_then(|n| self.quotas(n)),
        })
    }

    fn quotas(&mut self, node: &Sp<Node>) -> Option<Sp<QuotasDoc>> {
        let before = self.errors.len();
        let f = self.mapping(node, "cloud.quotas", &KNOWN.quotas);
        if f.is_none()
            && let Some(d) = self.errors.get_mut(before)
        {
            d.help = Some(
                "`quotas` is a mapping under `cloud`: write `quotas: {sms_concurrent_migrations: 100}`"
                    .into(),
            );
        }
        let f = f?;
        let before = self.errors.len();
        let sms_concurrent_migrations = self.opt_uint(
            &f,
            "sms_concurrent_migrations",
            1,
            10000,
            "how many SMS migrations the account runs at once (SMS allows 100 by default)",
        );
        // The cap is migplan's; the account's real quota is what the service says.
        if let Some(d) = self.errors.get_mut(before)
            && d.code == Code::OutOfRange
        {
            d.message = d.message.replace("the API accepts", "migplan allows");
        }
        Some(Sp::new(
            QuotasDoc {
                sms_concurrent_migrations,
            },
            node.span,
        ))
    }

    fn defaults(&mut self, node: &Sp<Node>) -> Option<Defaults> {
        let f = self.mapping(node, "defaults", &KNOWN.defaults)?;
        let servers = f.get("servers").and_then(|n| {
            let g = self.mapping(n, "defaults.servers", &KNOWN.server_settings)?;
            Some(self.server_settings(&g))
        });
        let redis = f.get("redis").and_then(|n| {
            let g = self.mapping(n, "defaults.redis", &KNOWN.redis_settings)?;
            Some(self.redis_settings(&g))
        });
        Some(Defaults { servers, redis })
    }

    fn server_settings(&mut self, f: &Fields<'_>) -> ServerSettings {
        ServerSettings {
            task_type: self.opt_keyword(f, "type"),
            os_type: self.opt_keyword(f, "os_type"),
            target: f.get("target").and_then(|n| self.target(n)),
            speed_limit: self.opt_uint(f, "speed_limit", 0, 1000, "in Mbit/s (0 = unlimited)"),
            over_speed_threshold: self.opt_uint(
                f,
                "over_speed_threshold",
                10,
                100,
                "a percentage of `speed_limit`",
            ),
            priority: self.opt_uint(f, "priority", 0, 2, "0 (low), 1 (standard) or 2 (high)"),
            start_target_server: self.boolean(f, "start_target_server"),
            syncing: self.boolean(f, "syncing"),
            max_sync_age_seconds: self.opt_uint(
                f,
                "max_sync_age_seconds",
                60,
                604_800,
                "seconds (1 minute to 1 week)",
            ),
            use_public_ip: self.boolean(f, "use_public_ip"),
            use_ipv6: self.boolean(f, "use_ipv6"),
            start_network_check: self.boolean(f, "start_network_check"),
            consistency_check: self.boolean(f, "consistency_check"),
            migration_test: self.boolean(f, "migration_test"),
            paused: self.boolean(f, "paused"),
            on_failure: f.get("on_failure").and_then(|n| self.on_failure(n)),
            test: f.get("test").and_then(|n| self.test(n)),
            network_check: f.get("network_check").and_then(|n| self.network_check(n)),
            stage: self.opt_keyword(f, "stage"),
            window: self.opt_string(f, "window"),
            written: f.written(&KNOWN.server_settings),
        }
    }

    fn redis_settings(&mut self, f: &Fields<'_>) -> RedisSettings {
        RedisSettings {
            method: self.opt_keyword(f, "method"),
            resume_mode: self.opt_keyword(f, "resume_mode"),
            bandwidth_limit_mb: self.opt_uint(f, "bandwidth_limit_mb", 1, 10240, "in MB/s"),
            network: f.get("network").and_then(|n| self.network(n)),
            stage: self.opt_keyword(f, "stage"),
            window: self.opt_string(f, "window"),
            verify: f.get("verify").and_then(|n| self.verify(n)),
            written: f.written(&KNOWN.redis_settings),
        }
    }

    fn server(&mut self, node: &Sp<Node>) -> Option<ServerEntry> {
        let f = self.mapping(node, "a server entry", &KNOWN.server)?;
        let name = self
            .required(&f, "name", "a server entry")
            .and_then(|n| self.string(n, "name"));
        let source = f.get("source").and_then(|n| self.source(n));
        let depends_on = self.dependencies(f.get("depends_on"));
        let settings = self.server_settings(&f);
        Some(ServerEntry {
            name: name?,
            source,
            depends_on,
            settings,
        })
    }

    fn redis(&mut self, node: &Sp<Node>) -> Option<RedisEntry> {
        let f = self.mapping(node, "a redis entry", &KNOWN.redis)?;
        let name = self
            .required(&f, "name", "a redis entry")
            .and_then(|n| self.string(n, "name"));
        let source = self
            .required(&f, "source", "a redis entry")
            .and_then(|n| self.endpoint(n, "source"));
        let target = self
            .required(&f, "target", "a redis entry")
            .and_then(|n| self.endpoint(n, "target"));
        let depends_on = self.dependencies(f.get("depends_on"));
        let settings = self.redis_settings(&f);
        let description = self.opt_string(&f, "description");
        let name = name?;
        let (Some(source), Some(target)) = (source, target) else {
            self.undecodable_redis.push(name);
            return None;
        };
        Some(RedisEntry {
            name,
            description,
            source,
            target,
            depends_on,
            settings,
        })
    }

    fn wave(&mut self, node: &Sp<Node>) -> Option<WaveEntry> {
        let f = self.mapping(node, "a wave", &KNOWN.wave)?;
        let name = self
            .required(&f, "name", "a wave")
            .and_then(|n| self.string(n, "name"));
        let max_parallel = self.opt_uint(&f, "max_parallel", 1, u32::MAX, "a number of resources");
        let members_node = self.required(&f, "members", "a wave");
        let members = self
            .list(members_node, "members")
            .iter()
            .filter_map(|n| self.string(n, "members"))
            .collect();
        let window = self.opt_string(&f, "window");
        Some(WaveEntry {
            name: name?,
            max_parallel,
            members,
            window,
        })
    }

    fn window(&mut self, node: &Sp<Node>) -> Option<WindowEntry> {
        let f = self.mapping(node, "a window", &KNOWN.window)?;
        let name = self
            .required(&f, "name", "a window")
            .and_then(|n| self.string(n, "name"));
        // A list with a wrong day is reported as such, not also as empty.
        let days = f.get("days").and_then(|d| {
            let items = self.list(Some(d), "days");
            let days: Vec<_> = items.iter().filter_map(|n| self.weekday(n)).collect();
            (days.len() == items.len()).then_some(days)
        });
        let start = self
            .required(&f, "start", "a window")
            .and_then(|n| self.string(n, "start"));
        let end = self
            .required(&f, "end", "a window")
            .and_then(|n| self.string(n, "end"));
        let timezone = self
            .required(&f, "timezone", "a window")
            .and_then(|n| self.string(n, "timezone"));
        Some(WindowEntry {
            name: name?,
            days,
            start: start?,
            end: end?,
            timezone: timezone?,
        })
    }

    fn weekday(&mut self, node: &Sp<Node>) -> Option<Sp<Weekday>> {
        let s = self.string(node, "days")?;
        if let Some(d) = Weekday::parse(&s.value) {
            return Some(Sp::new(d, s.span));
        }
        let names = Weekday::ALL.iter().map(|(n, _)| *n);
        let help = match closest(&s.value.to_ascii_lowercase(), names) {
            Some(n) => format!(
                "did you mean `{n}`? days are `mon`, `tue`, `wed`, `thu`, `fri`, `sat`, `sun`"
            ),
            None => "days are `mon`, `tue`, `wed`, `thu`, `fri`, `sat`, `sun`".into(),
        };
        self.error(
            PlanDiagnostic::new(
                Code::InvalidValue,
                format!("`{}` is not a day of the week", quote(&s.value)),
                s.span,
                "not a day",
            )
            .with_help(help),
        );
        None
    }

    fn source(&mut self, node: &Sp<Node>) -> Option<SourceDoc> {
        if let Node::Map(_) = node.value {
            static KEYS: LazyLock<BTreeSet<String>> =
                LazyLock::new(|| BTreeSet::from(["id".to_string()]));
            let f = self.mapping(node, "source", &KEYS)?;
            let id = self.required(&f, "id", "source")?;
            return self.string(id, "id").map(SourceDoc::Id);
        }
        self.string(node, "source").map(SourceDoc::Name)
    }

    fn target(&mut self, node: &Sp<Node>) -> Option<Sp<TargetDoc>> {
        let f = self.mapping(node, "target", &KNOWN.target)?;
        Some(Sp::new(
            TargetDoc {
                template: self.opt_string(&f, "template"),
                server_id: self.opt_string(&f, "server_id"),
                migration_ip: self.opt_string(&f, "migration_ip"),
            },
            node.span,
        ))
    }

    /// Opens a settings mapping such as `on_failure`; a scalar or list written in its place is
    /// reported with an example of the mapping.
    fn settings_mapping<'a>(
        &mut self,
        node: &'a Sp<Node>,
        field: &str,
        known: &'static BTreeSet<String>,
        example: &str,
    ) -> Option<Fields<'a>> {
        let before = self.errors.len();
        let f = self.mapping(node, field, known);
        if f.is_none()
            && let Some(d) = self.errors.get_mut(before)
            && d.help.is_none()
        {
            d.help = Some(format!(
                "`{field}` is a mapping: write `{field}: {example}`"
            ));
        }
        f
    }

    fn on_failure(&mut self, node: &Sp<Node>) -> Option<Sp<OnFailureDoc>> {
        let f = self.settings_mapping(node, "on_failure", &KNOWN.on_failure, "{restart: 2}")?;
        let restart = self.required(&f, "restart", "`on_failure`").and_then(|n| {
            let before = self.errors.len();
            let v = self.uint(
                n,
                "restart",
                1,
                10,
                "how many times apply restarts a failed task before it blocks the server",
            );
            // The cap is migplan's, not the API's: say so, and how to not restart at all.
            if let Some(d) = self.errors.get_mut(before)
                && d.code == Code::OutOfRange
            {
                d.message = d.message.replace("the API accepts", "migplan allows");
                if let Some(h) = &mut d.help {
                    h.push_str("; to block at the first failure, remove `on_failure`");
                }
            }
            v
        })?;
        Some(Sp::new(OnFailureDoc { restart }, node.span))
    }

    fn test(&mut self, node: &Sp<Node>) -> Option<Sp<TestDoc>> {
        let f =
            self.settings_mapping(node, "test", &KNOWN.test, "{mode: clone, template: NAME}")?;
        let mode = self
            .required(&f, "mode", "`test`")
            .and_then(|n| self.keyword(n, "mode"));
        let template = self.opt_string(&f, "template");
        Some(Sp::new(
            TestDoc {
                mode: mode?,
                template,
            },
            node.span,
        ))
    }

    fn network_check(&mut self, node: &Sp<Node>) -> Option<Sp<NetworkCheckDoc>> {
        let f = self.settings_mapping(
            node,
            "network_check",
            &KNOWN.network_check,
            "{min_mbps: 50}",
        )?;
        let min_mbps = self
            .required(&f, "min_mbps", "`network_check`")
            .and_then(|n| self.mbps(n, "min_mbps"))?;
        Some(Sp::new(NetworkCheckDoc { min_mbps }, node.span))
    }

    fn verify(&mut self, node: &Sp<Node>) -> Option<Sp<VerifyDoc>> {
        let f = self.settings_mapping(
            node,
            "verify",
            &KNOWN.verify,
            "{samples: 1000, lag_budget_seconds: 30}",
        )?;
        let samples = f.get("samples").and_then(|n| self.samples(n));
        let key_tolerance = f.get("key_tolerance").and_then(|n| self.key_tolerance(n));
        Some(Sp::new(
            VerifyDoc {
                samples,
                key_tolerance,
                ttl_tolerance_seconds: self.opt_uint(
                    &f,
                    "ttl_tolerance_seconds",
                    0,
                    3600,
                    "seconds",
                ),
                lag_budget_seconds: self.opt_uint(&f, "lag_budget_seconds", 1, 3600, "seconds"),
                time_budget_seconds: self.opt_uint(&f, "time_budget_seconds", 1, 86400, "seconds"),
                source_address: self.opt_string(&f, "source_address"),
                target_address: self.opt_string(&f, "target_address"),
            },
            node.span,
        ))
    }

    /// `samples`: a count of keys per database, or `all`.
    fn samples(&mut self, node: &Sp<Node>) -> Option<Sp<Samples>> {
        if let Node::Str(s) = &node.value
            && s.trim() == "all"
        {
            return Some(Sp::new(Samples::All, node.span));
        }
        if let Node::Str(_) = &node.value {
            self.wrong_type(node, "samples", "a number of keys or `all`");
            return None;
        }
        let n = self.uint(node, "samples", 1, 1_000_000, "keys per database")?;
        Some(Sp::new(Samples::Count(n.value), node.span))
    }

    /// `key_tolerance`: a number of keys, or a percentage (`0.5%`) of the source's count.
    fn key_tolerance(&mut self, node: &Sp<Node>) -> Option<Sp<String>> {
        let text = match &node.value {
            Node::Int(_) => {
                let n = self.uint(node, "key_tolerance", 0, u32::MAX, "keys")?;
                return Some(Sp::new(n.value.to_string(), node.span));
            }
            Node::Str(s) => s.trim().to_string(),
            _ => {
                self.wrong_type(node, "key_tolerance", "a number of keys or a percentage");
                return None;
            }
        };
        let pct = text
            .strip_suffix('%')
            .and_then(|p| p.trim().parse::<f64>().ok())
            .filter(|p| p.is_finite() && (0.0..=100.0).contains(p));
        if pct.is_none() {
            self.error(
                PlanDiagnostic::new(
                    Code::InvalidValue,
                    format!("`key_tolerance` is `{}`", quote(&text)),
                    node.span,
                    "not a key count or a percentage",
                )
                .with_help("write a number of keys (`10`) or a percentage of the source's count from 0% to 100% (`0.5%`)"),
            );
            return None;
        }
        Some(Sp::new(text, node.span))
    }

    /// A speed in Mbit/s: a number above 0 and at most [`MAX_MBPS`], integer or not.
    fn mbps(&mut self, node: &Sp<Node>, key: &str) -> Option<Sp<f64>> {
        let v = match &node.value {
            Node::Int(i) => *i as f64,
            Node::Float(x) => *x,
            Node::Str(s) => {
                let quoted_number = s.trim().parse::<f64>().is_ok_and(f64::is_finite);
                self.wrong_type(node, key, "a number");
                if quoted_number && let Some(d) = self.errors.last_mut() {
                    d.help = Some("write the number without quotes".to_string());
                }
                return None;
            }
            _ => {
                self.wrong_type(node, key, "a number");
                return None;
            }
        };
        if v.is_finite() && v > 0.0 && v <= MAX_MBPS {
            return Some(Sp::new(v, node.span));
        }
        let written = self
            .source
            .text()
            .get(node.span.offset..node.span.offset + node.span.len)
            .unwrap_or_default()
            .trim();
        self.error(
            PlanDiagnostic::new(
                Code::OutOfRange,
                format!(
                    "`{key}` is {}; a speed to check against is above 0 and at most {MAX_MBPS} Mbit/s",
                    quote(written)
                ),
                node.span,
                format!("must be above 0 and at most {MAX_MBPS}"),
            )
            .with_help(format!(
                "`{key}` is the lowest migration speed the network check may measure, in Mbit/s (e.g. `50`); to start without a check, remove `network_check`"
            )),
        );
        None
    }

    fn network(&mut self, node: &Sp<Node>) -> Option<Sp<NetworkDoc>> {
        let f = self.mapping(node, "network", &KNOWN.network)?;
        let req = |d: &mut Self, k: &str| d.required(&f, k, "network").and_then(|n| d.string(n, k));
        let vpc_id = req(self, "vpc_id");
        let subnet_id = req(self, "subnet_id");
        let security_group_id = req(self, "security_group_id");
        Some(Sp::new(
            NetworkDoc {
                vpc_id: vpc_id?,
                subnet_id: subnet_id?,
                security_group_id: security_group_id?,
            },
            node.span,
        ))
    }

    fn endpoint(&mut self, node: &Sp<Node>, field: &str) -> Option<Sp<EndpointDoc>> {
        let f = self.mapping(node, field, &KNOWN.endpoint)?;
        let addrs = f.get("addrs").and_then(|n| match &n.value {
            Node::Seq(items) => {
                let list = items
                    .iter()
                    .filter_map(|i| self.string(i, "addrs"))
                    .collect();
                Some(Sp::new(AddrsDoc(list), n.span))
            }
            _ => {
                let s = self.string(n, "addrs")?;
                Some(Sp::new(AddrsDoc(split_addrs(&s)), n.span))
            }
        });
        let password = f.get("password").and_then(|n| self.secret(n, "password"));
        Some(Sp::new(
            EndpointDoc {
                instance_id: self.opt_string(&f, "instance_id"),
                addrs,
                password,
            },
            node.span,
        ))
    }

    fn secret(&mut self, node: &Sp<Node>, field: &str) -> Option<Sp<SecretDoc>> {
        if !matches!(node.value, Node::Map(_)) {
            // Never echo the value itself: it is a secret written where a reference belongs.
            self.error(
                PlanDiagnostic::new(
                    Code::InlineSecret,
                    format!("`{field}` is written inline; secrets must be references"),
                    node.span,
                    "a secret value in the plan file",
                )
                .with_help(format!(
                    "plan files are reviewed and committed, so they never hold secrets: write `{field}: {{env: SOME_VAR}}` and export SOME_VAR where migplan runs"
                )),
            );
            return None;
        }
        let f = self.mapping(node, field, &KNOWN.secret)?;
        let env = self
            .required(&f, "env", field)
            .and_then(|n| self.string(n, "env"))?;
        let valid = env
            .value
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && env
                .value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            self.error(
                PlanDiagnostic::new(
                    Code::InvalidValue,
                    format!(
                        "`{}` is not an environment variable name",
                        quote(&env.value)
                    ),
                    env.span,
                    "not a variable name",
                )
                .with_help("use letters, digits and `_`, not starting with a digit"),
            );
            return None;
        }
        Some(Sp::new(SecretDoc { env }, node.span))
    }

    fn dependencies(&mut self, node: Option<&Sp<Node>>) -> Vec<DependencyDoc> {
        let items = self.list(node, "depends_on");
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            match &item.value {
                Node::Map(entries) if entries.len() == 1 => {
                    let (stage, on) = &entries[0];
                    if let Some(on) = self.string(on, "depends_on") {
                        out.push(DependencyDoc {
                            stage: Some(stage.clone()),
                            on,
                        });
                    }
                }
                Node::Map(_) => self.error(
                    PlanDiagnostic::new(
                        Code::WrongType,
                        "a stage-level dependency names exactly one stage",
                        item.span,
                        "expected `{STAGE: ADDR}`",
                    )
                    .with_help("write one entry per waiting stage, e.g. `- cutover: redis.sessions@migrated`"),
                ),
                _ => {
                    if let Some(on) = self.string(item, "depends_on") {
                        out.push(DependencyDoc { stage: None, on });
                    }
                }
            }
        }
        out
    }
}

/// The highest `network_check.min_mbps` (10 Gbit/s): above any link an SMS migration runs on,
/// so a larger value is a typo (a unit mix-up), never a check that could pass.
pub(crate) const MAX_MBPS: f64 = 10_000.0;

/// Whether an integer is written in hex (`0x`) or octal (`0o`).
fn radix_prefixed(written: &str) -> bool {
    let t = written.trim();
    let t = t.strip_prefix(['-', '+']).unwrap_or(t);
    t.starts_with("0x") || t.starts_with("0o")
}

/// Whether a plain scalar is written as an integer (sign, digits, `_`, or 0x/0o forms).
fn looks_integral(written: &str) -> bool {
    let t = written.trim();
    let t = t.strip_prefix(['-', '+']).unwrap_or(t);
    let (digits, radix) = match t.strip_prefix("0x") {
        Some(h) => (h, 16),
        None => (t.strip_prefix("0o").unwrap_or(t), 10),
    };
    !digits.is_empty() && digits.chars().all(|c| c.is_digit(radix) || c == '_')
}

/// Splits `"a:1, b:2"` into spanned parts. Spans point into the whole string's span, which is
/// close enough for labels on quoted or plain scalars.
fn split_addrs(s: &Sp<String>) -> Vec<Sp<String>> {
    s.value
        .split(',')
        .map(|p| Sp::new(p.trim().to_string(), s.span))
        .collect()
}
