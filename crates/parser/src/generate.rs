//! Generated plans for benchmarks and scale tests (not part of the stable API).

use std::fmt::Write;

/// A valid plan of `servers` servers and `redis` Redis migrations in `waves` waves.
///
/// Every 10th server is a database with continuous sync; the others cut over after their
/// database and after their cache (in the same wave) reached `migrated`.
pub fn fleet_plan(servers: usize, redis: usize, waves: usize) -> String {
    let mut s = String::with_capacity(4 << 20);
    s.push_str("version: 1\nname: fleet\ncloud:\n  region: ap-southeast-3\n  project_id: 0123456789abcdef0123456789abcdef\n");
    s.push_str("defaults:\n  servers:\n    type: MIGRATE_BLOCK\n    os_type: LINUX\n    target: {template: tpl-standard}\n    speed_limit: 200\n    stage: cutover\n");
    s.push_str("  redis:\n    method: incremental\n    network: {vpc_id: vpc-1, subnet_id: subnet-1, security_group_id: sg-1}\n    stage: migrated\n");
    s.push_str("servers:\n");
    for i in 0..servers {
        // Every 10th server is a database; the others cut over after their database and after
        // their cache reached `migrated`.
        let _ = writeln!(s, "  - name: srv-{i:05}");
        if i % 10 == 0 {
            let _ = writeln!(s, "    syncing: true\n    speed_limit: 500");
        } else {
            // The database and the cache are in this server's own wave.
            let db = i - i % 10;
            let wave = i / (servers / waves);
            let cache = wave * (redis / waves) + i % (redis / waves);
            let _ = writeln!(
                s,
                "    depends_on:\n      - cutover: server.srv-{db:05}\n      - cutover: redis.cache-{cache:05}@migrated"
            );
        }
    }
    s.push_str("redis:\n");
    for i in 0..redis {
        let _ = writeln!(
            s,
            "  - name: cache-{i:05}\n    source: {{addrs: \"10.{}.{}.{}:6379\", password: {{env: CACHE_PASSWORD}}}}\n    target: {{instance_id: dcs-{i:05}}}",
            i / 65536,
            (i / 256) % 256,
            i % 256
        );
    }
    s.push_str("waves:\n");
    for w in 0..waves {
        let _ = writeln!(s, "  - name: wave-{w}\n    max_parallel: 50\n    members:");
        for i in (w * servers / waves)..((w + 1) * servers / waves) {
            let _ = writeln!(s, "      - server.srv-{i:05}");
        }
        for i in (w * redis / waves)..((w + 1) * redis / waves) {
            let _ = writeln!(s, "      - redis.cache-{i:05}");
        }
    }
    s
}
