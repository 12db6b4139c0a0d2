//! The journal: any bytes (a torn line, garbage, records in any order) replay into a ledger
//! without a panic, and a rollback target is always a release that went live, never the
//! current one.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ship::release::journal::{self, Ledger};

fuzz_target!(|data: &[u8]| {
    let records = journal::parse(data).expect("reading from memory cannot fail");
    let ledger = Ledger::replay(&records);
    if debug() {
        eprintln!("{} records; stack {:?}; last failure {:?}", records.len(), ledger.stack, ledger.last_failure);
    }

    let mut currents: Vec<Option<&str>> = vec![None];
    currents.extend(records.first().map(|r| r.release.as_deref()));
    currents.extend(records.last().map(|r| r.release.as_deref()));
    currents.extend(ledger.stack.last().map(|s| Some(s.as_str())));
    currents.push(Some("000000000000"));

    let on_disk: [fn(&str) -> bool; 2] = [|_| true, |r| r.len() % 2 == 0];
    for current in currents {
        for exists in on_disk {
            if let Some(previous) = ledger.previous(current, exists) {
                assert_ne!(Some(previous.as_str()), current, "rollback target is the current release");
                assert!(ledger.stack.contains(&previous), "rollback target {previous:?} never went live");
                assert!(exists(&previous), "rollback target {previous:?} is not on disk");
            }
        }
    }
});

/// `SHIP_FUZZ_DEBUG=1`: say what each input became (to check seeds; never set while fuzzing).
fn debug() -> bool {
    static DEBUG: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *DEBUG.get_or_init(|| std::env::var_os("SHIP_FUZZ_DEBUG").is_some())
}
