//! ASSIGN: the names (`name:`) that stand for directories, beside the volumes and devices,
//! through dos.library as the file commands are.
#![forbid(unsafe_code)]

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use libraries::dosdefs::error;
use libraries::readargs::ArgValue;

use super::files::dos_fail;
use super::{Ctx, switch, text};
use crate::shell::RC_OK;

/// ASSIGN [name: [target]] [REMOVE]: lists the devices and assigns, makes `name:` stand for
/// the directory `target`, or (no target, or REMOVE) removes the assign.
pub(super) fn assign(ctx: &mut Ctx, a: &[ArgValue]) -> i32 {
    let (name, target, remove) = (text(&a[0]), text(&a[1]), switch(&a[2]));
    let Some(name) = name.map(String::from) else {
        // As AmigaDOS lists them: volumes, assigns, devices.
        let _ = writeln!(ctx.con, "Volumes:");
        for (n, _) in libraries::dos::volumes() {
            let _ = writeln!(ctx.con, "{n} [Mounted]");
        }
        let _ = writeln!(ctx.con, "\nDirectories:");
        for (n, t) in libraries::dos::assigns() {
            let _ = writeln!(ctx.con, "{n:<15} {t}");
        }
        let devices: Vec<&str> = ["RAM", "CON", "NIL"].into_iter().filter(|d| !exec::sys::find_port(d).is_null()).collect();
        let _ = writeln!(ctx.con, "\nDevices:\n{}", devices.join(" "));
        return RC_OK;
    };
    let r = match target {
        Some(t) if !remove => libraries::dos::assign_path(&name, t),
        _ => libraries::dos::assign_lock(&name, None),
    };
    match r {
        Ok(()) => RC_OK,
        Err(e) => {
            // A fault of the target is named by it; one of the name (or its removal), by it.
            let about = match target {
                Some(t) if !remove && e != error::INVALID_COMPONENT_NAME && e != error::OBJECT_EXISTS => String::from(t),
                _ => name,
            };
            dos_fail(ctx, &about, e)
        }
    }
}
