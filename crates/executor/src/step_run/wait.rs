//! Waiting for a postcondition on the shared store, reporting progress. The wait ends when the
//! stage is reached or passed, and fails as soon as the live state cannot lead there.

use super::*;

impl Run<'_> {
    /// Waits on the shared store until the postcondition holds, reporting progress.
    pub(super) async fn wait_for(&mut self, until: &str) -> Result<(), Halt> {
        let step = self.step;
        let name = self.addr.name.clone();
        let post = &step.postcondition;
        let mut announced = false;
        let mut min_seq = 0;
        let mut missing = 0;
        loop {
            let v = self.fresh_view(min_seq).await;
            let v = match v {
                Ok(v) => v,
                Err(h) => {
                    if !announced && matches!(h, Halt::Cut) {
                        self.announce(until);
                    }
                    return Err(h);
                }
            };
            min_seq = v.seq() + 1;
            let obj = self.obj_in(&*v)?;
            self.ours(obj)?;
            if self.id.is_none() {
                self.id = obj.id();
            }
            if obj.exists() && holds(post, obj) {
                return Ok(());
            }
            if !announced {
                announced = true;
                self.announce(until);
            }
            // Absent is judged below: a list may lag behind a create for a poll or two.
            if let Some(stage) = step.stage.filter(|_| obj.exists())
                && let Some(e) = stuck(obj, stage, until)
            {
                return Err(Halt::Failed(e));
            }
            if !obj.exists() {
                missing += 1;
                if missing >= 3 {
                    return Err(Halt::Failed(StepError::new(format!(
                        "the task {name} disappeared while waiting for {until}"
                    ))));
                }
                continue;
            }
            if let Some(p) = progress(obj)
                && self.progress.as_ref() != Some(&p)
            {
                self.emit(Event::StepProgress {
                    step: step.id.to_string(),
                    resource: Some(self.addr.to_string()),
                    progress: p.clone(),
                });
                self.progress = Some(p);
            }
        }
    }

    pub(super) fn announce(&self, until: &str) {
        self.emit(Event::StepWaiting {
            step: self.step.id.to_string(),
            resource: Some(self.addr.to_string()),
            until: until.to_string(),
        });
    }
}
