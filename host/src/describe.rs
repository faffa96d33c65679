//! What the loaded plugins are and can do, as `qscore plugins --json` prints it (the
//! Python package's `qscore.plugins()` returns the same document).

use serde_json::{Value, json};

use crate::{Device, LoadReport, Plugin};

/// The plugin's devices that pass its device check (a GPU plugin starts a device and runs a
/// small kernel on it the first time it is asked), and its note with why the others fail.
pub fn checked_devices(p: &Plugin) -> (Vec<&Device>, String) {
    let mut note = p.device_note().to_owned();
    let mut usable = Vec::new();
    for d in p.devices() {
        match p.check_device(d.info.id) {
            Ok(()) => usable.push(d),
            Err(e) => {
                if !note.is_empty() {
                    note.push_str("; ");
                }
                note.push_str(&e.to_string());
            }
        }
    }
    (usable, note)
}

/// Every plugin, its devices with live free memory and metrics, and every load error.
pub fn plugins_json(report: &LoadReport) -> Value {
    let plugins: Vec<Value> = report
        .plugins
        .iter()
        .map(|p| {
            let id = p.identity();
            let (usable, note) = checked_devices(p);
            let devices: Vec<Value> = usable
                .into_iter()
                .map(|d| {
                    let free = p.free_memory(d.info.id);
                    let metrics: Vec<Value> = d
                        .caps
                        .iter()
                        .map(|c| {
                            json!({
                                "metric": c.metric.as_str(),
                                "outputs": c.outputs.iter().map(|o| o.as_str()).collect::<Vec<_>>(),
                                "formats": c.formats.iter().map(|f| f.to_string()).collect::<Vec<_>>(),
                                "modes": c.modes.iter().map(|m| m.to_string()).collect::<Vec<_>>(),
                                "reusable_reference": c.reusable_reference,
                                "temporal_depth": c.temporal_depth,
                                "lookahead": p.lookahead(d.info.id, c.metric.as_str()).ok(),
                                "max_width": c.max_width,
                                "max_height": c.max_height,
                            })
                        })
                        .collect();
                    json!({
                        "id": d.info.id,
                        "kind": d.info.kind.to_string(),
                        "vendor": d.info.vendor.as_str(),
                        "model": d.info.model.as_str(),
                        "driver_version": d.info.driver_version.as_str(),
                        "total_memory": d.info.total_memory,
                        "free_memory": free.as_ref().ok(),
                        "free_memory_error": free.as_ref().err().map(ToString::to_string),
                        "metrics": metrics,
                    })
                })
                .collect();
            json!({
                "name": id.name,
                "version": id.version,
                "vendor": id.vendor,
                "family": id.family.to_string(),
                "abi": id.abi.to_string(),
                "path": p.path().display().to_string(),
                "built_in": p.is_built_in(),
                "isolated": p.is_isolated(),
                "risky": p.risky(),
                "measures_sessions": p.measures_sessions(),
                "devices": devices,
                "device_note": note,
            })
        })
        .collect();
    let errors: Vec<String> = report.errors.iter().map(ToString::to_string).collect();
    json!({ "plugins": plugins, "errors": errors })
}
