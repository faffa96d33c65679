//! Turning the loaded plugins into the chooser's candidates for one task: what each
//! device declares, what it predicts, and how much memory it has free right now.

use std::sync::Arc;

use qscore_core::{MemoryMode, Param, TaskSpec};

use super::{Candidate, ChoiceTask};
use crate::Plugin;

/// Modes in the order the ladder steps through them.
pub const MODE_ORDER: [MemoryMode; 3] =
    [MemoryMode::FULL, MemoryMode::STRIP, MemoryMode::STRIP_PAIR];

/// Every (plugin, device, mode) for `task`, supported or not (the chooser explains refusals).
/// `only` restricts to one plugin name; `quarantined` names plugins set aside in this run.
pub fn candidates(
    plugins: &[Arc<Plugin>],
    task: &ChoiceTask,
    params: &[Param],
    only: Option<&str>,
    quarantined: &dyn Fn(&str) -> bool,
    warm: &dyn Fn(&str, u32) -> bool,
) -> Vec<Candidate> {
    let mut out = Vec::new();
    for plugin in plugins {
        let name = &plugin.identity().name;
        if only.is_some_and(|o| o != name) {
            continue;
        }
        for device in plugin.devices() {
            let id = device.info.id;
            let caps = plugin.metric_caps(id, &task.metric);
            // Free memory is probed live, once per device and task.
            let free = plugin.free_memory(id).ok();
            let modes: Vec<MemoryMode> = match caps {
                Some(c) => MODE_ORDER
                    .into_iter()
                    .filter(|m| c.modes.contains(m))
                    .collect(),
                None => vec![MemoryMode::FULL],
            };
            for mode in modes {
                let support = match caps {
                    None => Err(format!("{} not offered", task.metric)),
                    // Its state spans frames: only whole clips, through `video::score_videos`.
                    Some(_) if plugin.needs_clip(id, &task.metric) => Err(format!(
                        "{} scores whole video clips only (a sequential clip session)",
                        task.metric
                    )),
                    Some(c) if !c.formats.contains(&task.format) => {
                        Err(format!("format {} not accepted", task.format))
                    }
                    Some(c) if task.width > c.max_width || task.height > c.max_height => {
                        Err(format!(
                            "{}x{} above the maximum {}x{}",
                            task.width, task.height, c.max_width, c.max_height
                        ))
                    }
                    Some(_) => Ok(()),
                };
                let predicted_bytes = if support.is_ok() {
                    let mut spec =
                        TaskSpec::new(&task.metric, task.width, task.height, task.format, mode);
                    spec.params = params.to_vec().into();
                    plugin.predict_memory(id, &spec).map_err(|e| e.to_string())
                } else {
                    Err("not asked: unsupported".to_owned())
                };
                out.push(Candidate {
                    plugin: name.clone(),
                    family: plugin.identity().family,
                    device: id,
                    mode,
                    support,
                    predicted_bytes,
                    free_bytes: free,
                    quarantined: quarantined(name),
                    warm: warm(name, id),
                });
            }
        }
    }
    out
}
