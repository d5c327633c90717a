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

/// Pages fetched at once once the first page told how many items there are.
pub(crate) const PAGES_IN_FLIGHT: usize = 8;

/// Walks every page: `fetch(offset, limit)` until [`Page::is_last`], or until
/// the next offset would pass `max_offset`.
///
/// The first page reports `count`; the remaining pages are then fetched
/// [`PAGES_IN_FLIGHT`] at a time (in order), striding by the size the service
/// actually returned, so a list of N items costs ceil(N / page) requests but only
/// about ceil(N / page) / 8 round trips. If the list grew meanwhile, the walk
/// continues page by page from where the concurrent part ended.
pub(crate) async fn collect_all<T, F, Fut>(
    limit: u32,
    max_offset: u32,
    mut fetch: F,
) -> Result<Vec<T>, Error>
where
    F: FnMut(u32, u32) -> Fut,
    Fut: Future<Output = Result<Page<T>, Error>>,
{
    use futures_util::{StreamExt, TryStreamExt};

    let first = fetch(0, limit).await?;
    let stride = first.items.len() as u64;
    let mut out = Vec::with_capacity(first.count.unwrap_or(0).min(1 << 20) as usize);
    let mut last = first.is_last();
    let mut next = first.next_offset();
    let count = first.count;
    out.extend(first.items);
    if let (false, Some(count)) = (last, count) {
        let offsets: Vec<u64> = (1..)
            .map(|i| i * stride)
            .take_while(|o| *o < count)
            .collect();
        let offsets = offsets
            .into_iter()
            .map(|o| checked_offset(o, max_offset))
            .collect::<Result<Vec<u32>, Error>>()?;
        let pages: Vec<Page<T>> = futures_util::stream::iter(offsets)
            .map(|o| fetch(o, limit))
            .buffered(PAGES_IN_FLIGHT)
            .try_collect()
            .await?;
        for page in pages {
            last = page.is_last();
            next = page.next_offset();
            out.extend(page.items);
        }
    }
    while !last {
        let page = fetch(checked_offset(next, max_offset)?, limit).await?;
        last = page.is_last();
        next = page.next_offset();
        out.extend(page.items);
    }
    Ok(out)
}

fn checked_offset(next: u64, max_offset: u32) -> Result<u32, Error> {
    match u32::try_from(next) {
        Ok(n) if n <= max_offset => Ok(n),
        _ => Err(Error::config(format!(
            "list has more items than the API can page through (offset {next} > {max_offset})"
        ))),
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
    fn pages_after_the_first_are_fetched_concurrently_and_kept_in_order() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let (in_flight, most) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let calls = RefCell::new(0);
        let all = block_on(collect_all(10, 10_000, |o, l| {
            *calls.borrow_mut() += 1;
            let (in_flight, most) = (&in_flight, &most);
            async move {
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                // Later pages answer sooner, to prove order does not depend on timing.
                for _ in 0..(100 - o / 10) {
                    tokio::task::yield_now().await;
                }
                in_flight.fetch_sub(1, Ordering::SeqCst);
                let items: Vec<usize> = (o as usize..95).take(l as usize).collect();
                Ok(Page {
                    items,
                    count: Some(95),
                    offset: o,
                    limit: l,
                })
            }
        }))
        .expect("list");
        assert_eq!(all, (0..95).collect::<Vec<_>>());
        assert_eq!(*calls.borrow(), 10, "ceil(95 / 10) requests, no more");
        assert!(
            most.load(Ordering::SeqCst) > 1,
            "pages were fetched one at a time"
        );
        assert!(most.load(Ordering::SeqCst) <= PAGES_IN_FLIGHT);
    }

    #[test]
    fn a_list_that_grew_during_the_walk_is_finished_page_by_page() {
        // The first page says 5 items; by the time the last counted page is read there are 7.
        let all = block_on(collect_all(2, 100, |o, l| {
            let total = if o == 0 { 5 } else { 7 };
            let items: Vec<usize> = (o as usize..total).take(l as usize).collect();
            std::future::ready(Ok(Page {
                items,
                count: Some(total as u64),
                offset: o,
                limit: l,
            }))
        }))
        .expect("list");
        assert_eq!(all, (0..7).collect::<Vec<_>>());
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
