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

use exec::bench::measure;

use super::file::{close, open};
use super::lock::delete_file;
use super::process::end_process;
use crate::dosdefs::{MODE_NEWFILE, MODE_OLDFILE, OFFSET_BEGINNING};

const MIB: usize = 1 << 20;

/// The DOS rows.
pub fn run() {
    let block = vec![0x5au8; 16 * 1024];
    let Ok(mut f) = open("RAM:bench.src", MODE_NEWFILE) else {
        exec::kprintln!("bench: RAM: would not open a file");
        return;
    };
    for _ in 0..MIB / block.len() {
        let _ = f.write(&block);
    }
    let _ = close(f);
    if let Ok(mut f) = open("RAM:bench.src", MODE_OLDFILE) {
        let mut buf = [0u8; 64];
        measure("dos_read", 64, false, exec::bench::count(10_000), || {
            if f.read(&mut buf) != Ok(64) {
                let _ = f.seek(0, OFFSET_BEGINNING);
            }
        });
        let _ = close(f);
    }
    let mut buf = vec![0u8; 16 * 1024];
    measure("dos_copy", MIB, false, exec::bench::count(20), || {
        let (Ok(mut src), Ok(mut dst)) = (open("RAM:bench.src", MODE_OLDFILE), open("RAM:bench.dst", MODE_NEWFILE)) else { return };
        while let Ok(n) = src.read(&mut buf) {
            if n == 0 || dst.write(&buf[..n]) != Ok(n) {
                break;
            }
        }
        let _ = close(dst);
        let _ = close(src);
    });
    let _ = delete_file("RAM:bench.dst");
    let _ = delete_file("RAM:bench.src");
    end_process();
}
