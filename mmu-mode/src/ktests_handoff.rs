//! mmu-mode's in-kernel tests of the combined calls' hand-over (`msg::receive_held`, exec's
//! `port_ring3`): an envelope handed to a receiver blocked in reply_wait that ends before it
//! runs goes back to its sender, by copy and by transfer.

use exec::ktest::{Test, TestResult};
use exec::port::{Message, MsgPort};
use exec::signal::{SIGF_CTRL_E, SIGF_CTRL_F};
use exec::{ensure, ensure_eq};

use crate::ktests_attacks::hostile;
use crate::user::{create_port, exit, signal};

pub static TESTS: &[Test] = &[Test::new("mmu.msg.handed_to_a_receiver_that_ends", handed_to_a_receiver_that_ends)];

/// Ring 3: makes a port, says so (its handle in its block's second word, CTRL_F to the
/// parent, whose number is the first), and waits there in reply_wait.
extern "C" fn waiting_server(block: u64) -> ! {
    let port = create_port();
    let b = block as *mut [u64; 2];
    // SAFETY: our own block.
    unsafe {
        (*b)[1] = port;
        signal((*b)[0], SIGF_CTRL_F);
    }
    loop {
        crate::user::reply_wait(0, port);
    }
}

/// What the client did.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Client {
    parent: u64,
    server: u64,
    how: u64,
    /// 1 if do_msg gave the message back at its own address.
    back: u64,
    /// Its error as it came back.
    error: i32,
}

/// Ring 3: one do_msg to the server, then reports (CTRL_E) and ends.
extern "C" fn handing_client(block: u64) -> ! {
    let c = block as *mut Client;
    // SAFETY: our own block and message.
    unsafe {
        let reply = create_port();
        let msg = crate::user::alloc_mem(4096);
        (msg as *mut Message).write(Message::new(reply as *mut MsgPort, 4096));
        let back = crate::user::do_msg((*c).server, msg, (*c).how);
        (*c).back = u64::from(back == msg);
        (*c).error = (*(msg as *const Message)).error;
        signal((*c).parent, SIGF_CTRL_E);
    }
    exit()
}

/// The test task at priority -1, a ring-3 server at -1 blocked in reply_wait, a ring-3 client
/// at 0: the client's do_msg hands the server its envelope, and as the test task (ready, at the
/// server's priority, queued first) ranks with it, the server is made ready instead of run.
/// The test task runs and removes the server, which never took what it was handed: the message
/// goes back to the client marked receiver-gone (else the client would wait for ever).
fn handed_to_a_receiver_that_ends() -> TestResult {
    let me = exec::task::find_task(None);
    let number = crate::ktests_attacks::me3() as u64;
    // SAFETY: the running task, live.
    let old = unsafe { exec::task::set_task_pri(me, -1) };
    let result = (|| {
        for how in [crate::msg::PUT_COPY, crate::msg::PUT_TRANSFER] {
            let (server, _) = hostile("r3-handoff-server", -1, waiting_server, [number, 0])?;
            ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
            // The server's (private) port, which ring 0 hands the client (a task of another
            // family may put only to a port ring 0 shared).
            let port = crate::msg::share_port_of(server).ok_or("the server made no port")?;
            let (client, block) = crate::user::add_user_task_with("r3-handoff-client", 0, handing_client, Client { parent: number, server: port, how, ..Client::default() })
                .ok_or("no memory for the client")?;
            // Here once the client blocked in do_msg and the server was made ready behind us.
            // SAFETY: a live task we started (or, if it ended already, its number is retired).
            ensure!(exec::task::task_alive(unsafe { (*client).id() }), "the client ended before its do_msg waited");
            // SAFETY: a live ring-3 task we started, ready (not running: we are).
            unsafe { exec::task::rem_task(server) };
            let mut waited = 0;
            while exec::signal::set_signal(0, 0) & SIGF_CTRL_E == 0 && waited < 200 {
                devices::timer_sleep_ms(10);
                waited += 1;
            }
            // SAFETY: the block is the client's memory, which the kernel may read.
            let c = unsafe { (block as *const Client).read() };
            if waited == 200 {
                // SAFETY: the client, still waiting: removed so that it does not wait for ever.
                unsafe { exec::task::rem_task(client) };
                return Err(alloc::format!("mode {how}: the handed message never came back to the client"));
            }
            exec::signal::set_signal(0, SIGF_CTRL_E);
            ensure_eq!((c.back, c.error), (1, exec::port::MSG_ERR_RECEIVER_GONE), "mode {how}: what came back");
        }
        Ok(())
    })();
    // SAFETY: as above.
    unsafe { exec::task::set_task_pri(me, old) };
    result
}
