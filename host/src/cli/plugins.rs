//! `qscore plugins`.

use std::process::ExitCode;

use qscore_host::{Device, LoadReport, Plugin};
use serde_json::{Value, json};

/// Arguments of `qscore plugins`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Print one JSON document instead of text.
    #[arg(long)]
    json: bool,
}

fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / f64::from(1u32 << 30))
}

pub(crate) fn run(args: &Args, report: &LoadReport) -> ExitCode {
    if args.json {
        out!(
            "{}",
            serde_json::to_string_pretty(&to_json(report)).unwrap_or_default()
        );
    } else {
        print_text(report);
    }
    ExitCode::SUCCESS
}

/// The plugin's devices that pass its device check (a GPU plugin starts a device and runs a
/// small kernel on it the first time it is asked), and its note with why the others fail.
fn checked(p: &Plugin) -> (Vec<&Device>, String) {
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

fn to_json(report: &LoadReport) -> Value {
    let plugins: Vec<Value> = report
        .plugins
        .iter()
        .map(|p| {
            let id = p.identity();
            let (usable, note) = checked(p);
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

fn print_text(report: &LoadReport) {
    if report.plugins.is_empty() {
        out!("no plugins loaded");
    }
    for p in &report.plugins {
        let id = p.identity();
        let isolated = match (p.is_isolated(), p.risky()) {
            (true, Some(reason)) => format!(", in worker processes (it may crash: {reason})"),
            (true, None) => ", in worker processes".to_owned(),
            (false, _) => String::new(),
        };
        let origin = if p.is_built_in() {
            "built into"
        } else {
            "from"
        };
        out!(
            "{} {} ({}, {}, ABI {}) {origin} {}{isolated}",
            id.name,
            id.version,
            id.family,
            id.vendor,
            id.abi,
            p.path().display()
        );
        let (usable, note) = checked(p);
        if !note.is_empty() {
            out!("  note: {note}");
        }
        for d in usable {
            let free = match p.free_memory(d.info.id) {
                Ok(bytes) => gib(bytes),
                Err(e) => format!("unknown ({e})"),
            };
            out!(
                "  device {}: {} {} [{}], memory {} total, {free} free",
                d.info.id,
                d.info.vendor,
                d.info.model,
                d.info.kind,
                gib(d.info.total_memory)
            );
            for c in &d.caps {
                let modes: Vec<String> = c.modes.iter().map(|m| m.to_string()).collect();
                let outputs: Vec<&str> = c.outputs.iter().map(|o| o.as_str()).collect();
                let lookahead = p.lookahead(d.info.id, c.metric.as_str()).unwrap_or(0);
                let temporal = if c.temporal_depth > 0 || lookahead > 0 {
                    format!(
                        "; temporal: {} previous, {lookahead} next frame(s)",
                        c.temporal_depth
                    )
                } else {
                    String::new()
                };
                out!(
                    "    {:<12} outputs {}; modes {}; {} formats; reusable reference: {}{temporal}",
                    c.metric.as_str(),
                    outputs.join(","),
                    modes.join(","),
                    c.formats.len(),
                    if c.reusable_reference { "yes" } else { "no" }
                );
            }
        }
    }
    if !report.errors.is_empty() {
        out!("load errors:");
        for e in &report.errors {
            out!("  {e}");
        }
    }
}
