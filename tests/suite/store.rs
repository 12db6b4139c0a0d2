//! The shared artifact store (`[store]`) against a real S3-compatible server (moto) and a
//! `file://` directory: build once and push, deploy from another clone with an empty cache
//! and no rebuild, refuse a corrupt object, say clearly what is wrong with the store, and
//! let targets pull the artifact themselves over SSH.

use std::path::{Path, PathBuf};
use std::process::Output;

use super::harness::{Project, text};
use super::moto::Moto;

const BUCKET: &str = "ship-test";

/// A project whose build command counts its runs in `<base>/builds.log`, with `[store]` at
/// the URL `url` gives for the project's base directory (and `extra` in deploy.toml).
fn project(url: impl FnOnce(&Path) -> String, extra: &str) -> Project {
    let p = Project::empty();
    let url = url(&p.base);
    let log = p.base.join("builds.log");
    let config = super::harness::config_with(
        &[&p.target("a")],
        &format!("[build]\ncommand = \"echo built >> {}\"\n\n[store]\nurl = \"{url}\"\n{extra}", log.display()),
    );
    p.write("deploy.toml", &config);
    p.write("index.html", "version one\n");
    p.commit("first");
    p.tag("v1");
    p
}

/// Give every ship `p` runs the settings that reach `moto`.
fn configure(moto: &Moto, p: &Project) {
    for (k, v) in moto.env() {
        p.set_env(k, &v);
    }
}

fn builds(p: &Project) -> usize {
    std::fs::read_to_string(p.base.join("builds.log")).map_or(0, |t| t.lines().count())
}

/// A second clone of the project's repository, as another CI runner would have.
fn clone(p: &Project, name: &str) -> PathBuf {
    let dir = p.base.join(name);
    git2::Repository::clone(p.root.to_str().unwrap(), &dir).unwrap();
    dir
}

/// `ship ARGS` in `dir` with its own artifact cache `cache` (under the project's base),
/// asserting that it exits with `code`.
fn ship_in(p: &Project, dir: &Path, cache: &str, args: &[&str], code: i32) -> Output {
    let out = p.std_command().current_dir(dir).env("SHIP_CACHE_DIR", p.base.join(cache)).args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(code), "ship {args:?}\n{}", text(&out.stderr));
    out
}

fn json_of(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", text(&out.stdout)))
}

fn cached(p: &Project, cache: &str) -> usize {
    std::fs::read_dir(p.base.join(cache).join("artifacts")).map_or(0, |d| d.count())
}

#[test]
fn an_artifact_built_and_pushed_once_deploys_from_another_clone_without_a_rebuild() {
    let Some(moto) = Moto::start() else { return };
    moto.create_bucket(BUCKET);
    let p = project(|_| format!("s3://{BUCKET}/hello"), "");
    configure(&moto, &p);
    let built = p.json(&["build", "--push"], 0);
    let sha = built["sha256"].as_str().unwrap().to_string();
    assert_eq!(built["pushed"], format!("s3://{BUCKET}/hello"));
    assert_eq!(builds(&p), 1);
    let commit = p.head();
    let keys = moto.keys(BUCKET);
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert_eq!(keys[0], format!("hello/artifacts/{sha}.tar.zst"));
    assert!(keys[1].starts_with(&format!("hello/builds/{commit}-")), "{keys:?}");
    // Pushing again uploads nothing: objects are written once.
    let (_, stderr) = p.expect(&["build", "--push"], 0);
    assert!(stderr.contains("is in s3://ship-test/hello already"), "{stderr}");

    // Another runner, another clone, an empty cache: by sha256, fetched and checked.
    let other = clone(&p, "runner2");
    let out = ship_in(&p, &other, "cache2", &["--format", "json", "deploy", "staging", "--artifact", &sha[..12]], 0);
    assert!(text(&out.stderr).contains("fetched from s3://ship-test/hello"), "{}", text(&out.stderr));
    assert_eq!(json_of(&out)["artifact"]["sha256"], sha.as_str());
    assert_eq!(p.live_file("a", "index.html"), "version one\n");
    // A third runner deploys the commit: the store's build index names the artifact.
    let third = clone(&p, "runner3");
    let out = ship_in(&p, &third, "cache3", &["--format", "json", "plan", "staging"], 0);
    assert_eq!(json_of(&out)["artifact"]["sha256"], sha.as_str());
    assert_eq!(builds(&p), 1, "no runner built the commit again");
    assert_eq!(cached(&p, "cache3"), 1);
}

#[test]
fn a_large_artifact_goes_up_in_parts_and_comes_back_whole() {
    let Some(moto) = Moto::start() else { return };
    moto.create_bucket(BUCKET);
    let p = project(|_| format!("s3://{BUCKET}/big"), "");
    configure(&moto, &p);
    // 40 MiB that do not compress: more than two 16 MiB parts.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let data: Vec<u8> = (0..40 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(p.root.join("big.bin"), &data).unwrap();
    p.commit("big");
    let built = p.json(&["build", "--push"], 0);
    let sha = built["sha256"].as_str().unwrap().to_string();
    assert!(built["size"].as_u64().unwrap() > 40 << 20);
    let other = clone(&p, "runner2");
    ship_in(&p, &other, "cache2", &["deploy", "staging", "--artifact", &sha], 0);
    assert_eq!(std::fs::read(p.target("a").join("current/big.bin")).unwrap(), data);
}

#[test]
fn a_corrupt_object_in_the_store_is_refused_and_never_cached() {
    let Some(moto) = Moto::start() else { return };
    moto.create_bucket(BUCKET);
    let p = project(|_| format!("s3://{BUCKET}"), "");
    configure(&moto, &p);
    let sha = p.json(&["build", "--push"], 0)["sha256"].as_str().unwrap().to_string();
    moto.put(BUCKET, &format!("artifacts/{sha}.tar.zst"), "not the artifact");
    let other = clone(&p, "runner2");
    let out = ship_in(&p, &other, "cache2", &["--format", "json", "deploy", "staging", "--artifact", &sha], 1);
    let error = &json_of(&out)["error"];
    assert_eq!(error["kind"], "store");
    assert!(error["message"].as_str().unwrap().contains("corrupt"), "{error}");
    assert!(error["message"].as_str().unwrap().contains("not cached"), "{error}");
    assert_eq!(cached(&p, "cache2"), 0, "a corrupt artifact is never cached");
    assert!(!p.target("a").exists(), "no target was touched");
    // A machine that builds the commit (or has it) mends the store, as the hint says.
    let (_, stderr) = p.expect(&["build", "--push"], 0);
    assert!(stderr.contains("had a damaged object") && stderr.contains("replaced"), "{stderr}");
    ship_in(&p, &other, "cache2", &["deploy", "staging", "--artifact", &sha], 0);
    // A fresh machine that meets a corrupt object through the build index builds instead.
    moto.put(BUCKET, &format!("artifacts/{sha}.tar.zst"), "damaged again");
    let out = ship_in(&p, &other, "cache3", &["deploy", "staging"], 0);
    assert!(text(&out.stderr).contains("building the commit here instead"), "{}", text(&out.stderr));
    assert_eq!(builds(&p), 2);
}

#[test]
fn a_build_record_is_believed_only_when_the_artifact_is_that_commits() {
    let Some(moto) = Moto::start() else { return };
    moto.create_bucket(BUCKET);
    let p = project(|_| format!("s3://{BUCKET}"), "");
    configure(&moto, &p);
    p.write("index.html", "evil\n");
    p.commit("evil");
    let evil = p.json(&["build", "--push"], 0)["sha256"].as_str().unwrap().to_string();
    p.write("index.html", "good\n");
    let good = p.commit("good");
    // Someone with write access to the bucket points the good commit's record at evil.
    let record = moto.keys(BUCKET).into_iter().find(|k| k.starts_with("builds/")).unwrap();
    let key = record.rsplit_once('-').unwrap().1;
    moto.put(BUCKET, &format!("builds/{good}-{key}"), &evil);
    let other = clone(&p, "runner2");
    let out = ship_in(&p, &other, "cache2", &["deploy", "staging"], 0);
    assert!(text(&out.stderr).contains("which is commit"), "{}", text(&out.stderr));
    assert_eq!(p.live_file("a", "index.html"), "good\n", "the commit's own build went live");
}

#[test]
fn store_failures_say_what_to_fix_and_touch_no_target() {
    let Some(moto) = Moto::start() else { return };
    moto.create_bucket(BUCKET);
    let p = project(|_| format!("s3://{BUCKET}/x"), "");
    configure(&moto, &p);
    let sha = p.json(&["build", "--push"], 0)["sha256"].as_str().unwrap().to_string();
    let other = clone(&p, "runner2");
    let deploy = ["--format", "json", "deploy", "staging", "--artifact", &sha];
    let refused = |out: Output, words: &str, hint: &str| {
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        let error = json_of(&out)["error"].clone();
        assert_eq!(error["kind"], "store", "{error}");
        assert!(error["message"].as_str().unwrap().contains(words), "{words:?} in {error}");
        assert!(error["hint"].as_str().unwrap().contains(hint), "{hint:?} in {error}");
        assert!(!p.target("a").exists(), "no target was touched");
    };

    // No credentials at all (and no profile file in this HOME).
    let mut cmd = p.std_command();
    cmd.current_dir(&other).env("SHIP_CACHE_DIR", p.base.join("cache2")).args(deploy);
    cmd.env_remove("AWS_ACCESS_KEY_ID").env_remove("AWS_SECRET_ACCESS_KEY");
    refused(cmd.output().unwrap(), "no credentials", "AWS_ACCESS_KEY_ID");

    // A bucket that does not exist: found out before anything is built, not taken for a
    // store that lacks the commit.
    let config = std::fs::read_to_string(other.join("deploy.toml")).unwrap();
    std::fs::write(other.join("deploy.toml"), config.replace("s3://ship-test/x", "s3://no-such-bucket/x")).unwrap();
    refused(ship_in(&p, &other, "cache2", &deploy, 1), "NoSuchBucket", "bucket name");
    let plan = ["--format", "json", "plan", "staging", "--allow-dirty"];
    refused(ship_in(&p, &other, "cache9", &plan, 1), "NoSuchBucket", "bucket name");
    assert_eq!(builds(&p), 1);
    let out = ship_in(&p, &other, "cache2", &["--format", "json", "check", "staging"], 1);
    assert!(json_of(&out)["store"]["error"].as_str().unwrap().contains("NoSuchBucket"), "{}", text(&out.stdout));
    std::fs::write(other.join("deploy.toml"), &config).unwrap();
    let out = ship_in(&p, &other, "cache2", &["--format", "json", "check", "staging"], 0);
    assert_eq!(json_of(&out)["store"]["error"], serde_json::Value::Null);

    // An artifact is named by 6 hex digits or more, in the store as in the cache.
    let out = ship_in(&p, &other, "cache2", &["deploy", "staging", "--artifact", &sha[..1]], 2);
    assert!(text(&out.stderr).contains("give at least 6 hex digits"), "{}", text(&out.stderr));

    // A store that does not answer: refused at once, not after minutes of retries.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let started = std::time::Instant::now();
    let mut cmd = p.std_command();
    cmd.current_dir(&other).env("SHIP_CACHE_DIR", p.base.join("cache2")).args(deploy);
    cmd.env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{closed}"));
    refused(cmd.output().unwrap(), "Connection refused", "reachable");
    assert!(started.elapsed().as_secs() < 60, "gave up after {:?}", started.elapsed());

    // The settings can come from a profile file instead of the environment.
    std::fs::create_dir_all(p.home.join(".aws")).unwrap();
    std::fs::write(
        p.home.join(".aws/credentials"),
        "[default]\naws_access_key_id = nobody\n\n[ci]\naws_access_key_id = testing\naws_secret_access_key = testing\n",
    )
    .unwrap();
    std::fs::write(p.home.join(".aws/config"), "[profile ci]\nregion = us-east-1\n").unwrap();
    let mut cmd = p.std_command();
    cmd.current_dir(&other).env("SHIP_CACHE_DIR", p.base.join("cache2")).args(deploy);
    cmd.env_remove("AWS_ACCESS_KEY_ID").env_remove("AWS_SECRET_ACCESS_KEY").env_remove("AWS_REGION");
    cmd.env("AWS_PROFILE", "ci");
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(p.live_file("a", "index.html"), "version one\n");
}

#[test]
fn wrong_credentials_are_refused_before_any_build() {
    let Some(moto) = Moto::start_checking_credentials(1) else { return };
    moto.create_bucket(BUCKET);
    let p = project(|_| format!("s3://{BUCKET}/x"), "");
    configure(&moto, &p);
    let out = p.json(&["build", "--push"], 1);
    let error = &out["error"];
    assert_eq!(error["kind"], "store");
    assert!(error["message"].as_str().unwrap().contains("InvalidAccessKeyId"), "{error}");
    assert!(error["hint"].as_str().unwrap().contains("AWS_SECRET_ACCESS_KEY"), "{error}");
    assert_eq!(builds(&p), 0, "nothing was built for a store that refuses the credentials");
}

#[test]
fn a_file_store_is_shared_the_same_way() {
    let p = project(|base| format!("file://{}", base.join("shared").display()), "");
    let store = p.base.join("shared");
    // Never created by ship: a share that is not mounted must not fill the local disk.
    let out = p.json(&["build", "--push"], 1);
    assert!(out["error"]["message"].as_str().unwrap().contains("is not a directory"), "{out}");
    assert_eq!(builds(&p), 0);
    std::fs::create_dir(&store).unwrap();
    let sha = p.json(&["build", "--push"], 0)["sha256"].as_str().unwrap().to_string();
    assert!(store.join(format!("artifacts/{sha}.tar.zst")).is_file());
    let other = clone(&p, "runner2");
    ship_in(&p, &other, "cache2", &["deploy", "staging"], 0);
    assert_eq!(builds(&p), 1, "the commit was built once");
}

#[test]
fn pull_needs_a_store_and_push_needs_one_too() {
    let p = Project::with_targets(&["a"], "");
    let config = std::fs::read_to_string(p.root.join("deploy.toml")).unwrap() + "pull = true\n";
    p.write("deploy.toml", &config);
    let (_, stderr) = p.expect(&["check"], 2);
    assert!(stderr.contains("pull = true, but there is no [store]"), "{stderr}");
    p.write("deploy.toml", &config.replace("pull = true\n", ""));
    p.commit("no store");
    let (_, stderr) = p.expect(&["build", "--push"], 2);
    assert!(stderr.contains("there is no artifact store to push to"), "{stderr}");
    p.write(
        "deploy.toml",
        &config.replace("pull = true\n", "").replace("[env.staging]", "[store]\nurl = \"ftp://x\"\n\n[env.staging]"),
    );
    let (_, stderr) = p.expect(&["check"], 2);
    assert!(stderr.contains("expected s3://bucket/prefix or file:///absolute/path"), "{stderr}");
}

#[test]
fn targets_pull_the_artifact_themselves_over_ssh() {
    let Some(moto) = Moto::start() else { return };
    moto.create_bucket(BUCKET);
    let store = format!("\n[store]\nurl = \"s3://{BUCKET}/app\"\npull = true\n");
    let Some((p, _sshd)) = super::ssh::fleet_with_env(2, &store, |_| String::new()) else { return };
    configure(&moto, &p);
    let out = p.run(&["--format", "json", "deploy", "staging"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("target1") && stderr.contains("fetching the artifact from the store"), "{stderr}");
    assert!(!stderr.contains("sending the artifact"), "nothing was sent from here: {stderr}");
    let sha = json_of(&out)["artifact"]["sha256"].as_str().unwrap().to_string();
    for t in ["t1", "t2"] {
        assert!(p.target(t).join(format!(".ship/manifests/{sha}.json")).is_file(), "{t}");
        assert_eq!(p.live_file(t, "index.html"), "version one\n");
    }
    assert!(moto.keys(BUCKET).contains(&format!("app/artifacts/{sha}.tar.zst")), "pushed before the targets pulled");
    // A repair rebuilds from the artifact, fetched again: the target keeps only contents.
    std::fs::write(p.target("t1").join("current/index.html"), "tampered\n").unwrap();
    let out = p.run(&["deploy", "staging", "--repair"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(p.live_file("t1", "index.html"), "version one\n");
}

#[test]
fn a_target_that_cannot_reach_the_store_is_a_clear_error_and_nothing_switches() {
    let Some(moto) = Moto::start() else { return };
    moto.create_bucket(BUCKET);
    let store = format!("\n[store]\nurl = \"s3://{BUCKET}/app\"\npull = true\n");
    // The targets' sessions go through a proxy that is not there: they cannot reach the
    // store, while this machine can.
    let Some((p, _sshd)) =
        super::ssh::fleet_with_env(2, &store, |_| "http_proxy=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9".into())
    else {
        return;
    };
    configure(&moto, &p);
    let out = p.run(&["--format", "json", "deploy", "staging"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let json = json_of(&out);
    assert_eq!(json["outcome"], "failed", "{json}");
    let error = json["targets"][0]["error"].as_str().unwrap_or_default().to_string();
    assert!(error.contains("could not fetch the artifact from the store"), "{json}");
    assert!(!error.contains("X-Amz-Signature"), "the presigned URL is never shown: {error}");
    for t in ["t1", "t2"] {
        assert!(p.live(t).is_none(), "{t} switched");
    }
}

/// The `run:` commands of the README's "Build once, deploy many" workflow, in order.
fn readme_commands() -> Vec<String> {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let section = readme.split("\n## Build once, deploy many\n").nth(1).expect("README has the section");
    let section = section.split("\n## ").next().unwrap();
    let workflow = section.split("```yaml").nth(1).unwrap().split("```").next().unwrap();
    workflow
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let command = l.strip_prefix("run: ").or_else(|| l.strip_prefix("- run: "))?;
            Some(command.split(" #").next().unwrap().trim().to_string())
        })
        .collect()
}

#[test]
fn the_readme_build_once_workflow_runs_as_written() {
    let commands = readme_commands();
    assert_eq!(commands.len(), 2, "{commands:?}");
    assert!(commands[0].contains("ship build --push"), "{commands:?}");
    assert!(commands[1].starts_with("ship deploy staging --artifact"), "{commands:?}");
    let Some(moto) = Moto::start() else { return };
    moto.create_bucket(BUCKET);
    let p = project(|_| format!("s3://{BUCKET}/hello"), "");
    configure(&moto, &p);
    let bin = assert_cmd::cargo::cargo_bin("ship");
    let path = format!("{}:{}", bin.parent().unwrap().display(), std::env::var("PATH").unwrap());
    let outputs = p.base.join("github-output");
    // The build job, in the project's clone with its own cache.
    let build = p
        .ship_shell(&commands[0])
        .env("PATH", &path)
        .env("CI", "true")
        .env("SHIP_CACHE_DIR", p.base.join("build-cache"))
        .env("GITHUB_OUTPUT", &outputs)
        .output()
        .unwrap();
    assert_eq!(build.status.code(), Some(0), "{}", text(&build.stderr));
    let written = std::fs::read_to_string(&outputs).unwrap();
    let sha = written.trim().strip_prefix("sha256=").unwrap().to_string();
    assert_eq!(sha.len(), 64, "{written}");
    // The deploy job: another clone, another empty cache.
    let other = clone(&p, "deploy-runner");
    let command = commands[1].replace("${{ needs.build.outputs.sha256 }}", &sha);
    let deploy = p
        .ship_shell(&command)
        .current_dir(&other)
        .env("PATH", &path)
        .env("CI", "true")
        .env("SHIP_CACHE_DIR", p.base.join("deploy-cache"))
        .output()
        .unwrap();
    assert_eq!(deploy.status.code(), Some(0), "`{command}`: {}", text(&deploy.stderr));
    assert_eq!(p.live("a").unwrap(), sha[..12]);
    assert_eq!(builds(&p), 1, "built once, by the build job");
}
