//! mmu-mode's in-kernel tests of what one ring-3 task can do to another through what they
//! share: a port's queue (a message put at another task's reply port is never taken for the
//! reply do_msg waits for, and a private port is reached by its owner's family alone),
//! memory quotas (a message's copy is charged to its sender, so a
//! flood spends the flooder's quota, never the receiver's) and device units (a command that
//! acts on the whole unit or on a setting every task shares is answered IOERR_NOCMD).
//! The helpers and how to add a hostile program: `ktests_attacks.rs`.

use devices::timer::{TR_ADDREQUEST, TR_GETSYSTIME, TR_SETSYSTIME, TimeRequest, UNIT_MICROHZ};
use exec::device::{CMD_CLEAR, CMD_FLUSH, CMD_INVALID, CMD_RESET, CMD_START, CMD_STOP, CMD_UPDATE, CMD_WRITE, IOERR_NOCMD, IoRequest};
use exec::ktest::{Test, TestResult};
use exec::memory::MemFlags;
use exec::port::{Message, MsgPort};
use exec::signal::{SIGF_CTRL_E, SIGF_CTRL_F};
use exec::task::Task;
use exec::{ensure, ensure_eq, sys};

use crate::ktests_attacks::{gone, hostile, me3};
use crate::msg::{PUT_COPY, PUT_TRANSFER};
use crate::user;

/// Every test here.
pub static TESTS: &[Test] = &[
    Test::new("mmu.attack.do_msg_takes_only_its_own_reply", do_msg_takes_only_its_own_reply),
    Test::new("mmu.attack.copies_are_charged_to_their_sender", copies_are_charged_to_their_sender),
    Test::new("mmu.attack.a_kept_copy_is_charged_to_its_keeper", a_kept_copy_is_charged_to_its_keeper),
    Test::new("mmu.attack.device_wide_commands_refused", device_wide_commands_refused),
    Test::new("mmu.attack.private_ports_reached_only_by_their_family", private_ports_reached_only_by_their_family),
];

/// A small message: its header and a few words.
const MSG_LEN: usize = size_of::<Message>() + 56;

/// The public port of [`echo_server`].
const ECHO: &str = "r3.echo.reach";

/// Ring 3: a public port [`ECHO`]; each message's first body word gets 1 added and it is
/// replied. A first word of u64::MAX ends it (after the reply). Tells its parent when ready.
extern "C" fn echo_server(parent: u64) -> ! {
    let port = sys::create_port(Some(ECHO), 0) as u64;
    // SAFETY: the parent is alleged to the gate, which checks it.
    unsafe { sys::signal(parent as *mut Task, SIGF_CTRL_F) };
    loop {
        let view = user::wait_get(port);
        // SAFETY: the view is ours while we hold it (the kernel opened it to us).
        let word = unsafe { (view as *const Message).add(1) as *mut u64 };
        // SAFETY: as above.
        let last = unsafe { word.read() } == u64::MAX;
        // SAFETY: as above.
        unsafe { word.write(word.read().wrapping_add(1)) };
        user::reply_msg(view);
        if last {
            user::exit();
        }
    }
}

/// What the client of [`do_msg_takes_only_its_own_reply`] saw.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Own {
    parent: u64,
    /// do_msg by copy, by transfer and through `exec::sys`, each with a stray message queued
    /// at its reply port first: its own message back, answered.
    copy_ok: bool,
    transfer_ok: bool,
    sys_ok: bool,
    /// The strays, taken afterwards with their words as sent (none lost, none answered).
    strays_ok: u64,
}

/// Writes a message of `len` bytes at `m` replying to `reply`, its first body word `word`.
///
/// # Safety
/// `m` is the caller's own writable memory of `len` bytes.
unsafe fn letter(m: u64, reply: u64, len: usize, word: u64) -> u64 {
    // SAFETY: per the contract.
    unsafe {
        (m as *mut Message).write(Message::new(reply as *mut MsgPort, len));
        ((m as *mut Message).add(1) as *mut u64).write(word);
    }
    m
}

/// The first body word of the message at `m`.
///
/// # Safety
/// `m` is a message in the caller's memory.
unsafe fn word_of(m: u64) -> u64 {
    // SAFETY: per the contract.
    unsafe { ((m as *const Message).add(1) as *const u64).read() }
}

/// Ring 3: before each do_msg, a stray message (put by copy, as another task's put leaves
/// one) waits at its reply port; do_msg must come back with its own message, not the stray.
extern "C" fn own_reply_client(block: u64) -> ! {
    let o = block as *mut Own;
    // SAFETY: our own block and memory; every exec call is checked by the gate.
    unsafe {
        let server = sys::find_port(ECHO) as u64;
        let reply = user::create_port();
        let area = user::alloc_mem(4096);
        let page = user::alloc_mem(4096);
        let stray = |word| {
            user::put_msg(reply, letter(area, reply, MSG_LEN, word), PUT_COPY);
        };
        let own = area + 512;

        stray(70);
        let back = user::do_msg(server, letter(own, reply, MSG_LEN, 5), PUT_COPY);
        (*o).copy_ok = back == own && word_of(own) == 6;

        stray(71);
        let back = user::do_msg(server, letter(page, reply, 4096, 7), PUT_TRANSFER);
        (*o).transfer_ok = back == page && word_of(page) == 8;

        stray(72);
        let m = letter(own, reply, MSG_LEN, 9);
        let back = sys::do_msg(server as *mut MsgPort, m as *mut Message) as u64;
        (*o).sys_ok = back == own && word_of(own) == 10;

        // The three strays, in the order put, as they were sent; then each replied (to this
        // same port) and its reply taken.
        let mut views = [0; 3];
        for (view, want) in views.iter_mut().zip(70..73) {
            *view = user::wait_get(reply);
            (*o).strays_ok += u64::from(word_of(*view) == want);
        }
        for view in views {
            user::reply_msg(view);
        }
        for _ in views {
            user::wait_get(reply);
        }
        user::put_msg(server, letter(own, 0, MSG_LEN, u64::MAX), PUT_COPY);
        crate::ktests_sys::report_and_end((*o).parent as *mut Task)
    }
}

/// A message queued at a task's reply port before its reply (another task may put there: a
/// port's handle is not a secret) is not taken for the reply: do_msg from ring 3, by copy, by
/// transfer and through `exec::sys`, waits for its own message and leaves the other queued.
fn do_msg_takes_only_its_own_reply() -> TestResult {
    let mem0 = exec::memory::avail_mem(MemFlags::ANY);
    exec::signal::set_signal(0, SIGF_CTRL_E | SIGF_CTRL_F);
    let server = user::add_user_task("r3-echo", 0, echo_server, me3() as u64);
    ensure!(!server.is_null(), "no memory for the server");
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    let (t, block) = hostile("r3-own-reply", 0, own_reply_client, Own { parent: me3() as u64, ..Own::default() })?;
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    // SAFETY: the client wrote its findings before signalling, and waits.
    let o = unsafe { (block as *const Own).read() };
    // SAFETY: live, waiting for CTRL_E.
    unsafe { exec::signal::signal(t, SIGF_CTRL_E) };
    ensure!(gone("r3-own-reply", 500) && gone("r3-echo", 500), "the tasks did not end");
    ensure!(o.copy_ok, "do_msg by copy took something other than its own reply");
    ensure!(o.transfer_ok, "do_msg by transfer took something other than its own reply");
    ensure!(o.sys_ok, "exec's do_msg took something other than its own reply");
    ensure_eq!(o.strays_ok, 3, "the strays, left queued");
    devices::timer_sleep_ms(20);
    ensure_eq!(exec::memory::avail_mem(MemFlags::ANY), mem0, "memory back to its baseline");
    Ok(())
}

/// The public port of [`sink`].
const SINK: &str = "r3.sink.reach";

/// Ring 3: a public port [`SINK`]; tells its parent it is there (CTRL_F), and on CTRL_D takes
/// one message and keeps it (reports again); ends on CTRL_E (what waits there then goes back
/// to its senders, and the one it holds too).
extern "C" fn sink(parent: u64) -> ! {
    let port = sys::create_port(Some(SINK), 0) as u64;
    // SAFETY: the parent is alleged to the gate, which checks it.
    unsafe { sys::signal(parent as *mut Task, SIGF_CTRL_F) };
    sys::wait(exec::signal::SIGF_CTRL_D);
    user::wait_get(port);
    crate::ktests_sys::report_and_end(parent as *mut Task)
}

/// How many 16 KiB copies the flooder sends.
const FLOOD: u64 = 16;
/// Each flooding message's length.
const FLOOD_LEN: usize = 16 * 1024;

/// What the flooder of [`copies_are_charged_to_their_sender`] saw.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Flood {
    parent: u64,
    accepted: u64,
    /// The messages back (receiver-gone) once the sink ended.
    back: u64,
}

/// Ring 3: sends one 16 KiB block [`FLOOD`] times by copy to [`SINK`], reports, and on CTRL_E
/// (the sink gone meanwhile) takes its messages back.
extern "C" fn flooder(block: u64) -> ! {
    let f = block as *mut Flood;
    // SAFETY: our own block and memory; every exec call is checked by the gate.
    unsafe {
        let to = sys::find_port(SINK) as u64;
        let reply = user::create_port();
        let m = user::alloc_mem(FLOOD_LEN as u64);
        letter(m, reply, FLOOD_LEN, 1);
        for _ in 0..FLOOD {
            if user::put_msg(to, m, PUT_COPY) != crate::gate::ERR_BAD_POINTER {
                (*f).accepted += 1;
            }
        }
        sys::signal((*f).parent as *mut Task, SIGF_CTRL_F);
        sys::wait(SIGF_CTRL_E);
        for _ in 0..(*f).accepted {
            if user::wait_get(reply) == m {
                (*f).back += 1;
            }
        }
        crate::ktests_sys::report_and_end((*f).parent as *mut Task)
    }
}

/// The family of ring-3 task `t`.
fn family_of(t: *mut Task) -> Option<u64> {
    // SAFETY: a live ring-3 task that waits; its space is not changed meanwhile.
    unsafe { ((*t).space() as *const crate::space::Space).as_ref() }.map(|s| s.policy.family)
}

/// One family floods another's port with copies of a 16 KiB message: every copy (a block in
/// the receiver's space) is charged to the sender's family while it waits, and the
/// receiver's family's charge does not move, so a flood cannot push a victim past its quota;
/// a copy the receiver takes (and keeps) is its own charge from then on. When the receiver
/// ends, the messages go back and memory returns to its baseline.
fn copies_are_charged_to_their_sender() -> TestResult {
    let mem0 = exec::memory::avail_mem(MemFlags::ANY);
    exec::signal::set_signal(0, SIGF_CTRL_E | SIGF_CTRL_F);
    let victim = user::add_user_task("r3-sink", 0, sink, me3() as u64);
    ensure!(!victim.is_null(), "no memory for the sink");
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    let (t, block) = hostile("r3-copy-flooder", 0, flooder, Flood { parent: me3() as u64, ..Flood::default() })?;
    let (v_family, f_family) = (family_of(victim).ok_or("the sink has no space")?, family_of(t).ok_or("the flooder has no space")?);
    ensure!(v_family != f_family, "the two tasks are of one family");
    let v0 = crate::policy::family_bytes(v_family);
    let f0 = crate::policy::family_bytes(f_family);
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    // SAFETY: the flooder wrote its findings before signalling, and waits.
    let accepted = unsafe { (block as *const Flood).read() }.accepted;
    let (v1, f1) = (crate::policy::family_bytes(v_family), crate::policy::family_bytes(f_family));
    // The sink takes one and keeps it: that copy is its own charge now.
    // SAFETY: a live task waiting for CTRL_D.
    unsafe { exec::signal::signal(victim, exec::signal::SIGF_CTRL_D) };
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    let (v2, f2) = (crate::policy::family_bytes(v_family), crate::policy::family_bytes(f_family));
    // The sink ends (its messages go back), then the flooder takes them back and ends.
    // SAFETY: live tasks, each waiting for CTRL_E.
    unsafe { exec::signal::signal(victim, SIGF_CTRL_E) };
    ensure!(gone("r3-sink", 500), "the sink did not end");
    // SAFETY: as above.
    unsafe { exec::signal::signal(t, SIGF_CTRL_E) };
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    // SAFETY: as above.
    let back = unsafe { (block as *const Flood).read() }.back;
    // SAFETY: live, waiting for CTRL_E.
    unsafe { exec::signal::signal(t, SIGF_CTRL_E) };
    ensure!(gone("r3-copy-flooder", 500), "the flooder did not end");
    ensure_eq!(accepted, FLOOD, "copies accepted");
    ensure_eq!(v1, v0, "the receiver's family was charged for copies it did not ask for");
    ensure!(f1 >= f0 + FLOOD * FLOOD_LEN as u64, "the sender's family was charged {} of {} bytes", f1 - f0, FLOOD * FLOOD_LEN as u64);
    ensure!(v2 >= v1 + FLOOD_LEN as u64 && v2 - v1 == f1 - f2, "a copy taken and kept: the receiver charged {} more, the sender {} less", v2 - v1, f1.saturating_sub(f2));
    ensure_eq!(back, FLOOD, "messages back when the sink ended");
    devices::timer_sleep_ms(20);
    ensure_eq!(exec::memory::avail_mem(MemFlags::ANY), mem0, "memory back to its baseline");
    Ok(())
}

/// The public port of [`keeper`].
const KEEPER: &str = "r3.keeper.reach";

/// Ring 3: takes one message at its public port [`KEEPER`], lends its view (puts it to a port
/// of its own by copy), replies it (the copy block stays its own while it lends), and tells
/// its parent (CTRL_D); on CTRL_E takes its own message back, replies it, and ends.
extern "C" fn keeper(parent: u64) -> ! {
    let port = sys::create_port(Some(KEEPER), 0) as u64;
    let mine = user::create_port();
    // SAFETY: the parent is alleged to the gate, which checks it.
    unsafe { sys::signal(parent as *mut Task, SIGF_CTRL_F) };
    let view = user::wait_get(port);
    // Sent on as it is, but replying to a port of the keeper's own (a put names its own).
    // SAFETY: the view is ours while we hold it.
    unsafe { letter(view, mine, FLOOD_LEN, 2) };
    user::put_msg(mine, view, PUT_COPY);
    user::reply_msg(view);
    // SAFETY: as above.
    unsafe {
        sys::signal(parent as *mut Task, exec::signal::SIGF_CTRL_D);
        sys::wait(SIGF_CTRL_E);
    }
    let own = user::wait_get(mine);
    user::reply_msg(own);
    user::wait_get(mine);
    crate::ktests_sys::report_and_end(parent as *mut Task)
}

/// Ring 3: on CTRL_E, one 16 KiB message by copy to [`KEEPER`] with do_msg; reports (CTRL_F).
extern "C" fn keepers_client(block: u64) -> ! {
    let f = block as *mut Flood;
    // SAFETY: our own block and memory; every exec call is checked by the gate.
    unsafe {
        let to = sys::find_port(KEEPER) as u64;
        let reply = user::create_port();
        let m = user::alloc_mem(FLOOD_LEN as u64);
        sys::signal((*f).parent as *mut Task, SIGF_CTRL_F);
        sys::wait(SIGF_CTRL_E);
        letter(m, reply, FLOOD_LEN, 1);
        (*f).back = u64::from(user::do_msg(to, m, PUT_COPY) == m);
        crate::ktests_sys::report_and_end((*f).parent as *mut Task)
    }
}

/// A receiver that lends the view of a message it was sent by copy, then replies it, keeps
/// the copy's block as its own: the block is charged to the receiver's family from the lend
/// on, and the sender's family's charge is back where it was once its message is back (a
/// receiver cannot hold another family's quota).
fn a_kept_copy_is_charged_to_its_keeper() -> TestResult {
    use exec::signal::SIGF_CTRL_D;
    let mem0 = exec::memory::avail_mem(MemFlags::ANY);
    exec::signal::set_signal(0, SIGF_CTRL_D | SIGF_CTRL_E | SIGF_CTRL_F);
    let k = user::add_user_task("r3-keeper", 0, keeper, me3() as u64);
    ensure!(!k.is_null(), "no memory for the keeper");
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    let (c, block) = hostile("r3-keepers-client", 0, keepers_client, Flood { parent: me3() as u64, ..Flood::default() })?;
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    let (k_family, c_family) = (family_of(k).ok_or("the keeper has no space")?, family_of(c).ok_or("the client has no space")?);
    let (k0, c0) = (crate::policy::family_bytes(k_family), crate::policy::family_bytes(c_family));
    // SAFETY: live, waiting for CTRL_E.
    unsafe { exec::signal::signal(c, SIGF_CTRL_E) };
    let mut seen = 0;
    while seen & (SIGF_CTRL_D | SIGF_CTRL_F) != SIGF_CTRL_D | SIGF_CTRL_F {
        seen |= exec::signal::wait(SIGF_CTRL_D | SIGF_CTRL_F);
    }
    let (k1, c1) = (crate::policy::family_bytes(k_family), crate::policy::family_bytes(c_family));
    // SAFETY: the client wrote its findings before signalling, and waits.
    let back = unsafe { (block as *const Flood).read() }.back;
    // SAFETY: live tasks, each waiting for CTRL_E (the keeper then ends by itself).
    unsafe {
        exec::signal::signal(c, SIGF_CTRL_E);
        exec::signal::signal(k, SIGF_CTRL_E);
    }
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    // SAFETY: as above.
    unsafe { exec::signal::signal(k, SIGF_CTRL_E) };
    ensure!(gone("r3-keepers-client", 500) && gone("r3-keeper", 500), "the tasks did not end");
    ensure_eq!(back, 1, "the client's message back");
    ensure_eq!(c1, c0, "the sender's family still pays for the copy its receiver kept");
    ensure!(k1 >= k0 + 2 * FLOOD_LEN as u64, "the keeper's family was charged {} bytes", k1 - k0);
    devices::timer_sleep_ms(20);
    ensure_eq!(exec::memory::avail_mem(MemFlags::ANY), mem0, "memory back to its baseline");
    Ok(())
}

/// What the ring-3 task of [`device_wide_commands_refused`] got back.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Commands {
    parent: u64,
    opened: u64,
    /// Commands answered IOERR_NOCMD, of those tried (timer.device, serial.device, and one
    /// by send_io and wait_io).
    refused: u64,
    tried: u64,
    /// The commands open to ring 3 that still work: TR_GETSYSTIME, SDCMD_QUERY, CMD_WRITE.
    allowed_ok: u64,
}

/// Ring 3: sends timer.device and serial.device every command that acts on the whole unit
/// or on a shared setting, each answered IOERR_NOCMD; the commands it may send still work.
extern "C" fn unit_commander(block: u64) -> ! {
    let c = block as *mut Commands;
    // SAFETY: our own block and requests; every exec call is checked by the gate.
    unsafe {
        let reply = sys::create_port(None, 0);
        let mut tr = TimeRequest::new(reply);
        let mut io = IoRequest::new(reply, size_of::<IoRequest>());
        (*c).opened = u64::from(sys::open_device("timer.device", UNIT_MICROHZ, &mut tr.io, 0) == 0) + u64::from(sys::open_device("serial.device", 0, &mut io, 0) == 0);
        let refused = |req: *mut IoRequest, command: u16| {
            (*req).command = command;
            (*c).tried += 1;
            (*c).refused += u64::from(sys::do_io(req) == IOERR_NOCMD);
        };
        // A clock an hour off, were it set.
        tr.time.secs = 3600 * 24 * 365;
        for command in [CMD_INVALID, CMD_RESET, CMD_UPDATE, CMD_CLEAR, CMD_STOP, CMD_START, CMD_FLUSH, TR_SETSYSTIME, TR_ADDREQUEST + 40] {
            refused(&mut tr.io, command);
        }
        for command in [CMD_RESET, CMD_CLEAR, CMD_STOP, CMD_FLUSH, devices::serial::SDCMD_SETPARAMS] {
            refused(&mut io, command);
        }
        // The same by send_io: the answer comes back by the usual way.
        io.command = CMD_STOP;
        sys::send_io(&mut io);
        (*c).tried += 1;
        (*c).refused += u64::from(sys::wait_io(&mut io) == IOERR_NOCMD);

        tr.io.command = TR_GETSYSTIME;
        (*c).allowed_ok += u64::from(sys::do_io(&mut tr.io) == 0);
        io.command = devices::serial::SDCMD_QUERY;
        io.length = 0;
        (*c).allowed_ok += u64::from(sys::do_io(&mut io) == 0);
        // On the stack: a request's data must be memory the task may write.
        let text = *b"(a ring-3 write after the refused commands)\n";
        io.command = CMD_WRITE;
        io.data = text.as_ptr() as *mut u8;
        io.length = text.len();
        (*c).allowed_ok += u64::from(sys::do_io(&mut io) == 0);
        sys::close_device(&mut tr.io);
        sys::close_device(&mut io);
        crate::ktests_sys::report_and_end((*c).parent as *mut Task)
    }
}

/// Ring 3 cannot stop, flush or reset a shared device unit, nor set what every task shares
/// (the system time, the serial line's parameters): each such command is answered
/// IOERR_NOCMD. A ring-0 timer request pending meanwhile completes untouched, the clock
/// reads as before, and the commands open to ring 3 still work.
fn device_wide_commands_refused() -> TestResult {
    let port = exec::port::create_msg_port();
    ensure!(!port.is_null());
    let mut mine = TimeRequest::new(port);
    let mut clock = TimeRequest::new(port);
    // SAFETY: our requests and port, live until closed and deleted below.
    unsafe {
        ensure_eq!(exec::device::open_device("timer.device", UNIT_MICROHZ, &mut mine.io, 0), 0);
        ensure_eq!(exec::device::open_device("timer.device", UNIT_MICROHZ, &mut clock.io, 0), 0);
        clock.io.command = TR_GETSYSTIME;
        exec::device::do_io(&mut clock.io);
        mine.io.command = TR_ADDREQUEST;
        mine.time.micro = 300_000;
        exec::device::send_io(&mut mine.io);
    }
    let before = clock.time.secs;
    let (t, block) = hostile("r3-unit-commander", 0, unit_commander, Commands { parent: me3() as u64, ..Commands::default() })?;
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    // SAFETY: the task wrote its findings before signalling, and waits.
    let c = unsafe { (block as *const Commands).read() };
    // SAFETY: live, waiting for CTRL_E.
    unsafe { exec::signal::signal(t, SIGF_CTRL_E) };
    // SAFETY: our requests, opened above.
    let (pending_error, after) = unsafe {
        let e = exec::device::wait_io(&mut mine.io);
        exec::device::do_io(&mut clock.io);
        exec::device::close_device(&mut mine.io);
        exec::device::close_device(&mut clock.io);
        exec::port::delete_msg_port(port);
        (e, clock.time.secs)
    };
    ensure!(gone("r3-unit-commander", 500), "the task did not end");
    ensure_eq!(c.opened, 2, "devices opened");
    ensure_eq!(c.tried, 15);
    ensure_eq!(c.refused, c.tried, "unit-wide commands answered IOERR_NOCMD");
    ensure_eq!(c.allowed_ok, 3, "the commands open to ring 3");
    ensure_eq!(pending_error, 0, "a ring-0 request was aborted by a ring-3 task's command");
    ensure!(after >= before && after - before < 60, "the clock moved from {before} to {after} s");
    Ok(())
}

/// The public port of [`kin`].
const OPEN: &str = "r3.open.reach";

/// What [`port_owner`] saw.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Owner {
    parent: u64,
    /// Its private port's handle (read by the test from this block: not shared by ring 0).
    private: u64,
    /// Its child (same family) put to the private port.
    kin_reached: bool,
}

/// Ring 3, a child of [`port_owner`]: makes the public port [`OPEN`], puts one message to its
/// parent's private port `port`, and waits to be ended (CTRL_E).
fn kin(port: usize) {
    sys::create_port(Some(OPEN), 0);
    let m = user::alloc_mem(4096);
    // SAFETY: our own block.
    unsafe { letter(m, 0, MSG_LEN, 1) };
    user::put_msg(port as u64, m, PUT_COPY);
    sys::wait(SIGF_CTRL_E);
}

/// Ring 3: one port, private; a child of its family puts to it (looked for until about 4e9
/// TSC ticks have passed: ring 3 has no timer of its own here). Reports, then waits to be
/// ended (what others put meanwhile stays queued).
extern "C" fn port_owner(block: u64) -> ! {
    let o = block as *mut Owner;
    // SAFETY: our own block and port; every exec call is checked by the gate.
    unsafe {
        let private = user::create_port();
        (*o).private = private;
        sys::add_task("r3-kin", 0, kin, private as usize, 8192);
        let t0 = exec::arch::x86_64::cpu::rdtsc();
        let mut view = 0;
        while view == 0 && exec::arch::x86_64::cpu::rdtsc() - t0 < 4_000_000_000 {
            view = sys::get_msg(private as *mut MsgPort) as u64;
        }
        (*o).kin_reached = view != 0 && word_of(view) == 1;
        if view != 0 {
            user::reply_msg(view);
        }
        crate::ktests_sys::report_and_end((*o).parent as *mut Task)
    }
}

/// What [`prober`] got.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Probe {
    parent: u64,
    /// The owner's private port's handle (a real one, of another family).
    private: u64,
    /// put_msg's results: to the private port, to the public one, to the private one again
    /// once ring 0 shared it.
    results: [u64; 3],
}

/// Ring 3, of another family than [`port_owner`]: puts to its private port (by a valid handle
/// it was given, not shared by ring 0), to its public port, and, once told (CTRL_E), to the
/// private port again.
extern "C" fn prober(block: u64) -> ! {
    let p = block as *mut Probe;
    // SAFETY: our own block; every exec call is checked by the gate.
    unsafe {
        let m = user::alloc_mem(4096);
        letter(m, 0, MSG_LEN, 2);
        (*p).results[0] = user::put_msg((*p).private, m, PUT_COPY);
        (*p).results[1] = user::put_msg(sys::find_port(OPEN) as u64, m, PUT_COPY);
        sys::signal((*p).parent as *mut Task, SIGF_CTRL_F);
        sys::wait(SIGF_CTRL_E);
        (*p).results[2] = user::put_msg((*p).private, m, PUT_COPY);
        crate::ktests_sys::report_and_end((*p).parent as *mut Task)
    }
}

/// A port's handle is not a secret (handles are dense), so a private port is reached only by
/// its owner's family: a task of another family holding a valid handle to it is refused,
/// while the owner's child reaches it, anyone reaches a public port (the child's), and a
/// private port ring 0 shared (`msg::share_port_of`) is open to all.
fn private_ports_reached_only_by_their_family() -> TestResult {
    let mem0 = exec::memory::avail_mem(MemFlags::ANY);
    let (owner, block) = hostile("r3-port-owner", 0, port_owner, Owner { parent: me3() as u64, ..Owner::default() })?;
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    // SAFETY: the owner wrote its findings before signalling, and waits.
    let o = unsafe { (block as *const Owner).read() };
    let (t, probe) = hostile("r3-prober", 0, prober, Probe { parent: me3() as u64, private: o.private, ..Probe::default() })?;
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    ensure_eq!(crate::msg::share_port_of(owner), Some(o.private), "the owner's first port");
    // SAFETY: live, waiting for CTRL_E.
    unsafe { exec::signal::signal(t, SIGF_CTRL_E) };
    ensure_eq!(exec::signal::wait(SIGF_CTRL_F), SIGF_CTRL_F);
    // SAFETY: the prober wrote its findings before signalling, and waits.
    let p = unsafe { (probe as *const Probe).read() };
    // SAFETY: live tasks, each waiting for CTRL_E.
    unsafe {
        exec::signal::signal(t, SIGF_CTRL_E);
        exec::signal::signal(owner, SIGF_CTRL_E);
        let kin = exec::task::find_task(Some("r3-kin"));
        if !kin.is_null() {
            exec::signal::signal(kin, SIGF_CTRL_E);
        }
    }
    ensure!(gone("r3-prober", 500) && gone("r3-port-owner", 500) && gone("r3-kin", 500), "the tasks did not end");
    ensure!(o.kin_reached, "the owner's child could not reach its private port");
    ensure_eq!(p.results, [crate::gate::ERR_BAD_POINTER, 0, 0], "puts to the private port, the public one, the private one shared");
    devices::timer_sleep_ms(20);
    ensure_eq!(exec::memory::avail_mem(MemFlags::ANY), mem0, "memory back to its baseline");
    Ok(())
}
