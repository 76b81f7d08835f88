//! Bare calls a ring-3 task makes through the gate (their results as they cross, errors
//! encoded: for the benchmarks and for tests of the encoding), and how such a task is started.

use alloc::boxed::Box;

use exec::user_heap::UserBlock;
use exec::task::Task;

use exec::sys_gate::GateError::BadPointer;
use exec::sys_gate::{Call, raw_call};

use crate::pte::Access;
use crate::space::Space;

/// How ring 3 names `t`: its number (`exec::task_table`), in the `*mut Task` that ring 3's
/// exec calls take; null for a task that is not live. What a ring-0 task hands a ring-3 task
/// that is to signal it. Walks the task lists (not for a hot path).
#[allow(clippy::not_unsafe_ptr_arg_deref, reason = "`t` is read only once found among the live tasks")]
pub fn ring3_name(t: *mut Task) -> *mut Task {
    exec::sched::forbid(); // nothing ends it between the check and the read
    // SAFETY: a live task (just checked, under Forbid).
    let id = if exec::task::is_live(t) { unsafe { (*t).id() } } else { 0 };
    exec::sched::permit();
    id as *mut Task
}

/// The calling task's own number (what ring 3 names a task by).
pub fn find_self() -> u64 {
    raw_call(Call::FindSelf, 0, 0, 0)
}

/// Waits for any of `mask`; returns what arrived.
pub fn wait(mask: u32) -> u32 {
    raw_call(Call::Wait, mask as u64, 0, 0) as u32
}

/// Signals the task numbered `task`; 0, or ERR_BAD_POINTER if it names no live task.
pub fn signal(task: u64, mask: u32) -> u64 {
    raw_call(Call::Signal, task, mask as u64, 0)
}

/// Allocates `len` bytes of whole pages, open to the caller alone; 0 without memory.
pub fn alloc_mem(len: u64) -> u64 {
    raw_call(Call::AllocMem, len, 0, 0)
}

/// Creates a private port for the caller; its handle, or 0.
pub fn create_port() -> u64 {
    raw_call(Call::CreatePort, 0, 0, 0)
}

/// Sends the message at `msg` to `port` by copy or transfer (`crate::msg::PUT_*`).
pub fn put_msg(port: u64, msg: u64, how: u64) -> u64 {
    raw_call(Call::PutMsg, port, msg, how)
}

/// Waits for a message at the caller's `port` and takes it (one gate call for exec's
/// wait_port + get_msg).
pub fn wait_get(port: u64) -> u64 {
    raw_call(Call::WaitPort, port, 1, 0)
}

/// do_msg in one gate call: sends `msg` to `port` (`crate::msg::PUT_*`), waits at its reply
/// port and takes the first message there.
pub fn do_msg(port: u64, msg: u64, how: u64) -> u64 {
    raw_call(Call::DoMsg, port, msg, how)
}

/// reply_wait in one gate call: replies `msg` (unless 0), waits at `port` and takes.
pub fn reply_wait(msg: u64, port: u64) -> u64 {
    raw_call(Call::ReplyWait, msg, port, 0)
}

/// Replies a message the caller holds.
pub fn reply_msg(msg: u64) -> u64 {
    raw_call(Call::ReplyMsg, msg, 0, 0)
}

/// Deletes one of the caller's ports.
pub fn delete_port(port: u64) -> u64 {
    raw_call(Call::DeletePort, port, 0, 0)
}

/// Ends the calling task.
pub fn exit() -> ! {
    raw_call(Call::Exit, 0, 0, 0);
    unreachable!("the gate ended the task")
}

/// User stack of a ring-3 task, unless its starter asks for more (up to [`MAX_USER_STACK`]).
pub const USER_STACK: usize = 16 * 1024;
/// The largest user stack a ring-3 add_task may ask for (charged to the family's quota).
pub const MAX_USER_STACK: usize = 1 << 20;

/// A space for a task the running task starts at `pri`, admitted to its family (see
/// `policy`: a ring-0 caller starts a new family, a ring-3 one passes its own on and holds
/// `pri` to its ceiling). `None` without memory or past the family's quota.
fn new_space(pri: i8) -> Option<Box<Space>> {
    new_space_with_stack(pri, USER_STACK)
}

/// [`new_space`] with a user stack of `stack` bytes.
fn new_space_with_stack(pri: i8, stack: usize) -> Option<Box<Space>> {
    let me = exec::task::find_task(None);
    // SAFETY: the running task is live; its policy is not changed during this call.
    let parent = unsafe { crate::space::policy_of(me) };
    let (policy, _) = crate::policy::for_child(parent, pri);
    crate::policy::admit_task(&policy).ok()?;
    let family = policy.family;
    let space = Space::new(stack, policy);
    if space.is_none() {
        crate::policy::release_task(family);
    }
    space
}

/// Starts `entry(arg)` as task `name` in ring 3 with its own address space. `entry` must end
/// with [`exit`] (there is nothing to return to). Result: the task, or null without memory
/// (or past its family's quota).
pub fn add_user_task(name: &str, pri: i8, entry: extern "C" fn(u64) -> !, arg: u64) -> *mut Task {
    let Some(space) = new_space(pri) else { return core::ptr::null_mut() };
    add_user_task_in(name, pri, entry, arg, space, exec::user_heap::USER_HEAP_SIZE)
}

/// [`add_user_task`] with a heap of `heap_size` bytes instead of the usual
/// [`exec::user_heap::USER_HEAP_SIZE`] (taken at its first allocation, within its family's
/// quota).
pub fn add_user_task_with_heap(name: &str, pri: i8, entry: extern "C" fn(u64) -> !, arg: u64, heap_size: usize) -> *mut Task {
    let Some(space) = new_space(pri) else { return core::ptr::null_mut() };
    add_user_task_in(name, pri, entry, arg, space, heap_size)
}

/// Starts `entry` in ring 3 with a block of its own memory holding `init`, whose address is
/// the task's argument (how a parent hands a ring-3 task its parameters and gets results
/// back: the kernel may read the block at any time). Result: the task and the block's
/// address, or `None` without memory.
pub fn add_user_task_with<T>(name: &str, pri: i8, entry: extern "C" fn(u64) -> !, init: T) -> Option<(*mut Task, u64)> {
    add_user_task_with_stack(name, pri, entry, init, USER_STACK)
}

/// [`add_user_task_with`] with a user stack of `stack` bytes.
fn add_user_task_with_stack<T>(name: &str, pri: i8, entry: extern "C" fn(u64) -> !, init: T, stack: usize) -> Option<(*mut Task, u64)> {
    let mut space = new_space_with_stack(pri, stack)?;
    let Some(block) = space.alloc(size_of::<T>() as u64) else {
        crate::policy::release_task(space.policy.family);
        return None;
    };
    // SAFETY: the block is fresh exec memory of at least size_of::<T>(), just opened to the
    // task, which has not started.
    unsafe { crate::uaccess::UserWrite::trusted(block, size_of::<T>() as u64) }.write(0, init);
    let t = add_user_task_in(name, pri, entry, block, space, exec::user_heap::USER_HEAP_SIZE);
    (!t.is_null()).then_some((t, block))
}

/// Starts `entry(arg)` in ring 3 with the blocks of whole pages `shared` (start, length,
/// [`Access::Read`] or [`Access::ReadWrite`]), which the caller keeps, open to it so (see
/// [`Space::share`]): the caller must keep them until the task has ended. Its user stack has
/// `stack` bytes (held to [`USER_STACK`] ..= [`MAX_USER_STACK`]). Result: the task, or null
/// without memory.
pub fn add_user_task_sharing(name: &str, pri: i8, entry: extern "C" fn(u64) -> !, arg: u64, shared: &[(u64, u64, Access)], stack: usize) -> *mut Task {
    let Some(mut space) = new_space_with_stack(pri, stack.clamp(USER_STACK, MAX_USER_STACK)) else { return core::ptr::null_mut() };
    for &(start, len, access) in shared {
        space.share(start, len, access);
    }
    add_user_task_in(name, pri, entry, arg, space, exec::user_heap::USER_HEAP_SIZE)
}

/// [`add_user_task`] in a space prepared by the caller (for example with memory allocated
/// and filled in for the task before it starts). The task starts at `pri` held to the
/// space's ceiling.
fn add_user_task_in(name: &str, pri: i8, entry: extern "C" fn(u64) -> !, arg: u64, mut space: Box<Space>, heap_size: usize) -> *mut Task {
    let pri = pri.min(space.policy.ceiling);
    let Some(block) = space.alloc(size_of::<UserBlock>() as u64) else {
        crate::policy::release_task(space.policy.family);
        return core::ptr::null_mut();
    };
    // SAFETY: fresh, page-aligned memory of the task's own, large enough.
    unsafe { UserBlock::init_at(block as *mut UserBlock, heap_size) };
    let (cr3, top) = (space.cr3(), space.stack_range.1);
    let family_debt = crate::policy::forbid_debt_of(space.policy.family);
    let raw = Box::into_raw(space);
    let start = exec::task::UserStart { entry: entry as *const () as u64, user_stack: top - 16, cr3, space: raw as usize, user_block: block, family_debt };
    let t = exec::task::add_user_task(name, pri, arg as usize, start);
    if t.is_null() {
        // SAFETY: the task never started; the space is ours again.
        let space = unsafe { Box::from_raw(raw) };
        crate::policy::release_task(space.policy.family);
    }
    t
}

/// What a ring-3 parent's add_task hands its child: the function and its argument.
#[repr(C)]
struct Start {
    entry: fn(usize),
    arg: usize,
}

/// A child started by a ring-3 task runs here: its function, then its end.
extern "C" fn start(block: u64) -> ! {
    // SAFETY: the block is the child's own memory, written before it started.
    let s = unsafe { (block as *const Start).read() };
    (s.entry)(s.arg);
    exit()
}

/// add_task from ring 3: starts `entry(arg)` as a ring-3 task with its own space and a user
/// stack of `stack_size` bytes (at least [`USER_STACK`], at most [`MAX_USER_STACK`], whole
/// pages, charged to the family's quota). `entry` must be code the caller may run. Result:
/// the task (null without memory), or ERR_BAD_POINTER.
pub fn add_task_for_ring3(name: &str, pri: i8, stack_size: u64, entry: u64, arg: u64) -> Result<*mut Task, exec::sys_gate::GateError> {
    let stack = (stack_size as usize).clamp(USER_STACK, MAX_USER_STACK);
    // SAFETY: the only reference to the caller's space during this call.
    if !unsafe { crate::gate::my_space() }.is_some_and(|s| s.user_executable(entry)) {
        return Err(BadPointer);
    }
    // SAFETY: `entry` is code in the image (checked executable for ring 3); the child calls it
    // in ring 3, where whatever it does is contained.
    let entry: fn(usize) = unsafe { core::mem::transmute(entry as usize) };
    Ok(add_user_task_with_stack(name, pri, start, Start { entry, arg: arg as usize }, stack).map_or(core::ptr::null_mut(), |(t, _)| t))
}
