//! What the machine is: its CPU model (its CPUs and memory come from the SDK's
//! `resources`, which follow cgroup limits).

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
