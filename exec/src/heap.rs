//! The kernel heap: Rust's global allocator, placed in the largest free region of RAM below
//! 4 GiB (the part the boot tables map), away from the kernel image.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::NonNull;

use linked_list_allocator::Heap;

use crate::arch::x86_64::{self as arch, cpu};
use crate::memmap::MemoryMap;

/// Lowest address the heap may use: below 1 MiB lie the BIOS data, the PVH start info and the
/// legacy video/ROM holes.
const HEAP_FLOOR: u64 = 0x10_0000;
/// The boot page tables map the first 4 GiB.
const HEAP_CEILING: u64 = 1 << 32;

/// The heap. Guarded by its spin lock, always taken with interrupts disabled so that an
/// interrupt handler that allocates cannot deadlock against the code it interrupted.
static HEAP: spin::Mutex<Heap> = spin::Mutex::new(Heap::empty());

struct KernelAllocator;

// SAFETY: every allocation is served by linked_list_allocator under the HEAP lock, which returns
// blocks of at least the requested size and alignment, or null.
unsafe impl GlobalAlloc for KernelAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        #[cfg(feature = "mmu")]
        if cpu::in_ring3() {
            // SAFETY: in ring 3, from the global allocator.
            return unsafe { crate::user_heap::alloc(layout) };
        }
        cpu::without_interrupts(|| {
            HEAP.lock().allocate_first_fit(layout).map_or(core::ptr::null_mut(), |p| p.as_ptr())
        })
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        #[cfg(feature = "mmu")]
        if cpu::in_ring3() {
            // SAFETY: passed on from our caller; in ring 3, from the global allocator.
            return unsafe { crate::user_heap::dealloc(ptr, layout) };
        }
        let Some(ptr) = NonNull::new(ptr) else { return };
        // SAFETY: the caller guarantees `ptr` came from `alloc` with this `layout`.
        cpu::without_interrupts(|| unsafe { HEAP.lock().deallocate(ptr, layout) })
    }
}

#[global_allocator]
static ALLOCATOR: KernelAllocator = KernelAllocator;

/// Where the heap went and how big it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeapStats {
    pub start: u64,
    pub size: u64,
    pub used: u64,
    pub free: u64,
}

/// The range [`init`] gives the heap: the start of the largest usable range between 1 MiB and
/// 4 GiB that avoids the kernel image, a quarter of it but at least 4 MiB and at most 64 MiB
/// (never more than the range), page-aligned. The rest of RAM is exec memory (alloc_mem).
pub fn choose_region(map: &MemoryMap) -> Option<(u64, u64)> {
    const MIB: u64 = 1 << 20;
    let (start, end) = map.largest_free(HEAP_FLOOR, HEAP_CEILING, arch::kernel_image())?;
    let start = start.next_multiple_of(4096);
    let end = end & !4095;
    if end <= start {
        return None;
    }
    let size = ((end - start) / 4).clamp(4 * MIB, 64 * MIB).min(end - start) & !4095;
    Some((start, start + size))
}

/// The lowest and highest addresses exec memory may use (the boot tables map the first 4 GiB).
pub const EXEC_MEMORY_LIMITS: (u64, u64) = (HEAP_FLOOR, HEAP_CEILING);

/// Places the heap according to the memory map. Call once, at boot, before anything allocates.
/// Returns the region used, or `None` if the map leaves no room (the caller raises the alert).
pub fn init(map: &MemoryMap) -> Option<(u64, u64)> {
    let (start, end) = choose_region(map)?;
    cpu::without_interrupts(|| {
        let mut heap = HEAP.lock();
        assert!(heap.size() == 0, "heap::init called twice");
        // SAFETY: [start, end) is usable RAM per the memory map, identity-mapped, outside the
        // kernel image, and handed to the heap exactly once (asserted above).
        unsafe { heap.init(start as *mut u8, (end - start) as usize) };
    });
    Some((start, end))
}

/// Current heap figures. May be called from an interrupt.
pub fn stats() -> HeapStats {
    cpu::without_interrupts(|| {
        let h = HEAP.lock();
        HeapStats { start: h.bottom() as u64, size: h.size() as u64, used: h.used() as u64, free: h.free() as u64 }
    })
}
