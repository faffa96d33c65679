//! Planes of `f32` samples living on a device.

use cubecl::{prelude::*, server::Handle};

/// One channel of an image on the device: `width * height` `f32` samples, row-major, no
/// padding between rows. What the samples mean (coded values, linear light, XYB…) is up to
/// the metric that made the plane.
#[derive(Debug, Clone)]
pub struct DevicePlane {
    pub(crate) handle: Handle,
    pub(crate) width: usize,
    pub(crate) height: usize,
}

impl DevicePlane {
    /// An uninitialised plane.
    pub fn empty<R: Runtime>(client: &ComputeClient<R>, width: usize, height: usize) -> Self {
        Self {
            handle: crate::meter::empty(client, width * height * size_of::<f32>()),
            width,
            height,
        }
    }

    /// A plane holding `data` (`width * height` samples).
    ///
    /// # Panics
    /// If `data` does not hold `width * height` samples.
    pub fn upload<R: Runtime>(
        client: &ComputeClient<R>,
        width: usize,
        height: usize,
        data: &[f32],
    ) -> Self {
        assert_eq!(data.len(), width * height, "plane data length");
        Self {
            handle: crate::meter::upload(client, f32::as_bytes(data)),
            width,
            height,
        }
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.width * self.height
    }

    /// Whether the plane has no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Width in samples.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height in rows.
    pub fn height(&self) -> usize {
        self.height
    }

    /// The samples, copied back to the host (for tests and debugging).
    pub fn read<R: Runtime>(&self, client: &ComputeClient<R>) -> Vec<f32> {
        let bytes = client.read_one(self.handle.clone()).expect("read plane");
        f32::from_bytes(&bytes)[..self.len()].to_vec()
    }

    /// The device buffer.
    pub fn handle_for_tests(&self) -> cubecl::server::Handle {
        self.handle.clone()
    }

    /// The plane as a kernel argument.
    pub(crate) fn arg<R: Runtime>(&self) -> ArrayArg<R> {
        // SAFETY: the handle was allocated for exactly `len()` f32 samples.
        unsafe { ArrayArg::from_raw_parts(self.handle.clone(), self.len()) }
    }
}
