//! The CUDA driver API, loaded at run time: device names, memory and driver version.

use std::ffi::{c_char, c_int, c_uint, c_void};

use libloading::{Library, Symbol};
use qscore_cube::driver::{DriverDevice, DriverLibrary};

/// The driver library's file name.
#[cfg(windows)]
pub(crate) const LIBRARY: &str = "nvcuda.dll";
#[cfg(not(windows))]
pub(crate) const LIBRARY: &str = "libcuda.so.1";

type CuResult = c_int;
type CuDevice = c_int;
type CuContext = *mut c_void;

/// One loaded and initialised CUDA driver.
#[derive(Debug)]
pub(crate) struct Driver {
    lib: Library,
}

fn check(what: &str, code: CuResult) -> Result<(), String> {
    if code == 0 {
        Ok(())
    } else {
        Err(format!("{what} failed with CUDA error {code}"))
    }
}

impl Driver {
    fn symbol<T>(&self, name: &[u8]) -> Result<Symbol<'_, T>, String> {
        // SAFETY: callers name the symbol's exact C signature as `T`.
        unsafe { self.lib.get(name) }.map_err(|e| {
            format!(
                "the CUDA driver lacks {}: {e}",
                String::from_utf8_lossy(&name[..name.len() - 1])
            )
        })
    }
}

impl DriverLibrary for Driver {
    const WHAT: &'static str = "CUDA driver";
    const VENDOR: &'static str = "NVIDIA";

    /// Loads the driver library and initialises it.
    fn load() -> Result<Self, String> {
        // SAFETY: loading the vendor's driver runs its initialisers, which is what every
        // CUDA program does; nothing else is executed.
        let lib = unsafe { Library::new(LIBRARY) }
            .map_err(|e| format!("the CUDA driver ({LIBRARY}) could not be loaded: {e}"))?;
        let driver = Self { lib };
        // SAFETY: cuInit's C signature is `CUresult cuInit(unsigned int)`.
        unsafe {
            let init: Symbol<unsafe extern "C" fn(c_uint) -> CuResult> =
                driver.symbol(b"cuInit\0")?;
            check("cuInit", init(0))?;
        }
        Ok(driver)
    }

    /// The driver's version, as `major.minor`.
    fn version(&self) -> Result<String, String> {
        let mut v: c_int = 0;
        // SAFETY: `CUresult cuDriverGetVersion(int*)`.
        unsafe {
            let f: Symbol<unsafe extern "C" fn(*mut c_int) -> CuResult> =
                self.symbol(b"cuDriverGetVersion\0")?;
            check("cuDriverGetVersion", f(&mut v))?;
        }
        Ok(format!("{}.{}", v / 1000, (v % 1000) / 10))
    }

    /// Every device the driver sees.
    fn devices(&self) -> Result<Vec<DriverDevice>, String> {
        let mut count: c_int = 0;
        // SAFETY: the signatures below are the driver API's:
        // `cuDeviceGetCount(int*)`, `cuDeviceGet(CUdevice*, int)`,
        // `cuDeviceGetName(char*, int, CUdevice)`, `cuDeviceTotalMem_v2(size_t*, CUdevice)`.
        unsafe {
            let get_count: Symbol<unsafe extern "C" fn(*mut c_int) -> CuResult> =
                self.symbol(b"cuDeviceGetCount\0")?;
            check("cuDeviceGetCount", get_count(&mut count))?;
            let get: Symbol<unsafe extern "C" fn(*mut CuDevice, c_int) -> CuResult> =
                self.symbol(b"cuDeviceGet\0")?;
            let get_name: Symbol<unsafe extern "C" fn(*mut c_char, c_int, CuDevice) -> CuResult> =
                self.symbol(b"cuDeviceGetName\0")?;
            let total_mem: Symbol<unsafe extern "C" fn(*mut usize, CuDevice) -> CuResult> =
                self.symbol(b"cuDeviceTotalMem_v2\0")?;
            (0..count)
                .map(|ordinal| {
                    let mut device: CuDevice = 0;
                    check("cuDeviceGet", get(&mut device, ordinal))?;
                    let mut name = [0 as c_char; 256];
                    check("cuDeviceGetName", get_name(name.as_mut_ptr(), 256, device))?;
                    let mut total = 0usize;
                    check("cuDeviceTotalMem", total_mem(&mut total, device))?;
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

    /// Free memory of device `ordinal` now, through its primary context (the one cubecl
    /// uses too, so no second context is created).
    fn free_memory(&self, ordinal: usize) -> Result<u64, String> {
        // SAFETY: driver API signatures: `cuDeviceGet(CUdevice*, int)`,
        // `cuDevicePrimaryCtxRetain(CUcontext*, CUdevice)`, `cuCtxPushCurrent_v2(CUcontext)`,
        // `cuMemGetInfo_v2(size_t*, size_t*)`, `cuCtxPopCurrent_v2(CUcontext*)`,
        // `cuDevicePrimaryCtxRelease_v2(CUdevice)`. The context pushed is popped before return.
        unsafe {
            let get: Symbol<unsafe extern "C" fn(*mut CuDevice, c_int) -> CuResult> =
                self.symbol(b"cuDeviceGet\0")?;
            let retain: Symbol<unsafe extern "C" fn(*mut CuContext, CuDevice) -> CuResult> =
                self.symbol(b"cuDevicePrimaryCtxRetain\0")?;
            let push: Symbol<unsafe extern "C" fn(CuContext) -> CuResult> =
                self.symbol(b"cuCtxPushCurrent_v2\0")?;
            let mem: Symbol<unsafe extern "C" fn(*mut usize, *mut usize) -> CuResult> =
                self.symbol(b"cuMemGetInfo_v2\0")?;
            let pop: Symbol<unsafe extern "C" fn(*mut CuContext) -> CuResult> =
                self.symbol(b"cuCtxPopCurrent_v2\0")?;
            let release: Symbol<unsafe extern "C" fn(CuDevice) -> CuResult> =
                self.symbol(b"cuDevicePrimaryCtxRelease_v2\0")?;
            let mut device: CuDevice = 0;
            check("cuDeviceGet", get(&mut device, ordinal as c_int))?;
            let mut ctx: CuContext = std::ptr::null_mut();
            check("cuDevicePrimaryCtxRetain", retain(&mut ctx, device))?;
            let pushed = check("cuCtxPushCurrent", push(ctx));
            let (mut free, mut total) = (0usize, 0usize);
            let result = pushed.and_then(|()| check("cuMemGetInfo", mem(&mut free, &mut total)));
            let mut popped: CuContext = std::ptr::null_mut();
            if result.is_ok() {
                pop(&mut popped);
            }
            release(device);
            result.map(|()| free as u64)
        }
    }
}
