//! The agent protocol, both ends: a byte stream is cut into lines by `read_line` (as the
//! agent reads its stdin), and each line is decoded and validated by `decode_to_agent` (the
//! agent's side) and decoded as a `FromAgent` (the deploying ship's side).
//!
//! Besides "never panic": whatever a side accepts must survive being sent again, since
//! the same types are serialized by the other side (encode . decode is stable).
#![no_main]

use std::io::BufReader;

use libfuzzer_sys::fuzz_target;
use ship::agent::protocol::{FromAgent, decode_to_agent, read_line};

fuzz_target!(|data: &[u8]| {
    // A small buffer, so that lines straddle refills as they do on a pipe.
    let mut reader = BufReader::with_capacity(64, data);
    // Bounded: each line consumes at least its '\n'.
    for _ in 0..=data.len() {
        let line = match read_line(&mut reader) {
            Ok(Some(line)) => line,
            // EOF, or a bad line: the agent ends the session there.
            Ok(None) => break,
            Err(e) => {
                if debug() {
                    eprintln!("read_line: {e}");
                }
                break;
            }
        };
        if debug() {
            eprintln!("to agent: {:?}", decode_to_agent(&line).map(|_| "ok"));
            eprintln!(
                "from agent: {:?}",
                serde_json::from_str::<FromAgent>(&line).map(|_| "ok").map_err(|e| e.to_string())
            );
        }
        if let Ok(message) = decode_to_agent(&line) {
            let sent = serde_json::to_string(&message).expect("a decoded message serializes");
            let again = decode_to_agent(&sent)
                .unwrap_or_else(|e| panic!("{line:?} was accepted, but its re-encoding {sent:?} is refused: {e}"));
            assert_eq!(serde_json::to_string(&again).unwrap(), sent, "re-encoding of {line:?} is not stable");
        }
        if let Ok(message) = serde_json::from_str::<FromAgent>(&line) {
            let sent = serde_json::to_string(&message).expect("a decoded message serializes");
            let again = serde_json::from_str::<FromAgent>(&sent)
                .unwrap_or_else(|e| panic!("{line:?} was accepted, but its re-encoding {sent:?} is refused: {e}"));
            assert_eq!(serde_json::to_string(&again).unwrap(), sent, "re-encoding of {line:?} is not stable");
        }
    }
});

/// `SHIP_FUZZ_DEBUG=1`: say what each input became (to check seeds; never set while fuzzing).
fn debug() -> bool {
    static DEBUG: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *DEBUG.get_or_init(|| std::env::var_os("SHIP_FUZZ_DEBUG").is_some())
}
