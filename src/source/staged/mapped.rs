//! A file's bytes, mapped read-only instead of copied — as git maps its index. Copying the
//! index of a 100k-file repository (8.6 MB) into fresh memory took ~10 ms here, a third of a
//! clean `staged` run: most of it the kernel faulting in the new buffer page by page. A
//! mapping shares the page cache and is only touched where it is read.
//!
//! This is the crate's second reviewed use of unsafe code (`lib.rs`): `mmap` and the slice
//! over the mapping. The mapping is private and read-only, its length is the file's size
//! when mapped, and it is unmapped once, on drop. Git never rewrites an index in place: it
//! writes a new file and renames it over the old one, and a mapping keeps the old file's
//! pages. A file truncated in place while mapped (not something git does) would end the
//! process with SIGBUS when a page past the new end is read: a hook that fails, never a
//! silent pass. Where mapping fails (an empty file, a filesystem without mmap) the file is
//! read into memory instead.

use std::fs::File;
use std::io::{self, Read as _};
use std::ops::Deref;
use std::path::Path;

/// The bytes of a file: mapped where possible, else read.
pub enum Bytes {
    Owned(Vec<u8>),
    #[cfg(unix)]
    Mapped(map::Map),
}

impl Deref for Bytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Owned(v) => v,
            #[cfg(unix)]
            Bytes::Mapped(m) => m.bytes(),
        }
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(v: Vec<u8>) -> Bytes {
        Bytes::Owned(v)
    }
}

/// The file at `path`, mapped (or read). Not for files that are written in place.
pub fn open(path: &Path) -> io::Result<Bytes> {
    let mut f = File::open(path)?;
    let len = f.metadata()?.len();
    let len = usize::try_from(len)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "file too large"))?;
    #[cfg(unix)]
    if len > 0 {
        if let Ok(m) = map::Map::new(&f, len) {
            return Ok(Bytes::Mapped(m));
        }
    }
    let mut v = Vec::with_capacity(len);
    f.read_to_end(&mut v)?;
    Ok(Bytes::Owned(v))
}

#[cfg(unix)]
#[allow(unsafe_code)]
mod map {
    use std::ffi::c_void;
    use std::fs::File;
    use std::io;

    use rustix::mm::{mmap, munmap, MapFlags, ProtFlags};

    /// A private, read-only mapping of `len > 0` bytes of a file, unmapped on drop.
    pub struct Map {
        ptr: *mut c_void,
        len: usize,
    }

    impl Map {
        pub fn new(f: &File, len: usize) -> io::Result<Map> {
            // SAFETY: a new mapping chosen by the kernel (null address hint), so no existing
            // memory is replaced; `len` is non-zero. The file descriptor may be closed
            // afterwards: the mapping holds its own reference to the file.
            let ptr = unsafe {
                mmap(
                    std::ptr::null_mut(),
                    len,
                    ProtFlags::READ,
                    MapFlags::PRIVATE,
                    f,
                    0,
                )
            }?;
            Ok(Map { ptr, len })
        }

        pub fn bytes(&self) -> &[u8] {
            // SAFETY: `ptr` is a live, readable mapping of `len` bytes (unmapped only in
            // drop, which takes `&mut self`), and nothing in this process writes to it
            // (read-only). See the module's note on files changed underneath.
            unsafe { std::slice::from_raw_parts(self.ptr as *const u8, self.len) }
        }
    }

    impl Drop for Map {
        fn drop(&mut self) {
            // SAFETY: the mapping made in `new`, unmapped once; no slice from `bytes`
            // outlives `self`.
            let _ = unsafe { munmap(self.ptr, self.len) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_or_reads_the_whole_file() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&p, &data).unwrap();
        let b = open(&p).unwrap();
        #[cfg(unix)]
        assert!(matches!(b, Bytes::Mapped(_)));
        assert_eq!(&*b, &data[..]);
        std::fs::write(&p, b"").unwrap();
        assert!(open(&p).unwrap().is_empty());
        assert!(open(&d.path().join("missing")).is_err());
    }
}
