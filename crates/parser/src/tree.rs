//! YAML text → a generic tree where every node and every mapping key knows its byte span.
//!
//! serde-saphyr does the parsing; its `Spanned<T>` wrapper supplies the locations. Decoding into
//! plan types happens afterwards, by hand, so that every mistake in a file is reported at once
//! instead of stopping at the first one as a derived `Deserialize` would.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Location, Spanned};

use crate::diagnostic::{Code, PlanDiagnostic, SourceFile, Span};
use crate::document::Sp;

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
        Ok(Node::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::Str(v))
    }
    fn visit_bytes<E>(self, v: &[u8]) -> Result<Node, E> {
        Ok(Node::Str(String::from_utf8_lossy(v).into_owned()))
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
pub(crate) fn parse_tree(source: &SourceFile) -> Result<Sp<Node>, PlanDiagnostic> {
    let mut options = serde_saphyr::options! {
        with_snippet: false,
        strict_booleans: true,
        leading_zero_numbers_as_strings: true,
    };
    // Fleet-sized plans (10,000+ entries) exceed the default node budget meant for small
    // configs; keep a budget, sized for a very large plan, so hostile input still stops.
    let mut budget = serde_saphyr::Budget::default();
    budget.max_nodes = 20_000_000;
    budget.max_events = 40_000_000;
    budget.max_total_scalar_bytes = 512 * 1024 * 1024;
    options.budget = Some(budget);
    serde_saphyr::from_str_with_options::<Sp<Node>>(source.text(), options)
        .map_err(|e| syntax_diagnostic(source, &e))
}

fn syntax_diagnostic(source: &SourceFile, e: &serde_saphyr::Error) -> PlanDiagnostic {
    let inner = e.without_snippet();
    let (span, _) = match inner.location() {
        Some(loc) => match loc.span().byte_offset() {
            Some(o) => (
                Span::new(o as usize, loc.span().byte_len().unwrap_or(0) as usize),
                (),
            ),
            None => (
                Span::new(
                    source.offset_of(loc.line() as usize, loc.column() as usize),
                    0,
                ),
                (),
            ),
        },
        None => (Span::new(0, 0), ()),
    };
    let message = strip_position(&inner.to_string());
    PlanDiagnostic::new(
        Code::Syntax,
        format!("invalid YAML: {message}"),
        span,
        "here",
    )
    .with_help("fix the YAML syntax; nothing else in the file is checked until it parses")
}

/// serde-saphyr prefixes messages with "error: line N column M: "; the diagnostic shows the
/// position itself.
fn strip_position(msg: &str) -> String {
    let msg = msg.trim().trim_start_matches("error:").trim_start();
    let msg = match msg.strip_prefix("line ") {
        Some(rest) => match rest.find(": ") {
            Some(i) if rest[..i].contains("column") => &rest[i + 2..],
            _ => msg,
        },
        None => msg,
    };
    let first = msg.lines().next().unwrap_or(msg).trim();
    // Some messages repeat the position at the end ("... at line 10, column 10").
    match first.rfind(" at line ") {
        Some(i) if first[i..].contains("column") => first[..i].to_string(),
        _ => first.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(text: &str) -> Sp<Node> {
        match parse_tree(&SourceFile::new("t.yaml", text)) {
            Ok(t) => t,
            Err(d) => panic!("{}", d.message),
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
    fn syntax_errors_point_at_the_offending_line() {
        let src = SourceFile::new("t.yaml", "a: [1, 2\nb: 3\n");
        let d = parse_tree(&src).expect_err("must fail");
        assert_eq!(src.line_col(d.span.offset).0, 2);
        assert!(!d.message.contains("line 2"), "{}", d.message);
    }
}
