//! Launch shapes that respect every backend's per-axis limit on cube counts.

use cubecl::prelude::*;

/// Most cubes along one axis on every backend (wgpu's dispatch limit).
const MAX_PER_AXIS: usize = 65_535;

/// At least `count` cubes, spread over two axes when one is not enough. Kernels index with
/// the linear `CUBE_POS` / `ABSOLUTE_POS` and must ignore positions past their data.
pub fn cubes(count: usize) -> CubeCount {
    let count = count.max(1);
    let x = count.min(MAX_PER_AXIS);
    let y = count.div_ceil(x);
    CubeCount::Static(x as u32, y as u32, 1)
}

/// Cubes of `per_cube` units covering `units` units.
pub fn cubes_for_units(units: usize, per_cube: usize) -> CubeCount {
    cubes(units.div_ceil(per_cube))
}
