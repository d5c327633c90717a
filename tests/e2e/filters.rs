//! Snapshot filters: what changes from run to run (ports, generated ids, digests over them).

/// Replaces what changes from run to run (addresses, generated ids, digests over them) with
/// stable placeholders.
pub fn stable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    // 127.0.0.1:PORT
    while let Some(i) = rest.find("127.0.0.1:") {
        out.push_str(&rest[..i]);
        out.push_str("[ADDR]");
        rest = rest[i + "127.0.0.1:".len()..].trim_start_matches(|c: char| c.is_ascii_digit());
    }
    out.push_str(rest);
    replace_digests(&replace_uuids(&out))
}

/// [`stable`], and RFC 3339 instants (`[TIME]`: a forecast's finish is the emulator's clock
/// plus the makespan).
pub fn stable_times(text: &str) -> String {
    replace_times(&stable(text))
}

/// 64-hex sha256 digests (fingerprints cover emulator-generated ids).
fn replace_digests(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    for c in text.chars().chain(std::iter::once('\0')) {
        if c.is_ascii_hexdigit() && c.is_ascii_digit() || ('a'..='f').contains(&c) {
            run.push(c);
            continue;
        }
        if run.len() == 64 {
            out.push_str("[SHA256]");
        } else {
            out.push_str(&run);
        }
        run.clear();
        if c != '\0' {
            out.push(c);
        }
    }
    out
}

fn replace_uuids(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if text.get(i..i + 36).is_some_and(is_uuid) {
            out.push_str("[ID]");
            i += 36;
        } else {
            let c = text[i..].chars().next().expect("char");
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// A command's whole transcript, as uv's `uv_snapshot!` records it: success, exit code, stdout
/// and stderr, with what changes from run to run replaced: addresses and ids ([`stable`]),
/// timestamps (`[TIME]`), durations (`[DURATION]`), API call counts (`[N] API calls`), and
/// progress and `waiting for` lines (how many polls see a task moving, and whether it had
/// already arrived, depends on timing).
pub fn transcript(out: &std::process::Output) -> String {
    let clean = |bytes: &[u8]| {
        let text = replace_durations(&replace_times(&stable(&String::from_utf8_lossy(bytes))));
        let text = replace_counts(&text, " API calls", "[N]");
        text.lines()
            .filter(|l| !is_progress_line(l))
            .map(|l| format!("{}\n", pace_line(l)))
            .collect::<String>()
    };
    format!(
        "success: {}\nexit_code: {}\n----- stdout -----\n{}----- stderr -----\n{}",
        out.status.success(),
        out.status.code().map_or("none".into(), |c| c.to_string()),
        clean(&out.stdout),
        clean(&out.stderr)
    )
}

/// The summary's pace of a service (`Requests to SMS: 12, 0 throttled (0.0%); rate …`): its
/// figures depend on timing, so only what it is about stays: `Requests to SMS: [PACE]`.
fn pace_line(line: &str) -> std::borrow::Cow<'_, str> {
    match line
        .strip_prefix("Requests to ")
        .and_then(|r| r.split_once(": "))
    {
        Some((service, rest)) if rest.contains(" throttled (") => {
            format!("Requests to {service}: [PACE]").into()
        }
        _ => line.into(),
    }
}

/// A timestamped progress line (`[TIME] server.x#wait.replicated   RUNNING 33% …`, or a
/// create's `CREATING`), or a wait's `waiting for …` (a wait whose state is already there when it
/// starts has none): every line but what a step always prints (its symbol and label, `done`,
/// `FAILED:`, `skipped:`) and the start line.
fn is_progress_line(line: &str) -> bool {
    let Some(rest) = line.strip_prefix("[TIME] ") else {
        return false;
    };
    let text = rest
        .split_once(char::is_whitespace)
        .map_or("", |(_, t)| t.trim_start());
    const ALWAYS: [&str; 12] = [
        "done",
        "FAILED:",
        "skipped:",
        "apply started:",
        "+ ",
        "~ ",
        "> ",
        "… ",
        "| ",
        "! ",
        "- ",
        "x ",
    ];
    !ALWAYS.iter().any(|p| text.starts_with(p))
}

/// RFC 3339 UTC times to the second: `2026-11-22T06:25:13Z`.
fn replace_times(text: &str) -> String {
    let shape = |s: &str| {
        s.len() == 20
            && s.char_indices().all(|(i, c)| match i {
                4 | 7 => c == '-',
                10 => c == 'T',
                13 | 16 => c == ':',
                19 => c == 'Z',
                _ => c.is_ascii_digit(),
            })
    };
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if text.get(i..i + 20).is_some_and(shape) {
            out.push_str("[TIME]");
            i += 20;
        } else {
            let c = text[i..].chars().next().expect("char");
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// Durations as migplan writes them: `1.2s`, `250ms`, `3m12s`, `2h3m`, `0s`, `2d3h`.
fn replace_durations(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let starts_word = i == 0 || !bytes[i - 1].is_ascii_alphanumeric() && bytes[i - 1] != b'.';
        if starts_word
            && bytes[i].is_ascii_digit()
            && let Some(len) = duration_len(&text[i..])
        {
            out.push_str("[DURATION]");
            i += len;
            continue;
        }
        let c = text[i..].chars().next().expect("char");
        out.push(c);
        i += c.len_utf8();
    }
    out
}

/// Length of the duration at the start of `s`, if one is there and ends a word.
fn duration_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut parts = 0;
    loop {
        let start = i;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
            i += 1;
        }
        if i == start {
            break;
        }
        let unit = if s[i..].starts_with("ms") {
            2
        } else if i < b.len() && matches!(b[i], b's' | b'm' | b'h' | b'd') {
            1
        } else {
            return None;
        };
        i += unit;
        parts += 1;
    }
    let ends_word = i >= b.len() || !b[i].is_ascii_alphanumeric();
    (parts > 0 && ends_word).then_some(i)
}

/// `11 API calls` → `[N] API calls`.
fn replace_counts(text: &str, noun: &str, placeholder: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(noun) {
        let head = &rest[..i];
        let digits = head.len() - head.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        out.push_str(&head[..head.len() - digits]);
        out.push_str(if digits > 0 { placeholder } else { "" });
        out.push_str(noun);
        rest = &rest[i + noun.len()..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_durations_and_counts_are_replaced_and_nothing_else() {
        let text = "2026-11-22T06:25:13Z x done (0s) ETA 14m38s, 1h3m, 250ms (11 API calls, 1.2s) \
                    100.0 Mbit/s 33% v3 MIGRATE_SUCCESS server.app-01 speed_limit = 100";
        assert_eq!(
            replace_counts(
                &replace_durations(&replace_times(text)),
                " API calls",
                "[N]"
            ),
            "[TIME] x done ([DURATION]) ETA [DURATION], [DURATION], [DURATION] ([N] API calls, \
             [DURATION]) 100.0 Mbit/s 33% v3 MIGRATE_SUCCESS server.app-01 speed_limit = 100"
        );
    }

    #[test]
    fn progress_lines_are_recognised() {
        assert_eq!(
            pace_line(
                "Requests to DCS: 7, 1 throttled (14.3%); rate 5.0/s (peak 10.0, lowest 5.0, ceiling 100)"
            ),
            "Requests to DCS: [PACE]"
        );
        assert_eq!(pace_line("Requests to come"), "Requests to come");
        assert!(is_progress_line(
            "[TIME] server.app-01#wait.replicated      RUNNING 33% MIGRATE_LINUX_BLOCK 100.0 Mbit/s ETA [DURATION]"
        ));
        assert!(is_progress_line(
            "[TIME] server.app-01#wait.replicated      waiting for MIGRATE_SUCCESS"
        ));
        assert!(!is_progress_line(
            "[TIME] server.app-01#wait.replicated      … wait for MIGRATE_SUCCESS"
        ));
        assert!(!is_progress_line(
            "[TIME] server.app-01#wait.replicated      done"
        ));
    }
}
