//! YAML text → a generic tree where every node and every mapping key knows its byte span.
//!
//! serde-saphyr does the parsing; its `Spanned<T>` wrapper supplies the locations. Decoding into
//! plan types happens afterwards, by hand, so that every mistake in a file is reported at once
//! instead of stopping at the first one as a derived `Deserialize` would.

use std::collections::HashMap;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Location, Spanned};

use crate::diagnostic::{Code, PlanDiagnostic, SourceFile, Span};
use crate::document::Sp;
use crate::syntax::SyntaxError;

/// A YAML node.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Sp<Node>>),
    Map(Vec<(Sp<String>, Sp<Node>)>),
    /// A scalar longer than [`MAX_SCALAR_BYTES`] (its length): never kept, reported once by
    /// [`long_values`], and otherwise treated as absent.
    Long(usize),
}

/// Longest scalar a plan holds (the longest real values are descriptions of 200 characters
/// and address lists). Longer ones are reported, and not copied around.
pub(crate) const MAX_SCALAR_BYTES: usize = 64 << 10;

fn text_node(v: &str) -> Node {
    if v.len() > MAX_SCALAR_BYTES {
        Node::Long(v.len())
    } else {
        Node::Str(v.to_string())
    }
}

impl Node {
    /// The YAML type, as users know it, for "expected X, found Y" messages.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Node::Null => "null",
            Node::Bool(_) => "a boolean",
            Node::Int(_) => "an integer",
            Node::Float(_) => "a number",
            Node::Str(_) => "a string",
            Node::Seq(_) => "a list",
            Node::Map(_) => "a mapping",
            Node::Long(_) => "a value too long for a plan",
        }
    }
}

fn span_of(loc: &Location) -> Span {
    let s = loc.span();
    match (s.byte_offset(), s.byte_len()) {
        (Some(o), Some(l)) => Span::new(o as usize, l as usize),
        _ => Span::new(s.offset() as usize, s.len() as usize),
    }
}

impl<'de> Deserialize<'de> for Sp<Node> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Spanned::<Node>::deserialize(d)?;
        let mut span = span_of(&s.referenced);
        // A mapping's own location is a point at its first key; widen it to that key so labels
        // on a whole entry underline something visible.
        if let Node::Map(entries) = &s.value
            && let Some((k, _)) = entries.first()
            && span.len == 0
            && k.span.offset == span.offset
        {
            span.len = k.span.len;
        }
        Ok(Sp::new(s.value, span))
    }
}

struct KeySpan(Sp<String>);

impl<'de> Deserialize<'de> for KeySpan {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Keys that are not strings (`1: x`, `true: y`) are read through the same visitor and
        // rendered as text; the decoder then reports them as unknown fields.
        let s = Spanned::<Node>::deserialize(d)?;
        let text = match s.value {
            Node::Str(t) => t,
            Node::Int(i) => i.to_string(),
            Node::Float(f) => f.to_string(),
            Node::Bool(b) => b.to_string(),
            Node::Null => "null".to_string(),
            Node::Seq(_) | Node::Map(_) => "<complex key>".to_string(),
            Node::Long(n) => format!("<key of {n} bytes>"),
        };
        Ok(KeySpan(Sp::new(text, span_of(&s.referenced))))
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
        Ok(i64::try_from(v).map_or(Node::Float(v as f64), Node::Int))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Node, E> {
        Ok(i64::try_from(v).map_or(Node::Float(v as f64), Node::Int))
    }
    fn visit_u128<E>(self, v: u128) -> Result<Node, E> {
        Ok(i64::try_from(v).map_or(Node::Float(v as f64), Node::Int))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(text_node(v))
    }
    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        if v.len() > MAX_SCALAR_BYTES {
            return Ok(Node::Long(v.len()));
        }
        Ok(Node::Str(v))
    }
    fn visit_bytes<E>(self, v: &[u8]) -> Result<Node, E> {
        if v.len() > MAX_SCALAR_BYTES {
            return Ok(Node::Long(v.len()));
        }
        Ok(text_node(&String::from_utf8_lossy(v)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element::<Sp<Node>>()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0));
        while let Some(KeySpan(key)) = map.next_key::<KeySpan>()? {
            let value = map.next_value::<Sp<Node>>()?;
            entries.push((key, value));
        }
        Ok(Node::Map(entries))
    }
}

/// Parses YAML text into a spanned tree, or the syntax error with its position.
///
/// `text` is `source`'s text, or a copy of it with some lines blanked (same offsets): errors
/// are located in `source`.
///
/// The budget is what stops hostile YAML before it costs more than the file's size suggests:
/// alias bombs ("billion laughs"), deep nesting (which would otherwise overflow the stack of
/// the recursive tree builder), and event or node floods. Every limit is far above what a real
/// plan needs (a plan nests about six levels, and a 12,000-resource plan has ~150,000 nodes)
/// and low enough that a file at [`crate::MAX_PLAN_BYTES`] fails fast with a diagnostic.
pub(crate) fn parse_tree(source: &SourceFile, text: &str) -> Result<Sp<Node>, SyntaxError> {
    // The tree builder recurses once per nesting level, and serde's frames are large in debug
    // builds (about 35 KB a level), while callers may run on small stacks (test threads, async
    // workers have 2 MiB). So parsing runs on its own thread, whose stack fits MAX_DEPTH
    // levels in any build; the memory is reserved, and only touched as deep as a file goes.
    std::thread::scope(|scope| {
        let parser = std::thread::Builder::new()
            .name("migplan-parse".into())
            .stack_size(PARSE_STACK_BYTES)
            .spawn_scoped(scope, || parse_tree_here(source, text));
        match parser {
            Ok(handle) => handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            Err(_) => parse_tree_here(source, text),
        }
    })
}

/// Stack of the parsing thread: MAX_DEPTH levels of a debug build's frames, eight times over.
const PARSE_STACK_BYTES: usize = 32 << 20;

/// Deepest nesting of mappings and lists accepted.
pub(crate) const MAX_DEPTH: usize = 64;
/// Most aliases (`*name`) a plan may use: one per entry of a fleet plan is fine.
pub(crate) const MAX_ALIASES: usize = 100_000;
/// Most anchors (`&name`) a plan may define.
pub(crate) const MAX_ANCHORS: usize = 100_000;
/// Most YAML events all aliases together may replay (12,000 aliases of 25 events each).
pub(crate) const MAX_REPLAYED_EVENTS: usize = 300_000;
/// Most values (nodes) and parser events in a plan. Fleet-sized plans (10,000+ entries) exceed
/// the default budget meant for small configs; a 64 MiB file of the smallest entries stays
/// under these.
pub(crate) const MAX_NODES: usize = 20_000_000;
pub(crate) const MAX_EVENTS: usize = 40_000_000;

fn parse_tree_here(source: &SourceFile, text: &str) -> Result<Sp<Node>, SyntaxError> {
    let mut options = serde_saphyr::options! {
        with_snippet: false,
        strict_booleans: true,
        leading_zero_numbers_as_strings: true,
    };
    // NaN, infinities and literals that overflow f64 (`1e400`) are errors, never values.
    options.non_finite_float_policy = serde_saphyr::NonFiniteFloatPolicy::Reject;
    // Every key reaches the tree, repeated or not: `duplicate_keys` reports a repeated one in
    // plan terms and the rest of the file is still checked.
    options.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::PassThrough;
    let mut budget = serde_saphyr::Budget::default();
    budget.max_nodes = MAX_NODES;
    budget.max_events = MAX_EVENTS;
    budget.max_total_scalar_bytes = crate::MAX_PLAN_BYTES;
    // Nesting: the tree builder recurses once per level; plans use about six.
    budget.max_depth = MAX_DEPTH;
    budget.flow_nesting_limit = MAX_DEPTH;
    // Anchors and aliases: what an alias replays is capped in total; an alias bomb stops
    // there, in a fraction of a second.
    budget.max_aliases = MAX_ALIASES;
    // The ratio heuristic would refuse a plan that points many entries at one anchor; the
    // absolute caps below are what stop a bomb.
    budget.enforce_alias_anchor_ratio = false;
    budget.max_anchors = MAX_ANCHORS;
    budget.max_recorded_anchor_events = MAX_REPLAYED_EVENTS;
    budget.max_recorded_anchor_bytes = 16 << 20;
    budget.max_documents = 1;
    budget.max_inclusion_depth = 0;
    options.budget = Some(budget);
    options.alias_limits.max_total_replayed_events = MAX_REPLAYED_EVENTS;
    options.alias_limits.max_replay_stack_depth = MAX_DEPTH;
    serde_saphyr::from_str_with_options::<Sp<Node>>(text, options)
        .map_err(|e| crate::syntax::syntax_error(source, text, &e))
}

/// One diagnostic per key repeated in a mapping, at the repetition, naming the line of the
/// first; only the first stays in the tree, so the rest of the file is checked as if the
/// repetitions were not there.
pub(crate) fn duplicate_keys(root: &mut Sp<Node>, source: &SourceFile) -> Vec<PlanDiagnostic> {
    fn walk(node: &mut Sp<Node>, source: &SourceFile, out: &mut Vec<PlanDiagnostic>) {
        match &mut node.value {
            Node::Map(entries) => {
                if entries.len() > 1 {
                    let mut first: HashMap<&str, Span> = HashMap::with_capacity(entries.len());
                    let mut repeated = Vec::new();
                    for (i, (k, _)) in entries.iter().enumerate() {
                        // Keys that are not plain text are reported as unknown fields.
                        if k.value.starts_with('<') {
                            continue;
                        }
                        match first.get(k.value.as_str()) {
                            Some(at) => {
                                let (line, _) = source.line_col(at.offset);
                                out.push(
                                    PlanDiagnostic::new(
                                        Code::Syntax,
                                        format!(
                                            "duplicate key `{}`: first defined at line {line}",
                                            crate::excerpt::sanitize(&k.value, 60, false)
                                        ),
                                        k.span,
                                        "defined again here",
                                    )
                                    .with_related(*at, "first defined here")
                                    .with_help(
                                        "a key appears once in a mapping; remove one of them (only the first is checked)",
                                    ),
                                );
                                repeated.push(i);
                            }
                            None => {
                                first.insert(&k.value, k.span);
                            }
                        }
                    }
                    drop(first);
                    if !repeated.is_empty() {
                        // One pass, whatever the number of repetitions.
                        let mut index = 0;
                        let mut next = repeated.iter().peekable();
                        entries.retain(|_| {
                            let keep = next.peek() != Some(&&index);
                            if !keep {
                                next.next();
                            }
                            index += 1;
                            keep
                        });
                    }
                }
                entries.iter_mut().for_each(|(_, v)| walk(v, source, out));
            }
            Node::Seq(items) => items.iter_mut().for_each(|i| walk(i, source, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(root, source, &mut out);
    out
}

/// One diagnostic per scalar longer than [`MAX_SCALAR_BYTES`].
pub(crate) fn long_values(root: &Sp<Node>) -> Vec<PlanDiagnostic> {
    fn walk(node: &Sp<Node>, out: &mut Vec<PlanDiagnostic>) {
        match &node.value {
            Node::Long(n) => out.push(
                PlanDiagnostic::new(
                    Code::OutOfRange,
                    format!(
                        "a value of {n} bytes; plan values are at most {} KiB",
                        MAX_SCALAR_BYTES >> 10
                    ),
                    node.span,
                    "too long",
                )
                .with_help("names, ids and addresses are short; this value looks like a mistake or hostile input"),
            ),
            // A long key is reported as an unknown field (`<key of N bytes>`).
            Node::Map(entries) => entries.iter().for_each(|(_, v)| walk(v, out)),
            Node::Seq(items) => items.iter().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(root, &mut out);
    out
}

/// Spans of secret values in the tree: every scalar under a key that names a secret
/// (`password`, `token`, `secret_key`, ...), except the `env` reference of a `{env: VAR}`
/// mapping. Used to mask them wherever a diagnostic shows the file.
pub(crate) fn secret_spans(root: &Sp<Node>) -> Vec<Span> {
    let mut out = Vec::new();
    walk_secrets(root, &mut out);
    out
}

fn walk_secrets(node: &Sp<Node>, out: &mut Vec<Span>) {
    match &node.value {
        Node::Map(entries) => {
            for (k, v) in entries {
                if crate::excerpt::is_secret_key(&k.value) {
                    match &v.value {
                        Node::Map(inner) => {
                            for (ik, iv) in inner {
                                let reference = ik.value == "env"
                                    && !matches!(iv.value, Node::Map(_) | Node::Seq(_));
                                if !reference {
                                    all_scalars(iv, out);
                                }
                            }
                        }
                        _ => all_scalars(v, out),
                    }
                }
                walk_secrets(v, out);
            }
        }
        Node::Seq(items) => items.iter().for_each(|i| walk_secrets(i, out)),
        _ => {}
    }
}

fn all_scalars(node: &Sp<Node>, out: &mut Vec<Span>) {
    match &node.value {
        Node::Map(entries) => entries.iter().for_each(|(k, v)| {
            out.push(k.span);
            all_scalars(v, out);
        }),
        Node::Seq(items) => items.iter().for_each(|i| all_scalars(i, out)),
        Node::Null => {}
        _ => out.push(node.span),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(text: &str) -> Sp<Node> {
        let source = SourceFile::new("t.yaml", text);
        match parse_tree(&source, text) {
            Ok(t) => t,
            Err(e) => panic!("{}", e.diagnostic.message),
        }
    }

    #[test]
    fn keys_and_values_carry_byte_spans_past_non_ascii_text() {
        let text = "name: \"wäve\"\nservers:\n  - name: db-01\n";
        let Node::Map(top) = tree(text).value else {
            panic!("not a map")
        };
        let (k, _) = &top[1];
        assert_eq!(&text[k.span.offset..k.span.offset + k.span.len], "servers");
        let Node::Seq(items) = &top[1].1.value else {
            panic!("not a seq")
        };
        let Node::Map(entry) = &items[0].value else {
            panic!("not a map")
        };
        let v = &entry[0].1;
        assert_eq!(&text[v.span.offset..v.span.offset + v.span.len], "db-01");
    }

    #[test]
    fn yaml_1_1_booleans_stay_strings() {
        let Node::Map(top) = tree("a: yes\nb: true\nc: 0123\n").value else {
            panic!()
        };
        assert_eq!(top[0].1.value, Node::Str("yes".into()));
        assert_eq!(top[1].1.value, Node::Bool(true));
        assert_eq!(top[2].1.value, Node::Str("0123".into()));
    }

    #[test]
    fn a_fleet_plan_may_use_one_alias_per_entry() {
        let mut text = String::from(
            "common: &common {template: tpl, x: [1, 2, 3, 4, 5, 6, 7, 8]}\nservers:\n",
        );
        for i in 0..12_000 {
            text.push_str(&format!("  - {{name: s{i}, target: *common}}\n"));
        }
        let source = SourceFile::new("t.yaml", text.as_str());
        if let Err(e) = parse_tree(&source, &text) {
            panic!("{}", e.diagnostic.message);
        }
    }

    #[test]
    fn syntax_errors_point_at_the_offending_line() {
        let src = SourceFile::new("t.yaml", "a: [1, 2\nb: 3\n");
        let d = parse_tree(&src, src.text())
            .expect_err("must fail")
            .diagnostic;
        assert_eq!(src.line_col(d.span.offset).0, 2);
        assert!(!d.message.contains("line 2"), "{}", d.message);
    }
}
