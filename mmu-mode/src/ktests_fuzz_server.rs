//! The adversarial fuzz's server for the combined calls: a ring-3 task that answers every
//! message at its public port `fz.s` with reply_wait (the reply and the next wait in one gate
//! call, the direct hand-off both ways), so that the fuzzers' do_msg, which blocks until its
//! message comes back, always finds someone to answer it (a fuzzer's do_msg to another fuzzer
//! could wait on a fuzzer waiting on it). Now and then it tries reply_wait with a view it does
//! not hold (one word into the message it does hold), which must be refused with nothing
//! replied. A ring-0 letter with [`QUIT`] in its body ends it.

use exec::port::Message;
use exec::sys_gate::{Call, ERR_BAD_POINTER, ERR_PRIVILEGED, raw_call};

/// The server's public port's name.
pub(crate) const NAME: &str = "fz.s";
/// The body of the ring-0 letter that ends the server.
const QUIT: [u8; 8] = *b"fz-quit!";
/// Where a message's body starts: after its exec header.
pub(crate) const BODY: u64 = size_of::<Message>() as u64;

/// The server's block: its parent (to signal when its port is made), then its counts, read by
/// the test before it ends the server ([`stop`]).
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct Server {
    parent: u64,
    /// Messages answered.
    pub served: u64,
    /// reply_wait with a view not held: tried, and refused.
    pub forged: u64,
    pub forged_refused: u64,
    /// reply_wait results that were no message (an error where a message was due).
    pub bad: u64,
}

/// Ring 3: the server. Answers a message by turning its body's first word into its
/// complement (the client checks it).
extern "C" fn server(block: u64) -> ! {
    let s = block as *mut Server;
    // SAFETY: our own block; every call goes through the gate, which checks it.
    unsafe {
        let port = raw_call(Call::CreatePort, NAME.as_ptr() as u64, NAME.len() as u64, 0);
        raw_call(Call::Signal, (*s).parent, exec::signal::SIGF_CTRL_F as u64, 0);
        let mut view = 0;
        loop {
            let m = raw_call(Call::ReplyWait, view, port, 0);
            if m == 0 || m >= ERR_PRIVILEGED {
                (*s).bad += 1;
                view = 0;
                continue;
            }
            let body = (m + BODY) as *mut u64;
            if body.cast::<[u8; 8]>().read() == QUIT {
                raw_call(Call::ReplyMsg, m, 0, 0);
                break;
            }
            (*s).served += 1;
            if (*s).served.is_multiple_of(8) {
                // Checked before anything is replied: refused, and `m` still ours to answer.
                (*s).forged += 1;
                (*s).forged_refused += u64::from(raw_call(Call::ReplyWait, m + 8, port, 0) == ERR_BAD_POINTER);
            }
            body.write(!body.read());
            view = m;
        }
        raw_call(Call::Exit, 0, 0, 0);
    }
    unreachable!()
}

/// Starts the server, its port made when this returns; result: its block. Ring 0, in the test.
pub(crate) fn start() -> Result<u64, alloc::string::String> {
    let parent = crate::user::ring3_name(exec::task::find_task(None)) as u64;
    let init = Server { parent, served: 0, forged: 0, forged_refused: 0, bad: 0 };
    let (_, block) = crate::user::add_user_task_with("r3-fuzz-server", 0, server, init).ok_or("no memory for the fuzz's server")?;
    for _ in 0..100 {
        if !exec::port::find_port(NAME).is_null() {
            return Ok(block);
        }
        devices::timer_sleep_ms(5);
    }
    Err("the fuzz's server made no port".into())
}

/// Reads the server's counts, then ends it with a ring-0 letter (it answers it, then ends)
/// and waits for it to be gone. Ring 0, in the test, once no fuzzer sends any more (the server
/// waits in reply_wait and writes nothing meanwhile; its block goes with it).
pub(crate) fn stop(block: u64) -> Result<Server, alloc::string::String> {
    #[repr(C)]
    struct Letter {
        msg: Message,
        body: [u8; 8],
    }
    // SAFETY: the server's block, alive until the server ends below; it waits for a message.
    let counts = unsafe { (block as *const Server).read_volatile() };
    let port = exec::port::find_port(NAME);
    exec::ensure!(!port.is_null(), "the fuzz's server's port is gone");
    let reply = exec::port::create_msg_port();
    let mut letter = Letter { msg: Message::new(reply, size_of::<Letter>()), body: QUIT };
    // SAFETY: live ports; the letter lives on this frame until it is back at `reply` (taken
    // off it before the frame can go), which is ours and empty when deleted.
    let first_back = unsafe {
        exec::port::put_msg(port, &mut letter.msg);
        exec::port::wait_port(reply);
        let first = exec::port::get_msg(reply);
        let mut got = first;
        while !core::ptr::eq(got, &letter.msg) {
            exec::port::wait_port(reply);
            got = exec::port::get_msg(reply);
        }
        exec::port::delete_msg_port(reply);
        first
    };
    exec::ensure!(core::ptr::eq(first_back, &letter.msg), "the quit letter did not come back");
    exec::ensure!(crate::ktests_attacks::gone("r3-fuzz-server", 1000), "the fuzz's server did not end");
    Ok(counts)
}
