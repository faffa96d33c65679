//! Where a metric reads its input planes from, one band of rows at a time.
//!
//! Full-image work asks for every row at once; the strip modes ask for bands with halos, so
//! only a band's worth of derived maps ever exists on the device. A source built from planes
//! already on the device ([`DeviceSource`]) copies bands out of them on the device; the
//! session layer's host sources upload only the rows asked for.

use cubecl::prelude::*;
use qscore_core::Error;

use crate::plane::DevicePlane;

/// An image's metric input planes (all of the same size), readable by row ranges.
pub trait PlaneSource<R: Runtime> {
    /// Width of every plane.
    fn width(&self) -> usize;
    /// Height of every plane.
    fn height(&self) -> usize;
    /// Number of planes.
    fn planes(&self) -> usize;
    /// The planes' rows `y0..y1` (`y0 < y1 <= height`) as new device planes of
    /// `width × (y1 − y0)`.
    fn rows(
        &self,
        client: &ComputeClient<R>,
        y0: usize,
        y1: usize,
    ) -> Result<Vec<DevicePlane>, Error>;
}

/// Planes already on the device.
#[derive(Debug, Clone)]
pub struct DeviceSource {
    pub(crate) planes: Vec<DevicePlane>,
}

impl DeviceSource {
    /// Wraps planes of equal size.
    ///
    /// # Panics
    /// If the planes are empty or differ in size.
    pub fn new(planes: Vec<DevicePlane>) -> Self {
        assert!(!planes.is_empty(), "a source needs at least one plane");
        let (w, h) = (planes[0].width, planes[0].height);
        assert!(planes.iter().all(|p| p.width == w && p.height == h));
        Self { planes }
    }

    /// The planes themselves.
    pub fn all(&self) -> &[DevicePlane] {
        &self.planes
    }
}

/// Copies `len` f32 from `input[offset..]` into `output`.
#[cube(launch)]
fn copy_range(input: &Array<f32>, output: &mut Array<f32>, offset: usize, len: usize) {
    let i = ABSOLUTE_POS;
    if i < len {
        output[i] = input[offset + i];
    }
}

impl<R: Runtime> PlaneSource<R> for DeviceSource {
    fn width(&self) -> usize {
        self.planes[0].width
    }

    fn height(&self) -> usize {
        self.planes[0].height
    }

    fn planes(&self) -> usize {
        self.planes.len()
    }

    fn rows(
        &self,
        client: &ComputeClient<R>,
        y0: usize,
        y1: usize,
    ) -> Result<Vec<DevicePlane>, Error> {
        let (w, h) = (
            PlaneSource::<R>::width(self),
            PlaneSource::<R>::height(self),
        );
        if y0 >= y1 || y1 > h {
            return Err(Error::Internal(format!(
                "rows {y0}..{y1} of a {w}x{h} plane"
            )));
        }
        if y0 == 0 && y1 == h {
            return Ok(self.planes.clone());
        }
        let len = w * (y1 - y0);
        Ok(self
            .planes
            .iter()
            .map(|plane| {
                let band = DevicePlane::empty(client, w, y1 - y0);
                copy_range::launch::<R>(
                    client,
                    crate::grid::cubes_for_units(len, 256),
                    CubeDim::new_1d(256),
                    plane.arg(),
                    band.arg(),
                    y0 * w,
                    len,
                );
                band
            })
            .collect())
    }
}

/// The size of a metric's linear-RGB input, checked: 3 planes of at least
/// `min_side × min_side` (as libjxl requires of SSIMULACRA2 and butteraugli).
pub(crate) fn linear_rgb_size<R: Runtime>(
    source: &dyn PlaneSource<R>,
    metric: &str,
    min_side: usize,
    what: &str,
) -> Result<(usize, usize), Error> {
    if source.planes() != 3 {
        return Err(Error::InvalidInput(format!(
            "{metric} needs 3 linear RGB planes, the {what} has {}",
            source.planes()
        )));
    }
    let (w, h) = (source.width(), source.height());
    if w < min_side || h < min_side {
        return Err(Error::InvalidInput(format!(
            "{metric} needs at least {min_side}x{min_side} pixels (as libjxl), the {what} is {w}x{h}"
        )));
    }
    Ok((w, h))
}

/// Refuses a reference and a distorted image of different sizes.
pub(crate) fn same_size(reference: (usize, usize), distorted: (usize, usize)) -> Result<(), Error> {
    if reference != distorted {
        return Err(Error::InvalidInput(format!(
            "reference is {}x{}, distorted is {}x{}",
            reference.0, reference.1, distorted.0, distorted.1
        )));
    }
    Ok(())
}
