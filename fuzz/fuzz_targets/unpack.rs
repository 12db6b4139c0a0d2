//! The artifact unpacker, fed the input as an uncompressed tar stream (the zstd layer is
//! zstd's; the tar walk, the manifest and the link checks are ship's).
//!
//! Every input is unpacked into a fresh directory three levels down a "jail" directory:
//! `jail/a/b/dest`. Whatever the outcome, nothing may appear in the jail but that path, so
//! an entry or a link that climbs out of dest by up to three levels is caught (absolute
//! paths are refused before anything is written). When the unpacker says Ok, every link
//! in dest must resolve inside dest.
//!
//! Tar headers carry a checksum that a mutator almost never gets right, which would keep
//! the fuzzer out of every header field. So before unpacking, the harness walks the
//! headers and rewrites their checksums (see `fix_checksums`). An input whose checksums are
//! already right is unchanged by this. To replay a crash on ship alone, write the fixed
//! bytes out: `SHIP_FUZZ_FIXED=out.tar fuzz/target/.../unpack crash-file`.
#![no_main]

use std::fs;
use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut tar = data.to_vec();
    fix_checksums(&mut tar);
    static FIXED_OUT: std::sync::OnceLock<Option<std::ffi::OsString>> = std::sync::OnceLock::new();
    if let Some(out) = FIXED_OUT.get_or_init(|| std::env::var_os("SHIP_FUZZ_FIXED")) {
        fs::write(out, &tar).expect("writing SHIP_FUZZ_FIXED");
    }

    let jail = tempfile::Builder::new().prefix("ship-fuzz-jail").tempdir().expect("a temp dir");
    let inner = jail.path().join("a").join("b");
    fs::create_dir_all(&inner).expect("creating jail/a/b");
    let dest = tempfile::Builder::new().prefix("dest").tempdir_in(&inner).expect("a temp dir");

    let result = ship::release::unpack::unpack_from(&tar[..], dest.path());
    if debug() {
        eprintln!("unpack_from: {:?}", result.as_ref().map_err(|e| format!("{e:#}")));
    }

    let dest_name = dest.path().file_name().unwrap().to_owned();
    assert_only(jail.path(), "a".as_ref());
    assert_only(&jail.path().join("a"), "b".as_ref());
    assert_only(&inner, &dest_name);

    if result.is_ok() {
        let root = fs::canonicalize(dest.path()).unwrap();
        let mut stack = vec![dest.path().to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in fs::read_dir(&dir).unwrap() {
                let entry = entry.unwrap();
                let kind = entry.file_type().unwrap();
                if kind.is_dir() {
                    stack.push(entry.path());
                } else if kind.is_symlink()
                    && let Ok(real) = fs::canonicalize(entry.path())
                {
                    assert!(
                        real.starts_with(&root),
                        "unpack_from returned Ok, but the link {} leads to {}, outside the release",
                        entry.path().display(),
                        real.display()
                    );
                }
            }
        }
    }
    // Directories the unpacker made read-only would stop the TempDir's cleanup.
    let _ = make_writable(dest.path());
});

/// `SHIP_FUZZ_DEBUG=1`: say what each input became (to check seeds; never set while fuzzing).
fn debug() -> bool {
    static DEBUG: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *DEBUG.get_or_init(|| std::env::var_os("SHIP_FUZZ_DEBUG").is_some())
}

/// `dir` holds exactly one entry, `name` (a directory, not a link).
fn assert_only(dir: &Path, name: &std::ffi::OsStr) {
    let names: Vec<_> = fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(
        names.len() == 1 && names[0] == name,
        "the unpacker wrote outside its destination: {} holds {names:?}",
        dir.display()
    );
    assert!(fs::symlink_metadata(dir.join(name)).unwrap().is_dir(), "{} was replaced", dir.join(name).display());
}

fn make_writable(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta = fs::symlink_metadata(dir)?;
    if meta.is_dir() {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o755))?;
        for entry in fs::read_dir(dir)? {
            make_writable(&entry?.path())?;
        }
    }
    Ok(())
}

/// Rewrite the checksum of every header the tar reader will look at: walk header, data,
/// header, ... as the reader does, stopping where it would stop (an all-zero block, a size
/// it cannot read, the end of the input).
fn fix_checksums(tar: &mut [u8]) {
    let mut pos = 0usize;
    while pos + 512 <= tar.len() {
        let block: &mut [u8; 512] = (&mut tar[pos..pos + 512]).try_into().unwrap();
        if block.iter().all(|b| *b == 0) {
            return;
        }
        let mut header = tar::Header::from_byte_slice(block).clone();
        header.set_cksum();
        block.copy_from_slice(header.as_bytes());
        let Ok(size) = header.entry_size() else { return };
        let Some(next) = size.checked_next_multiple_of(512).and_then(|s| usize::try_from(s).ok()) else { return };
        let Some(next) = pos.checked_add(512).and_then(|p| p.checked_add(next)) else { return };
        pos = next;
    }
}
