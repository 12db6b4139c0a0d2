//! deploy.toml: parsing, validation and the diagnostics that point at file:line:column.
//!
//! Any text must give a Config or a ConfigError, never a panic; the error's Display (with
//! its line snippet and caret) is rendered every time. A valid config's targets must print
//! back to text that parses to the same target, since saved plans store them as text.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use ship::config::{self, TargetSpec, When};

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else { return };
    match config::parse(Path::new("deploy.toml"), Path::new("/fuzz/project"), source) {
        Err(err) => {
            let shown = format!("{err}");
            if debug() {
                eprintln!("error: {shown}");
            }
            assert!(!shown.is_empty());
            if let Some((line, col)) = err.position {
                assert!(line >= 1 && col >= 1, "position {line}:{col} is not 1-based");
            }
        }
        Ok(cfg) => {
            let shown = format!("{cfg:?}");
            if debug() {
                eprintln!("ok: {shown}");
            }
            for when in [When::BeforeSwitch, When::AfterSwitch, When::AfterRollback] {
                let _ = cfg.steps_at(when).count();
            }
            for (name, env) in &cfg.envs {
                assert!(cfg.env(name).is_ok());
                for target in &env.targets {
                    let text = target.to_string();
                    let back: TargetSpec = text
                        .parse()
                        .unwrap_or_else(|e| panic!("target {target:?} prints as {text:?}, which does not parse: {e}"));
                    assert_eq!(&back, target, "target {text:?} does not parse back to itself");
                }
            }
            // A name that is not there: the "did you mean" path.
            let _ = cfg.env("fuzz-no-such-env").map(|_| ()).map_err(|e| format!("{e:#}"));
        }
    }
});

/// `SHIP_FUZZ_DEBUG=1`: say what each input became (to check seeds; never set while fuzzing).
fn debug() -> bool {
    static DEBUG: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *DEBUG.get_or_init(|| std::env::var_os("SHIP_FUZZ_DEBUG").is_some())
}
