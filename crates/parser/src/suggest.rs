//! "Did you mean" suggestions for misspelt keys, keywords and names.

/// Longest word (in characters) worth a suggestion: typos are in short words, and the edit
/// distance costs the product of both lengths.
const MAX_WORD: usize = 256;

/// The candidate closest to `word` (case-insensitive edit distance), if it is close enough to be
/// a plausible typo: at most one edit for short words, a third of the length for longer ones.
pub(crate) fn closest<'a, I>(word: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let mut unlimited = usize::MAX;
    closest_within(word, candidates, &mut unlimited)
}

/// [`closest`], spending at most `budget` units of work (one unit per character pair
/// compared) across calls; once spent, no more suggestions. Used where the candidates are the
/// plan's own names, so that thousands of bad references stay linear.
pub(crate) fn closest_within<'a, I>(
    word: &str,
    candidates: I,
    budget: &mut usize,
) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let n = word.chars().take(MAX_WORD + 1).count();
    if n > MAX_WORD || *budget == 0 {
        return None;
    }
    let word_l = word.to_lowercase();
    let limit = (n / 3).max(1);
    let mut best: Option<(usize, &'a str)> = None;
    for c in candidates {
        let m = c.chars().take(MAX_WORD + 1).count();
        // The distance is at least the difference in length.
        if m > MAX_WORD || m.abs_diff(n) > limit {
            continue;
        }
        let cost = (n * m).max(1);
        if *budget < cost {
            *budget = 0;
            break;
        }
        *budget -= cost;
        let d = distance(&word_l, &c.to_lowercase());
        if d <= limit && best.is_none_or(|(b, _)| d < b) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// Levenshtein distance over characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_misses_only() {
        let keys = ["speed_limit", "stage", "syncing", "depends_on"];
        assert_eq!(closest("speedlimit", keys), Some("speed_limit"));
        assert_eq!(closest("Stage", keys), Some("stage"));
        assert_eq!(closest("depend_on", keys), Some("depends_on"));
        assert_eq!(closest("bandwidth", keys), None);
        assert_eq!(distance("kitten", "sitting"), 3);
    }
}
