//! The one door to task memory. Every read and write the kernel makes of memory a ring-3
//! task can reach goes through the two types here:
//!
//! - a [`UserRead`] is a range the kernel checked the task may read, a [`UserWrite`] one it
//!   may write. They are made only by the checks ([`Space::readable`], [`Space::writable`]), or
//!   by `trusted` for memory the kernel vouches for itself (a message's copy it has just
//!   opened to a task, pages it handed over by transfer, a ring-0 party's own buffer);
//! - their methods copy by value, in or out, and never hand out a reference: the task may
//!   rewrite its memory at any moment, so the kernel keeps only what it copied;
//! - each copy runs inside the SMAP window (STAC ... CLAC, `exec::arch::x86_64::usermode`),
//!   so that a kernel running on a task's tables with SMAP on faults on any touch of task
//!   memory made elsewhere. Today the kernel runs on its own tables (the gate switches), where
//!   no page is a user page, so the window is the rule this module keeps, not yet a fence.
//!
//! Nothing else in mmu-mode dereferences a task's address: a function that needs task memory
//! takes one of these types, so the check cannot be skipped on the way to it. A range is
//! checked when it is made and used at once, inside the same gate call, under Forbid: pages
//! cannot change hands in between.
//!
//! Reads are of [`Plain`] types only (every bit pattern valid), since the task chose the bits.

use core::mem::size_of;

use exec::arch::x86_64::usermode::with_user_access;

use crate::space::Space;

/// A type every bit pattern of which is a valid value: what may be read from task memory.
///
/// # Safety
/// Implement only for types with no invalid bit patterns (no `bool`, `char`, enums,
/// references or niches), `Copy` and `repr(C)` or primitive.
pub unsafe trait Plain: Copy {}

// SAFETY: integers and raw pointers have no invalid bit patterns.
unsafe impl Plain for u8 {}
// SAFETY: as above.
unsafe impl Plain for u16 {}
// SAFETY: as above.
unsafe impl Plain for u64 {}
// SAFETY: as above.
unsafe impl Plain for usize {}
// SAFETY: an array of plain values is plain.
unsafe impl<T: Plain, const N: usize> Plain for [T; N] {}
// SAFETY: `Lends` is repr(C) and all u64s (a count and `Lend`s of three u64s each).
unsafe impl Plain for exec::sys_gate::Lends {}

/// A range of a task's memory the kernel checked the task may read.
#[derive(Clone, Copy, Debug)]
pub struct UserRead {
    addr: u64,
    len: u64,
}

/// A range of a task's memory the kernel checked the task may write (and so read).
#[derive(Clone, Copy, Debug)]
pub struct UserWrite {
    addr: u64,
    len: u64,
}

impl Space {
    /// `[addr, addr + len)` as a range the task may read, if it may read every byte of it.
    pub fn readable(&self, addr: u64, len: u64) -> Option<UserRead> {
        self.user_readable(addr, len).then_some(UserRead { addr, len })
    }

    /// `[addr, addr + len)` as a range the task may write, if it may write every byte of it.
    pub fn writable(&self, addr: u64, len: u64) -> Option<UserWrite> {
        self.user_writable(addr, len).then_some(UserWrite { addr, len })
    }

    /// `head`, a range checked writable, grown to `len` bytes from its start, if the task may
    /// write all of it: only the pages past `head`'s first are checked again (a message's
    /// header checked, then its whole length once the header gave it).
    pub fn writable_grown(&self, head: UserWrite, len: u64) -> Option<UserWrite> {
        let page = |a: u64| a & !4095;
        let last = head.addr.checked_add(len.max(1) - 1)?;
        if page(last) == page(head.addr) { Some(UserWrite { addr: head.addr, len }) } else { self.writable(head.addr, len) }
    }
}

/// Where `[offset, offset + n)` of a range of `len` bytes at `addr` starts; panics if it does
/// not lie inside (a kernel bug: callers check lengths against the range first).
#[inline(always)]
fn at(addr: u64, len: u64, offset: u64, n: u64) -> u64 {
    if offset > len || n > len - offset {
        outside();
    }
    addr + offset
}

/// The panic of [`at`], out of line so that the copies stay small.
#[cold]
#[inline(never)]
fn outside() -> ! {
    panic!("uaccess: a copy outside its checked range")
}

impl UserRead {
    /// Memory the kernel vouches for (see [`UserWrite::trusted`]), to read.
    ///
    /// # Safety
    /// As [`UserWrite::trusted`], readable.
    pub unsafe fn trusted(addr: u64, len: u64) -> UserRead {
        UserRead { addr, len }
    }

    pub fn addr(self) -> u64 {
        self.addr
    }

    pub fn len(self) -> u64 {
        self.len
    }

    pub fn is_empty(self) -> bool {
        self.len == 0
    }

    /// `[offset, offset + len)` of this range, if it lies inside.
    pub fn part(self, offset: u64, len: u64) -> Option<UserRead> {
        (offset.checked_add(len)? <= self.len).then_some(UserRead { addr: self.addr + offset, len })
    }

    /// The `T` at `offset`, read once, by value.
    pub fn read<T: Plain>(self, offset: u64) -> T {
        let from = at(self.addr, self.len, offset, size_of::<T>() as u64);
        // SAFETY: the task may read these bytes (checked when the range was made); T: Plain,
        // so any bits the task wrote are a T; read unaligned, by value.
        with_user_access(|| unsafe { (from as *const T).read_unaligned() })
    }

    /// Copies `out.len()` bytes from `offset` into kernel memory.
    pub fn read_into(self, offset: u64, out: &mut [u8]) {
        let from = at(self.addr, self.len, offset, out.len() as u64);
        // SAFETY: readable (checked when made); `out` is the kernel's own and cannot overlap
        // task memory it holds a `&mut` to.
        with_user_access(|| unsafe { core::ptr::copy(from as *const u8, out.as_mut_ptr(), out.len()) });
    }

    /// Copies `n` bytes from `offset` to the kernel memory at `to`.
    ///
    /// # Safety
    /// `to` is writable kernel (exec) memory of `n` bytes.
    pub unsafe fn copy_to_kernel(self, offset: u64, to: *mut u8, n: u64) {
        let from = at(self.addr, self.len, offset, n);
        // SAFETY: readable (checked when made); `to` per the contract; `copy` allows overlap.
        unsafe { copy_long(from as *const u8, to, n as usize) };
    }
}

impl UserWrite {
    /// Memory the kernel vouches for itself: a message's copy it has just opened to a task (in
    /// the receiver's block), pages it handed over by transfer, or a ring-0 party's own buffer
    /// (a ring-0 sender's registered loan, a ring-0 holder's buffer). Copied through the same
    /// door as task memory, so that every copy takes one path.
    ///
    /// # Safety
    /// `[addr, addr + len)` is mapped memory of that kind, and nothing else writes it during
    /// the copies made through the result.
    pub unsafe fn trusted(addr: u64, len: u64) -> UserWrite {
        UserWrite { addr, len }
    }

    /// The same range, to read.
    pub fn to_read(self) -> UserRead {
        UserRead { addr: self.addr, len: self.len }
    }

    /// `[offset, offset + len)` of this range, if it lies inside.
    pub fn part(self, offset: u64, len: u64) -> Option<UserWrite> {
        (offset.checked_add(len)? <= self.len).then_some(UserWrite { addr: self.addr + offset, len })
    }

    /// The `T` at `offset`, read once, by value.
    pub fn read<T: Plain>(self, offset: u64) -> T {
        self.to_read().read(offset)
    }

    /// Writes `v` at `offset`.
    pub fn write<T>(self, offset: u64, v: T) {
        let to = at(self.addr, self.len, offset, size_of::<T>() as u64);
        // SAFETY: the task may write these bytes (checked when made, or given); unaligned.
        with_user_access(|| unsafe { (to as *mut T).write_unaligned(v) });
    }

    /// Copies `src` (kernel memory) to `offset`.
    pub fn write_from(self, offset: u64, src: &[u8]) {
        let to = at(self.addr, self.len, offset, src.len() as u64);
        // SAFETY: writable (checked when made, or given); `src` is the kernel's.
        with_user_access(|| unsafe { core::ptr::copy(src.as_ptr(), to as *mut u8, src.len()) });
    }

    /// Copies `n` bytes from the kernel memory at `from` to `offset`.
    ///
    /// # Safety
    /// `from` is readable kernel (exec) memory of `n` bytes.
    pub unsafe fn copy_from_kernel(self, offset: u64, from: *const u8, n: u64) {
        let to = at(self.addr, self.len, offset, n);
        // SAFETY: writable (checked when made, or given); `from` per the contract.
        unsafe { copy_long(from, to as *mut u8, n as usize) };
    }

    /// Copies `n` bytes from `from` at `from_offset` (a task's memory, maybe another task's,
    /// maybe overlapping) to `offset`.
    pub fn copy_from(self, offset: u64, from: UserRead, from_offset: u64, n: u64) {
        let to = at(self.addr, self.len, offset, n);
        let src = at(from.addr, from.len, from_offset, n);
        // SAFETY: both ranges checked when made (or given); the copy allows overlap.
        unsafe { copy_long(src as *const u8, to as *mut u8, n as usize) };
    }
}

/// Bytes copied between two chances for pending interrupts (see [`copy_long`]).
pub const CHUNK: usize = 64 * 1024;

/// `ptr::copy(from, to, n)` (overlap allowed) inside the user-access window, in chunks of
/// [`CHUNK`] with pending interrupts let in between (`exec::sched::let_interrupts_in`): a gate
/// call runs with interrupts off until its first exec Enable, and a copy of megabytes that a
/// task asks for (a message, MsgRead, MsgWrite) must not hold them off for its whole length.
/// Chunks go from the top down when `to` lies above `from` inside the range, as memmove does.
///
/// # Safety
/// `[from, from + n)` is readable and `[to, to + n)` writable, by the kernel (task memory
/// checked, or kernel memory); nothing else writes them meanwhile.
#[inline(always)]
unsafe fn copy_long(from: *const u8, to: *mut u8, n: usize) {
    if n <= CHUNK {
        // SAFETY: per the contract.
        with_user_access(|| unsafe { core::ptr::copy(from, to, n) });
    } else {
        // SAFETY: per the contract.
        unsafe { copy_chunked(from, to, n) };
    }
}

/// [`copy_long`] of more than a chunk: out of line, off the message path's way.
///
/// # Safety
/// As [`copy_long`].
#[inline(never)]
unsafe fn copy_chunked(from: *const u8, to: *mut u8, n: usize) {
    let downwards = (to as usize) > (from as usize) && (to as usize) < from as usize + n;
    let mut done = 0;
    while done < n {
        let k = CHUNK.min(n - done);
        let at = if downwards { n - done - k } else { done };
        // SAFETY: a part of the ranges of the contract; bytes of `from` this chunk's write may
        // reach are ones already copied (the order above).
        with_user_access(|| unsafe { core::ptr::copy(from.add(at), to.add(at), k) });
        done += k;
        exec::sched::let_interrupts_in();
    }
}

