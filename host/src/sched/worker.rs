//! What each pool worker keeps between tasks: open sessions and the references they
//! have prepared, so tasks that share a reference (routed here by affinity) reuse it.

use std::sync::Arc;

use qscore_core::{Error, MemoryMode, NamedValue, OwnedImage, PixelFormat, TaskSpec};

use super::{Neighbours, Reference, ReferenceStats, neighbours};
use crate::{Plugin, PreparedRef, Session};

/// Sessions a worker keeps open at most (least recently used closed first).
const MAX_SESSIONS: usize = 8;
/// Prepared references a session keeps at most (oldest released first).
const MAX_REFERENCES: usize = 2;

#[derive(Debug, Clone, PartialEq)]
struct SessionKey {
    plugin: String,
    device: u32,
    metric: String,
    params: Vec<(String, String)>,
    width: u32,
    height: u32,
    format: PixelFormat,
    mode: MemoryMode,
}

impl SessionKey {
    fn of(plugin: &str, device: u32, spec: &TaskSpec) -> Self {
        Self {
            plugin: plugin.to_owned(),
            device,
            metric: spec.metric.to_string(),
            params: crate::plugin::param_pairs(&spec.params),
            width: spec.width,
            height: spec.height,
            format: spec.format,
            mode: spec.mode,
        }
    }
}

#[derive(Debug)]
struct Slot {
    key: SessionKey,
    session: Session,
    references: Vec<(u64, PreparedRef)>,
    used: u64,
}

/// Whether `session` prepares frames of the temporal metric `metric` with their
/// neighbours: its plugin says the metric's reference is reusable and has the
/// prepared-window table (ABI 1.4).
fn prepares_windows(session: &Session, device: u32, metric: &str) -> bool {
    session.prepares_windows()
        && session
            .plugin()
            .metric_caps(device, metric)
            .is_some_and(|c| c.reusable_reference)
}

/// Whether prepared references are reused, and where hits and misses are counted.
#[derive(Debug, Clone, Copy)]
pub struct Reuse<'a> {
    /// Reuse prepared references.
    pub enabled: bool,
    /// Hit and miss counters.
    pub stats: &'a ReferenceStats,
}

/// The images of one comparison.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// The reference (image or video frame).
    pub reference: &'a Reference,
    /// For a video frame of a temporal metric, the reference frames around it.
    pub neighbours: Option<&'a Neighbours>,
    /// The distorted image.
    pub distorted: &'a OwnedImage,
}

/// A worker's sessions and prepared references.
#[derive(Debug, Default)]
pub struct WorkerState {
    slots: Vec<Slot>,
    clock: u64,
}

impl WorkerState {
    /// Compares `distorted` with `reference` on `plugin`/`device` as `spec` says, reusing
    /// an open session and a prepared reference when this worker has them and `reuse` is on.
    /// A video frame of a temporal metric comes with its `neighbours`: it is prepared with
    /// them, and reused by the distorted frames at its position in other clips, where the
    /// plugin can (ABI 1.4), else scored in one call.
    pub fn compare(
        &mut self,
        plugin: &Arc<Plugin>,
        device: u32,
        spec: &TaskSpec,
        inputs: Inputs<'_>,
        reuse: Reuse<'_>,
    ) -> Result<Vec<NamedValue>, Error> {
        let Inputs {
            reference,
            neighbours,
            distorted,
        } = inputs;
        let Reuse {
            enabled: reuse,
            stats,
        } = reuse;
        self.clock += 1;
        let key = SessionKey::of(&plugin.identity().name, device, spec);
        let index = match self.slots.iter().position(|s| s.key == key) {
            Some(index) => index,
            None => {
                if self.slots.len() >= MAX_SESSIONS {
                    let oldest = (0..self.slots.len())
                        .min_by_key(|&i| self.slots[i].used)
                        .unwrap_or(0);
                    self.slots.swap_remove(oldest);
                }
                let session = plugin.open_session(device, spec)?;
                self.slots.push(Slot {
                    key,
                    session,
                    references: Vec::new(),
                    used: 0,
                });
                self.slots.len() - 1
            }
        };
        let slot = &mut self.slots[index];
        slot.used = self.clock;
        let metric = spec.metric.as_str();
        // A temporal metric's frame is prepared (with its neighbours) only where the plugin
        // says its reference is reusable and can prepare windows (ABI 1.4); else it is
        // scored in one call.
        let (key, neighbours) = match neighbours {
            Some(n) if reuse && prepares_windows(&slot.session, device, metric) => {
                (n.window_key(reference), Some(n))
            }
            Some(n) => {
                return neighbours::compare_frame(
                    &mut slot.session,
                    device,
                    metric,
                    &reference.image,
                    n,
                    distorted,
                );
            }
            None if !reuse => {
                stats.miss();
                return reference
                    .image
                    .with_view(|r| distorted.with_view(|d| slot.session.compare_pair(r, d)));
            }
            None => (reference.key, None),
        };
        let prepared = match slot.references.iter().find(|(k, _)| *k == key) {
            Some((_, prepared)) => {
                stats.hit();
                *prepared
            }
            None => {
                stats.miss();
                let prepared = match neighbours {
                    Some(n) => neighbours::prepare_window(
                        &mut slot.session,
                        device,
                        metric,
                        &reference.image,
                        n,
                    )?,
                    None => reference.image.with_view(|r| slot.session.prepare(r))?,
                };
                if slot.references.len() >= MAX_REFERENCES {
                    let (_, old) = slot.references.remove(0);
                    slot.session.release(old);
                }
                slot.references.push((key, prepared));
                prepared
            }
        };
        distorted.with_view(|d| slot.session.compare(prepared, d))
    }

    /// Closes every session of `plugin` (after it failed mid-call, its state is suspect).
    pub fn forget_plugin(&mut self, plugin: &str) {
        self.slots.retain(|s| s.key.plugin != plugin);
    }

    /// Open sessions.
    pub fn open_sessions(&self) -> usize {
        self.slots.len()
    }
}
