use core::ptr::null_mut;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicUsize, Ordering};

use super::util::{alerts, arg, from_arg, spawn};
use crate::alert::{AN_MSG_PUT_TWICE, AN_MSG_REPLY_TWICE};
use crate::global::Global;
use crate::interrupts::Interrupt;
use crate::ktest::TestResult;
use crate::list::{Node, NodeType};
use crate::port::*;
use crate::signal::{set_signal, wait};
use crate::{ensure, ensure_eq};

#[repr(C)]
struct TestMsg {
    msg: Message,
    value: u64,
    body: [u8; 64],
}

impl TestMsg {
    fn new(reply: *mut MsgPort, value: u64) -> Self {
        TestMsg { msg: Message::new(reply, size_of::<TestMsg>()), value, body: [0; 64] }
    }
    fn ptr(&mut self) -> *mut Message {
        &mut self.msg
    }
}

pub fn create_delete() -> TestResult {
    let p = create_msg_port();
    ensure!(!p.is_null());
    // SAFETY: just created by us.
    unsafe {
        ensure_eq!((*p).action, PortAction::Signal);
        ensure!((*p).sig_bit >= 16);
        ensure_eq!((*p).sig_task, crate::task::find_task(None));
        ensure!(get_msg(p).is_null());
        delete_msg_port(p);
        delete_msg_port(null_mut());
    }
    Ok(())
}

/// create_port names and publishes a port with a copy of the name; a name too long is refused.
pub fn create_port_named() -> TestResult {
    let name = alloc::string::String::from("create.port.test");
    let p = create_port(Some(&name), 5);
    drop(name); // the port keeps its own copy
    ensure!(!p.is_null());
    ensure_eq!(find_port("create.port.test"), p);
    // SAFETY: our own live port.
    unsafe {
        ensure_eq!((*p).node.pri, 5);
        ensure_eq!((*p).node.name(), "create.port.test");
        delete_msg_port(p);
    }
    ensure!(find_port("create.port.test").is_null(), "a deleted port stayed public");
    ensure!(create_port(Some(&"x".repeat(PORT_NAME_MAX + 1)), 0).is_null(), "a name too long was taken");
    let private = create_port(None, 0);
    ensure!(!private.is_null());
    // SAFETY: our own port.
    unsafe { delete_msg_port(private) };
    Ok(())
}

/// The classic: a public port found by name; the same pointer comes back after put/get/reply.
pub fn public_port_round_trip() -> TestResult {
    let port = create_msg_port();
    let reply = create_msg_port();
    // SAFETY: ports are ours; the message lives on this stack until replied and taken.
    unsafe {
        (*port).node = Node::named(NodeType::MsgPort, 0, "test.public");
        add_port(port);
        ensure_eq!(find_port("test.public"), port);
        let mut m = TestMsg::new(reply, 42);
        put_msg(find_port("test.public"), m.ptr());
        ensure_eq!((*m.ptr()).node.kind, NodeType::Message);
        let got = get_msg(port);
        ensure_eq!(got, m.ptr());
        ensure!(get_msg(port).is_null());
        reply_msg(got);
        ensure_eq!(wait_port(reply), m.ptr());
        ensure_eq!(get_msg(reply), m.ptr());
        ensure_eq!((*m.ptr()).node.kind, NodeType::ReplyMsg);
        rem_port(port);
        ensure!(find_port("test.public").is_null());
        delete_msg_port(port);
        delete_msg_port(reply);
    }
    Ok(())
}

pub fn fifo_order() -> TestResult {
    let port = create_msg_port();
    let mut msgs: [TestMsg; 5] = core::array::from_fn(|i| TestMsg::new(null_mut(), i as u64));
    // SAFETY: all live on this frame; taken off the port before returning.
    unsafe {
        for m in msgs.iter_mut() {
            put_msg(port, m.ptr());
        }
        for i in 0..5u64 {
            let m = get_msg(port) as *mut TestMsg;
            ensure!(!m.is_null());
            ensure_eq!((*m).value, i);
        }
        delete_msg_port(port);
    }
    Ok(())
}

struct Server {
    port: AtomicUsize,
    ready: AtomicBool,
    served: AtomicU32,
}

fn echo_server(a: usize) {
    // SAFETY: the test joins before the Server goes away.
    let s: &Server = unsafe { from_arg(a) };
    let port = create_msg_port();
    s.port.store(port as usize, Ordering::SeqCst);
    s.ready.store(true, Ordering::SeqCst);
    // SAFETY: messages come from the test and stay valid until replied.
    unsafe {
        loop {
            wait_port(port);
            let m = get_msg(port) as *mut TestMsg;
            if m.is_null() {
                continue;
            }
            let quit = (*m).value == u64::MAX;
            (*m).value += 1000; // the receiver writes into the sender's message: no copy
            (*m).body[0] = 0xaa;
            s.served.fetch_add(1, Ordering::SeqCst);
            reply_msg(&mut (*m).msg);
            if quit {
                break;
            }
        }
        delete_msg_port(port);
    }
}

/// A child task serves 10 put/reply round trips; the message is never copied.
pub fn child_round_trips() -> TestResult {
    let s = Server { port: AtomicUsize::new(0), ready: AtomicBool::new(false), served: AtomicU32::new(0) };
    let child = spawn("echo", 0, echo_server, arg(&s))?;
    while !s.ready.load(Ordering::SeqCst) {
        super::util::settle();
    }
    let port = s.port.load(Ordering::SeqCst) as *mut MsgPort;
    let reply = create_msg_port();
    // SAFETY: the message lives here until it comes back.
    unsafe {
        let mut m = TestMsg::new(reply, 0);
        for i in 0..10u64 {
            (*m.ptr()).node.kind = NodeType::FreeMsg;
            m.value = i;
            put_msg(port, m.ptr());
            let back = wait_port(reply);
            ensure_eq!(back, m.ptr());
            ensure_eq!(get_msg(reply), m.ptr());
            ensure_eq!(m.value, i + 1000);
            ensure_eq!(m.body[0], 0xaa);
        }
        m.value = u64::MAX;
        put_msg(port, m.ptr());
        wait_port(reply);
        get_msg(reply);
        delete_msg_port(reply);
    }
    child.join();
    ensure_eq!(s.served.load(Ordering::SeqCst), 11);
    Ok(())
}

/// A second reply is caught by the node type: alert, and nothing is linked twice.
pub fn double_reply_caught() -> TestResult {
    let port = create_msg_port();
    let reply = create_msg_port();
    // SAFETY: the message lives on this frame; ports are ours.
    unsafe {
        let mut m = TestMsg::new(reply, 1);
        put_msg(port, m.ptr());
        let got = get_msg(port);
        reply_msg(got);
        let (n0, _) = alerts();
        reply_msg(got);
        let (n1, code) = alerts();
        ensure_eq!(n1, n0 + 1);
        ensure_eq!(code, AN_MSG_REPLY_TWICE);
        ensure_eq!(get_msg(reply), m.ptr());
        ensure!(get_msg(reply).is_null(), "the message was linked twice");
        delete_msg_port(port);
        delete_msg_port(reply);
    }
    Ok(())
}

pub fn double_put_caught() -> TestResult {
    let port = create_msg_port();
    // SAFETY: as above.
    unsafe {
        let mut m = TestMsg::new(null_mut(), 1);
        put_msg(port, m.ptr());
        let (n0, _) = alerts();
        put_msg(port, m.ptr());
        let (n1, code) = alerts();
        ensure_eq!(n1, n0 + 1);
        ensure_eq!(code, AN_MSG_PUT_TWICE);
        ensure_eq!(get_msg(port), m.ptr());
        ensure!(get_msg(port).is_null(), "the message was linked twice");
        // Replying a message without a reply port just ends it.
        reply_msg(m.ptr());
        ensure_eq!((*m.ptr()).node.kind, NodeType::FreeMsg);
        delete_msg_port(port);
    }
    Ok(())
}

pub fn ignore_action_sends_no_signal() -> TestResult {
    let port = create_msg_port();
    // SAFETY: as above.
    unsafe {
        (*port).action = PortAction::Ignore;
        let bit = 1u32 << (*port).sig_bit;
        set_signal(0, bit);
        let mut m = TestMsg::new(null_mut(), 0);
        put_msg(port, m.ptr());
        ensure_eq!(set_signal(0, 0) & bit, 0);
        (*port).action = PortAction::Signal;
        let mut m2 = TestMsg::new(null_mut(), 0);
        put_msg(port, m2.ptr());
        ensure_eq!(set_signal(0, 0) & bit, bit);
        ensure_eq!(wait(bit), bit);
        ensure_eq!(get_msg(port), m.ptr());
        ensure_eq!(get_msg(port), m2.ptr());
        delete_msg_port(port);
    }
    Ok(())
}

static SOFT_HITS: AtomicU32 = AtomicU32::new(0);

fn soft_handler(port: *mut ()) -> bool {
    // SAFETY: the port lives until the test removes it; interrupts are off.
    unsafe {
        while !get_msg(port as *mut MsgPort).is_null() {
            SOFT_HITS.fetch_add(1, Ordering::SeqCst);
        }
    }
    true
}

/// A port whose action is a software interrupt: each arrival causes it, and it runs before
/// put_msg returns to the task.
pub fn soft_int_action() -> TestResult {
    SOFT_HITS.store(0, Ordering::SeqCst);
    let port = create_msg_port();
    let mut int = Interrupt::new("port-softint", 0, soft_handler, port as *mut ());
    // SAFETY: the interrupt and messages outlive their use here.
    unsafe {
        (*port).action = PortAction::SoftInt;
        (*port).soft_int = &mut int;
        let mut m = TestMsg::new(null_mut(), 0);
        put_msg(port, m.ptr());
        ensure_eq!(SOFT_HITS.load(Ordering::SeqCst), 1);
        let mut m2 = TestMsg::new(null_mut(), 0);
        put_msg(port, m2.ptr());
        ensure_eq!(SOFT_HITS.load(Ordering::SeqCst), 2);
        delete_msg_port(port);
    }
    Ok(())
}

static FROM_IRQ_PORT: AtomicPtr<MsgPort> = AtomicPtr::new(null_mut());
static FROM_IRQ_MSG: Global<Message> = Global::new(Message::new(null_mut(), 0));

fn put_from_irq(_: *mut ()) -> bool {
    // SAFETY: interrupt context (Disable); the port is set before the server is added.
    unsafe {
        let port = FROM_IRQ_PORT.load(Ordering::SeqCst);
        let m = FROM_IRQ_MSG.get();
        if !port.is_null() && (*m).node.kind == NodeType::FreeMsg {
            put_msg(port, m);
        }
    }
    false
}

static IRQ_SERVER: Global<Interrupt> = Global::new(Interrupt::new("put-from-irq", 5, put_from_irq, null_mut()));

/// An interrupt server puts a message; the waiting task receives it.
pub fn put_from_interrupt() -> TestResult {
    let port = create_msg_port();
    // SAFETY: statics used only by this test; the server is removed before the port goes.
    unsafe {
        (*FROM_IRQ_MSG.get()).node.kind = NodeType::FreeMsg;
        FROM_IRQ_PORT.store(port, Ordering::SeqCst);
        crate::interrupts::add_int_server(0, IRQ_SERVER.get());
        let got = wait_port(port);
        crate::interrupts::rem_int_server(0, IRQ_SERVER.get());
        FROM_IRQ_PORT.store(null_mut(), Ordering::SeqCst);
        ensure_eq!(got, FROM_IRQ_MSG.get());
        ensure_eq!(get_msg(port), FROM_IRQ_MSG.get());
        delete_msg_port(port);
    }
    Ok(())
}

/// wait_port returns the first message but leaves it queued.
pub fn wait_port_leaves_message() -> TestResult {
    let port = create_msg_port();
    // SAFETY: as above.
    unsafe {
        let mut m = TestMsg::new(null_mut(), 7);
        put_msg(port, m.ptr());
        ensure_eq!(wait_port(port), m.ptr());
        ensure_eq!(wait_port(port), m.ptr());
        ensure_eq!(get_msg(port), m.ptr());
        ensure!(get_msg(port).is_null());
        delete_msg_port(port);
    }
    Ok(())
}

/// The message [`replies_to_itself`] leaves at its own public port.
static SELF_REPLY: AtomicPtr<Message> = AtomicPtr::new(null_mut());

/// Makes a public port, puts a message there that replies to that same port, and ends.
fn replies_to_itself(_: usize) {
    let p = create_port(Some("end.self.reply"), 0);
    let m = alloc::boxed::Box::into_raw(alloc::boxed::Box::new(Message::new(p, size_of::<Message>())));
    SELF_REPLY.store(m, Ordering::SeqCst);
    // SAFETY: our own port; the message lives on (the test frees it).
    unsafe { put_msg(p, m) };
}

/// A task ends with a message queued at its public port whose reply port is that same port:
/// its end takes the message off and does not send it back there (that would link it on the
/// port being emptied, for ever), and raises no alert.
pub fn message_replying_to_an_ending_port() -> TestResult {
    let before = alerts();
    spawn("self-replier", 0, replies_to_itself, 0)?.join();
    ensure!(find_port("end.self.reply").is_null(), "the ended task's port is still public");
    let m = SELF_REPLY.swap(null_mut(), Ordering::SeqCst);
    ensure!(!m.is_null());
    // SAFETY: the message is ours again: its port and its task are gone.
    let queued = unsafe { !(*m).queued_at.is_null() };
    // SAFETY: made with Box::into_raw above; nothing refers to it now.
    drop(unsafe { alloc::boxed::Box::from_raw(m) });
    ensure!(!queued, "the message is still linked to the port that went");
    ensure_eq!(alerts(), before);
    Ok(())
}
