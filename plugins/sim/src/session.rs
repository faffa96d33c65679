//! The `psnr` session: holds its simulated memory while open, misbehaves as
//! configured, and otherwise computes PSNR exactly.

use std::sync::Arc;

use qscore_core::{
    Error, ImageView, MemoryMode, NamedValue,
    sdk::{Session, Values},
};

use crate::{
    config::PanicAt,
    gpu::{Allocation, Gpus},
    psnr,
};

/// The metric, and its one output.
pub(crate) const METRIC: &str = "psnr";

/// A reference's colour samples, prepared once.
#[derive(Debug)]
pub(crate) struct Reference(Vec<u8>);

/// One `psnr` session on a simulated GPU.
#[derive(Debug)]
pub(crate) struct PsnrSession {
    gpus: Arc<Gpus>,
    mode: MemoryMode,
    /// The simulated device memory; given back when the session closes.
    allocation: Allocation,
}

impl PsnrSession {
    pub(crate) fn new(gpus: Arc<Gpus>, mode: MemoryMode, allocation: Allocation) -> Self {
        Self {
            gpus,
            mode,
            allocation,
        }
    }

    fn value(&self, sum: u64, count: u64) -> Values {
        vec![NamedValue::new(
            METRIC,
            self.gpus.report(psnr::psnr(sum, count)),
        )]
    }
}

impl Session for PsnrSession {
    type Prepared = Reference;

    fn prepare(&mut self, reference: &ImageView<'_>) -> Result<Reference, Error> {
        self.gpus.maybe_panic(PanicAt::Prepare);
        self.gpus.check_alive()?;
        Ok(Reference(psnr::colour_samples(reference)))
    }

    fn compare(
        &mut self,
        prepared: &Reference,
        distorted: &ImageView<'_>,
    ) -> Result<Values, Error> {
        self.gpus.begin_compare(self.mode, &self.allocation)?;
        let (sum, count) = psnr::squared_error(&prepared.0, distorted);
        Ok(self.value(sum, count))
    }

    /// One comparison, counted once, without going through `prepare`.
    fn compare_pair(
        &mut self,
        reference: &ImageView<'_>,
        distorted: &ImageView<'_>,
    ) -> Result<Values, Error> {
        self.gpus.begin_compare(self.mode, &self.allocation)?;
        let samples = psnr::colour_samples(reference);
        let (sum, count) = psnr::squared_error(&samples, distorted);
        Ok(self.value(sum, count))
    }

    fn peak_memory(&self) -> Option<u64> {
        Some(self.allocation.bytes())
    }
}
