//! One probe's encode: ffmpeg reads the reference (or its excerpts) and writes the encode
//! into the work folder; a signal stopping qscore kills it.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Instant,
};

use super::{TuneError, TuneOptions, encoders::Encoder};
use crate::video::excerpt::{Excerpt, add_inputs};

/// A finished encode, waiting to be scored.
#[derive(Debug)]
pub(super) struct Encoded {
    pub(super) path: PathBuf,
    pub(super) bytes: u64,
    pub(super) seconds: f64,
}

/// Encodes `excerpts` of the reference (all of it when none) at `crf` into `work`.
pub(super) fn encode(
    options: &TuneOptions,
    encoder: &Encoder,
    crf: u32,
    excerpts: &[Excerpt],
    work: &Path,
) -> Result<Encoded, TuneError> {
    let started = Instant::now();
    let which = if excerpts.is_empty() { "" } else { "-excerpts" };
    let path = work.join(format!("{}-{crf}{which}.mkv", encoder.name));
    log::info!("encoding {} at {} {crf}", encoder.name, encoder.knob);
    let mut command = crate::video::ffmpeg::decoder_command("ffmpeg");
    command.args(["-v", "error", "-nostdin", "-y"]);
    add_inputs(&mut command, &options.reference, excerpts).map(&mut command, None);
    command
        .args(["-an", "-c:v", encoder.name, encoder.knob])
        .arg(crf.to_string())
        .args(encoder.constant_quality)
        .args(options.preset.iter().flat_map(|p| ["-preset", p.as_str()]))
        .args(&options.encoder_args)
        .arg(&path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let (status, stderr) =
        run_tracked(command).map_err(|e| TuneError::Request(format!("cannot run ffmpeg: {e}")))?;
    if !status.success() {
        let _ = std::fs::remove_file(&path);
        let reason = stderr.trim().to_owned();
        if reason.contains("No space left on device") {
            return Err(TuneError::Workdir {
                path: options.workdir.clone(),
                reason: format!(
                    "full while encoding at {} {crf} (finished probes are kept: free some \
                     space and run the same command again)",
                    encoder.knob
                ),
            });
        }
        return Err(TuneError::Encode {
            encoder: encoder.name.to_owned(),
            knob: encoder.knob,
            crf,
            reason: if reason.is_empty() {
                format!("ffmpeg exited with {status}")
            } else {
                reason
            },
        });
    }
    Ok(Encoded {
        bytes: std::fs::metadata(&path).map_or(0, |m| m.len()),
        path,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Runs an encoder that a signal stopping qscore kills: its status and standard error.
fn run_tracked(mut command: Command) -> std::io::Result<(std::process::ExitStatus, String)> {
    let mut child = command.spawn()?;
    let tracked = crate::interrupt::track(&child);
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
    }
    let status = tracked.reap(&mut child)?;
    Ok((status, stderr))
}

/// A scored encode: moved into `--keep-encodes` when given (named after the reference, the
/// encoder and the setting), else deleted.
pub(super) fn dispose(encoded: &Encoded, keep: Option<&Path>, reference: &Path) {
    let Some(folder) = keep else {
        let _ = std::fs::remove_file(&encoded.path);
        return;
    };
    let stem = reference
        .file_stem()
        .map_or("reference".into(), |s| s.to_string_lossy());
    let name = encoded
        .path
        .file_name()
        .map_or("encode.mkv".into(), |n| n.to_string_lossy());
    let target = folder.join(format!("{stem}.{name}"));
    // A rename within one file system, else a copy (the work folder may be a tmpfs).
    let kept = std::fs::rename(&encoded.path, &target).or_else(|_| {
        std::fs::copy(&encoded.path, &target).inspect_err(|_| {
            let _ = std::fs::remove_file(&target);
        })?;
        std::fs::remove_file(&encoded.path)
    });
    if let Err(error) = kept {
        let _ = std::fs::remove_file(&encoded.path);
        eprintln!(
            "qscore: warning: {}: the encode was not kept: {error}",
            target.display()
        );
    }
}
