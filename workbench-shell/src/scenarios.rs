//! CRASHTEST's scenarios, and what each build does with each: the one list that the shell's
//! CRASHTEST (`crashtest.rs`) runs and the host's tests and bench expect. Pure, so the host
//! crates can use it.
#![forbid(unsafe_code)]

/// One CRASHTEST scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    WildWrite,
    KernelWrite,
    NullDeref,
    JumpIntoData,
    WriteCode,
    StackOverflow,
    DivideByZero,
    DoubleReply,
    KernelPointerPut,
    PortAfterDelete,
    ForgedReply,
    ScribbledQueue,
    FreeWhileLent,
    TaskBomb,
    MemoryBomb,
    ForbidSpin,
    PriorityHijack,
    HandlerFault,
}

/// What the flat build (no protection) does with a scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flat {
    /// The misdeed happens (memory overwritten, or it runs unchecked); the shell goes on.
    NotContained,
    /// Exec's own checks catch it (a recoverable alert); the shell goes on.
    Caught,
    /// A CPU exception: a Guru Meditation, and the machine stops.
    Halts,
    /// Nothing else ever runs again: the machine stops answering, without a word.
    Hangs,
}

impl Scenario {
    pub const ALL: [Scenario; 18] = [
        Scenario::WildWrite,
        Scenario::KernelWrite,
        Scenario::NullDeref,
        Scenario::JumpIntoData,
        Scenario::WriteCode,
        Scenario::StackOverflow,
        Scenario::DivideByZero,
        Scenario::DoubleReply,
        Scenario::KernelPointerPut,
        Scenario::PortAfterDelete,
        Scenario::ForgedReply,
        Scenario::ScribbledQueue,
        Scenario::FreeWhileLent,
        Scenario::TaskBomb,
        Scenario::MemoryBomb,
        Scenario::ForbidSpin,
        Scenario::PriorityHijack,
        Scenario::HandlerFault,
    ];

    pub fn name(self) -> &'static str {
        self.about().0
    }

    /// What the culprit does, in words.
    pub fn what(self) -> &'static str {
        self.about().1
    }

    /// What the flat build does with it.
    pub fn flat(self) -> Flat {
        self.about().2
    }

    /// A bad exec call rather than a CPU fault: in mmu-mode the gate refuses the call (no Guru)
    /// where it removes a faulting culprit (with a Guru).
    pub fn bad_call(self) -> bool {
        !matches!(
            self,
            Scenario::WildWrite
                | Scenario::KernelWrite
                | Scenario::NullDeref
                | Scenario::JumpIntoData
                | Scenario::WriteCode
                | Scenario::StackOverflow
                | Scenario::DivideByZero
                | Scenario::ForbidSpin
                | Scenario::HandlerFault
        )
    }

    /// In mmu-mode the kernel never follows what the culprit wrote, so nothing is refused or
    /// removed: the misdeed has no effect (the queue the culprit scribbled on is not the one
    /// exec links).
    pub fn defused_in_mmu(self) -> bool {
        self == Scenario::ScribbledQueue
    }

    /// Whether the flat build must run it on a machine of its own: it stops the machine, or
    /// leaves exec's own lists or memory damaged for what runs after it.
    pub fn alone_in_flat(self) -> bool {
        matches!(self.flat(), Flat::Halts | Flat::Hangs)
            || matches!(self, Scenario::ForgedReply | Scenario::ScribbledQueue | Scenario::FreeWhileLent)
    }

    pub fn find(name: &str) -> Option<Scenario> {
        Scenario::ALL.into_iter().find(|s| s.name().eq_ignore_ascii_case(name))
    }

    fn about(self) -> (&'static str, &'static str, Flat) {
        use Flat::*;
        match self {
            Scenario::WildWrite => ("wild-write", "a task writes into another task's memory", NotContained),
            Scenario::KernelWrite => ("kernel-write", "a task writes into kernel memory", NotContained),
            Scenario::NullDeref => ("null-deref", "a task writes through a null pointer", NotContained),
            Scenario::JumpIntoData => ("jump-into-data", "a task jumps into data on its stack", NotContained),
            Scenario::WriteCode => ("write-code", "a task writes over code", NotContained),
            Scenario::StackOverflow => ("stack-overflow", "a task recurses without end", Halts),
            Scenario::DivideByZero => ("divide-by-zero", "a task divides by zero", Halts),
            Scenario::DoubleReply => ("double-reply", "a task replies a message twice", Caught),
            Scenario::KernelPointerPut => ("kernel-pointer-put", "a task passes a kernel pointer to put_msg", NotContained),
            Scenario::PortAfterDelete => ("port-after-delete", "a task puts a message to a port it deleted", NotContained),
            Scenario::ForgedReply => ("forged-reply", "a task's message names kernel data as its reply port", NotContained),
            Scenario::ScribbledQueue => ("scribbled-queue", "a task rewrites the links of its queued message", NotContained),
            Scenario::FreeWhileLent => ("free-while-lent", "a task frees memory it lent in a message", NotContained),
            Scenario::TaskBomb => ("task-bomb", "a task starts tasks until it is stopped", NotContained),
            Scenario::MemoryBomb => ("memory-bomb", "a task allocates until memory runs out", NotContained),
            Scenario::ForbidSpin => ("forbid-spin", "a task forbids task switching and spins", Hangs),
            Scenario::PriorityHijack => ("priority-hijack", "a task raises the shell to the top priority", NotContained),
            Scenario::HandlerFault => ("handler-fault", "a DOS handler faults while clients wait on it", Halts),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_found() {
        for s in Scenario::ALL {
            assert_eq!(Scenario::find(s.name()), Some(s));
            assert_eq!(Scenario::ALL.iter().filter(|t| t.name() == s.name()).count(), 1);
        }
        assert_eq!(Scenario::find("WILD-WRITE"), Some(Scenario::WildWrite));
        assert_eq!(Scenario::find("nonsense"), None);
    }
}
