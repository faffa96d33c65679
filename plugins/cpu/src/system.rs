//! What the machine is: CPU model, total and available RAM.

use qscore_core::Error;

/// The CPU's model name and vendor, from `/proc/cpuinfo` where there is one.
pub(crate) fn cpu_model() -> (String, String) {
    let text = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let field = |key: &str| {
        text.lines()
            .find(|l| l.split(':').next().is_some_and(|k| k.trim() == key))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_owned())
    };
    let model = field("model name").unwrap_or_else(|| std::env::consts::ARCH.to_owned());
    let vendor = field("vendor_id").unwrap_or_default();
    (vendor, model)
}

/// Logical CPUs available to this process.
pub(crate) fn cpu_count() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `(total, available)` RAM in bytes, read now.
pub(crate) fn memory() -> Result<(u64, u64), Error> {
    let text = std::fs::read_to_string("/proc/meminfo")
        .map_err(|e| Error::Unsupported(format!("cannot read /proc/meminfo: {e}")))?;
    let kib = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .map(|k| k * 1024)
    };
    match (kib("MemTotal:"), kib("MemAvailable:")) {
        (Some(total), Some(available)) => Ok((total, available)),
        _ => Err(Error::Internal(
            "/proc/meminfo lacks MemTotal or MemAvailable".into(),
        )),
    }
}
