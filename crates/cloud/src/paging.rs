//! Offset/limit paging (REFERENCE §0): `offset` is the number of items to skip,
//! `limit` the page size; a list ends at an empty page, once `count` items were
//! seen, or (for a service that reports no `count`) at a short page.
//!
//! Offset paging is not a snapshot: objects created or deleted while a list is
//! walked can shift items between pages. Callers that need exactness (the
//! planner) match by id/name afterwards and re-read what they act on.

use std::future::Future;

use crate::error::Error;

/// Largest `limit` of `GET /v3/sources` (REFERENCE §1.2: 0..200).
pub const SMS_SOURCES_MAX_LIMIT: u32 = 200;
/// Largest `limit` of `GET /v3/tasks` (REFERENCE §1.5: 0..200).
pub const SMS_TASKS_MAX_LIMIT: u32 = 200;
/// Largest `limit` of `GET /v3/vm/templates` (REFERENCE §1.10: 0..100).
pub const SMS_TEMPLATES_MAX_LIMIT: u32 = 100;
/// `limit` used for `GET /v2/{project_id}/migration-tasks`. The maximum is not
/// documented (REFERENCE §4.5, §7.3); 100 is a conservative value that DCS list
/// APIs accept elsewhere.
pub const DCS_TASKS_MAX_LIMIT: u32 = 100;
/// Largest `offset` the SMS list APIs accept (0..65535).
pub const SMS_MAX_OFFSET: u32 = 65_535;

/// One page of a list call.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Total number of items the service reported (independent of paging).
    pub count: Option<u64>,
    /// Offset this page was requested at.
    pub offset: u32,
    /// Limit this page was requested with.
    pub limit: u32,
}

impl<T> Page<T> {
    /// Offset of the next page.
    pub fn next_offset(&self) -> u64 {
        u64::from(self.offset) + self.items.len() as u64
    }

    /// Whether no page follows: an empty page; else, when the service reported a
    /// `count`, whether it is reached (a service may cap pages below the requested
    /// limit, so a short page alone does not end a counted list); else a short page.
    pub fn is_last(&self) -> bool {
        if self.items.is_empty() {
            return true;
        }
        match self.count {
            Some(count) => self.next_offset() >= count,
            None => self.items.len() < self.limit as usize,
        }
    }
}

/// The page size to use: the configured size clamped to `1..=max`, else `max`.
pub(crate) fn effective_limit(configured: Option<u32>, max: u32) -> u32 {
    configured.unwrap_or(max).clamp(1, max)
}

/// Walks every page: `fetch(offset, limit)` until [`Page::is_last`], or until
/// the next offset would pass `max_offset`.
pub(crate) async fn collect_all<T, F, Fut>(
    limit: u32,
    max_offset: u32,
    mut fetch: F,
) -> Result<Vec<T>, Error>
where
    F: FnMut(u32, u32) -> Fut,
    Fut: Future<Output = Result<Page<T>, Error>>,
{
    let mut out = Vec::new();
    let mut offset = 0u32;
    loop {
        let page = fetch(offset, limit).await?;
        let last = page.is_last();
        let next = page.next_offset();
        out.extend(page.items);
        if last {
            return Ok(out);
        }
        match u32::try_from(next) {
            Ok(n) if n <= max_offset => offset = n,
            _ => {
                return Err(Error::config(format!(
                    "list has more items than the API can page through (offset {next} > {max_offset})"
                )));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    fn serve(
        total: usize,
        report_count: bool,
    ) -> impl Fn(u32, u32) -> std::future::Ready<Result<Page<usize>, Error>> {
        move |offset, limit| {
            let items: Vec<usize> = (offset as usize..total).take(limit as usize).collect();
            std::future::ready(Ok(Page {
                items,
                count: report_count.then_some(total as u64),
                offset,
                limit,
            }))
        }
    }

    fn block_on<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(f)
    }

    #[test]
    fn walks_until_count_without_an_extra_empty_page() {
        let calls = RefCell::new(Vec::new());
        let inner = serve(5, true);
        let all = block_on(collect_all(2, 100, |o, l| {
            calls.borrow_mut().push(o);
            inner(o, l)
        }))
        .expect("list");
        assert_eq!(all, vec![0, 1, 2, 3, 4]);
        assert_eq!(*calls.borrow(), vec![0, 2, 4]);

        // Exact multiple of the page size with count: no trailing empty request.
        calls.borrow_mut().clear();
        let inner = serve(4, true);
        let all = block_on(collect_all(2, 100, |o, l| {
            calls.borrow_mut().push(o);
            inner(o, l)
        }))
        .expect("list");
        assert_eq!(all.len(), 4);
        assert_eq!(*calls.borrow(), vec![0, 2]);
    }

    #[test]
    fn a_service_that_caps_the_page_size_is_still_walked_to_count() {
        // Asks for 10, gets at most 3 per page.
        let calls = RefCell::new(Vec::new());
        let all = block_on(collect_all(10, 100, |o, l| {
            calls.borrow_mut().push(o);
            let items: Vec<usize> = (o as usize..7).take(3).collect();
            std::future::ready(Ok(Page {
                items,
                count: Some(7),
                offset: o,
                limit: l,
            }))
        }))
        .expect("list");
        assert_eq!(all, (0..7).collect::<Vec<_>>());
        assert_eq!(*calls.borrow(), vec![0, 3, 6]);
    }

    #[test]
    fn without_count_stops_at_an_empty_page() {
        let calls = RefCell::new(Vec::new());
        let inner = serve(4, false);
        let all = block_on(collect_all(2, 100, |o, l| {
            calls.borrow_mut().push(o);
            inner(o, l)
        }))
        .expect("list");
        assert_eq!(all.len(), 4);
        assert_eq!(*calls.borrow(), vec![0, 2, 4]);
    }

    #[test]
    fn offset_limit_is_an_error_not_a_truncation() {
        let err = block_on(collect_all(2, 3, serve(10, true))).expect_err("too many");
        assert!(err.to_string().contains("offset"));
    }

    #[test]
    fn limits() {
        assert_eq!(effective_limit(None, 200), 200);
        assert_eq!(effective_limit(Some(5), 200), 5);
        assert_eq!(effective_limit(Some(500), 200), 200);
        assert_eq!(effective_limit(Some(0), 200), 1);
    }
}
