//! CRASHTEST's deliberate culprits: tasks that use exec calls as an attacker would. The same
//! code runs in both builds (through `exec::sys`, which from ring 3 takes the gate): flat,
//! exec trusts it and the damage is done; in mmu-mode the gate refuses, the quotas stop, or the
//! kernel never follows what the culprit wrote. Each ends itself (`finish`), having undone
//! what it can (children signalled to end, memory freed), so that the shell goes on.

use alloc::vec::Vec;

use exec::memory::MemFlags;
use exec::port::{Message, MsgPort};
use exec::signal::SIGF_CTRL_C;
use exec::sys;
use exec::task::Task;

use crate::crashtest::finish;

/// A message in the culprit's own memory (a page of its own, so that both builds can lend it).
fn message_block(reply: *mut MsgPort) -> *mut Message {
    let m = sys::alloc_mem(4096, MemFlags::PUBLIC | MemFlags::CLEAR) as *mut Message;
    if !m.is_null() {
        // SAFETY: fresh memory of the culprit's own, large enough.
        unsafe { m.write(Message::new(reply, size_of::<Message>() + 64)) };
    }
    m
}

/// Its message names `target` (kernel data) as the reply port; it receives the message on its
/// own port and replies it. Flat, exec links the reply into the "port" at `target`.
pub extern "C" fn forged_reply(target: u64) -> ! {
    let port = sys::create_msg_port();
    let m = message_block(target as *mut MsgPort);
    // SAFETY: its own port and message; the reply port is the forgery.
    unsafe {
        sys::put_msg(port, m);
        // Flat, the message is queued at once; in mmu-mode the put was refused.
        let got = sys::get_msg(port);
        if !got.is_null() {
            sys::reply_msg(got);
        }
        sys::delete_msg_port(port);
    }
    finish()
}

/// It puts a message to its own port, then, while it is queued, rewrites its links to point
/// at `target` (kernel data), and takes it. Flat, exec's list follows the links.
pub extern "C" fn scribbled_queue(target: u64) -> ! {
    let port = sys::create_msg_port();
    let m = message_block(core::ptr::null_mut());
    // SAFETY: its own port; the message (or, in mmu-mode, its view) is its own memory.
    unsafe {
        sys::put_msg(port, m);
        let queued = sys::wait_port(port);
        (*queued).node.succ = target as *mut exec::list::Node;
        (*queued).node.pred = target as *mut exec::list::Node;
        sys::get_msg(port);
        sys::delete_msg_port(port);
    }
    finish()
}

/// It puts a message in a block of its own to its own port and frees the block while the
/// message is queued. Flat, the free goes through (the queue now links freed memory).
pub extern "C" fn free_while_lent(_: u64) -> ! {
    let port = sys::create_msg_port();
    let m = message_block(port);
    // SAFETY: its own port and block; the free is the misdeed.
    unsafe {
        sys::put_msg(port, m);
        sys::free_mem(m as *mut u8, 4096);
        // In mmu-mode the free was refused: take the message back and let it go properly.
        #[cfg(feature = "mmu")]
        {
            sys::wait_port(port);
            let got = sys::get_msg(port);
            sys::reply_msg(got);
            sys::wait_port(port);
            sys::get_msg(port);
            sys::free_mem(m as *mut u8, 4096);
        }
        sys::delete_msg_port(port);
    }
    finish()
}

/// A child of the bomb: waits to be told to end.
fn bomblet(_: usize) {
    sys::wait(SIGF_CTRL_C);
}

/// The most children the bomb starts before it stops itself (flat, nothing else would).
const BOMB_MAX: usize = 2000;

/// It starts tasks until add_task refuses (or it has [`BOMB_MAX`]), then tells them to end.
pub extern "C" fn task_bomb(_: u64) -> ! {
    let mut children: Vec<*mut Task> = Vec::new();
    while children.len() < BOMB_MAX {
        let t = sys::add_task("crash-bomblet", 0, bomblet, 0, 4096);
        if t.is_null() {
            break;
        }
        children.push(t);
    }
    for t in children {
        // SAFETY: its own children, alleged to the gate in mmu-mode.
        unsafe { sys::signal(t, SIGF_CTRL_C) };
    }
    finish()
}

/// It allocates 1 MiB blocks until refused, then frees them.
pub extern "C" fn memory_bomb(_: u64) -> ! {
    let mut blocks = [core::ptr::null_mut::<u8>(); 256];
    let mut n = 0;
    while n < blocks.len() {
        let b = sys::alloc_mem(1 << 20, MemFlags::ANY);
        if b.is_null() {
            break;
        }
        blocks[n] = b;
        n += 1;
    }
    for &b in &blocks[..n] {
        // SAFETY: its own blocks, freed once.
        unsafe { sys::free_mem(b, 1 << 20) };
    }
    finish()
}

/// It forbids task switching and spins.
pub extern "C" fn forbid_spin(_: u64) -> ! {
    sys::forbid();
    loop {
        core::hint::spin_loop();
    }
}

/// It raises `shell` (the shell's task number) to priority 100.
pub extern "C" fn priority_hijack(shell: u64) -> ! {
    let shell = sys::task_by_number(shell);
    if !shell.is_null() {
        // SAFETY: the shell is alleged to the gate in mmu-mode; flat, it is live.
        unsafe { sys::set_task_pri(shell, 100) };
    }
    finish()
}
