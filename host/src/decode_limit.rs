//! A cap on how many inputs are decoded at once.
//!
//! Decoding is where a corpus run spends memory and scratch space: a decoded 4K image
//! is tens of MB, and a video decoder may buffer a great deal. Every stage that decodes
//! takes a permit first, so that however many rows or threads are in flight, at most
//! `capacity` decodes run at the same time.

use std::sync::{Condvar, Mutex};

/// A counting semaphore for decodes.
#[derive(Debug)]
pub struct DecodeLimiter {
    capacity: usize,
    in_use: Mutex<usize>,
    freed: Condvar,
}

/// One running decode; dropping it lets the next one start.
#[derive(Debug)]
pub struct DecodePermit<'a> {
    limiter: &'a DecodeLimiter,
}

impl DecodeLimiter {
    /// A limiter allowing `capacity` decodes at once (at least one).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            in_use: Mutex::new(0),
            freed: Condvar::new(),
        }
    }

    /// How many decodes may run at once.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Waits until fewer than `capacity` decodes run, then counts this one.
    pub fn acquire(&self) -> DecodePermit<'_> {
        let mut in_use = self.in_use.lock().unwrap_or_else(|e| e.into_inner());
        while *in_use >= self.capacity {
            in_use = self.freed.wait(in_use).unwrap_or_else(|e| e.into_inner());
        }
        *in_use += 1;
        DecodePermit { limiter: self }
    }

    /// Decodes running now.
    pub fn in_use(&self) -> usize {
        *self.in_use.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for DecodePermit<'_> {
    fn drop(&mut self) {
        let mut in_use = self
            .limiter
            .in_use
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        *in_use -= 1;
        self.limiter.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    };

    use super::DecodeLimiter;

    #[test]
    fn never_more_than_capacity_at_once() {
        let limiter = Arc::new(DecodeLimiter::new(2));
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        std::thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| {
                    for _ in 0..20 {
                        let _permit = limiter.acquire();
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        std::thread::yield_now();
                        running.fetch_sub(1, Ordering::SeqCst);
                    }
                });
            }
        });
        let peak = peak.load(Ordering::SeqCst);
        assert!((1..=2).contains(&peak), "{peak} decodes ran at once");
        assert_eq!(limiter.in_use(), 0);
    }
}
