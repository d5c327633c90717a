//! [`LiveStore`]: the latest list result of each service, one writer (its
//! [`Poller`](crate::poller::Poller)), many readers (the waiting steps).
//!
//! Each service has a [`View`] published through a `tokio::sync::watch` channel. A view
//! records when the list walk that produced it *started*: a reader that changed a resource at
//! instant T asks for a view taken after T ([`StoreHandle::fresh`]), so it never reads its
//! own write as not yet done, nor an old state as the new one. Asking registers demand; the
//! poller lists only while someone waits, at most once per interval, however many wait.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use migplan_wire::dcs::MigrationTaskListItem;
use migplan_wire::sms::Task;
use tokio::sync::{Notify, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::event::StepError;

/// A live object with an id and a name.
pub(crate) trait Named {
    /// Live id.
    fn id(&self) -> &str;
    /// Name (= the plan entry's name).
    fn name(&self) -> &str;
}

impl Named for Task {
    fn id(&self) -> &str {
        &self.id
    }
    fn name(&self) -> &str {
        &self.name
    }
}

impl Named for MigrationTaskListItem {
    fn id(&self) -> &str {
        &self.task_id
    }
    fn name(&self) -> &str {
        &self.task_name
    }
}

/// The objects of one list result, indexed by id and name.
#[derive(Debug)]
struct Indexed<T> {
    items: Vec<T>,
    by_id: HashMap<String, usize>,
    by_name: HashMap<String, Vec<usize>>,
}

/// One service's list result, indexed by id and name.
#[derive(Debug)]
pub(crate) struct View<T> {
    /// When the list walk that produced it started.
    pub taken_at: Instant,
    /// 0 for the snapshot the plan was made from, then +1 per successful poll.
    pub seq: u64,
    data: Arc<Indexed<T>>,
    /// Polls failed in a row since the last success.
    pub failures: u32,
    /// The last poll error.
    pub last_error: Option<StepError>,
}

/// The result of looking a resource up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Lookup<'a, T> {
    /// Nothing with that id or name.
    None,
    /// Exactly one.
    One(&'a T),
    /// Several objects have that name.
    Many(usize),
}

impl<T: Named> View<T> {
    /// A view of `items` taken at `taken_at`.
    pub(crate) fn new(items: Vec<T>, taken_at: Instant, seq: u64) -> Self {
        let mut by_id = HashMap::with_capacity(items.len());
        let mut by_name: HashMap<String, Vec<usize>> = HashMap::with_capacity(items.len());
        for (i, t) in items.iter().enumerate() {
            by_id.insert(t.id().to_owned(), i);
            by_name.entry(t.name().to_owned()).or_default().push(i);
        }
        View {
            taken_at,
            seq,
            data: Arc::new(Indexed {
                items,
                by_id,
                by_name,
            }),
            failures: 0,
            last_error: None,
        }
    }

    /// Every object of the list.
    pub(crate) fn items(&self) -> &[T] {
        &self.data.items
    }

    /// The object with id `id` if known, else the one named `name`.
    pub(crate) fn find(&self, id: Option<&str>, name: &str) -> Lookup<'_, T> {
        let d = &self.data;
        if let Some(i) = id.and_then(|id| d.by_id.get(id)) {
            return Lookup::One(&d.items[*i]);
        }
        match d.by_name.get(name).map(Vec::as_slice) {
            None | Some([]) => Lookup::None,
            Some([one]) => Lookup::One(&d.items[*one]),
            Some(many) => Lookup::Many(many.len()),
        }
    }
}

/// How many readers wait for a fresh view, and a bell to wake the poller.
#[derive(Debug, Default)]
pub(crate) struct Demand {
    waiters: AtomicUsize,
    bell: Notify,
}

impl Demand {
    /// Readers waiting now.
    pub(crate) fn waiters(&self) -> usize {
        self.waiters.load(Ordering::SeqCst)
    }

    /// Waits until someone rings (a reader started waiting).
    pub(crate) async fn rung(&self) {
        self.bell.notified().await;
    }

    fn enter(self: &Arc<Self>) -> DemandGuard {
        self.waiters.fetch_add(1, Ordering::SeqCst);
        self.bell.notify_one();
        DemandGuard(self.clone())
    }
}

struct DemandGuard(Arc<Demand>);

impl Drop for DemandGuard {
    fn drop(&mut self) {
        self.0.waiters.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The writing end of one service's view (owned by its poller).
#[derive(Debug)]
pub(crate) struct Writer<T> {
    tx: watch::Sender<Arc<View<T>>>,
}

impl<T: Named> Writer<T> {
    /// Publishes a new list result.
    pub(crate) fn publish(&self, items: Vec<T>, taken_at: Instant) {
        let seq = self.tx.borrow().seq + 1;
        self.tx
            .send_replace(Arc::new(View::new(items, taken_at, seq)));
    }

    /// Records a failed poll: the objects stay as they were, readers see the error count.
    pub(crate) fn publish_error(&self, error: StepError) {
        self.tx.send_modify(|v| {
            *v = Arc::new(View {
                taken_at: v.taken_at,
                seq: v.seq,
                data: v.data.clone(),
                failures: v.failures + 1,
                last_error: Some(error),
            });
        });
    }
}

/// A reader of one service's view.
#[derive(Debug, Clone)]
pub(crate) struct StoreHandle<T> {
    rx: watch::Receiver<Arc<View<T>>>,
    demand: Arc<Demand>,
}

impl<T> StoreHandle<T> {
    /// The latest view, without waiting (and without asking for a poll).
    pub(crate) fn latest(&self) -> Arc<View<T>> {
        self.rx.borrow().clone()
    }

    /// The demand counter shared with the poller.
    pub(crate) fn demand(&self) -> Arc<Demand> {
        self.demand.clone()
    }

    /// A view whose walk started at or after `after` and whose `seq` is at least `min_seq`
    /// (the latest, if it is), waiting for the next poll otherwise; a view recording a failed
    /// poll is returned too, so the reader can give up. `None` when `cut` fires first.
    /// Waiting registers demand.
    pub(crate) async fn fresh(
        &self,
        after: Option<Instant>,
        min_seq: u64,
        cut: &CancellationToken,
    ) -> Option<Arc<View<T>>> {
        let mut rx = self.rx.clone();
        let is_fresh = |v: &View<T>| v.seq >= min_seq && after.is_none_or(|a| v.taken_at >= a);
        {
            let v = rx.borrow_and_update();
            if is_fresh(&v) {
                return Some(v.clone());
            }
        }
        let _guard = self.demand.enter();
        loop {
            tokio::select! {
                biased;
                _ = cut.cancelled() => return None,
                changed = rx.changed() => {
                    if changed.is_err() {
                        return None;
                    }
                    let v = rx.borrow_and_update().clone();
                    if is_fresh(&v) || v.failures > 0 {
                        return Some(v);
                    }
                }
            }
        }
    }
}

/// Both services' views.
#[derive(Debug, Clone)]
pub(crate) struct LiveStore {
    /// SMS tasks (`GET /v3/tasks`).
    pub sms: StoreHandle<Task>,
    /// DCS migration tasks (`GET /v2/{project_id}/migration-tasks`).
    pub dcs: StoreHandle<MigrationTaskListItem>,
}

/// The writers of a [`LiveStore`], handed to the pollers.
#[derive(Debug)]
pub(crate) struct Writers {
    /// SMS.
    pub sms: Writer<Task>,
    /// DCS.
    pub dcs: Writer<MigrationTaskListItem>,
}

impl LiveStore {
    /// A store starting from the lists the plan was made from, taken at `taken_at`.
    pub(crate) fn new(
        tasks: Vec<Task>,
        migrations: Vec<MigrationTaskListItem>,
        taken_at: Instant,
    ) -> (LiveStore, Writers) {
        let (stx, srx) = watch::channel(Arc::new(View::new(tasks, taken_at, 0)));
        let (dtx, drx) = watch::channel(Arc::new(View::new(migrations, taken_at, 0)));
        (
            LiveStore {
                sms: StoreHandle {
                    rx: srx,
                    demand: Arc::default(),
                },
                dcs: StoreHandle {
                    rx: drx,
                    demand: Arc::default(),
                },
            },
            Writers {
                sms: Writer { tx: stx },
                dcs: Writer { tx: dtx },
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn task(id: &str, name: &str) -> Task {
        Task {
            id: id.into(),
            name: name.into(),
            ..Task::default()
        }
    }

    #[test]
    fn find_by_id_then_by_unique_name() {
        let v = View::new(
            vec![task("1", "a"), task("2", "b"), task("3", "b")],
            Instant::now(),
            0,
        );
        assert!(matches!(v.find(None, "a"), Lookup::One(t) if t.id == "1"));
        assert!(matches!(v.find(None, "b"), Lookup::Many(2)));
        assert!(matches!(v.find(Some("3"), "b"), Lookup::One(t) if t.id == "3"));
        assert!(matches!(v.find(None, "zz"), Lookup::None));
    }

    #[tokio::test(start_paused = true)]
    async fn fresh_waits_for_a_view_taken_after_the_write_and_registers_demand() {
        let t0 = Instant::now();
        let (store, writers) = LiveStore::new(vec![], vec![], t0);
        let cut = CancellationToken::new();
        // Nothing written since the snapshot: the snapshot is fresh.
        assert!(store.sms.fresh(None, 0, &cut).await.is_some());
        tokio::time::advance(Duration::from_secs(1)).await;
        let wrote = Instant::now();
        let reader = {
            let store = store.clone();
            let cut = cut.clone();
            tokio::spawn(async move { store.sms.fresh(Some(wrote), 0, &cut).await.map(|v| v.seq) })
        };
        tokio::task::yield_now().await;
        assert_eq!(store.sms.demand().waiters(), 1);
        // A view whose walk started before the write does not count.
        writers.sms.publish(vec![task("1", "a")], t0);
        tokio::task::yield_now().await;
        assert!(!reader.is_finished());
        tokio::time::advance(Duration::from_secs(1)).await;
        writers.sms.publish(vec![task("1", "a")], Instant::now());
        assert_eq!(reader.await.ok().flatten(), Some(2));
        assert_eq!(store.sms.demand().waiters(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_cut_ends_the_wait() {
        let (store, _w) = LiveStore::new(vec![], vec![], Instant::now());
        let cut = CancellationToken::new();
        tokio::time::advance(Duration::from_secs(1)).await;
        let after = Instant::now();
        cut.cancel();
        assert!(store.dcs.fresh(Some(after), 0, &cut).await.is_none());
    }
}
