//! Text from outside (the API, a saved plan) on its way into messages for people: control
//! characters escaped, so it cannot drive the reader's terminal, and bounded in length.

/// `text` with control characters escaped (`\u{1b}`) and cut to `max_chars` with `…`.
pub fn shown(text: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max_chars * 2));
    for (n, c) in text.chars().enumerate() {
        if n == max_chars {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::shown;

    #[test]
    fn escapes_and_bounds() {
        assert_eq!(shown("a\u{1b}[2J\u{9b}b", 80), "a\\u{1b}[2J\\u{9b}b");
        assert_eq!(shown("abcdef", 3), "abc…");
        assert_eq!(shown("abc", 3), "abc");
    }
}
