//! `cloud.quotas`: the account limits apply runs under decode into the spec, with the default
//! when not written. The invalid forms are in the corpus (`tests/invalid/quotas_*`).

use migplan_parser::{Quotas, Spec};

fn spec(cloud_extra: &str) -> Spec {
    let text = format!(
        "version: 1\nname: q\ncloud:\n  region: ap-southeast-3\n  project_id: 0123456789abcdef0123456789abcdef\n{cloud_extra}servers:\n  - {{name: a, target: {{template: t}}, stage: replicated}}\n"
    );
    match migplan_parser::parse("q.yaml", &text) {
        Ok(p) => p.spec,
        Err(e) => panic!("invalid: {:?}", e.to_json()),
    }
}

#[test]
fn the_sms_quota_defaults_to_the_services_hundred() {
    assert_eq!(spec("").cloud.quotas.sms_concurrent_migrations, 100);
    assert_eq!(spec("  quotas: {}\n").cloud.quotas, Quotas::default());
}

#[test]
fn the_sms_quota_is_read_at_both_ends_of_its_range() {
    for n in [1, 20, 10000] {
        let s = spec(&format!("  quotas: {{sms_concurrent_migrations: {n}}}\n"));
        assert_eq!(s.cloud.quotas.sms_concurrent_migrations, n);
    }
}
