//! The kinds of live object a resource is migrated by, each with its service. One
//! [`LiveObject`] impl per kind says which resources it migrates, how its service lists every
//! object, which part of the [`LiveStore`] holds them, and how conditions read one; the store
//! views, the pollers and the steps' view lookups are written once over it. (Requests are paced
//! per service by the run's cloud client: see [`crate::rate`].)

use std::future::Future;

use migplan_cloud::{Cloud, Error as CloudError};
use migplan_parser::ResourceKind;
use migplan_wire::dcs::MigrationTaskListItem;
use migplan_wire::sms::{ListTasksQuery, Task};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::condition::Obj;
use crate::event::StepError;
use crate::live_store::{Lookup, Named, StoreHandle, View, Writer};
use crate::poller::Poller;
use crate::race;

/// A kind of live object (an SMS task, a DCS migration task) and its service.
pub(crate) trait LiveObject: Named + Clone + Send + Sync + 'static {
    /// What messages call one.
    const WHAT: &'static str;
    /// One object (or its absence) as conditions read it.
    fn obj(item: Option<&Self>) -> Obj<'_>;
    /// Still as created: nothing has run on it (see [`race`]).
    fn initial(&self) -> bool;
    /// This kind's part of the store.
    fn store(store: &crate::live_store::LiveStore) -> &StoreHandle<Self>;
    /// Every object of the kind: one paged walk of its service's list call (`cloud` is a
    /// cheap handle, owned so the walk borrows nothing).
    fn list_all(
        cloud: Cloud,
    ) -> impl Future<Output = Result<Vec<Self>, CloudError>> + Send + 'static;
}

impl LiveObject for Task {
    const WHAT: &'static str = "SMS task";
    fn obj(item: Option<&Self>) -> Obj<'_> {
        Obj::Sms(item)
    }
    fn initial(&self) -> bool {
        race::fresh_sms(self)
    }
    fn store(store: &crate::live_store::LiveStore) -> &StoreHandle<Self> {
        &store.sms
    }
    fn list_all(
        cloud: Cloud,
    ) -> impl Future<Output = Result<Vec<Self>, CloudError>> + Send + 'static {
        let sms = cloud.sms().clone();
        async move { sms.list_all_tasks(&ListTasksQuery::default()).await }
    }
}

impl LiveObject for MigrationTaskListItem {
    const WHAT: &'static str = "DCS migration task";
    fn obj(item: Option<&Self>) -> Obj<'_> {
        Obj::Dcs(item)
    }
    fn initial(&self) -> bool {
        race::fresh_dcs(self)
    }
    fn store(store: &crate::live_store::LiveStore) -> &StoreHandle<Self> {
        &store.dcs
    }
    fn list_all(
        cloud: Cloud,
    ) -> impl Future<Output = Result<Vec<Self>, CloudError>> + Send + 'static {
        let dcs = cloud.dcs().clone();
        async move { dcs.list_all_tasks(None).await }
    }
}

/// What messages call the live object of a resource kind.
pub(crate) fn what(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::Server => Task::WHAT,
        ResourceKind::Redis => MigrationTaskListItem::WHAT,
    }
}

/// Starts the poller of `T`'s service into `background`: it lists into `writer` while readers
/// of `T`'s store wait, until `cancel`.
pub(crate) fn spawn_poller<T: LiveObject>(
    background: &mut JoinSet<()>,
    cloud: &Cloud,
    interval: std::time::Duration,
    (store, writer): (&crate::live_store::LiveStore, Writer<T>),
    cancel: &CancellationToken,
) {
    let cloud = cloud.clone();
    let poller = Poller {
        interval,
        demand: T::store(store).demand(),
        writer,
    };
    background.spawn(poller.run(move || T::list_all(cloud.clone()), cancel.clone()));
}

/// A view of any kind, as a step reads it: freshness, poll failures, and its resource's object.
pub(crate) trait ObjView: Send + Sync {
    /// The view's sequence number.
    fn seq(&self) -> u64;
    /// When the walk that produced it started.
    fn taken_at(&self) -> Instant;
    /// Failed polls in a row, and the last error.
    fn failures(&self) -> (u32, Option<StepError>);
    /// The object with id `id` if known, else the one named `name`; `Err(n)` when `n` objects
    /// share the name.
    fn obj(&self, id: Option<&str>, name: &str) -> Result<Obj<'_>, usize>;
}

impl<T: LiveObject> ObjView for View<T> {
    fn seq(&self) -> u64 {
        self.seq
    }
    fn taken_at(&self) -> Instant {
        self.taken_at
    }
    fn failures(&self) -> (u32, Option<StepError>) {
        (self.failures, self.last_error.clone())
    }
    fn obj(&self, id: Option<&str>, name: &str) -> Result<Obj<'_>, usize> {
        match self.find(id, name) {
            Lookup::None => Ok(T::obj(None)),
            Lookup::One(t) => Ok(T::obj(Some(t))),
            Lookup::Many(n) => Err(n),
        }
    }
}

/// The ids of the objects still as created.
pub(crate) fn initial_ids<T: LiveObject>(items: &[T]) -> impl Iterator<Item = &str> {
    items.iter().filter(|t| t.initial()).map(Named::id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_resource_kind_has_a_name() {
        for kind in [ResourceKind::Server, ResourceKind::Redis] {
            assert!(!what(kind).is_empty());
        }
    }

    #[test]
    fn a_view_of_any_kind_finds_the_resource_object_or_counts_the_namesakes() {
        let item = |id: &str, name: &str| MigrationTaskListItem {
            task_id: id.into(),
            task_name: name.into(),
            ..MigrationTaskListItem::default()
        };
        let view = View::new(
            vec![item("1", "a"), item("2", "b"), item("3", "b")],
            Instant::now(),
            4,
        );
        let v: &dyn ObjView = &view;
        assert_eq!(v.seq(), 4);
        assert!(matches!(v.obj(None, "a"), Ok(o) if o.id().as_deref() == Some("1")));
        assert!(matches!(v.obj(Some("3"), "b"), Ok(Obj::Dcs(Some(t))) if t.task_id == "3"));
        assert!(matches!(v.obj(None, "b"), Err(2)));
        assert!(matches!(v.obj(None, "z"), Ok(o) if !o.exists()));
    }
}
