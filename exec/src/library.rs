//! Libraries: shared code opened by name, with versions and open counts, as on the Amiga.
//!
//! A library is a [`Library`] base plus a vector table: a `#[repr(C)]` struct of function
//! pointers declared in one place with [`vector_table!`](crate::vector_table). Callers reach
//! the functions through the table, so [`set_function`] can patch an entry (and put it back).
//! A library that is still open when removed is expunged when its last user closes it.
//!
//! The library list is guarded by Forbid; so are open counts and vector tables.

use core::ptr::null_mut;

use crate::execbase::base;
use crate::global::Global;
use crate::list::{Node, NodeType};
use crate::sched::{forbid, permit};

/// Expunge as soon as the last user closes (set by rem_library on an open library).
pub const LIBF_DELEXP: u8 = 1 << 3;
/// A vector was patched by set_function.
pub const LIBF_CHANGED: u8 = 1 << 1;

/// A library base (Exec's `struct Library`).
#[repr(C)]
pub struct Library {
    /// In the library (or device) list; kind Library or Device; priority; name.
    pub node: Node,
    pub flags: u8,
    pub version: u16,
    pub revision: u16,
    pub id_string: &'static str,
    /// Current users. Forbid.
    pub open_cnt: u16,
    vectors: *mut usize,
    vector_count: usize,
    /// Called when the library is removed with no users (frees what it holds).
    pub expunge: fn(*mut Library),
}

fn no_expunge(_: *mut Library) {}

// SAFETY: a library base is shared by every opener by design; its list links and open count
// are guarded by Forbid, and its vector table is patched only under Forbid.
unsafe impl Send for Library {}

impl Library {
    /// A library base for the vector table `vectors` (make_library): `V` must be a `#[repr(C)]`
    /// struct of function pointers only, as [`vector_table!`](crate::vector_table) declares.
    pub const fn new<V>(
        name: &'static str,
        version: u16,
        revision: u16,
        id_string: &'static str,
        vectors: &'static Global<V>,
    ) -> Self {
        Library {
            node: Node::named(NodeType::Library, 0, name),
            flags: 0,
            version,
            revision,
            id_string,
            open_cnt: 0,
            vectors: vectors.get() as *mut usize,
            vector_count: size_of::<V>() / size_of::<usize>(),
            expunge: no_expunge,
        }
    }

    /// The vector table's address (what a library's call wrappers name it by).
    pub fn table_addr(&self) -> usize {
        self.vectors as usize
    }

    /// Entry `index` of the vector table, if there is one. Forbid.
    pub fn vector(&self, index: usize) -> Option<usize> {
        // SAFETY: the table holds `vector_count` function pointers (see `new`).
        (index < self.vector_count).then(|| unsafe { self.vectors.add(index).read() })
    }

    /// Number of entries in the vector table.
    pub fn vector_count(&self) -> usize {
        self.vector_count
    }
}

/// Declares a library's vector table: the `#[repr(C)]` struct of its entry points, the static
/// table holding the implementations, and one wrapper per entry that calls through the table.
///
/// Each entry says whether it is `safe` (it takes no pointer it dereferences: callers need no
/// `unsafe`) or `unsafe` (it takes raw pointers and has its implementation's `# Safety`
/// contract); the wrapper and the table's slot carry the same qualifier as the implementation.
/// `unsafe_c` is an `unsafe` entry whose slot holds an `extern "C"` function (an assembly
/// entry point: exec's do_msg and reply_wait in the flat build); its wrapper is an unsafe fn.
///
/// ```ignore
/// vector_table! {
///     /// The table of my.library.
///     pub struct MyVectors in MY_VECTORS;
///     safe fn frob(x: u32) -> u32 = crate::frob_impl;
///     unsafe fn poke(at: *mut u8) = crate::poke_impl;
/// }
/// ```
#[macro_export]
macro_rules! vector_table {
    // exec's own table: in mmu-mode, a ring-3 caller takes the gate stub of the same name.
    ($(#[$m:meta])* pub struct $table:ident in $stat:ident; gate $gate:path;
     $( $kind:ident fn $name:ident ( $($arg:ident : $ty:ty),* ) $(-> $ret:ty)? = $imp:path; )*) => {
        $crate::vector_table!(@table $(#[$m])* $table $stat; $( $kind $name ( $($arg : $ty),* ) $(-> $ret)? = $imp; )*);
        $( $crate::vector_table!(@exec $kind $gate, $stat, $name ( $($arg : $ty),* ) $(-> $ret)? = $imp); )*
    };
    // A library's table: a ring-3 caller (mmu-mode) gets the entry through the gate.
    ($(#[$m:meta])* pub struct $table:ident in $stat:ident;
     $( $kind:ident fn $name:ident ( $($arg:ident : $ty:ty),* ) $(-> $ret:ty)? = $imp:path; )*) => {
        $crate::vector_table!(@table $(#[$m])* $table $stat; $( $kind $name ( $($arg : $ty),* ) $(-> $ret)? = $imp; )*);
        $( $crate::vector_table!(@lib $kind $table, $stat, $name ( $($arg : $ty),* ) $(-> $ret)? = $imp); )*
    };
    (@exec safe $gate:path, $stat:ident, $name:ident ( $($arg:ident : $ty:ty),* ) $(-> $ret:ty)? = $imp:path) => {
        #[doc = concat!("Calls `", stringify!($name), "` through the vector table: see [`", stringify!($imp), "`].")]
        #[inline(always)]
        pub fn $name($($arg: $ty),*) $(-> $ret)? {
            #[cfg(feature = "mmu")]
            if $crate::arch::x86_64::cpu::in_ring3() {
                use $gate as gate;
                return gate::$name($($arg),*);
            }
            // SAFETY: reading the entry is one aligned load; it holds the implementation or a
            // patch with its signature (set_function's contract).
            let f = unsafe { (*$stat.get()).$name };
            f($($arg),*)
        }
    };
    // An entry with the C calling convention (an assembly entry point): called as an unsafe one.
    (@exec unsafe_c $gate:path, $stat:ident, $name:ident ( $($arg:ident : $ty:ty),* ) $(-> $ret:ty)? = $imp:path) => {
        $crate::vector_table!(@exec unsafe $gate, $stat, $name ( $($arg : $ty),* ) $(-> $ret)? = $imp);
    };
    (@exec unsafe $gate:path, $stat:ident, $name:ident ( $($arg:ident : $ty:ty),* ) $(-> $ret:ty)? = $imp:path) => {
        #[doc = concat!("Calls `", stringify!($name), "` through the vector table: see [`", stringify!($imp), "`].")]
        ///
        /// # Safety
        /// As the implementation's: pointers passed must be live objects of their kind.
        #[inline(always)]
        pub unsafe fn $name($($arg: $ty),*) $(-> $ret)? {
            #[cfg(feature = "mmu")]
            if $crate::arch::x86_64::cpu::in_ring3() {
                use $gate as gate;
                return gate::$name($($arg),*);
            }
            // SAFETY: the entry is the implementation or a patch with its contract; reading it
            // is one aligned load; the caller keeps the contract.
            unsafe { ((*$stat.get()).$name)($($arg),*) }
        }
    };
    (@lib safe $table:ident, $stat:ident, $name:ident ( $($arg:ident : $ty:ty),* ) $(-> $ret:ty)? = $imp:path) => {
        #[doc = concat!("Calls `", stringify!($name), "` through the vector table: see [`", stringify!($imp), "`].")]
        ///
        /// In ring 3 the library must be open to the caller: a call through one it has not
        /// opened ends the task (a dead-end alert).
        #[inline(always)]
        pub fn $name($($arg: $ty),*) $(-> $ret)? {
            let f: fn($($ty),*) $(-> $ret)? = if $crate::arch::x86_64::cpu::in_ring3() {
                let index = core::mem::offset_of!($table, $name) / size_of::<usize>();
                let entry = $crate::library::ring3_vector($stat.get() as usize, index);
                // SAFETY: the gate handed back this entry of the table, which holds functions
                // of exactly this type.
                unsafe { core::mem::transmute::<usize, fn($($ty),*) $(-> $ret)?>(entry) }
            } else {
                // SAFETY: reading the entry is one aligned load; it holds the implementation or
                // a patch with its signature (set_function's contract).
                unsafe { (*$stat.get()).$name }
            };
            f($($arg),*)
        }
    };
    (@lib unsafe $table:ident, $stat:ident, $name:ident ( $($arg:ident : $ty:ty),* ) $(-> $ret:ty)? = $imp:path) => {
        #[doc = concat!("Calls `", stringify!($name), "` through the vector table: see [`", stringify!($imp), "`].")]
        ///
        /// # Safety
        /// As the implementation's: pointers passed must be live objects of their kind; in
        /// ring 3 the library must be open to the caller.
        #[inline(always)]
        pub unsafe fn $name($($arg: $ty),*) $(-> $ret)? {
            let f: unsafe fn($($ty),*) $(-> $ret)? = if $crate::arch::x86_64::cpu::in_ring3() {
                let index = core::mem::offset_of!($table, $name) / size_of::<usize>();
                let entry = $crate::library::ring3_vector($stat.get() as usize, index);
                // SAFETY: the gate handed back this entry of the table, which holds functions
                // of exactly this type.
                unsafe { core::mem::transmute::<usize, unsafe fn($($ty),*) $(-> $ret)?>(entry) }
            } else {
                // SAFETY: reading the entry is one aligned load; it holds the implementation or
                // a patch with its contract.
                unsafe { (*$stat.get()).$name }
            };
            // SAFETY: as the implementation's contract (the caller's).
            unsafe { f($($arg),*) }
        }
    };
    (@fnty safe ($($ty:ty),*) $(-> $ret:ty)?) => { fn($($ty),*) $(-> $ret)? };
    (@fnty unsafe ($($ty:ty),*) $(-> $ret:ty)?) => { unsafe fn($($ty),*) $(-> $ret)? };
    (@fnty unsafe_c ($($ty:ty),*) $(-> $ret:ty)?) => { unsafe extern "C" fn($($ty),*) $(-> $ret)? };
    (@table $(#[$m:meta])* $table:ident $stat:ident;
     $( $kind:ident $name:ident ( $($arg:ident : $ty:ty),* ) $(-> $ret:ty)? = $imp:path; )*) => {
        $(#[$m])*
        #[repr(C)]
        pub struct $table {
            $( pub $name: $crate::vector_table!(@fnty $kind ($($ty),*) $(-> $ret)?), )*
        }

        /// The vector table callers go through. Patched only under Forbid (set_function).
        pub static $stat: $crate::global::Global<$table> =
            $crate::global::Global::new($table { $( $name: $imp, )* });
    };
}

/// mmu-mode: entry `index` of the library table at `table`, asked of the gate by a ring-3
/// caller (see [`crate::sys_gate::library_vector`]). Never reached in the flat build.
#[doc(hidden)]
#[inline(always)]
pub fn ring3_vector(table: usize, index: usize) -> usize {
    #[cfg(feature = "mmu")]
    return crate::sys_gate::library_vector(table, index);
    #[cfg(not(feature = "mmu"))]
    {
        let _ = (table, index);
        unreachable!("no ring 3 in the flat build")
    }
}

/// Makes `lib` available to open_library (sorted by priority).
///
/// # Safety
/// `lib` is live, on no list, and outlives its time on the list.
pub unsafe fn add_library(lib: *mut Library) {
    forbid();
    // SAFETY: Forbid held; `lib` live (caller).
    unsafe { (*base()).lib_list.enqueue(&mut (*lib).node) };
    permit();
}

/// Opens the library `name` if its version is at least `min_version`. Result: the library
/// base (its open count raised), or null when there is no such library, it is too old, or it
/// is open 65,535 times already. Not callable from an interrupt.
pub fn open_library(name: &str, min_version: u16) -> *mut Library {
    forbid();
    // SAFETY: Forbid held; libraries on the list are live.
    let lib = unsafe {
        let lib = (*base()).lib_list.find_name(name) as *mut Library;
        match lib.as_mut() {
            Some(l) if l.version >= min_version && l.open_cnt < u16::MAX => {
                l.open_cnt += 1;
                l.flags &= !LIBF_DELEXP;
                lib
            }
            _ => null_mut(),
        }
    };
    permit();
    lib
}

/// Closes a library opened with open_library. When the last user closes a library whose
/// removal was delayed, it is expunged now. Null does nothing.
///
/// # Safety
/// `lib` is null or was opened by the caller and is not used after.
pub unsafe fn close_library(lib: *mut Library) {
    forbid();
    // SAFETY: Forbid held; `lib` live (caller).
    unsafe {
        if let Some(l) = lib.as_mut() {
            l.open_cnt = l.open_cnt.saturating_sub(1);
            if l.open_cnt == 0 && l.flags & LIBF_DELEXP != 0 {
                expunge(lib);
            }
        }
    }
    permit();
}

/// Removes `lib`. Result: true if it was expunged now; false if it is still open, in which
/// case it is expunged when its last user closes it.
///
/// # Safety
/// `lib` is on the library list.
pub unsafe fn rem_library(lib: *mut Library) -> bool {
    forbid();
    // SAFETY: Forbid held; `lib` live and listed (caller).
    let now = unsafe {
        if (*lib).open_cnt == 0 {
            expunge(lib);
            true
        } else {
            (*lib).flags |= LIBF_DELEXP;
            false
        }
    };
    permit();
    now
}

/// Takes `lib` off its list and calls its expunge hook. Forbid held.
///
/// # Safety
/// Forbid held; `lib` is live and on the library or device list (or already off it).
unsafe fn expunge(lib: *mut Library) {
    // SAFETY: `lib` live and on the library or device list.
    unsafe {
        let list = if (*lib).node.kind == NodeType::Device { &mut (*base()).device_list } else { &mut (*base()).lib_list };
        if list.contains(&(*lib).node) {
            list.remove(&mut (*lib).node);
        }
        (*lib).flags &= !LIBF_DELEXP;
        ((*lib).expunge)(lib);
    }
}

/// Replaces entry `index` of `lib`'s vector table with `new`; returns the old entry, or null
/// if `index` is out of range (nothing changes then).
///
/// # Safety
/// `lib` is live; `new` is a function with exactly the signature of that entry, calling
/// convention included (exec's `do_msg` and `reply_wait` entries are `extern "C"`: the flat
/// build's assembly fast paths), valid for as long as it stays in the table.
pub unsafe fn set_function(lib: *mut Library, index: usize, new: *const ()) -> *const () {
    forbid();
    // SAFETY: Forbid held (the tables' guard); index checked against the table's size.
    let old = unsafe {
        if index >= (*lib).vector_count {
            null_mut::<()>() as *const ()
        } else {
            let slot = (*lib).vectors.add(index);
            let old = *slot as *const ();
            *slot = new as usize;
            (*lib).flags |= LIBF_CHANGED;
            old
        }
    };
    permit();
    old
}

/// Calls `f` for every library on the list (under Forbid: `f` must not call exec).
pub fn for_each_library(mut f: impl FnMut(&Library)) {
    forbid();
    // SAFETY: Forbid held; listed libraries are live.
    unsafe {
        for n in (*base()).lib_list.iter() {
            f(&*(n as *const Library));
        }
    }
    permit();
}
