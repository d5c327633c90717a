//! A value over virtual time: a list of `(at_ms, value)` points, some possibly in the future.
//!
//! Transitions that take time (ABORTING → ABORT, cutovering → finished) are written as two
//! points at once; reading picks the last point not after "now". Nothing ticks.

use serde::{Deserialize, Serialize};

/// A value that changes at known virtual times.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Timeline<T> {
    points: Vec<(i64, T)>,
}

impl<T: Clone> Timeline<T> {
    /// Starts with `value` at `at_ms`.
    pub fn new(at_ms: i64, value: T) -> Self {
        Timeline {
            points: vec![(at_ms, value)],
        }
    }

    /// The value at `now_ms` and since when it holds.
    pub fn at(&self, now_ms: i64) -> (&T, i64) {
        let idx = self
            .points
            .iter()
            .rposition(|(t, _)| *t <= now_ms)
            .unwrap_or(0);
        let (t, v) = &self.points[idx];
        (v, *t)
    }

    /// The value at `now_ms`.
    pub fn value(&self, now_ms: i64) -> &T {
        self.at(now_ms).0
    }

    /// Sets `value` from `at_ms` on, dropping every point scheduled after `at_ms`.
    pub fn set(&mut self, at_ms: i64, value: T) {
        self.points.retain(|(t, _)| *t <= at_ms);
        self.points.push((at_ms, value));
        // Keep the history short: only the last few past points matter.
        if self.points.len() > 16 {
            let cut = self.points.len() - 16;
            self.points.drain(..cut);
        }
    }

    /// Schedules `value` at `at_ms` after the current points (which must not be later).
    pub fn then(&mut self, at_ms: i64, value: T) {
        let last = self.points.last().map_or(i64::MIN, |(t, _)| *t);
        self.points.push((at_ms.max(last), value));
    }

    /// Whether a change is scheduled after `now_ms`.
    pub fn pending(&self, now_ms: i64) -> bool {
        self.points.last().is_some_and(|(t, _)| *t > now_ms)
    }

    /// The last value ever scheduled.
    pub fn last(&self) -> &T {
        &self.points[self.points.len() - 1].1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_value_in_force() {
        let mut t = Timeline::new(0, "a");
        t.set(10, "b");
        t.then(20, "c");
        assert_eq!(t.at(5), (&"a", 0));
        assert_eq!(t.at(15), (&"b", 10));
        assert_eq!(t.at(25), (&"c", 20));
        assert!(t.pending(15));
        assert!(!t.pending(20));
        assert_eq!(*t.last(), "c");
    }

    #[test]
    fn set_cancels_scheduled_points() {
        let mut t = Timeline::new(0, 1);
        t.then(100, 2);
        t.set(50, 3);
        assert_eq!(*t.value(200), 3);
    }
}
