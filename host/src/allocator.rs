//! How the C allocator treats the large buffers a comparison allocates and frees.
//!
//! A comparison of a 512×512 image allocates and frees planes of a megabyte or more, many
//! times (SSIMULACRA2's six scales, SSIM's moments, decoded images). glibc serves blocks
//! above its mmap threshold with fresh `mmap`s and gives freed heap tops back to the system,
//! so every comparison faulted its buffers in again and the kernel zeroed their pages: in a
//! 200-pair batch of 512² images, 28 % of the CPU time was page faults and page clearing.
//! Raising the mmap threshold to glibc's largest (32 MiB) and keeping up to 512 MiB of freed
//! heap lets freed buffers be reused; peak memory is unchanged, and a process keeps up to
//! that much freed memory between comparisons. A `MALLOC_MMAP_THRESHOLD_` or
//! `MALLOC_TRIM_THRESHOLD_` set in the environment wins.

/// Tunes glibc's allocator for qscore's pattern (see the module's documentation); nothing
/// elsewhere.
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let set_by_user = |name: &str| std::env::var_os(name).is_some();
        // SAFETY: mallopt only changes allocator parameters; called before threads start.
        unsafe {
            if !set_by_user("MALLOC_MMAP_THRESHOLD_") {
                libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
            }
            if !set_by_user("MALLOC_TRIM_THRESHOLD_") {
                libc::mallopt(libc::M_TRIM_THRESHOLD, 512 << 20);
            }
        }
    }
}
