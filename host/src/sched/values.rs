//! Scores a plugin returns are checked before they are believed: NaN is never a
//! score, and known metrics have known ranges.

use qscore_core::Error;

/// The range a known output must fall in (bounds inclusive; infinities allowed only
/// where the bound is infinite, e.g. the PSNR of identical images).
fn range(name: &str) -> Option<(f64, f64)> {
    Some(match name {
        "psnr" | "psnr_y" | "psnr_cb" | "psnr_cr" => (0.0, f64::INFINITY),
        "ssim" => (-1.0, 1.0),
        "ms_ssim" => (0.0, 1.0),
        "ssimulacra2" => (f64::NEG_INFINITY, 100.0),
        "butteraugli" | "butteraugli_pnorm3" => (0.0, f64::MAX),
        // A VMAF model sets its own range (`score_clip`), which `disable_clip` and model
        // files without one lift: any finite score.
        "vmaf" => (f64::MIN, f64::MAX),
        "motion" | "motion2" => (0.0, f64::MAX),
        _ => return None,
    })
}

/// Refuses NaN, and a known output outside its range, as an internal error of the plugin.
pub fn check_value(plugin: &str, name: &str, value: f64) -> Result<(), Error> {
    if value.is_nan() {
        return Err(Error::Internal(format!("{plugin} returned NaN for {name}")));
    }
    if let Some((low, high)) = range(name)
        && (value < low || value > high || (value.is_infinite() && high.is_finite()))
    {
        return Err(Error::Internal(format!(
            "{plugin} returned {name} = {value}, outside [{low}, {high}]"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_and_out_of_range_values_are_refused() {
        assert!(check_value("sim", "psnr", f64::NAN).is_err());
        assert!(check_value("sim", "psnr", -5.0).is_err());
        assert!(check_value("sim", "psnr", f64::INFINITY).is_ok());
        assert!(check_value("sim", "ssim", 1.2).is_err());
        assert!(check_value("sim", "butteraugli", f64::INFINITY).is_err());
        assert!(check_value("sim", "vmaf", 103.9).is_ok());
        assert!(check_value("sim", "vmaf", f64::INFINITY).is_err());
        assert!(check_value("sim", "custom", -1e9).is_ok());
        assert!(check_value("sim", "custom", f64::NAN).is_err());
    }
}
