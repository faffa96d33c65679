//! Video inputs: Y4M and raw planar YUV read one frame at a time, scored frame by
//! frame in parallel through the scheduler, and pooled per clip.

mod clip;
pub mod excerpt;
pub(crate) mod ffmpeg;
mod ffmpeg_group;
#[cfg(test)]
mod fuzz;
mod libvmaf_log;
mod lockstep;
mod pooling;
mod raw;
mod scale;
mod score;
mod source;
#[cfg(test)]
mod tests;
mod window;
mod y4m;

pub use clip::{ClipOptions, ClipPlan, score_video_pairs, score_videos};
pub use ffmpeg::FfmpegSource;
pub use libvmaf_log::{libvmaf_log, libvmaf_name, write_libvmaf_log};
pub use lockstep::{default_lockstep, lockstep_for};
pub use pooling::{Pooled, pool};
pub use raw::RawReader;
pub use scale::{SCALERS, Scaler};
pub use score::{Deadline, VideoJob, VideoScores, score_video};
pub use source::{FrameSource, VideoGeometry, is_video_path, open_video, open_video_until};
pub use y4m::Y4mReader;
