use alloc::boxed::Box;
use alloc::vec::Vec;
use core::alloc::Layout;

use crate::heap;
use crate::ktest::TestResult;
use crate::{ensure, ensure_eq};

/// The heap is the region the memory map offers, not a fixed array in the image.
pub fn sized_from_memory_map() -> TestResult {
    let map = crate::boot::memory_map().ok_or("no boot memory map")?;
    let (start, end) = heap::choose_region(map).ok_or("map offers no heap region")?;
    let s = heap::stats();
    ensure_eq!((s.start, s.size), (start, end - start));
    let (ks, ke) = crate::arch::x86_64::kernel_image();
    ensure!(end <= ks || start >= ke, "heap {start:#x}..{end:#x} overlaps the kernel {ks:#x}..{ke:#x}");
    ensure!(s.size >= 4 << 20, "heap only {} bytes", s.size);
    Ok(())
}

pub fn alloc_free_baseline() -> TestResult {
    let before = heap::stats().used;
    let mut boxes: Vec<Box<[u8]>> = Vec::new();
    for i in 0..2000usize {
        boxes.push(alloc::vec![i as u8; 1 + (i * 37) % 700].into_boxed_slice());
        if i % 3 == 0 {
            boxes.swap_remove(i / 7 % boxes.len());
        }
    }
    ensure!(heap::stats().used > before);
    for (i, b) in boxes.iter().enumerate() {
        ensure!(b.iter().all(|&x| x == b[0]), "block {i} corrupted");
    }
    drop(boxes);
    ensure_eq!(heap::stats().used, before);
    Ok(())
}

pub fn large_allocation() -> TestResult {
    let n = 4 << 20;
    let mut v: Vec<u64> = Vec::with_capacity(n / 8);
    for i in 0..n / 8 {
        v.push(i as u64 * 3);
    }
    ensure!(v.iter().enumerate().all(|(i, &x)| x == i as u64 * 3));
    Ok(())
}

pub fn alignment() -> TestResult {
    for align in [8usize, 64, 4096, 2 << 20] {
        let layout = Layout::from_size_align(100, align).map_err(|e| alloc::format!("{e}"))?;
        // SAFETY: layout has non-zero size; the block is freed with the same layout.
        unsafe {
            let p = alloc::alloc::alloc(layout);
            ensure!(!p.is_null(), "no block aligned to {align}");
            ensure!((p as usize).is_multiple_of(align), "{p:p} not aligned to {align}");
            alloc::alloc::dealloc(p, layout);
        }
    }
    Ok(())
}

/// Asking for more than the heap holds is an error the caller sees, not a crash.
pub fn exhaustion_is_an_error() -> TestResult {
    let mut v: Vec<u8> = Vec::new();
    let too_much = heap::stats().size as usize + 1;
    ensure!(v.try_reserve_exact(too_much).is_err());
    ensure!(v.try_reserve_exact(4096).is_ok());
    Ok(())
}
