//! mmu-mode: the heap of a ring-3 task, so that Rust code using `alloc` (a library's
//! `String`s, a command's `Vec`s) runs in ring 3 as it does in ring 0.
//!
//! A ring-3 task cannot touch the kernel heap (kernel memory), so the global allocator sends a
//! ring-3 caller here. Each ring-3 task has a *user block* in its own memory, which FS points
//! at while it runs (set at every switch; the task cannot move FS). The block holds the state
//! of a heap of [`USER_HEAP_SIZE`] bytes, taken through the gate at the first allocation and
//! given back with the task's memory when it ends. A task may be given a larger heap when it
//! is started (a handler that keeps files, say); the size lives in the block, so a task that
//! rewrites it changes only what it asks the gate for, which the gate checks as any request. Nothing here is shared between tasks, so no
//! lock: only the task itself, in ring 3, ever runs this code on its block.

use core::alloc::Layout;
use core::ptr::{NonNull, null_mut};

use linked_list_allocator::Heap;

/// Bytes of a ring-3 task's heap.
pub const USER_HEAP_SIZE: usize = 256 * 1024;

/// The start of a ring-3 task's own memory, where FS points.
#[repr(C)]
pub struct UserBlock {
    /// The block's own address (read through FS).
    this: *mut UserBlock,
    heap: Heap,
    /// Bytes of heap to take at the first allocation.
    heap_size: usize,
    /// The task's own word for its libraries (dos.library keeps its process record here):
    /// ring 3's `tc_UserData`, since a ring-3 task cannot reach its Task.
    user_data: usize,
}

impl UserBlock {
    /// Writes a fresh block at `at` for a heap of `heap_size` bytes (mmu-mode, when it builds
    /// a task's space).
    ///
    /// # Safety
    /// `at` is writable memory of at least `size_of::<UserBlock>()` bytes, suitably aligned,
    /// that will be the task's own.
    pub unsafe fn init_at(at: *mut UserBlock, heap_size: usize) {
        // SAFETY: per the contract.
        unsafe { at.write(UserBlock { this: at, heap: Heap::empty(), heap_size, user_data: 0 }) };
    }
}

/// The running ring-3 task's user block.
///
/// # Safety
/// Called in ring 3, and no other reference to the block is alive while the result is used:
/// only [`alloc`] and [`dealloc`] take it, neither re-enters the other, and no interrupt
/// handler runs in ring 3.
unsafe fn block<'a>() -> &'a mut UserBlock {
    // In ring 3, FS points at the running task's user block, whose first word is its address
    // (set by the switch to this task).
    let this = crate::arch::x86_64::cpu::fs_first_word() as *mut UserBlock;
    // SAFETY: per the contract; the block lives as long as its task.
    unsafe { &mut *this }
}

/// The running ring-3 task's user-data word (see [`UserBlock`]).
///
/// # Safety
/// Called in ring 3. The word is the task's own memory: the caller keeps its own discipline
/// over it (one user, dos.library).
pub unsafe fn user_data() -> *mut usize {
    // SAFETY: per the contract; only the field's address is taken.
    unsafe { &raw mut block().user_data }
}

/// Allocates for the ring-3 caller; null when its heap is full or cannot be made.
///
/// # Safety
/// Called in ring 3, by the global allocator only (which does not re-enter it).
pub unsafe fn alloc(layout: Layout) -> *mut u8 {
    // SAFETY: per the contract.
    let b = unsafe { block() };
    if b.heap.size() == 0 {
        let size = b.heap_size;
        let mem = crate::sys_gate::alloc_mem(size, crate::memory::MemFlags::CLEAR);
        if mem.is_null() {
            return null_mut();
        }
        // SAFETY: fresh memory of the caller's own, `size` bytes, used by nothing else.
        unsafe { b.heap.init(mem, size) };
    }
    b.heap.allocate_first_fit(layout).map_or(null_mut(), |p| p.as_ptr())
}

/// Frees for the ring-3 caller. A pointer outside its heap (memory the kernel allocated) is
/// not the task's to free and is left alone.
///
/// # Safety
/// As GlobalAlloc::dealloc; called in ring 3, by the global allocator only.
pub unsafe fn dealloc(ptr: *mut u8, layout: Layout) {
    // SAFETY: per the contract.
    let b = unsafe { block() };
    let Some(p) = NonNull::new(ptr) else { return };
    if (ptr as usize) < b.heap.bottom() as usize || ptr as usize >= b.heap.top() as usize {
        return;
    }
    // SAFETY: the pointer lies in this heap; GlobalAlloc's caller vouches for the layout.
    unsafe { b.heap.deallocate(p, layout) };
}
