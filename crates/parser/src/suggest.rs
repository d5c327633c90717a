//! "Did you mean" suggestions for misspelt keys, keywords and names.

/// The candidate closest to `word` (case-insensitive edit distance), if it is close enough to be
/// a plausible typo: at most one edit for short words, a third of the length for longer ones.
pub(crate) fn closest<'a, I>(word: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let word_l = word.to_lowercase();
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (distance(&word_l, &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
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
