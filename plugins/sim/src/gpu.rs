//! The simulated GPUs of one plugin copy: their memory, and the counters and
//! checks behind every configured misbehaviour.
//!
//! Counting is per plugin copy (one loaded library), atomic, shared by its devices:
//!
//! - comparisons (`compare`, `compare_pair`, `compare_frame`) are numbered 1, 2, 3…;
//!   with `device_lost_after: n` comparison n + 1 and everything after fails with
//!   `DeviceLost`, as does every other call once n comparisons have been made;
//! - `oom_every: k` numbers only the comparisons of sessions whose mode is in
//!   `oom_modes`; each k-th of those fails with `OutOfMemory`;
//! - `panic_every: k` numbers the calls of the `panic` export; each k-th panics.

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use qscore_core::{Error, MemoryMode};

use crate::config::{BadValue, Config, Crash, PanicAt, Predictions};

/// The simulated GPUs of one plugin copy.
#[derive(Debug)]
pub(crate) struct Gpus {
    config: Config,
    /// Bytes held by open sessions, per device.
    held: Vec<AtomicU64>,
    /// Comparisons made (started).
    compares: AtomicU64,
    /// Comparisons made by sessions the `oom_*` knobs apply to.
    oom_compares: AtomicU64,
    /// Calls of the export named by `panic`.
    panic_calls: AtomicU64,
}

/// Bytes a session holds on a device; given back when dropped.
#[derive(Debug)]
pub(crate) struct Allocation {
    gpus: Arc<Gpus>,
    device: u32,
    bytes: u64,
}

impl Allocation {
    /// The bytes held.
    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }
}

impl Drop for Allocation {
    fn drop(&mut self) {
        self.gpus.held[self.device as usize].fetch_sub(self.bytes, Ordering::SeqCst);
    }
}

impl Gpus {
    pub(crate) fn new(config: Config) -> Self {
        Self {
            held: (0..config.devices).map(|_| AtomicU64::new(0)).collect(),
            config,
            compares: AtomicU64::new(0),
            oom_compares: AtomicU64::new(0),
            panic_calls: AtomicU64::new(0),
        }
    }

    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    /// Refuses a device id this copy never listed.
    pub(crate) fn check_device(&self, device: u32) -> Result<(), Error> {
        if device < self.config.devices {
            Ok(())
        } else {
            Err(Error::InvalidInput(format!(
                "device {device} ({} simulates {} device(s))",
                self.config.name, self.config.devices
            )))
        }
    }

    /// `DeviceLost` once `device_lost_after` comparisons have been made.
    pub(crate) fn check_alive(&self) -> Result<(), Error> {
        match self.config.device_lost_after {
            Some(n) if self.compares.load(Ordering::SeqCst) >= n => Err(lost(n)),
            _ => Ok(()),
        }
    }

    /// Panics when `at` is the configured export and this call is a k-th one; crashes or
    /// hangs when `at` is the export configured to.
    pub(crate) fn maybe_panic(&self, at: PanicAt) {
        match self.config.crash {
            Some((Crash::Segfault, crash_at)) if crash_at == at => {
                // SAFETY: plain syscalls. Rust's runtime handles SIGSEGV (to report stack
                // overflows) and returns from a raised one, so the default action, which ends
                // the process as a bad pointer in native code would, is restored first.
                #[allow(unsafe_code)]
                unsafe {
                    libc::signal(libc::SIGSEGV, libc::SIG_DFL);
                    libc::raise(libc::SIGSEGV);
                }
            }
            Some((Crash::Abort, crash_at)) if crash_at == at => std::process::abort(),
            Some((Crash::Hang, crash_at)) if crash_at == at => loop {
                std::thread::sleep(std::time::Duration::from_secs(3600));
            },
            _ => {}
        }
        if self.config.panic != Some(at) {
            return;
        }
        let call = self.panic_calls.fetch_add(1, Ordering::SeqCst) + 1;
        if call.is_multiple_of(self.config.panic_every) {
            panic!("simulated panic in {} (call {call})", at.name());
        }
    }

    /// Free memory of `device`: the override, or total minus what sessions hold.
    pub(crate) fn free(&self, device: u32) -> u64 {
        self.config
            .free_memory_override
            .unwrap_or_else(|| self.config.total_memory - self.held(device))
    }

    fn held(&self, device: u32) -> u64 {
        self.held[device as usize].load(Ordering::SeqCst)
    }

    /// What `predict_memory` answers for a session that really holds `bytes`.
    pub(crate) fn predict(&self, bytes: u64) -> u64 {
        match self.config.predictions {
            Predictions::Honest => bytes,
            Predictions::Absurd => u64::MAX / 2,
            Predictions::Tiny => 1,
        }
    }

    /// Takes `bytes` on `device` for a session in `mode`: fails as `oom_open_above`
    /// says, or when the device has fewer bytes left (its real capacity, whatever
    /// `free_memory_override` reports).
    pub(crate) fn allocate(
        self: &Arc<Self>,
        device: u32,
        bytes: u64,
        mode: MemoryMode,
    ) -> Result<Allocation, Error> {
        if let Some(limit) = self.config.oom_open_above
            && bytes > limit
            && self.config.oom_applies(mode)
        {
            return Err(Error::OutOfMemory {
                needed: bytes,
                available: self.free(device),
                message: format!(
                    "simulated: {mode} sessions above {limit} bytes fail to open (oom_open_above)"
                ),
            });
        }
        let total = self.config.total_memory;
        self.held[device as usize]
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |held| {
                held.checked_add(bytes).filter(|&after| after <= total)
            })
            .map_err(|held| Error::OutOfMemory {
                needed: bytes,
                available: total - held,
                message: format!("simulated GPU {device} is full"),
            })?;
        Ok(Allocation {
            gpus: Arc::clone(self),
            device,
            bytes,
        })
    }

    /// Runs the misbehaviours due before a comparison by a session in `mode` that
    /// holds `allocation`: device loss, panic, delay, out-of-memory.
    pub(crate) fn begin_compare(
        &self,
        mode: MemoryMode,
        allocation: &Allocation,
    ) -> Result<(), Error> {
        let number = self.compares.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some(n) = self.config.device_lost_after
            && number > n
        {
            return Err(lost(n));
        }
        self.maybe_panic(PanicAt::Compare);
        if !self.config.slow.is_zero() {
            std::thread::sleep(self.config.slow);
        }
        if let Some(every) = self.config.oom_every
            && self.config.oom_applies(mode)
        {
            let k = self.oom_compares.fetch_add(1, Ordering::SeqCst) + 1;
            if k.is_multiple_of(every) {
                return Err(Error::OutOfMemory {
                    needed: allocation.bytes,
                    available: self.free(allocation.device),
                    message: format!("simulated: comparison {k} in {mode} (oom_every {every})"),
                });
            }
        }
        Ok(())
    }

    /// The value a comparison returns in place of `psnr`.
    pub(crate) fn report(&self, psnr: f64) -> f64 {
        match self.config.bad_value {
            None => psnr,
            Some(BadValue::Nan) => f64::NAN,
            Some(BadValue::OutOfRange) => -5.0,
        }
    }
}

fn lost(n: u64) -> Error {
    Error::DeviceLost(format!(
        "simulated: device lost after {n} comparison(s) (device_lost_after)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gpus(json: &str) -> Arc<Gpus> {
        Arc::new(Gpus::new(Config::parse(json).unwrap()))
    }

    #[test]
    fn sessions_hold_memory_until_dropped() {
        let gpus = gpus(r#"{"devices": 2, "total_memory": 1000}"#);
        let a = gpus.allocate(0, 600, MemoryMode::FULL).unwrap();
        assert_eq!(gpus.free(0), 400);
        assert_eq!(gpus.free(1), 1000);
        let error = gpus.allocate(0, 500, MemoryMode::FULL).unwrap_err();
        assert!(
            matches!(
                error,
                Error::OutOfMemory {
                    needed: 500,
                    available: 400,
                    ..
                }
            ),
            "{error}"
        );
        let b = gpus.allocate(0, 400, MemoryMode::FULL).unwrap();
        assert_eq!(gpus.free(0), 0);
        drop(a);
        assert_eq!(gpus.free(0), 600);
        drop(b);
        assert_eq!(gpus.free(0), 1000);
    }

    #[test]
    fn oom_every_counts_only_the_modes_it_applies_to() {
        let gpus = gpus(r#"{"oom_every": 2, "oom_modes": ["full"]}"#);
        let full = gpus.allocate(0, 10, MemoryMode::FULL).unwrap();
        let strip = gpus.allocate(0, 10, MemoryMode::STRIP).unwrap();
        let outcomes: Vec<bool> = [true, false, true, false, true, true]
            .iter()
            .map(|&is_full| {
                let (mode, a) = if is_full {
                    (MemoryMode::FULL, &full)
                } else {
                    (MemoryMode::STRIP, &strip)
                };
                gpus.begin_compare(mode, a).is_ok()
            })
            .collect();
        assert_eq!(outcomes, [true, true, false, true, true, false]);
    }

    #[test]
    fn device_loss_after_n_comparisons() {
        let gpus = gpus(r#"{"device_lost_after": 2}"#);
        let a = gpus.allocate(0, 10, MemoryMode::FULL).unwrap();
        assert!(gpus.check_alive().is_ok());
        assert!(gpus.begin_compare(MemoryMode::FULL, &a).is_ok());
        assert!(gpus.check_alive().is_ok());
        assert!(gpus.begin_compare(MemoryMode::FULL, &a).is_ok());
        assert!(matches!(gpus.check_alive(), Err(Error::DeviceLost(_))));
        assert!(matches!(
            gpus.begin_compare(MemoryMode::FULL, &a),
            Err(Error::DeviceLost(_))
        ));
    }

    #[test]
    fn panic_every_k_calls() {
        let gpus = gpus(r#"{"panic": "prepare", "panic_every": 3}"#);
        let panicked: Vec<bool> = (0..6)
            .map(|_| {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    gpus.maybe_panic(PanicAt::Prepare);
                    gpus.maybe_panic(PanicAt::Open); // not configured: never panics
                }))
                .is_err()
            })
            .collect();
        assert_eq!(panicked, [false, false, true, false, false, true]);
    }

    #[test]
    fn predictions_and_values_as_configured() {
        assert_eq!(gpus("{}").predict(123), 123);
        assert_eq!(
            gpus(r#"{"absurd_predictions": true}"#).predict(123),
            u64::MAX / 2
        );
        assert_eq!(gpus(r#"{"tiny_predictions": true}"#).predict(123), 1);
        assert_eq!(gpus("{}").report(30.0), 30.0);
        assert!(gpus(r#"{"nan": true}"#).report(30.0).is_nan());
        assert_eq!(gpus(r#"{"out_of_range": true}"#).report(30.0), -5.0);
        assert_eq!(gpus(r#"{"free_memory_override": 7}"#).free(0), 7);
    }
}
