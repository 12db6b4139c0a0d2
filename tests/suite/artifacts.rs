//! `ship build`: a reproducible, content-addressed artifact made from the commit (never the
//! working copy), stored by sha256, reused, and deployable later by its sha256.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Output;

use sha2::{Digest, Sha256};

use super::harness::{Project, text};

/// Commit time of the harness's first commit: every entry of its artifact carries it.
const FIRST_COMMIT_TIME: u64 = 1_700_000_000;

fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn sha256_of(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// One entry of an artifact, as `tar` sees it.
#[derive(Debug)]
struct Entry {
    path: String,
    kind: tar::EntryType,
    mode: u32,
    mtime: u64,
    uid: u64,
    gid: u64,
    owner_names: (String, String),
    link: Option<String>,
    data: Vec<u8>,
}

impl Entry {
    fn text(&self) -> String {
        String::from_utf8(self.data.clone()).unwrap()
    }
}

/// Every entry of the tar+zstd artifact at `path`, in archive order.
fn unpack(path: &Path) -> Vec<Entry> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut archive = tar::Archive::new(zstd::stream::read::Decoder::new(file).unwrap());
    let mut out = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let h = entry.header().clone();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        out.push(Entry {
            path: entry.path().unwrap().to_str().unwrap().trim_end_matches('/').to_string(),
            kind: h.entry_type(),
            mode: h.mode().unwrap() & 0o7777,
            mtime: h.mtime().unwrap(),
            uid: h.uid().unwrap(),
            gid: h.gid().unwrap(),
            owner_names: (
                h.username().unwrap().unwrap_or_default().to_string(),
                h.groupname().unwrap().unwrap_or_default().to_string(),
            ),
            link: entry.link_name().unwrap().map(|l| l.to_str().unwrap().to_string()),
            data,
        });
    }
    out
}

/// The regular files and symlinks of an artifact (no manifest, no directories), by path.
fn files(entries: &[Entry]) -> Vec<&str> {
    entries
        .iter()
        .filter(|e| e.kind != tar::EntryType::Directory && e.path != ".ship-manifest.json")
        .map(|e| e.path.as_str())
        .collect()
}

fn entry<'a>(entries: &'a [Entry], path: &str) -> &'a Entry {
    entries.iter().find(|e| e.path == path).unwrap_or_else(|| panic!("no {path} in the artifact: {:?}", files(entries)))
}

/// `ship --format json build ARGS`: (sha256, unpacked entries, the whole JSON).
fn build(p: &Project, args: &[&str]) -> (String, Vec<Entry>, serde_json::Value) {
    let mut all = vec!["build"];
    all.extend_from_slice(args);
    let json = p.json(&all, 0);
    let sha = json["sha256"].as_str().unwrap().to_string();
    assert!(is_sha256(&sha), "{json}");
    let path = PathBuf::from(json["path"].as_str().expect("build JSON has a path"));
    assert_eq!(sha256_of(&path), sha, "the artifact's identity is the sha256 of the file at `path`");
    (sha, unpack(&path), json)
}

/// Run ship outside the harness's defaults: another artifact store, umask, time zone and user,
/// as on another machine.
fn ship_elsewhere(p: &Project, store: &Path, umask: &str, args: &[&str]) -> Output {
    std::process::Command::new("sh")
        .arg("-c")
        .arg("umask \"$0\" && exec \"$@\"")
        .arg(umask)
        .arg(env!("CARGO_BIN_EXE_ship"))
        .args(args)
        .current_dir(&p.root)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &p.home)
        .env("USER", "someone-else")
        .env("TZ", "Pacific/Chatham")
        .env("LC_ALL", "C")
        .env("SHIP_CACHE_DIR", store)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

#[test]
fn build_prints_only_the_sha256_on_stdout() {
    let p = Project::with_targets(&["staging"], "");
    let (stdout, stderr) = p.expect(&["build"], 0);
    assert!(is_sha256(stdout.trim_end()), "stdout is the sha256 and nothing else: {stdout:?}");
    assert_eq!(stdout.lines().count(), 1, "{stdout:?}");
    assert!(!stderr.is_empty(), "progress goes to stderr");
    let (sha, entries, json) = build(&p, &[]);
    assert_eq!(sha, stdout.trim_end(), "human and JSON builds agree");
    assert_eq!(json["commit"], p.head());
    assert_eq!(json["version"], "v1");
    assert_eq!(json["size"].as_u64().unwrap(), std::fs::metadata(json["path"].as_str().unwrap()).unwrap().len());
    assert_eq!(files(&entries), ["bin/healthy", "deploy.toml", "index.html"]);
    assert_eq!(entry(&entries, "index.html").text(), "version one\n");
}

/// Two repositories made on two "machines" from the same files and the same pinned commit.
#[test]
fn the_same_commit_gives_the_same_sha256_on_another_machine() {
    let make = || {
        let p = Project::empty();
        p.write(
            "deploy.toml",
            "[app]\nname = \"hello\"\n\n[build]\ncommand = \"mkdir -p dist/js && cp index.html dist/ && echo generated > dist/js/gen.js && echo $SOURCE_DATE_EPOCH > dist/epoch.txt\"\n\n[env.staging]\ntargets = [\"local:/nonexistent/ship-repro\"]\n",
        );
        p.write("index.html", "same bytes\n");
        p.write("assets/b.css", "b\n");
        p.write("assets/a.css", "a\n");
        p.write_exec("bin/run", "#!/bin/sh\necho run\n");
        p.commit("first");
        p
    };
    let here = make();
    let there = make();
    assert_eq!(here.head(), there.head(), "pinned times and author give the same commit");

    // "There": files in the working tree touched at another time, another umask, store, TZ, user.
    let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
    for rel in ["index.html", "assets/a.css", "bin/run", "deploy.toml"] {
        std::fs::File::options().write(true).open(there.root.join(rel)).unwrap().set_modified(old).unwrap();
    }
    let (sha_here, entries_here, json_here) = build(&here, &[]);
    assert_eq!(json_here["reused"], false);
    let store = there.base.join("another-store");
    let out = ship_elsewhere(&there, &store, "077", &["--format", "json", "build"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json_there: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json_there["reused"], false, "built afresh in the other store");
    assert!(json_there["path"].as_str().unwrap().starts_with(store.to_str().unwrap()), "{json_there}");
    assert_eq!(json_there["sha256"].as_str().unwrap(), sha_here, "same commit, same build: same sha256");

    // And a rebuild here in a fresh store, on another day, gives the very same bytes again.
    let again = ship_elsewhere(&here, &here.base.join("store-2"), "022", &["build"]);
    assert_eq!(text(&again.stdout).trim(), sha_here, "{}", text(&again.stderr));

    let generated = entry(&entries_here, "dist/js/gen.js");
    assert_eq!(generated.mode, 0o644, "files the build wrote under any umask are normalised");
    assert_eq!(entry(&entries_here, "dist/epoch.txt").text(), format!("{FIRST_COMMIT_TIME}\n"));
}

#[test]
fn the_artifact_is_the_commit_not_the_working_copy() {
    let p = Project::with_targets(&["staging"], "");
    let (clean, ..) = build(&p, &[]);

    // An untracked file neither dirties the tree nor enters the artifact.
    p.write("scratch.txt", "notes\n");
    let (sha, entries, _) = build(&p, &[]);
    assert_eq!(sha, clean);
    assert!(!files(&entries).contains(&"scratch.txt"));

    // An uncommitted edit of a tracked file is refused, naming the file.
    p.write("index.html", "uncommitted edit\n");
    let (stdout, stderr) = p.expect(&["build"], 2);
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("index.html"), "names the dirty file:\n{stderr}");
    assert!(stderr.contains("--allow-dirty"), "says how to go on:\n{stderr}");

    // With --allow-dirty, built afresh in another store, the artifact is still the commit's.
    let store = p.base.join("fresh-store");
    let out =
        p.ship().env("SHIP_CACHE_DIR", &store).args(["--format", "json", "build", "--allow-dirty"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["reused"], false, "a real build, not a store hit");
    assert_eq!(json["sha256"].as_str().unwrap(), clean, "the working copy's edit is not in the artifact");
    let entries = unpack(Path::new(json["path"].as_str().unwrap()));
    assert_eq!(entry(&entries, "index.html").text(), "version one\n");

    // Deploying a dirty HEAD is refused the same way, before any target is touched.
    let (_, stderr) = p.expect(&["deploy", "staging", "--yes"], 2);
    assert!(stderr.contains("index.html"), "{stderr}");
    assert!(!p.target("staging").exists());
}

#[test]
fn ref_picks_the_commit_to_build() {
    let p = Project::with_targets(&["staging"], "");
    let first = p.head();
    p.write("index.html", "version two\n");
    let second = p.commit("second");
    let (head, head_entries, head_json) = build(&p, &[]);
    assert_eq!(head_json["commit"], second);
    assert_eq!(head_json["version"], format!("v1-1-g{}", &second[..7]));
    assert_eq!(entry(&head_entries, "index.html").text(), "version two\n");

    let (by_tag, tag_entries, tag_json) = build(&p, &["--ref", "v1"]);
    assert_ne!(by_tag, head, "different content, different sha256");
    assert_eq!(tag_json["commit"], first);
    assert_eq!(tag_json["version"], "v1");
    assert_eq!(entry(&tag_entries, "index.html").text(), "version one\n");
    for reference in [first.as_str(), &first[..7], "HEAD~1", "HEAD^"] {
        let (sha, _, json) = build(&p, &["--ref", reference]);
        assert_eq!(sha, by_tag, "--ref {reference}");
        assert_eq!(json["commit"], first, "--ref {reference}");
    }
    let (sha, ..) = build(&p, &["--ref", "HEAD"]);
    assert_eq!(sha, head);

    // An explicit older ref builds from git objects, so a dirty working tree does not matter.
    p.write("index.html", "uncommitted\n");
    let (sha, ..) = build(&p, &["--ref", "v1"]);
    assert_eq!(sha, by_tag);
}

#[test]
fn unknown_ref_is_a_usage_error() {
    let p = Project::with_targets(&["staging"], "");
    for reference in ["no-such-branch", "v9", "deadbeefdeadbeef", "HEAD~5", "HEAD^{tree}"] {
        let (stdout, stderr) = p.expect(&["build", "--ref", reference], 2);
        assert!(stdout.is_empty(), "{stdout}");
        assert!(stderr.contains(reference), "names the ref {reference}:\n{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let (_, stderr) = p.expect(&["deploy", "staging", "--ref", "v9", "--yes"], 2);
    assert!(stderr.contains("v9"), "{stderr}");
    assert!(!p.target("staging").exists());
}

#[test]
fn an_empty_repository_is_a_usage_error() {
    let p = Project::empty();
    p.write("deploy.toml", &super::harness::config_with(&[&p.target("staging")], ""));
    let (_, stderr) = p.expect(&["build"], 2);
    assert!(stderr.contains("commit"), "{stderr}");
}

#[test]
fn the_build_command_runs_in_a_clean_export_with_source_date_epoch() {
    let build_cfg = "[build]\ncommand = \"mkdir -p dist && printf %s \\\"$SOURCE_DATE_EPOCH\\\" > dist/epoch.txt && ls -A > dist/listing.txt\"\ninclude = [\"dist/**\"]\n";
    let p = Project::with_targets(&["staging"], build_cfg);
    p.write("untracked.txt", "only in the working copy\n");
    std::fs::create_dir_all(p.root.join("dist")).unwrap();
    std::fs::write(p.root.join("dist/stale.txt"), "left over from a local build\n").unwrap();

    let (_, entries, _) = build(&p, &[]);
    assert_eq!(files(&entries), ["dist/epoch.txt", "dist/listing.txt"], "include selects the build's output only");
    assert_eq!(entry(&entries, "dist/epoch.txt").text(), FIRST_COMMIT_TIME.to_string());
    let listing = entry(&entries, "dist/listing.txt").text();
    let names: Vec<&str> = listing.lines().collect();
    assert!(names.contains(&"index.html") && names.contains(&"deploy.toml"), "{listing}");
    assert!(!names.contains(&"untracked.txt"), "the export has only the commit's files:\n{listing}");
    assert!(!names.contains(&".git"), "the export is not a checkout:\n{listing}");

    // A later commit gets its own commit time, and --ref an older one gets the older time.
    p.write("index.html", "version two\n");
    p.commit("second");
    let (_, entries, _) = build(&p, &[]);
    assert_eq!(entry(&entries, "dist/epoch.txt").text(), (FIRST_COMMIT_TIME + 3600).to_string());
    let (_, entries, _) = build(&p, &["--ref", "v1"]);
    assert_eq!(entry(&entries, "dist/epoch.txt").text(), FIRST_COMMIT_TIME.to_string());
}

#[test]
fn include_and_exclude_globs_select_files() {
    let cfg = "[build]\ninclude = [\"dist/**\", \"README.md\"]\nexclude = [\"**/*.map\"]\n";
    let p = Project::with_targets(&["staging"], cfg);
    p.write("dist/app.js", "app\n");
    p.write("dist/app.js.map", "map\n");
    p.write("dist/sub/x.js", "x\n");
    p.write("dist/sub/x.js.map", "map\n");
    p.write("src/main.c", "int main;\n");
    p.write("README.md", "readme\n");
    p.write("docs/README.md", "not the top one\n");
    p.commit("files");
    let (_, entries, _) = build(&p, &[]);
    assert_eq!(files(&entries), ["README.md", "dist/app.js", "dist/sub/x.js"]);
    let manifest: serde_json::Value = serde_json::from_slice(&entries[0].data).unwrap();
    let listed: Vec<&str> = manifest["files"].as_array().unwrap().iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert_eq!(listed, ["README.md", "dist/app.js", "dist/sub/x.js"], "the manifest lists the same files");
}

#[test]
fn include_matching_nothing_is_refused() {
    let p = Project::with_targets(&["staging"], "[build]\ninclude = [\"dist/**\"]\n");
    let (_, stderr) = p.expect(&["build"], 2);
    assert!(stderr.contains("include") && stderr.contains("empty"), "{stderr}");
    let (_, stderr) = p.expect(&["deploy", "staging", "--yes"], 2);
    assert!(stderr.contains("include"), "{stderr}");
    assert!(!p.target("staging").exists());
}

#[test]
fn a_failing_build_command_is_exit_1_with_its_output() {
    let cfg = "[build]\ncommand = \"echo compiling main.c; echo 'main.c:3: error: expected semicolon' >&2; exit 3\"\n";
    let p = Project::with_targets(&["staging"], cfg);
    // --quiet hides progress, so what follows must be in the error message itself.
    let (stdout, stderr) = p.expect(&["-q", "build"], 1);
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("main.c:3: error: expected semicolon"), "the build's own output is shown:\n{stderr}");
    assert!(stderr.contains("compiling main.c"), "{stderr}");
    assert!(stderr.contains('3'), "the exit code is said:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let stored = std::fs::read_dir(p.base.join("cache/artifacts")).map(|d| d.count()).unwrap_or(0);
    assert_eq!(stored, 0, "nothing is stored for a failed build");

    let (_, stderr) = p.expect(&["deploy", "staging", "--yes"], 1);
    assert!(stderr.contains("expected semicolon"), "{stderr}");
    assert!(!p.target("staging").exists(), "a failed build touches no target");
}

#[test]
fn a_second_build_of_the_same_commit_is_reused_without_running_the_command() {
    let p = Project::empty();
    let count = p.base.join("builds.log");
    let cfg = format!("[build]\ncommand = \"echo built >> '{}'\"\n", count.display());
    p.write("index.html", "version one\n");
    p.write("deploy.toml", &super::harness::config_with(&[&p.target("staging")], &cfg));
    p.commit("first");
    let runs = || std::fs::read_to_string(&count).unwrap_or_default().lines().count();

    let (_, stderr) = p.expect(&["build"], 0);
    // No tag: the label is the short commit, said once; "Building" only when building.
    let short = &p.head()[..7];
    assert!(stderr.contains(&format!("Building {short}\n")), "{stderr}");
    // What was built, how fast: "built 12 B in 0.01 s (1 kB/s), 579 B packed".
    let line =
        stderr.lines().find(|l| l.contains(&format!("of {short}: built "))).unwrap_or_else(|| panic!("{stderr}"));
    assert!(line.contains(" s (") && line.contains("/s), ") && line.ends_with(" B packed"), "{line}");
    std::fs::remove_dir_all(p.base.join("cache")).unwrap();
    std::fs::remove_file(&count).unwrap();
    let (sha, _, json) = build(&p, &[]);
    assert_eq!(json["reused"], false);
    assert!(json["duration_ms"].is_u64(), "{json}");
    assert_eq!(runs(), 1);
    let (again, _, json) = build(&p, &[]);
    assert_eq!(json["reused"], true);
    assert!(json["duration_ms"].is_null(), "{json}");
    assert_eq!(again, sha);
    assert_eq!(runs(), 1, "a reused artifact does not rerun the build command");
    let (stdout, stderr) = p.expect(&["build"], 0);
    assert_eq!(stdout.trim(), sha);
    assert!(stderr.contains("reused from the store, not rebuilt"), "says the artifact was reused:\n{stderr}");
    assert!(!stderr.contains("Building"), "nothing is built:\n{stderr}");
    p.expect(&["deploy", "staging", "--yes"], 0);
    assert_eq!(runs(), 1, "deploying a built commit does not rebuild it");

    // The store is verified on read: a corrupted artifact is rebuilt, to the same sha256.
    let path = PathBuf::from(json["path"].as_str().unwrap());
    std::fs::write(&path, b"corrupted").unwrap();
    let (rebuilt, _, json) = build(&p, &[]);
    assert_eq!(json["reused"], false, "a corrupt stored artifact is not reused");
    assert_eq!(rebuilt, sha);
    assert_eq!(runs(), 2);
    assert_eq!(sha256_of(&path), sha, "the store holds good bytes again");
}

#[test]
fn symlinks_inside_the_release_are_kept_and_one_leaving_it_refuses_the_build() {
    use std::os::unix::fs::symlink;
    let p = Project::with_targets(&["staging"], "");
    std::fs::create_dir_all(p.root.join("docs")).unwrap();
    symlink("index.html", p.root.join("home.html")).unwrap();
    symlink("../index.html", p.root.join("docs/index.html")).unwrap();
    symlink("/etc/passwd", p.root.join("passwd")).unwrap();
    p.commit("links");
    let (_, stderr) = p.expect(&["build"], 2);
    assert!(stderr.contains("\"passwd\"") && stderr.contains("absolute"), "names the link and why:\n{stderr}");

    std::fs::remove_file(p.root.join("passwd")).unwrap();
    symlink("../outside.txt", p.root.join("up")).unwrap();
    p.commit("a link up");
    let (_, stderr) = p.expect(&["-q", "build"], 2);
    assert!(stderr.contains("\"up\"") && stderr.contains("leads out of the release"), "shown even with -q:\n{stderr}");

    std::fs::remove_file(p.root.join("up")).unwrap();
    p.commit("only links inside");
    let out = p.ship().args(["--format", "json", "build"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let entries = unpack(Path::new(json["path"].as_str().unwrap()));
    let inside = entry(&entries, "home.html");
    assert_eq!(inside.kind, tar::EntryType::Symlink);
    assert_eq!(inside.link.as_deref(), Some("index.html"));
    assert_eq!(entry(&entries, "docs/index.html").link.as_deref(), Some("../index.html"));
}

#[test]
fn tar_entries_are_sorted_owned_by_root_dated_at_the_commit_with_normal_modes() {
    use std::os::unix::fs::PermissionsExt;
    let p = Project::with_targets(&["staging"], "");
    p.write("assets/css/site.css", "body{}\n");
    p.write("assets/app.js", "js\n");
    p.write("zeta.txt", "z\n");
    p.write("a-b.txt", "dash\n");
    p.write("private.key", "not secret\n");
    std::fs::set_permissions(p.root.join("private.key"), std::fs::Permissions::from_mode(0o600)).unwrap();
    p.write_exec("bin/tool", "#!/bin/sh\n");
    std::fs::set_permissions(p.root.join("bin/tool"), std::fs::Permissions::from_mode(0o700)).unwrap();
    p.commit("more files");
    let commit_time = FIRST_COMMIT_TIME + 3600;
    let (_, entries, _) = build(&p, &[]);

    assert_eq!(entries[0].path, ".ship-manifest.json", "the manifest comes first");
    for e in &entries {
        assert_eq!(e.mtime, commit_time, "{}: mtime is the commit time", e.path);
        assert_eq!((e.uid, e.gid), (0, 0), "{}", e.path);
        assert_eq!(e.owner_names, (String::new(), String::new()), "{}: no user names", e.path);
        let expected = match e.kind {
            tar::EntryType::Directory => 0o755,
            tar::EntryType::Regular if ["bin/healthy", "bin/tool"].contains(&e.path.as_str()) => 0o755,
            tar::EntryType::Regular => 0o644,
            other => panic!("{}: unexpected entry type {other:?}", e.path),
        };
        assert_eq!(e.mode, expected, "{}: mode {:o}", e.path, e.mode);
    }
    let names = files(&entries);
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "file entries are in byte order");
    let mut unique = names.clone();
    unique.dedup();
    assert_eq!(unique.len(), names.len(), "no duplicate entries");
    for (i, e) in entries.iter().enumerate() {
        for parent in Path::new(&e.path).ancestors().skip(1).filter(|a| !a.as_os_str().is_empty()) {
            let at = entries.iter().position(|d| d.kind == tar::EntryType::Directory && Path::new(&d.path) == parent);
            assert!(at.is_some_and(|at| at < i), "{}: directory {} comes first", e.path, parent.display());
        }
    }

    // The manifest lists each file with its mode, size and sha256, matching the archive.
    let manifest: serde_json::Value = serde_json::from_slice(&entries[0].data).unwrap();
    assert_eq!(manifest["commit"], p.head());
    let listed = manifest["files"].as_array().unwrap();
    assert_eq!(listed.len(), names.len());
    for f in listed {
        let e = entry(&entries, f["path"].as_str().unwrap());
        assert_eq!(f["mode"].as_u64().unwrap(), u64::from(e.mode), "{}", e.path);
        assert_eq!(f["size"].as_u64().unwrap(), e.data.len() as u64, "{}", e.path);
        let sha: String = Sha256::digest(&e.data).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(f["sha256"].as_str().unwrap(), sha, "{}", e.path);
    }
}

#[test]
fn a_stored_artifact_deploys_by_its_sha256_prefix() {
    let p = Project::with_targets(&["staging"], "");
    let (sha_v1, ..) = build(&p, &[]);
    p.write("index.html", "version two\n");
    let second = p.commit("second");

    let json = p.json(&["deploy", "staging", "--artifact", &sha_v1[..12], "--yes"], 0);
    assert_eq!(json["outcome"], "succeeded");
    assert_eq!(json["artifact"]["sha256"], sha_v1.as_str());
    assert_ne!(json["commit"], second.as_str());
    assert_eq!(p.live_file("staging", "index.html"), "version one\n", "the stored artifact is live, not HEAD");

    let json = p.json(&["deploy", "staging", "--yes"], 0);
    assert_ne!(json["artifact"]["sha256"], sha_v1.as_str());
    assert_eq!(p.live_file("staging", "index.html"), "version two\n");
    let json = p.json(&["deploy", "staging", "--artifact", &sha_v1, "--yes"], 0);
    assert_eq!(json["artifact"]["sha256"], sha_v1.as_str());
    assert_eq!(p.live_file("staging", "index.html"), "version one\n", "the full sha256 works too");

    for bad in ["abcdef0123", "abc", "not-hex-at-all"] {
        let (_, stderr) = p.expect(&["deploy", "staging", "--artifact", bad, "--yes"], 2);
        assert!(stderr.contains(bad), "{stderr}");
    }
    assert_eq!(p.live_file("staging", "index.html"), "version one\n");
}
