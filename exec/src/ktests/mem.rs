use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};

use super::util::{alerts, arg, from_arg, spawn};
use crate::alert::{AN_BAD_FREE_ADDR, AN_FREE_TWICE};
use crate::ktest::TestResult;
use crate::memory::*;
use crate::pool::*;
use crate::{ensure, ensure_eq};

/// 10,000 mixed allocations and frees; avail_mem back at its baseline after.
pub fn churn_back_to_baseline() -> TestResult {
    let base = avail_mem(MemFlags::ANY);
    let mut live: Vec<(*mut u8, usize)> = Vec::new();
    let mut seed = 0x1234_5678u64;
    for _ in 0..10_000 {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let r = (seed >> 33) as usize;
        if !r.is_multiple_of(3) || live.is_empty() {
            let size = 1 + r % 3000;
            let flags = if r.is_multiple_of(7) { MemFlags::REVERSE | MemFlags::CLEAR } else { MemFlags::ANY };
            let p = alloc_mem(size, flags);
            ensure!(!p.is_null(), "allocation of {size} failed");
            // SAFETY: a fresh block of `size` bytes.
            unsafe { p.write_bytes(r as u8, size) };
            live.push((p, size));
        } else {
            let (p, size) = live.swap_remove(r % live.len());
            // SAFETY: allocated above with this size.
            unsafe { free_mem(p, size) };
        }
    }
    for (p, size) in live {
        // SAFETY: as above.
        unsafe { free_mem(p, size) };
    }
    ensure_eq!(avail_mem(MemFlags::ANY), base);
    Ok(())
}

pub fn zero_and_null() -> TestResult {
    let base = avail_mem(MemFlags::ANY);
    ensure!(alloc_mem(0, MemFlags::ANY).is_null());
    ensure!(alloc_vec(0, MemFlags::ANY).is_null());
    ensure!(alloc_mem(usize::MAX, MemFlags::ANY).is_null());
    ensure!(alloc_mem(avail_mem(MemFlags::TOTAL) + 1, MemFlags::ANY).is_null());
    let (n0, _) = alerts();
    // SAFETY: freeing null is defined to do nothing.
    unsafe {
        free_mem(core::ptr::null_mut(), 100);
        free_vec(core::ptr::null_mut());
    }
    ensure_eq!(alerts().0, n0);
    ensure_eq!(avail_mem(MemFlags::ANY), base);
    Ok(())
}

pub fn clear_and_reverse() -> TestResult {
    let dirty = alloc_mem(4096, MemFlags::ANY);
    // SAFETY: our block.
    unsafe {
        dirty.write_bytes(0xee, 4096);
        free_mem(dirty, 4096);
    }
    let p = alloc_mem(4096, MemFlags::CLEAR);
    // SAFETY: our block of 4096 bytes.
    let clear = unsafe { core::slice::from_raw_parts(p, 4096) }.iter().all(|&b| b == 0);
    let low = alloc_mem(64, MemFlags::ANY);
    let high = alloc_mem(64, MemFlags::REVERSE);
    ensure!(clear, "CLEAR memory not zeroed");
    ensure!(high > low, "REVERSE came from below: {high:p} <= {low:p}");
    ensure!((high as usize).is_multiple_of(16) && (low as usize).is_multiple_of(16));
    // SAFETY: our blocks.
    unsafe {
        free_mem(p, 4096);
        free_mem(low, 64);
        free_mem(high, 64);
    }
    Ok(())
}

pub fn largest_and_total() -> TestResult {
    let total = avail_mem(MemFlags::TOTAL);
    let free = avail_mem(MemFlags::ANY);
    let largest = avail_mem(MemFlags::LARGEST);
    ensure!(total >= free && free >= largest && largest > 1 << 20, "{total} {free} {largest}");
    let p = alloc_mem(largest, MemFlags::ANY);
    ensure!(!p.is_null(), "the largest block could not be allocated");
    ensure!(alloc_mem(largest, MemFlags::ANY).is_null() || avail_mem(MemFlags::TOTAL) > 2 * largest);
    // SAFETY: our block.
    unsafe { free_mem(p, largest) };
    ensure_eq!(avail_mem(MemFlags::ANY), free);
    Ok(())
}

pub fn vec_and_type_of_mem() -> TestResult {
    let base = avail_mem(MemFlags::ANY);
    let v = alloc_vec(1000, MemFlags::CLEAR);
    ensure!(!v.is_null());
    ensure_eq!(type_of_mem(v), MemFlags::PUBLIC | MemFlags::FAST);
    let on_stack = 0u8;
    ensure_eq!(type_of_mem(&on_stack), MemFlags::empty());
    // SAFETY: from alloc_vec.
    unsafe { free_vec(v) };
    ensure_eq!(avail_mem(MemFlags::ANY), base);
    Ok(())
}

/// Wrong size, double free, and a pointer exec never gave out: each an alert, nothing freed.
pub fn bad_frees_alert() -> TestResult {
    let base = avail_mem(MemFlags::ANY);
    let p = alloc_mem(100, MemFlags::ANY);
    let after_alloc = avail_mem(MemFlags::ANY);
    let (n0, _) = alerts();
    let on_stack = [0u8; 64];
    // SAFETY: each call is one the memory checks must refuse without touching memory.
    unsafe {
        free_mem(p, 99);
        ensure_eq!(alerts(), (n0 + 1, AN_FREE_TWICE));
        free_mem(on_stack.as_ptr() as *mut u8, 64);
        ensure_eq!(alerts(), (n0 + 2, AN_BAD_FREE_ADDR));
        free_mem(p.add(16), 84);
        ensure_eq!(alerts(), (n0 + 3, AN_BAD_FREE_ADDR));
        ensure_eq!(avail_mem(MemFlags::ANY), after_alloc);
        free_mem(p, 100);
        free_mem(p, 100);
        ensure_eq!(alerts(), (n0 + 4, AN_FREE_TWICE));
    }
    ensure_eq!(avail_mem(MemFlags::ANY), base);
    Ok(())
}

fn allocator(a: usize) {
    // SAFETY: the test joins first.
    let out: &AtomicUsize = unsafe { from_arg(a) };
    alloc_mem(5000, MemFlags::ANY); // freed when the task ends
    out.store(alloc_mem(3000, MemFlags::PUBLIC) as usize, Ordering::SeqCst); // survives
}

/// A task's private memory goes when it ends; its PUBLIC memory stays.
pub fn public_survives_private_freed() -> TestResult {
    let base = avail_mem(MemFlags::ANY);
    let out = AtomicUsize::new(0);
    spawn("allocator", 1, allocator, arg(&out))?.join();
    let public = out.load(Ordering::SeqCst) as *mut u8;
    ensure!(!public.is_null());
    ensure_eq!(base - avail_mem(MemFlags::ANY), 3000usize.next_multiple_of(16) + 64);
    // SAFETY: the public block is still live; we free it.
    unsafe { free_mem(public, 3000) };
    ensure_eq!(avail_mem(MemFlags::ANY), base);
    Ok(())
}

pub fn pools() -> TestResult {
    let base = avail_mem(MemFlags::ANY);
    ensure!(create_pool(MemFlags::ANY, 1000, 2000).is_null(), "threshold above puddle size accepted");
    let pool = create_pool(MemFlags::CLEAR, 4096, 1024);
    ensure!(!pool.is_null());
    // SAFETY: the pool is ours; blocks are used within their sizes.
    unsafe {
        ensure!(alloc_pooled(pool, 0).is_null());
        let mut small = Vec::new();
        for i in 0..200usize {
            let p = alloc_pooled(pool, 1 + i % 300);
            ensure!(!p.is_null());
            ensure!(core::slice::from_raw_parts(p, 1 + i % 300).iter().all(|&b| b == 0), "pool CLEAR");
            p.write_bytes(0x55, 1 + i % 300);
            small.push((p, 1 + i % 300));
        }
        let big = alloc_pooled(pool, 50_000);
        ensure!(!big.is_null());
        big.write_bytes(1, 50_000);
        for (p, size) in small.drain(..100) {
            free_pooled(pool, p, size);
        }
        free_pooled(pool, big, 50_000);
        let (n0, _) = alerts();
        let stray = [0u8; 32];
        free_pooled(pool, stray.as_ptr() as *mut u8, 32);
        ensure_eq!(alerts(), (n0 + 1, AN_BAD_FREE_ADDR));
        // The rest goes with the pool.
        delete_pool(pool);
    }
    ensure_eq!(avail_mem(MemFlags::ANY), base);
    Ok(())
}
