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

/// The header every generated hostile plan starts with (valid on its own).
const HEADER: &str = "version: 1\nname: hostile\ncloud:\n  region: ap-southeast-3\n  project_id: 0123456789abcdef0123456789abcdef\n";

/// A plan of `n` server entries, each with exactly one mistake (an unknown field), so it has
/// `n` diagnostics.
pub fn many_errors(n: usize) -> String {
    let mut s = String::with_capacity(HEADER.len() + n * 80);
    s.push_str(HEADER);
    s.push_str("servers:\n");
    for i in 0..n {
        let _ = writeln!(
            s,
            "  - {{name: srv-{i}, bogus: 1, target: {{template: tpl}}, stage: replicated}}"
        );
    }
    s
}

/// A plan of about `bytes` bytes whose entries are all invalid, in several ways at once:
/// unknown fields with near-miss names, bad keywords, out-of-range numbers, names that are too
/// long, dangling and misspelt references, inline passwords (the value `sentinel` followed by
/// the entry number, which must never be shown), and Redis entries missing their settings.
pub fn invalid_entries(bytes: usize, sentinel: &str) -> String {
    let mut s = String::with_capacity(bytes + 1024);
    s.push_str(HEADER);
    s.push_str("servers:\n");
    let mut i = 0usize;
    let half = bytes / 2;
    while s.len() < half {
        let _ = writeln!(
            s,
            "  - name: srv-{i}\n    target: {{template: tpl}}\n    stage: replicatd\n    speed_limt: 100\n    priority: 7\n    depends_on: [server.srv-{}x, redis.nothing-{i}]",
            i + 1
        );
        i += 1;
    }
    s.push_str("redis:\n");
    while s.len() < bytes {
        let _ = writeln!(
            s,
            "  - name: r{i}\n    source: {{addrs: \"10.0.0.1:6379\", password: '{sentinel}{i}'}}\n    target: {{instance_id: dcs-{i}, password: {{value: {sentinel}{i}}}}}"
        );
        i += 1;
    }
    s
}

/// A plan whose one server entry sits on a line `width` bytes wide with a mistake at its far
/// end, and an inline password `sentinel` on the same line.
pub fn wide_line(width: usize, sentinel: &str) -> String {
    let mut s = String::with_capacity(width + 1024);
    s.push_str(HEADER);
    s.push_str("redis: [{name: wide, method: full, stage: migrated, source: {addrs: \"10.0.0.1:1\", password: ");
    s.push_str(sentinel);
    s.push_str("}, target: {instance_id: dcs-1}, description: \"");
    while s.len() < width {
        s.push_str("abcdefghij");
    }
    s.push_str("\", bogus: 1}]\n");
    s
}

/// A plan whose server name is one scalar of `bytes` bytes.
pub fn huge_scalar(bytes: usize) -> String {
    let mut s = String::with_capacity(bytes + 1024);
    s.push_str(HEADER);
    s.push_str("servers:\n  - target: {template: tpl}\n    stage: replicated\n    name: ");
    while s.len() < HEADER.len() + bytes {
        s.push_str("nnnnnnnnnn");
    }
    s.push('\n');
    s
}

/// A "billion laughs" alias bomb: nine levels of nine aliases each.
pub fn alias_bomb() -> String {
    let mut s = String::from(HEADER);
    s.push_str("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for level in 1..10 {
        let prev = level - 1;
        let _ = writeln!(
            s,
            "a{level}: &a{level} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]"
        );
    }
    s
}

/// `depth` nested flow lists (`[[[[...`), unclosed.
pub fn deep_flow(depth: usize) -> String {
    let mut s = String::from(HEADER);
    s.push_str("servers: ");
    s.push_str(&"[".repeat(depth));
    s.push('\n');
    s
}

/// `depth` nested block mappings, each one more space in.
pub fn deep_block(depth: usize) -> String {
    let mut s = String::from(HEADER);
    s.push_str("defaults:\n");
    for d in 1..=depth {
        s.push_str(&" ".repeat(d));
        s.push_str("k:\n");
    }
    s
}

/// A plan of about `bytes` bytes of valid server entries followed by `broken` entries with a
/// syntax error each (`key: value` inside a value): the worst case for checking past syntax
/// errors, as each is found only after the whole file before it was parsed again.
pub fn broken_tail(bytes: usize, broken: usize) -> String {
    let mut s = String::with_capacity(bytes + broken * 40 + 1024);
    s.push_str(HEADER);
    s.push_str("servers:\n");
    let mut i = 0;
    while s.len() < bytes {
        let _ = writeln!(
            s,
            "  - name: srv-{i}\n    target: {{template: tpl}}\n    stage: replicated"
        );
        i += 1;
    }
    for j in 0..broken {
        let _ = writeln!(s, "  - name: bad-{j} stage: replicated");
    }
    s
}
