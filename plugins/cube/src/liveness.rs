//! A tiny kernel whose answer is checked before a device is offered to the host.
//!
//! Some driver installations (a GPU driver without its compute toolkit, a broken ICD) accept
//! kernel launches and return without running them. Scores computed on such a device would
//! be garbage that looks plausible, so a device whose liveness answer is wrong is reported
//! as unusable and never used.

use cubecl::prelude::*;

/// Number of values the liveness kernel writes.
const LEN: usize = 256;

/// Environment variable that makes the liveness kernel skip its writes, as a broken driver
/// would (`QSCORE_CUBE_FAULT=liveness`). For tests of the unusable-device path.
pub const FAULT_ENV: &str = "QSCORE_CUBE_FAULT";

#[cube(launch)]
fn liveness_kernel(out: &mut Array<u32>, seed: u32, skip: u32) {
    let i = ABSOLUTE_POS;
    if i < out.len() && skip == 0 {
        out[i] = (i as u32) * 40_503u32 + seed;
    }
}

/// Runs the liveness kernel on `client` and checks every value it wrote.
pub fn check<R: Runtime>(client: &ComputeClient<R>) -> Result<(), String> {
    let skip = u32::from(std::env::var(FAULT_ENV).is_ok_and(|v| v == "liveness"));
    let seed = 0x5eed_1234u32;
    let out = crate::meter::upload(client, u32::as_bytes(&[0u32; LEN]));
    // SAFETY: `out` holds exactly LEN u32.
    unsafe {
        liveness_kernel::launch::<R>(
            client,
            CubeCount::Static(1, 1, 1),
            CubeDim::new_1d(LEN as u32),
            ArrayArg::from_raw_parts(out.clone(), LEN),
            seed,
            skip,
        )
    };
    let bytes = client
        .read_one(out)
        .map_err(|e| format!("reading the liveness answer failed: {e}"))?;
    let values = u32::from_bytes(&bytes);
    for (i, &v) in values.iter().take(LEN).enumerate() {
        let expected = (i as u32) * 40_503 + seed;
        if v != expected {
            return Err(format!(
                "liveness kernel wrote {v} at {i} instead of {expected}: kernels do not run on this device"
            ));
        }
    }
    Ok(())
}
