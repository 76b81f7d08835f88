//! Interrupts: server chains on the hardware lines (add_int_server, rem_int_server) and
//! software interrupts (cause) in five priorities, run before control returns to a task.
//!
//! Server chains and the software-interrupt queues are guarded by Disable.


use crate::arch::x86_64::pic;
use crate::execbase::DUE_SOFT_INTS;
use crate::global::Global;
use crate::list::{List, Node, NodeType};
use crate::sched::{disable, enable};

/// An interrupt server or software interrupt (Exec's `struct Interrupt`). The node's priority
/// orders servers on a line, and picks the software-interrupt queue (-32, -16, 0, 16, 32).
#[repr(C)]
pub struct Interrupt {
    pub node: Node,
    /// Passed to `code`.
    pub data: *mut (),
    /// The handler. A server returns true when it handled the interrupt, which ends the chain;
    /// a software interrupt's result is ignored. Runs with interrupts disabled.
    pub code: fn(*mut ()) -> bool,
}

// SAFETY: an Interrupt is shared by its owner and the interrupt path by design; its list is
// guarded by Disable, and `data` is the handler's to interpret.
unsafe impl Send for Interrupt {}

impl Interrupt {
    pub const fn new(name: &'static str, pri: i8, code: fn(*mut ()) -> bool, data: *mut ()) -> Self {
        Interrupt { node: Node::named(NodeType::Interrupt, pri, name), data, code }
    }
}

/// Number of hardware lines (the two PICs).
pub const IRQ_LINES: usize = 16;

/// Server chains, one per line. Disable.
static SERVERS: Global<[List; IRQ_LINES]> = Global::new([const { List::new(NodeType::Interrupt) }; IRQ_LINES]);
/// Software interrupts waiting to run, lowest priority first. Disable.
static SOFT_QUEUES: Global<[List; 5]> = Global::new([const { List::new(NodeType::SoftInt) }; 5]);
/// Interrupts that arrived on a line without a server.
pub static UNCLAIMED: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

/// Adds `int` to the server chain of hardware line `irq` (0..15), by priority, and unmasks the
/// line. Not callable from an interrupt. Panics if `irq` > 15.
///
/// # Safety
/// `int` is live and on no list until removed with [`rem_int_server`].
pub unsafe fn add_int_server(irq: u8, int: *mut Interrupt) {
    assert!((irq as usize) < IRQ_LINES, "IRQ {irq} does not exist");
    disable();
    // SAFETY: Disable held; `int` live (caller).
    unsafe {
        (*int).node.kind = NodeType::Interrupt;
        (*SERVERS.get())[irq as usize].enqueue(&mut (*int).node);
    }
    pic::unmask(irq);
    enable();
}

/// Removes `int` from line `irq`'s chain; masks the line when the chain becomes empty.
///
/// # Safety
/// `int` is on line `irq`'s chain.
pub unsafe fn rem_int_server(irq: u8, int: *mut Interrupt) {
    disable();
    // SAFETY: Disable held; `int` is on this chain (caller).
    unsafe {
        let chain = &mut (*SERVERS.get())[irq as usize];
        chain.remove(&mut (*int).node);
        if chain.is_empty() {
            pic::mask(irq);
        }
    }
    enable();
}

/// Runs line `irq`'s servers, highest priority first, until one claims the interrupt.
/// Called by the trap handler (interrupts off).
pub(crate) fn dispatch_irq(irq: u8) {
    // SAFETY: interrupt context holds Disable; servers are live while on the chain.
    let chain = unsafe { &(*SERVERS.get())[irq as usize] };
    if chain.is_empty() {
        UNCLAIMED.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
        return;
    }
    for n in chain.iter() {
        let int = n as *mut Interrupt;
        // SAFETY: as above.
        if unsafe { ((*int).code)((*int).data) } {
            break;
        }
    }
}

fn queue_of(pri: i8) -> usize {
    match pri {
        i8::MIN..=-24 => 0,
        -23..=-8 => 1,
        -7..=7 => 2,
        8..=23 => 3,
        _ => 4,
    }
}

/// Queues software interrupt `int` to run as soon as no interrupt handler is running and
/// Disable is not held: at once from a task, or on the way out of the current interrupt.
/// Causing an interrupt that is already queued does nothing. Callable from an interrupt.
///
/// # Safety
/// `int` is live until it has run.
pub unsafe fn cause(int: *mut Interrupt) {
    disable();
    // SAFETY: Disable held; `int` live (caller).
    unsafe { cause_disabled(int) };
    enable();
}

/// [`cause`] for callers that hold Disable.
///
/// # Safety
/// Disable held; `int` is null or live until it has run.
pub(crate) unsafe fn cause_disabled(int: *mut Interrupt) {
    // SAFETY: per the contract.
    unsafe {
        let Some(i) = int.as_mut() else { return };
        if i.node.kind == NodeType::SoftInt {
            return; // already queued
        }
        i.node.kind = NodeType::SoftInt;
        (*SOFT_QUEUES.get())[queue_of(i.node.pri)].add_tail(&mut i.node);
        (*crate::execbase::base()).work_due |= DUE_SOFT_INTS;
    }
}

/// Whether software interrupts wait. Disable held.
pub(crate) fn soft_ints_pending() -> bool {
    // SAFETY: Disable held by the caller.
    unsafe { (*crate::execbase::base()).work_due & DUE_SOFT_INTS != 0 }
}

/// Runs every queued software interrupt, highest priority first (interrupts stay disabled).
/// Disable held, outside interrupt handlers.
pub(crate) fn run_soft_ints() {
    // SAFETY: Disable held; queued interrupts are live until they have run.
    unsafe {
        while soft_ints_pending() {
            (*crate::execbase::base()).work_due &= !DUE_SOFT_INTS;
            for q in (0..5).rev() {
                loop {
                    let n = (*SOFT_QUEUES.get())[q].rem_head();
                    if n.is_null() {
                        break;
                    }
                    let int = n as *mut Interrupt;
                    (*int).node.kind = NodeType::Interrupt;
                    ((*int).code)((*int).data);
                }
            }
        }
    }
}
