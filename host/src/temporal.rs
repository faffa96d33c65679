//! What temporal metrics need from the inputs: how many reference frames before and after
//! each frame. Declared by plugins (`temporal_depth` in their capabilities, look-ahead through
//! the ABI 1.3 frame-window extension) and read here once per job.

use crate::LoadReport;

/// The neighbouring reference frames a metric reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Needs {
    /// Previous reference frames.
    pub(crate) depth: usize,
    /// Following reference frames.
    pub(crate) lookahead: usize,
}

impl Needs {
    /// Whether the metric reads frames other than the one it scores.
    pub(crate) fn temporal(self) -> bool {
        self.depth > 0 || self.lookahead > 0
    }
}

/// What `metric` needs: the most any loaded plugin offering it declares. The scheduler picks
/// a backend per frame, so every frame carries enough for any of them; each backend is
/// then handed only what it declared.
pub(crate) fn needs(report: &LoadReport, metric: &str) -> Needs {
    let mut needs = Needs::default();
    for plugin in &report.plugins {
        for device in plugin.devices() {
            let Some(caps) = device.caps.iter().find(|c| c.metric.as_str() == metric) else {
                continue;
            };
            needs.depth = needs.depth.max(caps.temporal_depth as usize);
            // A plugin that cannot say is handed none; it refuses the frame if it needed one.
            let lookahead = plugin.lookahead(device.info.id, metric).unwrap_or(0);
            needs.lookahead = needs.lookahead.max(lookahead as usize);
        }
    }
    needs
}
