//! Deterministic textured images for measurements: gradients plus hashed noise, so no
//! metric takes a short cut on flat or identical content.

use qscore_core::{FormatInfo, OwnedImage, PixelFormat};

/// A `width`×`height` image of `format`; different `seed`s give different, similar images.
pub fn synthetic_image(
    format: PixelFormat,
    width: u32,
    height: u32,
    seed: u32,
) -> Option<OwnedImage> {
    let info = FormatInfo::of(format)?;
    let planes = (0..info.planes)
        .map(|index| {
            let g = info.plane(index, width, height);
            let mut bytes = Vec::with_capacity(g.row_bytes() * g.height);
            for y in 0..g.height {
                for x in 0..g.width * g.channels {
                    let noise = (x as u32).wrapping_mul(0x9e37_79b9)
                        ^ (y as u32).wrapping_mul(0x85eb_ca6b)
                        ^ seed.wrapping_mul(0xc2b2_ae35);
                    let noise = noise.wrapping_mul(0x27d4_eb2f) >> 27; // 0..31
                    let level = ((x * 3 + y * 2) % 224) as u32 + noise;
                    let unit = f64::from(level) / 255.0;
                    match info.sample_bytes {
                        1 => bytes.push(level as u8),
                        2 => {
                            let max = f64::from((1u32 << info.bits) - 1);
                            bytes.extend(((unit * max) as u16).to_ne_bytes());
                        }
                        _ => bytes.extend((unit as f32).to_ne_bytes()),
                    }
                }
            }
            bytes
        })
        .collect();
    Some(OwnedImage {
        format,
        width,
        height,
        planes,
    })
}
