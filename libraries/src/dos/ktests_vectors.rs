//! In-kernel tests: dos.library's calls are vectors of its table. A call patched with
//! set_function is what every caller reaches, a FileHandle's methods included, and putting the
//! old entry back restores the call.

use core::sync::atomic::{AtomicUsize, Ordering};

use exec::ktest::TestResult;
use exec::library::set_function;
use exec::{ensure, ensure_eq};

use super::file::FileHandle;
use super::lock::FileLock;
use super::{DOS_LIBRARY, DosVectors};
use crate::dosdefs::{MODE_NEWFILE, SHARED_LOCK};

/// Calls that reached the patches below. Atomic: written by the patches, read by the test.
static READS: AtomicUsize = AtomicUsize::new(0);
static LOCKS: AtomicUsize = AtomicUsize::new(0);

fn counted_read(fh: &mut FileHandle, buf: &mut [u8]) -> Result<usize, i64> {
    READS.fetch_add(1, Ordering::SeqCst);
    super::file::read(fh, buf)
}

fn counted_lock(name: &str, mode: i64) -> Result<FileLock, i64> {
    LOCKS.fetch_add(1, Ordering::SeqCst);
    super::lock::lock(name, mode)
}

fn index_of(offset: usize) -> usize {
    offset / size_of::<usize>()
}

/// Read (through a FileHandle's method) and Lock reach what set_function put in the table,
/// and the implementations again once the old entries are back.
pub(super) fn calls_go_through_the_vector_table() -> TestResult {
    let lib = DOS_LIBRARY.get();
    let read_at = index_of(core::mem::offset_of!(DosVectors, read));
    let lock_at = index_of(core::mem::offset_of!(DosVectors, lock));
    READS.store(0, Ordering::SeqCst);
    LOCKS.store(0, Ordering::SeqCst);
    // SAFETY: a live library; each patch has exactly its entry's signature and is static.
    let (old_read, old_lock) = unsafe {
        (set_function(lib, read_at, counted_read as *const ()), set_function(lib, lock_at, counted_lock as *const ()))
    };
    ensure!(!old_read.is_null() && !old_lock.is_null(), "an entry was out of range");
    let r = (|| {
        let mut f = super::open("RAM:t.vectors", MODE_NEWFILE)?;
        f.write(b"vectors")?;
        f.seek(0, crate::dosdefs::OFFSET_BEGINNING)?;
        let mut buf = [0u8; 16];
        let n = f.read(&mut buf)?;
        super::close(f)?;
        let l = super::lock("RAM:t.vectors", SHARED_LOCK)?;
        super::unlock(l)?;
        Ok::<_, i64>(n)
    })();
    // SAFETY: as above; the old entries are the implementations.
    unsafe {
        set_function(lib, read_at, old_read);
        set_function(lib, lock_at, old_lock);
    }
    let (reads, locks) = (READS.load(Ordering::SeqCst), LOCKS.load(Ordering::SeqCst));
    let again = super::lock("RAM:t.vectors", SHARED_LOCK).and_then(super::unlock);
    let locks_after = LOCKS.load(Ordering::SeqCst);
    let deleted = super::delete_file("RAM:t.vectors");
    super::end_process();
    ensure_eq!(r, Ok(7), "the file calls");
    ensure_eq!(reads, 1, "FileHandle::read did not go through the table");
    ensure_eq!(locks, 1, "Lock did not go through the table");
    ensure_eq!(again, Ok(()), "Lock after the old entry went back");
    ensure_eq!(locks_after, 1, "the patch stayed in the table");
    ensure_eq!(deleted, Ok(()));
    Ok(())
}
