//! The worker process's side: `qscore plugin-worker FILE` loads the plugin, says what it is,
//! then answers calls one line at a time until its input closes.

use std::{
    collections::HashMap,
    io::{BufRead, Write},
    path::Path,
    process::ExitCode,
    sync::Arc,
};

use qscore_core::{Error, ImageView, PlaneView};

use super::{
    Call, REGION_FD,
    protocol::{Description, DeviceRecord, Hello, Img, Request, Response, values_out},
    shm::{Region, view},
};
use crate::{Clip, Plugin, PreparedRef, Session, plugin::Link};

/// What the worker holds between calls.
struct State {
    plugin: Arc<Plugin>,
    region: Region,
    sessions: HashMap<u64, Session>,
    clips: HashMap<u64, Clip>,
    next: u64,
}

/// Serves the plugin at `path` on standard input and output (the worker process's `main`).
pub fn serve(path: &Path) -> ExitCode {
    // SAFETY: the host hands every worker the shared region as this descriptor.
    let region = unsafe { Region::inherited(REGION_FD) };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let loaded = if path == Path::new(crate::built_in::WORKER_ARG) {
        crate::built_in::load_here()
    } else {
        crate::loader::load_plugin(path)
    };
    let plugin = match loaded {
        Ok(plugin) => plugin,
        Err(error) => {
            let _ = send(&mut out, &Hello::Failed(error.to_string()));
            return ExitCode::FAILURE;
        }
    };
    if send(&mut out, &Hello::Loaded(describe(&plugin))).is_err() {
        return ExitCode::FAILURE;
    }
    let plugin = Arc::new(plugin);
    let mut state = State {
        plugin,
        region,
        sessions: HashMap::new(),
        clips: HashMap::new(),
        next: 1,
    };
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let response = match serde_json::from_str::<Call>(&line) {
            Ok(call) => match state.region.follow(call.region) {
                Ok(()) => state.answer(call.request),
                Err(e) => Response::Failed(Error::Internal(format!("shared memory: {e}")).into()),
            },
            Err(e) => Response::Failed(Error::Internal(format!("unreadable call: {e}")).into()),
        };
        if send(&mut out, &response).is_err() {
            break;
        }
    }
    ExitCode::SUCCESS
}

fn send(out: &mut impl Write, message: &impl serde::Serialize) -> std::io::Result<()> {
    let line = serde_json::to_string(message).map_err(std::io::Error::other)?;
    writeln!(out, "{line}")?;
    out.flush()
}

/// Session `id` of `sessions` (a function of its own, for calls that also hold the region).
fn find(sessions: &mut HashMap<u64, Session>, id: u64) -> Result<&mut Session, Error> {
    sessions
        .get_mut(&id)
        .ok_or_else(|| Error::InvalidInput(format!("no session {id} in this worker")))
}

/// The planes of every image of a list in the region.
fn planes_of<'r>(region: &'r Region, imgs: &[Img]) -> Result<Vec<Vec<PlaneView<'r>>>, Error> {
    imgs.iter()
        .map(|img| {
            region
                .planes(img)
                .map_err(|e| Error::InvalidInput(e.to_string()))
        })
        .collect()
}

/// Views of a list of images over their planes.
fn views<'a>(imgs: &[Img], planes: &'a [Vec<PlaneView<'a>>]) -> Vec<ImageView<'a>> {
    imgs.iter().zip(planes).map(|(i, p)| view(i, p)).collect()
}

/// A plugin loaded here, as the host needs to know it.
fn describe(plugin: &Plugin) -> Description {
    let identity = plugin.identity();
    let extensions = match &plugin.link {
        Link::Local(local) => [
            local.session_stats.is_some(),
            local.frame_window.is_some(),
            local.prepared_window.is_some(),
            local.device_check.is_some(),
        ],
        Link::Remote(_) => [false; 4],
    };
    Description {
        name: identity.name.clone(),
        version: identity.version.clone(),
        vendor: identity.vendor.clone(),
        family: identity.family.0,
        abi: (identity.abi.major, identity.abi.minor),
        devices: plugin.devices().iter().map(DeviceRecord::of).collect(),
        device_note: plugin.device_note().to_owned(),
        sequential: plugin.sequential.clone(),
        extensions,
        risky: plugin.risky.clone(),
    }
}

impl State {
    fn answer(&mut self, request: Request) -> Response {
        match self.run(request) {
            Ok(response) => response,
            Err(error) => Response::Failed(error.into()),
        }
    }

    fn number(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    fn session(&mut self, id: u64) -> Result<&mut Session, Error> {
        find(&mut self.sessions, id)
    }

    fn run(&mut self, request: Request) -> Result<Response, Error> {
        let plugin = Arc::clone(&self.plugin);
        Ok(match request {
            Request::FreeMemory { device } => Response::Number(plugin.free_memory(device)?),
            Request::PredictMemory { device, spec } => {
                Response::Number(plugin.predict_memory(device, &spec.task())?)
            }
            Request::Lookahead { device, metric } => {
                Response::Number(u64::from(plugin.lookahead(device, &metric)?))
            }
            Request::CheckDevice { device } => {
                plugin.check_device(device)?;
                Response::Done
            }
            Request::OpenSession { device, spec } => {
                let session = plugin.open_session(device, &spec.task())?;
                let id = self.number();
                self.sessions.insert(id, session);
                Response::Number(id)
            }
            Request::OpenClip { device, spec } => {
                let clip = plugin.open_clip(device, &spec.task())?;
                let id = self.number();
                self.clips.insert(id, clip);
                Response::Number(id)
            }
            Request::CloseSession { session } => {
                self.sessions.remove(&session);
                Response::Done
            }
            Request::Release { session, prepared } => {
                self.session(session)?
                    .release(PreparedRef::from_number(prepared));
                Response::Done
            }
            Request::PeakMemory { session } => {
                Response::Peak(self.session(session)?.peak_memory().transpose()?)
            }
            Request::ClipFinish { clip } => {
                let clip = self
                    .clips
                    .remove(&clip)
                    .ok_or_else(|| Error::InvalidInput(format!("no clip {clip}")))?;
                let scores = clip.finish()?;
                Response::Clip {
                    frames: scores.frames.iter().map(|f| values_out(f)).collect(),
                    pooled: values_out(&scores.pooled),
                }
            }
            Request::ClipAbort { clip } => {
                self.clips.remove(&clip);
                Response::Done
            }
            images => self.with_images(images)?,
        })
    }

    /// The calls that carry images, read from the shared region.
    fn with_images(&mut self, request: Request) -> Result<Response, Error> {
        let region = &self.region;
        let planes = |img: &Img| {
            region
                .planes(img)
                .map_err(|e| Error::InvalidInput(e.to_string()))
        };
        match request {
            Request::Prepare { session, reference } => {
                let r = planes(&reference)?;
                let prepared = find(&mut self.sessions, session)?.prepare(&view(&reference, &r))?;
                Ok(Response::Number(prepared.number()))
            }
            Request::Compare {
                session,
                prepared,
                distorted,
            } => {
                let d = planes(&distorted)?;
                let values = find(&mut self.sessions, session)?
                    .compare(PreparedRef::from_number(prepared), &view(&distorted, &d))?;
                Ok(Response::Values(values_out(&values)))
            }
            Request::ComparePair {
                session,
                reference,
                distorted,
            } => {
                let (r, d) = (planes(&reference)?, planes(&distorted)?);
                let values = find(&mut self.sessions, session)?
                    .compare_pair(&view(&reference, &r), &view(&distorted, &d))?;
                Ok(Response::Values(values_out(&values)))
            }
            Request::CompareWindow {
                session,
                reference,
                previous,
                next,
                distorted,
            } => {
                let (r, d) = (planes(&reference)?, planes(&distorted)?);
                let p = planes_of(region, &previous)?;
                let n = planes_of(region, &next)?;
                let p = views(&previous, &p);
                let n = views(&next, &n);
                let session = find(&mut self.sessions, session)?;
                let (r, d) = (view(&reference, &r), view(&distorted, &d));
                let values = session.compare_window(&r, &p, &n, &d)?;
                Ok(Response::Values(values_out(&values)))
            }
            Request::CompareFrame {
                session,
                reference,
                previous,
                distorted,
            } => {
                let (r, d) = (planes(&reference)?, planes(&distorted)?);
                let p = planes_of(region, &previous)?;
                let p = views(&previous, &p);
                let values = find(&mut self.sessions, session)?.compare_frame(
                    &view(&reference, &r),
                    &p,
                    &view(&distorted, &d),
                )?;
                Ok(Response::Values(values_out(&values)))
            }
            Request::PrepareWindow {
                session,
                reference,
                previous,
                next,
            } => {
                let r = planes(&reference)?;
                let p = planes_of(region, &previous)?;
                let n = planes_of(region, &next)?;
                let p = views(&previous, &p);
                let n = views(&next, &n);
                let prepared = find(&mut self.sessions, session)?.prepare_window(
                    &view(&reference, &r),
                    &p,
                    &n,
                )?;
                Ok(Response::Number(prepared.number()))
            }
            Request::ClipPush {
                clip,
                reference,
                distorted,
            } => {
                let (r, d) = (planes(&reference)?, planes(&distorted)?);
                self.clips
                    .get_mut(&clip)
                    .ok_or_else(|| Error::InvalidInput(format!("no clip {clip}")))?
                    .push(&view(&reference, &r), &view(&distorted, &d))?;
                Ok(Response::Done)
            }
            other => Err(Error::Internal(format!(
                "not a call with images: {other:?}"
            ))),
        }
    }
}
