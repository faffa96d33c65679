//! `qscore plugins`.

use std::process::ExitCode;

use qscore_host::LoadReport;

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
            serde_json::to_string_pretty(&qscore_host::describe::plugins_json(report))
                .unwrap_or_default()
        );
    } else {
        print_text(report);
    }
    ExitCode::SUCCESS
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
        let (usable, note) = qscore_host::describe::checked_devices(p);
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
