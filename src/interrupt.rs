//! Ctrl-C (SIGINT) and SIGTERM during a deploy. The first one asks the rollout to stop
//! starting new work: running steps finish or time out, then what this run switched is
//! rolled back. A second one exits at once (130): local steps' guards are told to
//! stop, remote agents see their connection close and stop theirs, and every target is
//! left on a complete release, because every switch is one rename.

use std::sync::atomic::{AtomicBool, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Has the user asked ship to stop?
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// Start watching for SIGINT and SIGTERM. `on_first` is told when the first one arrives;
/// `on_exit` runs when the second one does, with the exit code, right before ship exits.
pub fn install(on_first: impl Fn() + Send + 'static, on_exit: impl Fn(i32) + Send + 'static) -> std::io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    std::thread::spawn(move || {
        for signal in signals.forever() {
            if REQUESTED.swap(true, Ordering::SeqCst) {
                crate::process::stop_all_groups();
                on_exit(128 + signal);
                std::process::exit(128 + signal);
            }
            on_first();
        }
    });
    Ok(())
}
