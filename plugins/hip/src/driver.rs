//! The HIP runtime API, loaded at run time: device names, memory and version.

use std::ffi::{c_char, c_int, c_uint};

use libloading::{Library, Symbol};
use qscore_cube::driver::{DriverDevice, DriverLibrary};

/// The HIP runtime library's file names, most specific first.
#[cfg(windows)]
const LIBRARIES: &[&str] = &["amdhip64.dll"];
#[cfg(not(windows))]
const LIBRARIES: &[&str] = &["libamdhip64.so", "libamdhip64.so.7", "libamdhip64.so.6"];

type HipError = c_int;

/// One loaded and initialised HIP runtime.
#[derive(Debug)]
pub(crate) struct Driver {
    lib: Library,
}

fn check(what: &str, code: HipError) -> Result<(), String> {
    if code == 0 {
        Ok(())
    } else {
        Err(format!("{what} failed with HIP error {code}"))
    }
}

impl Driver {
    fn symbol<T>(&self, name: &[u8]) -> Result<Symbol<'_, T>, String> {
        // SAFETY: callers name the symbol's exact C signature as `T`.
        unsafe { self.lib.get(name) }.map_err(|e| {
            format!(
                "the HIP runtime lacks {}: {e}",
                String::from_utf8_lossy(&name[..name.len() - 1])
            )
        })
    }
}

impl DriverLibrary for Driver {
    const WHAT: &'static str = "HIP runtime";
    const VENDOR: &'static str = "AMD";

    /// Loads the HIP runtime and initialises it.
    fn load() -> Result<Self, String> {
        let mut errors = Vec::new();
        for name in LIBRARIES {
            // SAFETY: loading the vendor's runtime runs its initialisers, as any HIP program does.
            match unsafe { Library::new(name) } {
                Ok(lib) => {
                    let driver = Self { lib };
                    // SAFETY: `hipError_t hipInit(unsigned int)`.
                    unsafe {
                        let init: Symbol<unsafe extern "C" fn(c_uint) -> HipError> =
                            driver.symbol(b"hipInit\0")?;
                        check("hipInit", init(0))?;
                    }
                    return Ok(driver);
                }
                Err(e) => errors.push(format!("{name}: {e}")),
            }
        }
        Err(format!(
            "the HIP runtime could not be loaded ({})",
            errors.join("; ")
        ))
    }

    /// The driver's version number as HIP reports it.
    fn version(&self) -> Result<String, String> {
        let mut v: c_int = 0;
        // SAFETY: `hipError_t hipDriverGetVersion(int*)`.
        unsafe {
            let f: Symbol<unsafe extern "C" fn(*mut c_int) -> HipError> =
                self.symbol(b"hipDriverGetVersion\0")?;
            check("hipDriverGetVersion", f(&mut v))?;
        }
        Ok(v.to_string())
    }

    /// Every device the runtime sees.
    fn devices(&self) -> Result<Vec<DriverDevice>, String> {
        let mut count: c_int = 0;
        // SAFETY: HIP runtime signatures: `hipGetDeviceCount(int*)`,
        // `hipDeviceGetName(char*, int, hipDevice_t)`, `hipDeviceTotalMem(size_t*, hipDevice_t)`.
        unsafe {
            let get_count: Symbol<unsafe extern "C" fn(*mut c_int) -> HipError> =
                self.symbol(b"hipGetDeviceCount\0")?;
            check("hipGetDeviceCount", get_count(&mut count))?;
            let get_name: Symbol<unsafe extern "C" fn(*mut c_char, c_int, c_int) -> HipError> =
                self.symbol(b"hipDeviceGetName\0")?;
            let total_mem: Symbol<unsafe extern "C" fn(*mut usize, c_int) -> HipError> =
                self.symbol(b"hipDeviceTotalMem\0")?;
            (0..count)
                .map(|ordinal| {
                    let mut name = [0 as c_char; 256];
                    check(
                        "hipDeviceGetName",
                        get_name(name.as_mut_ptr(), 256, ordinal),
                    )?;
                    let mut total = 0usize;
                    check("hipDeviceTotalMem", total_mem(&mut total, ordinal))?;
                    Ok(DriverDevice {
                        ordinal: ordinal as usize,
                        name: std::ffi::CStr::from_ptr(name.as_ptr())
                            .to_string_lossy()
                            .into_owned(),
                        total_memory: total as u64,
                    })
                })
                .collect()
        }
    }

    /// Free memory of device `ordinal` now.
    fn free_memory(&self, ordinal: usize) -> Result<u64, String> {
        // SAFETY: `hipSetDevice(int)` and `hipMemGetInfo(size_t*, size_t*)`; the current
        // device is per thread, so setting it here affects only this query's thread.
        unsafe {
            let set: Symbol<unsafe extern "C" fn(c_int) -> HipError> =
                self.symbol(b"hipSetDevice\0")?;
            let mem: Symbol<unsafe extern "C" fn(*mut usize, *mut usize) -> HipError> =
                self.symbol(b"hipMemGetInfo\0")?;
            check("hipSetDevice", set(ordinal as c_int))?;
            let (mut free, mut total) = (0usize, 0usize);
            check("hipMemGetInfo", mem(&mut free, &mut total))?;
            Ok(free as u64)
        }
    }
}
