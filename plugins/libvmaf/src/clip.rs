//! A clip session: frames go to a libvmaf context in order; at the end every frame's
//! values and libvmaf's own means are read back.

use qscore_core::{ClipScores, Error, ImageView, NamedValue, sdk::ClipSession};

use crate::{
    metrics::{Extraction, Settings},
    vmaf::{Context, Model},
};

/// One clip scored by one metric.
#[derive(Debug)]
pub(crate) struct VmafClip {
    settings: Settings,
    // Declared before `model`: the context is closed first.
    context: Context,
    model: Option<Model>,
    frames: u32,
}

impl VmafClip {
    /// A context with the extractors `settings` asks for.
    pub(crate) fn open(settings: Settings) -> Result<Self, Error> {
        let mut context = Context::new(settings.threads, settings.simd)?;
        let model = match settings.def.extraction {
            Extraction::Vmaf => {
                let model = Model::built_in(settings.model.version(), settings.model_flags)?;
                context.use_model_features(&model)?;
                Some(model)
            }
            Extraction::Feature {
                extractor, options, ..
            } => {
                context.use_feature(extractor, options)?;
                None
            }
        };
        Ok(Self {
            settings,
            context,
            model,
            frames: 0,
        })
    }

    /// Frame `index`'s values, in the metric's output order.
    fn frame_values(&mut self, index: u32) -> Result<Vec<NamedValue>, Error> {
        let mut values = Vec::with_capacity(self.settings.def.outputs.len());
        if let Some(model) = &self.model {
            values.push(NamedValue::new("vmaf", self.context.score(model, index)?));
        }
        for (output, name) in self.collected() {
            values.push(NamedValue::new(output, self.context.feature(name, index)?));
        }
        Ok(values)
    }

    /// libvmaf's means over the clip, in the metric's output order.
    fn means(&mut self) -> Result<Vec<NamedValue>, Error> {
        let frames = self.frames;
        let mut values = Vec::with_capacity(self.settings.def.outputs.len());
        if let Some(model) = &self.model {
            values.push(NamedValue::new(
                "vmaf",
                self.context.score_mean(model, frames)?,
            ));
        }
        for (output, name) in self.collected() {
            values.push(NamedValue::new(
                output,
                self.context.feature_mean(name, frames)?,
            ));
        }
        Ok(values)
    }

    /// The feature values this metric reports: (our output name, collector name).
    fn collected(&self) -> &'static [(&'static str, &'static std::ffi::CStr)] {
        match self.settings.def.extraction {
            Extraction::Vmaf => self.settings.model.features(),
            Extraction::Feature { values, .. } => values,
        }
    }
}

impl ClipSession for VmafClip {
    fn push(&mut self, reference: &ImageView<'_>, distorted: &ImageView<'_>) -> Result<(), Error> {
        self.context.read(reference, distorted, self.frames)?;
        self.frames += 1;
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<ClipScores, Error> {
        if self.frames == 0 {
            return Err(Error::InvalidInput("the clip has no frames".into()));
        }
        self.context.flush()?;
        let frames = (0..self.frames)
            .map(|i| self.frame_values(i).map(Into::into))
            .collect::<Result<_, Error>>()?;
        Ok(ClipScores {
            frames,
            pooled: self.means()?.into(),
        })
    }
}
