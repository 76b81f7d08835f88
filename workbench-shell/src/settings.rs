//! Settings: a command's changes to the shell's shared state, made by the jobs service.
//!
//! The state ([`crate::state::ShellState`]) has one task that writes it, the shell (besides
//! ring 0); its commands map it read-only, so that none can spoil what the shell and the other
//! commands read (the prompt, the aliases, the CLI table, the line being typed). PROMPT,
//! ALIAS, UNALIAS, COLOR and CD send a SETTING request instead, as does the foreground command
//! for its failure message (WHY). The service makes a change only for a live job whose
//! command may ([`Setting::allowed_for`]: PROMPT the prompt, and so on), in the state that job
//! was started with, and names the job's task from the kernel's record of the sender, never
//! from the request: a command can neither change what is not its to change nor tell a
//! failure in another task's name. (A job's CLI entry goes when the service sees its task
//! ended: `jobs::reap_jobs`.)
//!
//! The flat build takes the same path (one code for both builds).

use alloc::string::String;

use crate::state::Setting;
use crate::system::{ANSWERED, ERR_BAD_REQUEST, ERR_NOT_ALLOWED, ERR_REFUSED, JOBS_PORT_NAME, Request, SETTING, TEXT_MAX, ask_at};

/// SETTING, checked: a known setting, its texts within the request and UTF-8, its switch 0 or
/// 1, no third text; the asker a live job (the ring-3 `sender`, else the ring-0 task named in
/// `number`) whose command may make it. Answers [`ERR_REFUSED`] with the reason in the text
/// for values the state cannot take.
pub(crate) fn change(r: &mut Request, sender: Option<u64>) -> u64 {
    let Some(setting) = Setting::from_number(r.setting) else { return ERR_BAD_REQUEST };
    let (first_len, second_len) = (r.args_len as usize, r.output_len as usize);
    if first_len > TEXT_MAX || second_len > TEXT_MAX - first_len || r.input_len != 0 || r.flags > 1 {
        return ERR_BAD_REQUEST;
    }
    let task = sender.unwrap_or(r.number);
    let Some(job) = crate::jobs::job_of(task) else { return ERR_NOT_ALLOWED };
    let (Ok(first), Ok(second)) = (core::str::from_utf8(&r.text[..first_len]), core::str::from_utf8(&r.text[first_len..first_len + second_len])) else {
        return ERR_BAD_REQUEST;
    };
    if !setting.allowed_for(job.command, first, job.foreground) {
        return ERR_NOT_ALLOWED;
    }
    let on = r.flags == 1;
    match job.state.with(|s| s.apply(setting, first, second, on, task)) {
        Ok(()) => ANSWERED,
        Err(why) => {
            r.text[..why.len()].copy_from_slice(why.as_bytes());
            r.text_len = why.len() as u64;
            ERR_REFUSED
        }
    }
}

/// Why a setting was not made.
#[derive(Debug, PartialEq, Eq)]
pub enum SettingError {
    /// The state cannot take the values: the reason ("Prompt too long", "No such alias", ...).
    Refused(String),
    /// Not this command's to change (or the asker is no live job).
    NotAllowed,
    /// No jobs service answered.
    NoService,
}

impl core::fmt::Display for SettingError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            SettingError::Refused(why) => f.write_str(why),
            SettingError::NotAllowed => f.write_str("Not this command's to change"),
            SettingError::NoService => f.write_str("The jobs service did not answer"),
        }
    }
}

/// Asks the jobs service for `setting` with texts `first` and `second` and switch `on`, for
/// the calling command. Errors: see [`SettingError`] (texts longer than a request holds are
/// refused as "Too long"). Not callable from an interrupt.
pub fn ask_change(setting: Setting, first: &str, second: &str, on: bool) -> Result<(), SettingError> {
    let mut req = Request::new(SETTING, core::ptr::null_mut());
    if first.len() + second.len() > TEXT_MAX {
        return Err(SettingError::Refused(String::from("Too long")));
    }
    req.text[..first.len()].copy_from_slice(first.as_bytes());
    req.text[first.len()..first.len() + second.len()].copy_from_slice(second.as_bytes());
    (req.args_len, req.output_len) = (first.len() as u64, second.len() as u64);
    req.setting = setting as u64;
    req.flags = u64::from(on);
    req.number = crate::my_task_number();
    match ask_at(JOBS_PORT_NAME, &mut req) {
        ANSWERED => Ok(()),
        ERR_REFUSED => Err(SettingError::Refused(String::from(req.text()))),
        ERR_NOT_ALLOWED => Err(SettingError::NotAllowed),
        _ => Err(SettingError::NoService),
    }
}
