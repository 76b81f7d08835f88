//! Hardware interrupt lines and the handlers attached to them.

use core::sync::atomic::{AtomicUsize, Ordering};

use crate::arch::x86_64::pic;

/// One handler per PIC line (0 = none). Written by [`set_irq_handler`] while the line is
/// masked, read by [`dispatch_irq`] in interrupt context: the atomics are the only guard needed.
static HANDLERS: [AtomicUsize; 16] = [const { AtomicUsize::new(0) }; 16];

/// Attaches `handler` to IRQ `irq` (0..15) and unmasks the line.
///
/// The handler runs with interrupts disabled and must not block. Not callable from an interrupt.
/// Panics if `irq` > 15.
pub fn set_irq_handler(irq: u8, handler: fn()) {
    assert!(irq < 16, "IRQ {irq} does not exist");
    pic::mask(irq);
    HANDLERS[irq as usize].store(handler as usize, Ordering::Release);
    pic::unmask(irq);
}

/// Runs the handler of IRQ `irq`; an IRQ nobody asked for is counted and otherwise ignored.
pub(crate) fn dispatch_irq(irq: u8) {
    let h = HANDLERS[irq as usize].load(Ordering::Acquire);
    if h == 0 {
        UNCLAIMED.fetch_add(1, Ordering::Relaxed);
        return;
    }
    // SAFETY: only `set_irq_handler` stores here, and it stores a `fn()`.
    let handler: fn() = unsafe { core::mem::transmute::<usize, fn()>(h) };
    handler();
}

/// Interrupts that arrived on a line without a handler.
pub static UNCLAIMED: AtomicUsize = AtomicUsize::new(0);
