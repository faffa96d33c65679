//! The memory a host and one worker process share, where a call's images are put: an
//! anonymous file (`memfd_create`) mapped by both. The host makes it, grows it when a call's
//! images need more, and says how large it is in every call; the worker maps it again when
//! it has grown.

use std::{
    io,
    os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd},
};

use qscore_core::{ImageView, PixelFormat, PlaneView};

use super::protocol::Img;

/// Planes start at multiples of this many bytes.
const ALIGN: usize = 64;

/// A shared region, mapped into this process.
#[derive(Debug)]
pub(crate) struct Region {
    fd: OwnedFd,
    map: *mut u8,
    len: usize,
}

// SAFETY: the mapping is owned by this value; the host and the worker never touch the
// region while the other uses it (one call at a time, answered before the next).
unsafe impl Send for Region {}

impl Region {
    /// A new, empty region (host side).
    pub(crate) fn create() -> io::Result<Self> {
        // SAFETY: a plain syscall with a NUL-terminated name.
        let fd = unsafe { libc::memfd_create(c"qscore-images".as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just opened and is owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Self {
            fd,
            map: std::ptr::null_mut(),
            len: 0,
        })
    }

    /// The region a worker was handed as `fd` (worker side), mapped on first use.
    ///
    /// # Safety
    /// `fd` must be an open file descriptor that nothing else owns.
    pub(crate) unsafe fn inherited(fd: RawFd) -> Self {
        Self {
            // SAFETY: as the caller promises.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
            map: std::ptr::null_mut(),
            len: 0,
        }
    }

    /// The descriptor, for the worker to inherit.
    pub(crate) fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Its size now.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Maps `len` bytes of the file (growing the file first when `grow`).
    fn map(&mut self, len: usize, grow: bool) -> io::Result<()> {
        if grow {
            let size = libc::off_t::try_from(len).map_err(io::Error::other)?;
            // SAFETY: a plain syscall on our descriptor.
            if unsafe { libc::ftruncate(self.fd.as_raw_fd(), size) } != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        self.unmap();
        // SAFETY: maps `len` bytes of our descriptor, shared, at an address the kernel picks.
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                self.fd.as_raw_fd(),
                0,
            )
        };
        if map == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        self.map = map.cast();
        self.len = len;
        Ok(())
    }

    fn unmap(&mut self) {
        if !self.map.is_null() {
            // SAFETY: `map` is a mapping of `len` bytes made by `map`.
            unsafe { libc::munmap(self.map.cast(), self.len) };
            self.map = std::ptr::null_mut();
            self.len = 0;
        }
    }

    /// The worker's side: the region has grown to `len` bytes.
    pub(crate) fn follow(&mut self, len: usize) -> io::Result<()> {
        if len != self.len && len > 0 {
            self.map(len, false)?;
        }
        Ok(())
    }

    fn bytes(&self) -> &[u8] {
        if self.map.is_null() {
            return &[];
        }
        // SAFETY: `map` points to `len` mapped bytes, alive as long as `self`.
        unsafe { std::slice::from_raw_parts(self.map, self.len) }
    }

    /// Copies `images` into the region (growing it as needed) and says where each lies.
    pub(crate) fn put(&mut self, images: &[&ImageView<'_>]) -> io::Result<Vec<Img>> {
        let mut at = 0usize;
        let mut placed = Vec::with_capacity(images.len());
        for image in images {
            let mut planes = Vec::with_capacity(image.planes.len());
            for plane in image.planes.iter() {
                planes.push((at, plane.data.len(), plane.stride));
                at = (at + plane.data.len()).next_multiple_of(ALIGN);
            }
            placed.push(Img {
                format: image.format.0,
                width: image.width,
                height: image.height,
                planes,
            });
        }
        if at > self.len {
            // Grown by half again, so that slowly growing calls remap rarely.
            self.map(
                at.max(self.len + self.len / 2).next_multiple_of(1 << 16),
                true,
            )?;
        }
        for (image, img) in images.iter().zip(&placed) {
            for (plane, &(offset, len, _)) in image.planes.iter().zip(&img.planes) {
                // SAFETY: `offset + len <= self.len` (the region was grown to hold them all);
                // the source is a plane of a caller's image, which cannot lie in the region.
                unsafe {
                    std::ptr::copy_nonoverlapping(plane.data.as_ptr(), self.map.add(offset), len);
                }
            }
        }
        Ok(placed)
    }

    /// The planes of `img` in the region (worker side), checked to lie inside it.
    pub(crate) fn planes(&self, img: &Img) -> io::Result<Vec<PlaneView<'_>>> {
        let bytes = self.bytes();
        img.planes
            .iter()
            .map(|&(offset, len, stride)| {
                let end = offset.checked_add(len).filter(|&e| e <= bytes.len());
                end.map(|end| PlaneView::new(&bytes[offset..end], stride))
                    .ok_or_else(|| io::Error::other("an image lies outside the shared region"))
            })
            .collect()
    }
}

/// An image over planes in the region.
pub(crate) fn view<'a>(img: &Img, planes: &'a [PlaneView<'a>]) -> ImageView<'a> {
    ImageView::new(PixelFormat(img.format), img.width, img.height, planes)
}

impl Drop for Region {
    fn drop(&mut self) {
        self.unmap();
    }
}
