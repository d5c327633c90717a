//! Arbitrary input never panics the parser or the validator: random bytes, and valid plans
//! mutated at random (characters replaced, inserted or deleted, lines swapped or duplicated).

use proptest::prelude::*;

const EXAMPLES: [&str; 3] = [
    include_str!("../../../plans/quickstart.yaml"),
    include_str!("../../../plans/shop-cutover.yaml"),
    include_str!("../../../plans/fleet-waves.yaml"),
];

/// Characters that move YAML between shapes: indicators, quotes, whitespace, digits, `@`, `.`.
const ALPHABET: &[char] = &[
    ':', '-', ' ', '\n', '\t', '{', '}', '[', ']', ',', '"', '\'', '#', '&', '*', '!', '|', '>',
    '@', '.', '0', '9', 'a', 'z', 'é', '日', '~', '?', '%',
];

#[derive(Debug, Clone)]
enum Edit {
    Replace(usize, char),
    Insert(usize, char),
    Delete(usize),
    SwapLines(usize, usize),
    DuplicateLine(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let ch = prop::sample::select(ALPHABET);
    prop_oneof![
        (any::<usize>(), ch.clone()).prop_map(|(i, c)| Edit::Replace(i, c)),
        (any::<usize>(), ch).prop_map(|(i, c)| Edit::Insert(i, c)),
        any::<usize>().prop_map(Edit::Delete),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::SwapLines(a, b)),
        any::<usize>().prop_map(Edit::DuplicateLine),
    ]
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for e in edits {
        let n = chars.len().max(1);
        match *e {
            Edit::Replace(i, c) if !chars.is_empty() => chars[i % n] = c,
            Edit::Insert(i, c) => chars.insert(i % (chars.len() + 1), c),
            Edit::Delete(i) if !chars.is_empty() => {
                chars.remove(i % n);
            }
            Edit::SwapLines(a, b) => {
                let s: String = chars.iter().collect();
                let mut lines: Vec<&str> = s.lines().collect();
                if !lines.is_empty() {
                    let (a, b) = (a % lines.len(), b % lines.len());
                    lines.swap(a, b);
                }
                chars = lines.join("\n").chars().collect();
            }
            Edit::DuplicateLine(a) => {
                let s: String = chars.iter().collect();
                let mut lines: Vec<&str> = s.lines().collect();
                if !lines.is_empty() {
                    let a = a % lines.len();
                    lines.insert(a, lines[a]);
                }
                chars = lines.join("\n").chars().collect();
            }
            _ => {}
        }
    }
    chars.into_iter().collect()
}

/// Parses and, on error, exercises everything users see: JSON diagnostics and rendering.
fn check(text: &str) {
    match migplan_parser::parse("fuzz.yaml", text) {
        Ok(plan) => assert!(!plan.spec.name.is_empty()),
        Err(errors) => {
            assert!(
                !errors.diagnostics.is_empty(),
                "an error without diagnostics"
            );
            for d in errors.to_json() {
                assert!(d.line >= 1 && d.column >= 1);
                assert!(d.end_offset <= text.len(), "span past the end of the file");
            }
            let handler = miette::GraphicalReportHandler::new_themed(
                miette::GraphicalTheme::unicode_nocolor(),
            );
            for report in errors.reports() {
                let mut out = String::new();
                handler.render_report(&mut out, &report).expect("renders");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        check(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn mutated_plans_never_panic(
        which in 0..EXAMPLES.len(),
        edits in prop::collection::vec(edit(), 1..8),
    ) {
        check(&apply(EXAMPLES[which], &edits));
    }
}

#[test]
fn the_unmutated_examples_are_valid() {
    for text in EXAMPLES {
        if let Err(e) = migplan_parser::parse("example.yaml", text) {
            panic!("{e}: {:?}", e.to_json());
        }
    }
}
