//! DOS benchmarks for `-append bench`: file work through the RAM: handler, every operation a
//! packet (a message to the handler's task and back).
//!
//! - `dos_read` 64 B: one `Read()` of 64 bytes from a RAM: file (one packet round trip);
//! - `dos_copy` 1 MiB: a whole COPY within RAM: (open both, 16 KiB reads and writes, close).
//!
//! The caller is the boot task (ring 0) in both builds. RAM: runs in ring 0 in the flat build
//! and follows the client's pointers; in the mmu build it runs in ring 3, in its own address
//! space, and each packet, its data included, is copied into its memory and back: the mmu
//! column is what that protection costs on file work.

use alloc::vec;

use exec::bench::measure_checked;

// Through dos.library's table, as a program calls DOS.
use super::{close, delete_file, end_process, open};
use crate::dosdefs::{MODE_NEWFILE, MODE_OLDFILE, OFFSET_BEGINNING};

const MIB: usize = 1 << 20;

/// The word a bench file holds at byte `offset` (a multiple of 8): the offset itself, so a read
/// from the wrong place shows. (mmu-mode's ring-3 DOS row writes its file the same way.)
pub fn word_at(offset: usize) -> [u8; 8] {
    (offset as u64).to_le_bytes()
}

/// Whether `buf`, read from byte `offset` of a bench file, holds what the file was written with.
pub fn holds(buf: &[u8], offset: usize) -> bool {
    buf.chunks_exact(8).enumerate().all(|(i, w)| w == word_at(offset + i * 8))
}

/// The DOS rows. Each run is checked, outside the timed part: every `Read` returned the file's
/// bytes from the right place, every COPY wrote the whole file, and the last copy's contents
/// are read back and compared.
pub fn run() {
    let mut block = vec![0u8; 16 * 1024];
    let Ok(mut f) = open("RAM:bench.src", MODE_NEWFILE) else {
        exec::kprintln!("bench missing name=dos_read size=64: RAM: would not open a file");
        return;
    };
    for n in 0..MIB / block.len() {
        for (i, w) in block.chunks_exact_mut(8).enumerate() {
            w.copy_from_slice(&word_at(n * 16 * 1024 + i * 8));
        }
        let _ = f.write(&block);
    }
    let _ = close(f);
    if let Ok(mut f) = open("RAM:bench.src", MODE_OLDFILE) {
        let mut buf = [0u8; 64];
        let mut at = 0;
        measure_checked("dos_read", 64, false, exec::bench::count(10_000), |clock, _| {
            clock.start();
            let got = f.read(&mut buf);
            clock.stop();
            match got {
                Ok(64) if holds(&buf, at) => {
                    at += 64;
                    true
                }
                // At the end of the file: from the start again.
                Ok(0) => {
                    at = 0;
                    f.seek(0, OFFSET_BEGINNING).is_ok()
                }
                _ => false,
            }
        });
        let _ = close(f);
    }
    let mut buf = vec![0u8; 16 * 1024];
    measure_checked("dos_copy", MIB, false, exec::bench::count(20), |clock, _| {
        clock.start();
        let mut copied = 0;
        if let (Ok(mut src), Ok(mut dst)) = (open("RAM:bench.src", MODE_OLDFILE), open("RAM:bench.dst", MODE_NEWFILE)) {
            while let Ok(n) = src.read(&mut buf) {
                if n == 0 || dst.write(&buf[..n]) != Ok(n) {
                    break;
                }
                copied += n;
            }
            let _ = close(dst);
            let _ = close(src);
        }
        clock.stop();
        copied == MIB
    });
    if !copy_holds(&mut buf) {
        exec::kprintln!("bench missing name=dos_copy size={MIB}: the copy's contents are wrong");
    }
    let _ = delete_file("RAM:bench.dst");
    let _ = delete_file("RAM:bench.src");
    end_process();
}

/// Whether RAM:bench.dst holds what RAM:bench.src was written with (read through `buf`).
fn copy_holds(buf: &mut [u8]) -> bool {
    let Ok(mut f) = open("RAM:bench.dst", MODE_OLDFILE) else { return false };
    let mut at = 0;
    let mut right = true;
    while let Ok(n) = f.read(buf) {
        if n == 0 {
            break;
        }
        right &= holds(&buf[..n], at);
        at += n;
    }
    let _ = close(f);
    right && at == MIB
}
