//! The devices' background work, each step a function of the time its caller passes (the
//! loops pass the wall clock; tests pass their own):
//! - [`DeviceService::tick`]: meters the analysis seconds of running devices into their
//!   month (split at the month boundary) and stops a device whose analysis quota is spent;
//!   starts and stops scheduled devices when `now` crosses a slot boundary;
//! - [`DeviceService::probe_round`]: the auto-probe of every `online` or `unknown` device;
//!   three failures in a row mark it `offline`, which stops its auto-probe until a manual
//!   probe succeeds (devices-api-v1.zh-TW.txt "探測狀態規則").

use std::{collections::HashMap, sync::Mutex, time::Duration};

use chrono::{DateTime, Utc};
use futures_util::{StreamExt as _, stream};
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, EntityTrait as _,
    IntoActiveModel as _, QueryFilter as _, QueryOrder as _, sea_query::Expr,
};
use tokio::{sync::watch, task::JoinHandle};

use super::{
    DeviceService,
    quota::{self, Charge, Feature},
    schedule,
};
use crate::{db::entities::camera, error::AppResult};

/// Consecutive failed auto-probes that mark a device `offline`.
pub const OFFLINE_AFTER: i32 = 3;

/// In-memory state of the loops.
#[derive(Default)]
pub struct Runtime {
    /// Last time each running device's analysis seconds were counted.
    metered_at: HashMap<i32, DateTime<Utc>>,
    /// What each scheduled device's schedule asked for at the last tick.
    scheduled: HashMap<i32, bool>,
    /// Each device worker's analysed-frame count at the last tick.
    frames_seen: HashMap<i32, u64>,
    stop: Option<watch::Sender<bool>>,
    tasks: Vec<JoinHandle<()>>,
}

/// Intervals of the loops (`devices` settings), seconds; 0 = that loop does not run.
#[derive(Debug, Clone, Copy)]
pub struct LoopSettings {
    /// Metering and schedules.
    pub tick_secs: f64,
    /// Auto-probe.
    pub probe_interval_secs: f64,
}

impl DeviceService {
    fn runtime(&self) -> std::sync::MutexGuard<'_, Runtime> {
        self.runtime
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Counts the analysis seconds of `cam` up to `now` (split at month boundaries) and
    /// forgets or restarts its clock; whether the quota is now spent.
    async fn meter(
        &self,
        cam: &camera::Model,
        now: DateTime<Utc>,
        running: bool,
    ) -> AppResult<bool> {
        let since = {
            let mut rt = self.runtime();
            let since = rt.metered_at.get(&cam.id).copied();
            if running {
                rt.metered_at.insert(cam.id, now);
            } else {
                rt.metered_at.remove(&cam.id);
            }
            since
        };
        let Some(mut from) = since else {
            return Ok(false);
        };
        let mut spent = false;
        let total = (now - from).num_milliseconds().max(0) as f64 / 1000.0;
        self.add_totals(cam, total, running).await?;
        while from < now {
            let boundary = quota::next_month(from);
            let end = boundary.min(now);
            // Seconds before the boundary belong to the month that ends there.
            let at = if end == boundary {
                end - chrono::Duration::milliseconds(1)
            } else {
                end
            };
            let secs = (end - from).num_milliseconds() as f64 / 1000.0;
            let c = quota::charge(
                &self.db,
                &**self.cameras.bus(),
                cam,
                Feature::Analysis,
                secs,
                false,
                at,
            )
            .await?;
            spent = c == Charge::CountedAndSpent;
            from = end;
        }
        Ok(spent)
    }

    /// Adds `seconds` of analysis and the frames analysed since the last call to the
    /// device's all-time totals.
    async fn add_totals(&self, cam: &camera::Model, seconds: f64, running: bool) -> AppResult<()> {
        let frames = self
            .cameras
            .live()
            .stats(cam.id)
            .map_or(0, |s| s.frames_analysed);
        let last = {
            let mut rt = self.runtime();
            if running {
                rt.frames_seen.insert(cam.id, frames)
            } else {
                rt.frames_seen.remove(&cam.id)
            }
        };
        // A restarted worker counts from zero again.
        let new = match last {
            Some(l) if frames >= l => frames - l,
            _ => frames,
        };
        camera::Entity::update_many()
            .col_expr(
                camera::Column::TotalAnalysisCount,
                sea_orm::sea_query::ExprTrait::add(
                    Expr::col(camera::Column::TotalAnalysisCount),
                    new as i64,
                ),
            )
            .col_expr(
                camera::Column::TotalProcessingTimeSeconds,
                sea_orm::sea_query::ExprTrait::add(
                    Expr::col(camera::Column::TotalProcessingTimeSeconds),
                    seconds,
                ),
            )
            .filter(camera::Column::Id.eq(cam.id))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Turns a device's analysis on or off at `now`, counting the seconds it ran.
    pub(super) async fn switch(
        &self,
        cam: camera::Model,
        on: bool,
        now: DateTime<Utc>,
    ) -> AppResult<camera::Model> {
        if cam.is_device && !on {
            self.meter(&cam, now, false).await?;
        }
        let mut row = cam.into_active_model();
        row.recognition = Set(on);
        row.updated_at = Set(now);
        let cam = row.update(&self.db).await?;
        if cam.is_device && on {
            let frames = self
                .cameras
                .live()
                .stats(cam.id)
                .map_or(0, |s| s.frames_analysed);
            let mut rt = self.runtime();
            rt.metered_at.insert(cam.id, now);
            rt.frames_seen.insert(cam.id, frames);
        }
        let zones = self.cameras.zones_of(cam.id).await?;
        self.cameras.live().update(&cam, &zones);
        Ok(cam)
    }

    /// Whether a device's analysis seconds of the month of `now` are spent.
    ///
    /// # Errors
    /// `INTERNAL`.
    pub async fn analysis_spent(&self, cam: &camera::Model, now: DateTime<Utc>) -> AppResult<bool> {
        let lim = quota::limit(cam, Feature::Analysis);
        if !cam.is_device || lim < 0 {
            return Ok(false);
        }
        Ok(self.usage(cam, now).await?.analysis_seconds >= lim as f64)
    }

    /// One step of metering and schedules at `now`.
    ///
    /// # Errors
    /// `INTERNAL`.
    pub async fn tick(&self, now: DateTime<Utc>) -> AppResult<()> {
        let rows = camera::live_rows()
            .filter(camera::Column::IsDevice.eq(true))
            .order_by_asc(camera::Column::Id)
            .all(&self.db)
            .await?;
        for mut cam in rows {
            if let Some(s) = cam.schedule.clone().filter(|s| !s.is_null())
                && cam.device_status == "active"
            {
                let want = schedule::active_at(&s, &cam.utc_offset, now);
                let last = self.runtime().scheduled.insert(cam.id, want);
                if last != Some(want) && cam.recognition != want {
                    if want && self.analysis_spent(&cam, now).await? {
                        tracing::info!(
                            camera_id = cam.id,
                            "schedule start skipped: analysis quota spent"
                        );
                    } else {
                        tracing::info!(camera_id = cam.id, on = want, "schedule slot boundary");
                        cam = self.switch(cam, want, now).await?;
                    }
                }
            } else {
                self.runtime().scheduled.remove(&cam.id);
            }
            if cam.recognition {
                let first = {
                    let mut rt = self.runtime();
                    match rt.metered_at.entry(cam.id) {
                        std::collections::hash_map::Entry::Vacant(v) => {
                            v.insert(now);
                            true
                        }
                        std::collections::hash_map::Entry::Occupied(_) => false,
                    }
                };
                if !first && self.meter(&cam, now, true).await? {
                    tracing::info!(camera_id = cam.id, "analysis quota spent: analysis stops");
                    self.switch(cam, false, now).await?;
                }
            } else {
                self.runtime().metered_at.remove(&cam.id);
            }
        }
        Ok(())
    }

    /// Auto-probes every `online` or `unknown` device once (8 at a time); answers how many
    /// were probed.
    ///
    /// # Errors
    /// `INTERNAL`.
    pub async fn probe_round(&self) -> AppResult<usize> {
        let rows = camera::live_rows()
            .filter(camera::Column::IsDevice.eq(true))
            .filter(camera::Column::OnlineStatus.is_in(["online", "unknown"]))
            .all(&self.db)
            .await?;
        let n = rows.len();
        let results: Vec<AppResult<()>> = stream::iter(rows)
            .map(|cam| async move { self.probe_and_store(cam, false).await.map(|_| ()) })
            .buffer_unordered(8)
            .collect()
            .await;
        for r in results {
            r?;
        }
        Ok(n)
    }

    /// Starts the loops (`Application::build` → `start_workers`).
    pub fn start(&self, settings: LoopSettings) {
        let (tx, rx) = watch::channel(false);
        let mut tasks = Vec::new();
        if settings.tick_secs > 0.0 {
            let me = self.clone();
            let mut stop = rx.clone();
            let every = Duration::from_secs_f64(settings.tick_secs);
            tasks.push(tokio::spawn(async move {
                loop {
                    if let Err(e) = me.tick(Utc::now()).await {
                        tracing::warn!("device tick failed ({})", e.code());
                    }
                    tokio::select! {
                        () = tokio::time::sleep(every) => {}
                        _ = stop.changed() => break,
                    }
                }
            }));
        }
        if settings.probe_interval_secs > 0.0 {
            let me = self.clone();
            let mut stop = rx;
            let every = Duration::from_secs_f64(settings.probe_interval_secs);
            tasks.push(tokio::spawn(async move {
                loop {
                    tokio::select! {
                        () = tokio::time::sleep(every) => {}
                        _ = stop.changed() => break,
                    }
                    if let Err(e) = me.probe_round().await {
                        tracing::warn!("auto-probe failed ({})", e.code());
                    }
                }
            }));
        }
        let mut rt = self.runtime();
        rt.stop = Some(tx);
        rt.tasks = tasks;
    }

    /// Stops the loops, waiting up to `grace` for a step in progress.
    pub async fn shutdown(&self, grace: Duration) {
        let tasks = {
            let mut rt = self.runtime();
            if let Some(tx) = rt.stop.take() {
                let _ = tx.send(true);
            }
            std::mem::take(&mut rt.tasks)
        };
        for t in tasks {
            let abort = t.abort_handle();
            if tokio::time::timeout(grace, t).await.is_err() {
                abort.abort();
            }
        }
    }
}

/// The runtime shared by clones of the service.
pub type SharedRuntime = std::sync::Arc<Mutex<Runtime>>;
