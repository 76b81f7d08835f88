//! The flat build's assembly fast path for the combined calls: `do_msg` hands a message to a
//! server blocked in `reply_wait` and switches to it; `reply_wait` hands the reply to a client
//! blocked in `do_msg` and switches back. seL4's fastpath shape: every precondition is checked
//! first with nothing changed, and any failure jumps to the Rust path
//! (`port::do_msg_general`, `port::reply_wait_general`), which is the specification of what
//! follows and handles every other case; then it commits and switches.
//!
//! The preconditions, each the Rust path's own test for the case it makes direct:
//! - no Disable held and no work due (the word `execbase::disable_word` is 0);
//! - the message is on no list and has a reply port (`reply_wait`: and was not replied);
//! - the destination port signals its owner, its queue is empty, and the owner is Waiting in
//!   do_msg or reply_wait at that port, for this message or for any;
//! - `reply_wait`: nothing queued at the caller's own port (else it takes that message without
//!   blocking);
//! - no ready task ranks with or above the woken one (FIFO among equals, a higher priority
//!   never overtaken);
//! - the caller's stack is intact, with room for the seven words this path pushes.
//!
//! The commit is what `hand_or_arrive`, `receive` and `sched::block_and_run` would do: the
//! message is handed (`Task::handed`), the caller is Waiting at its port for the message it
//! wants, and the switch saves the nesting counts and loads the woken task's, as every switch
//! does. The caller resumes at `exec_fast_resume`: it reaps ended tasks
//! (`sched::after_switch`), takes what it was handed, or goes on in the Rust path's receive
//! loop when it was woken without a message, and Enables. It never held a counted Disable:
//! interrupts are off from its `cli` to its `sti`, and its saved Disable count is 0, which
//! only `exec_fast_resume` reads (it raises the count to 1 before any Rust code runs).
//!
//! A task blocked here pushes the six callee-saved registers and a resume address, so that any
//! switch (`switch::switch` or this one) resumes it by returning to the address on top of its
//! stack, as it resumes any other.

use core::arch::global_asm;
use core::mem::offset_of;

use crate::execbase::{ExecBase, Nesting, SYS_BASE};
use crate::list::{LIST_HEAD, Node, NodeType};
use crate::port::{Message, MsgPort, PortAction};
use crate::task::{CANARY_WORDS, STACK_ALLOC, STACK_CANARY, Task, TaskState};

const _: () = assert!(CANARY_WORDS == 2, "the stack check below reads two canary words");
const _: () = assert!(offset_of!(Task, node) == 0, "a ready-list node is its task");

/// The port in the register named signals its owner and is empty, and the owner (loaded into
/// %r8) is Waiting in a receive at that port: `hand_or_arrive`'s test, but for the message the
/// owner waits for, which each call tests next.
macro_rules! owner_waits_at {
    ($port:literal) => {
        concat!(
            "    cmpb ${signal}, {p_action}(", $port, ")\n",
            "    jne 9f\n",
            "    cmpq $0, {p_head}(", $port, ")\n",
            "    jne 9f\n",
            "    mov {p_task}(", $port, "), %r8\n",
            "    cmpb ${waiting}, {t_state}(%r8)\n",
            "    jne 9f\n",
            "    cmp ", $port, ", {t_recv_port}(%r8)\n",
            "    jne 9f\n",
        )
    };
}

/// The checks both calls make once they know the task to wake (%r8): no ready task ranks with
/// or above it, and the caller's (%r9) stack is intact with room for what the switch pushes.
macro_rules! fast_checks {
    () => {
        r#"
    mov {eb}+{ready_head}(%rip), %rax
    test %rax, %rax
    jz 2f
    movzbl {t_pri}(%r8), %ecx
    cmp %cl, {n_pri}(%rax)
    jge 9f
2:  mov {eb}+{this}(%rip), %r9
    lea -{pushed}(%rsp), %rax
    cmp {t_sp_lower}(%r9), %rax
    jb 9f
    cmp {t_sp_upper}(%r9), %rsp
    ja 9f
    cmpq $0, {t_stack_alloc}(%r9)
    je 3f
    mov {t_sp_lower}(%r9), %rax
    movabs ${canary}, %rcx
    cmp %rcx, -16(%rax)
    jne 9f
    cmp %rcx, -8(%rax)
    jne 9f
3:
"#
    };
}

/// The common tail, in each call (a jump saved): %r9 the caller, %r8 the woken task, %rdx the
/// port the caller waits at (its `recv_want` set already). Blocks the caller and switches.
/// The caller's nesting is saved as it is, Disable's count 0: a task blocked here resumes only
/// at `exec_fast_resume`, which knows it (no other code reads a saved nesting).
macro_rules! fast_block {
    () => {
        r#"
    movzbl {p_sig_bit}(%rdx), %ecx
    mov $1, %eax
    shl %cl, %eax
    mov %eax, {t_sig_wait}(%r9)
    not %eax
    and %eax, {t_sig_recvd}(%r9)
    mov %rdx, {t_recv_port}(%r9)
    movb ${waiting}, {t_state}(%r9)
    movb ${running}, {t_state}(%r8)
    mov {eb}+{nest}(%rip), %rax
    mov %rax, {t_nest}(%r9)
    mov %r8, {eb}+{this}(%rip)
    mov {t_nest}(%r8), %rax
    mov %rax, {eb}+{nest}(%rip)
    movl $0, {eb}+{elapsed}(%rip)
    incq {eb}+{disp}(%rip)
    incq {t_dispatches}(%r8)
    push %rbx
    push %rbp
    push %r12
    push %r13
    push %r14
    push %r15
    lea exec_fast_resume(%rip), %rax
    push %rax
    mov %rsp, {t_saved_sp}(%r9)
    mov {t_saved_sp}(%r8), %rsp
    ret
"#
    };
}

global_asm!(
    r#"
    .section .text.fastpath, "ax"

/* do_msg(port: %rdi, msg: %rsi) -> %rax */
    .global exec_do_msg_fast
exec_do_msg_fast:
    cli
    cmpq $0, {eb}+{dw}(%rip)
    jne 9f
    mov {m_reply}(%rsi), %rdx
    test %rdx, %rdx
    jz 9f
    cmpq $0, {m_queued}(%rsi)
    jne 9f
    /* The owner Waits at the port for any message (a server's usual case, tested first) or
       this one. */
"#,
    owner_waits_at!("%rdi"),
    r#"
    cmpq $0, {t_recv_want}(%r8)
    je 1f
    cmp %rsi, {t_recv_want}(%r8)
    jne 9f
1:
"#,
    fast_checks!(),
    r#"
    /* Commit: hand the message over; wait at the reply port for it. */
    movb ${kind_msg}, {m_kind}(%rsi)
    mov %rsi, {t_handed}(%r8)
    mov %rsi, {t_recv_want}(%r9)
"#,
    fast_block!(),
    r#"
9:  jmp {do_msg_general}

/* reply_wait(msg: %rdi, port: %rsi) -> %rax */
    .global exec_reply_wait_fast
exec_reply_wait_fast:
    cli
    cmpq $0, {eb}+{dw}(%rip)
    jne 9f
    test %rdi, %rdi
    jz 9f
    cmpb ${kind_reply}, {m_kind}(%rdi)
    je 9f
    cmpq $0, {m_queued}(%rdi)
    jne 9f
    mov {m_reply}(%rdi), %rdx
    test %rdx, %rdx
    jz 9f
    /* The owner Waits at the reply port for this message (a client's usual case, tested
       first) or any. */
"#,
    owner_waits_at!("%rdx"),
    r#"
    cmp %rdi, {t_recv_want}(%r8)
    je 1f
    cmpq $0, {t_recv_want}(%r8)
    jne 9f
1:  /* Nothing waits at our own port. */
    cmpq $0, {p_head}(%rsi)
    jne 9f
"#,
    fast_checks!(),
    r#"
    /* Commit: hand the reply over; wait at our port for any message. */
    movb ${kind_reply}, {m_kind}(%rdi)
    mov %rdi, {t_handed}(%r8)
    movq $0, {t_recv_want}(%r9)
    mov %rsi, %rdx
"#,
    fast_block!(),
    r#"
9:  jmp {reply_wait_general}

/* Running again, interrupts off, Disable's count 0 (see fast_block). */
    .global exec_fast_resume
exec_fast_resume:
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbp
    pop %rbx
    cmpq $0, {eb}+{zombies_head}(%rip)
    jne 7f
4:  mov {eb}+{this}(%rip), %rcx
    mov {t_handed}(%rcx), %rax
    test %rax, %rax
    jz 8f
    movq $0, {t_handed}(%rcx)
    movq $0, {t_recv_port}(%rcx)
    cmpq $0, {eb}+{dw}(%rip)
    jne 5f
    sti
    ret
5:  /* Work due: hold one Disable and leave it through Enable. */
    movl $1, {eb}+{dw}(%rip)
    push %rax
    call {enable}
    pop %rax
    ret
7:  /* Ended tasks to reap, under one Disable (their reaping may nest more). */
    movl $1, {eb}+{dw}(%rip)
    sub $8, %rsp
    call {after_switch}
    add $8, %rsp
    jmp 4b
8:  /* Woken without a message: the Rust path's receive loop goes on, under one Disable,
       and Enables. */
    movl $1, {eb}+{dw}(%rip)
    jmp {receive_resumed}
"#,
    eb = sym SYS_BASE,
    this = const offset_of!(ExecBase, this_task),
    ready_head = const offset_of!(ExecBase, task_ready) + LIST_HEAD,
    zombies_head = const offset_of!(ExecBase, zombies) + LIST_HEAD,
    nest = const offset_of!(ExecBase, nest),
    dw = const offset_of!(ExecBase, nest) + offset_of!(Nesting, id_nest_cnt),
    elapsed = const offset_of!(ExecBase, elapsed),
    disp = const offset_of!(ExecBase, disp_count),
    n_pri = const offset_of!(Node, pri),
    t_pri = const offset_of!(Task, node) + offset_of!(Node, pri),
    t_state = const offset_of!(Task, state),
    t_nest = const offset_of!(Task, nest),
    t_sig_wait = const offset_of!(Task, sig_wait),
    t_sig_recvd = const offset_of!(Task, sig_recvd),
    t_sp_lower = const offset_of!(Task, sp_lower),
    t_sp_upper = const offset_of!(Task, sp_upper),
    t_saved_sp = const offset_of!(Task, saved_sp),
    t_stack_alloc = const STACK_ALLOC,
    t_dispatches = const offset_of!(Task, dispatches),
    t_recv_port = const offset_of!(Task, recv_port),
    t_recv_want = const offset_of!(Task, recv_want),
    t_handed = const offset_of!(Task, handed),
    p_action = const offset_of!(MsgPort, action),
    p_sig_bit = const offset_of!(MsgPort, sig_bit),
    p_task = const offset_of!(MsgPort, sig_task),
    p_head = const offset_of!(MsgPort, msg_list) + LIST_HEAD,
    m_kind = const offset_of!(Message, node) + offset_of!(Node, kind),
    m_reply = const offset_of!(Message, reply_port),
    m_queued = const offset_of!(Message, queued_at),
    signal = const PortAction::Signal as u8,
    waiting = const TaskState::Waiting as u8,
    running = const TaskState::Running as u8,
    kind_msg = const NodeType::Message as u8,
    kind_reply = const NodeType::ReplyMsg as u8,
    canary = const STACK_CANARY,
    pushed = const 7 * 8,
    do_msg_general = sym crate::port::do_msg_general,
    reply_wait_general = sym crate::port::reply_wait_general,
    enable = sym crate::sched::enable_extern,
    after_switch = sym crate::sched::after_switch_extern,
    receive_resumed = sym crate::port::receive_resumed,
    options(att_syntax)
);

// Only the pointers cross: the assembly reads the structures at offsets computed above, never
// through a C layout of them.
// SAFETY: the assembly above defines these symbols with exactly these signatures under the
// System V convention: arguments in RDI and RSI, the result in RAX, RBX, RBP and R12 to R15
// kept (restored from the stack it switched on, or never touched on the way to the Rust path).
#[allow(improper_ctypes)]
unsafe extern "C" {
    /// [`crate::port::do_msg`]'s assembly fast path (see the module).
    ///
    /// # Safety
    /// As [`crate::port::do_msg`]'s.
    pub fn exec_do_msg_fast(port: *mut MsgPort, msg: *mut Message) -> *mut Message;
    /// [`crate::port::reply_wait`]'s assembly fast path (see the module).
    ///
    /// # Safety
    /// As [`crate::port::reply_wait`]'s.
    pub fn exec_reply_wait_fast(msg: *mut Message, port: *mut MsgPort) -> *mut Message;
    /// Where a task blocked in the fast path resumes (tests read it off a blocked task's stack).
    fn exec_fast_resume();
}

/// The address a task blocked by the fast path resumes at: what its saved stack pointer
/// points at (tests tell by it which path a task blocked in).
pub fn resume_address() -> usize {
    exec_fast_resume as *const () as usize
}
