//! Fleets with roles: steps limited to targets with a role, `on = "first"` among them,
//! per-target vars, health placeholders and `[health] roles`, on local and SSH targets,
//! and roles in plan, status and history.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use super::harness::Project;
use super::sshd::Sshd;

/// An HTTP server on 127.0.0.1 answering 200 to `/up` and 404 to anything else; its port,
/// and the paths it was asked for.
fn health_server() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let paths = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            let _ = reader.read_line(&mut request);
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
            }
            let path = request.split_whitespace().nth(1).unwrap_or("").to_string();
            let status = if path == "/up" { "200 OK" } else { "404 Not Found" };
            paths.lock().unwrap().push(path);
            let _ = write!(stream, "HTTP/1.1 {status}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        }
    });
    (port, seen)
}

/// The deploy.toml of the README's "Roles" section, as written.
fn readme_roles_config() -> String {
    let readme = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let section = readme.split("\n## Roles\n").nth(1).expect("README has a \"Roles\" section");
    let section = section.split("\n## ").next().unwrap();
    section.split("```toml\n").nth(1).unwrap().split("```").next().unwrap().to_string()
}

fn roles_of(value: &serde_json::Value) -> Vec<String> {
    value["roles"]
        .as_array()
        .unwrap_or_else(|| panic!("no roles in {value}"))
        .iter()
        .map(|r| r.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_readme_roles_example_runs_as_written() {
    let (port, asked) = health_server();
    let p = Project::empty();
    // Only where the targets live and the web port differ from the README.
    let config = readme_roles_config()
        .replace("/srv/shop-web", &p.target("web").display().to_string())
        .replace("/srv/shop-worker", &p.target("worker").display().to_string())
        .replace("\"8080\"", &format!("\"{port}\""));
    p.write("deploy.toml", &config);
    p.write("index.html", "shop\n");
    p.commit("shop");
    p.tag("v1");

    let plan = p.json(&["plan", "prod"], 0);
    let targets = plan["targets"].as_array().unwrap();
    assert_eq!(roles_of(&targets[0]), ["web"]);
    assert_eq!(roles_of(&targets[1]), ["worker"]);
    let steps = |t: &serde_json::Value| -> Vec<String> {
        t["steps"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(steps(&targets[0]), ["configure web"]);
    assert_eq!(
        steps(&targets[1]),
        ["migrate", "restart workers"],
        "the first worker migrates, though not the first target"
    );
    let (text, _) = p.expect(&["plan", "prod"], 0);
    assert!(text.contains(&format!("{} [web]", p.target("web").display())), "{text}");
    assert!(text.contains(&format!("{} [worker]", p.target("worker").display())), "{text}");

    let out = p.json(&["deploy", "prod"], 0);
    assert_eq!(out["outcome"], "succeeded", "{out}");
    // The web step ran on web only, with its own PORT; the workers' steps on the worker.
    assert_eq!(p.live_file("web", "web.conf"), format!("listen {port}\n"));
    assert!(!p.target("worker").join("current/web.conf").exists());
    let worker = p.target("worker");
    assert_eq!(
        std::fs::read_to_string(worker.join("migrated")).unwrap(),
        format!("migrated by local:{}\n", worker.display())
    );
    assert!(!p.target("web").join("migrated").exists(), "on = \"first\" among the workers, not the first target");
    // The target's QUEUE overrides the environment's; LOG_LEVEL is the environment's.
    assert_eq!(std::fs::read_to_string(worker.join("worker.queue")).unwrap(), "worker mail info\n");
    assert!(!p.target("web").join("worker.queue").exists());
    // Health: the web target's own port was asked; the worker (no PORT) was not checked.
    assert_eq!(asked.lock().unwrap().as_slice(), ["/up"]);

    let status = p.json(&["status", "prod"], 0);
    assert_eq!(roles_of(&status["targets"][0]), ["web"]);
    assert_eq!(roles_of(&status["targets"][1]), ["worker"]);
    let (text, _) = p.expect(&["status", "prod"], 0);
    assert!(text.contains("[web]") && text.contains("[worker]"), "{text}");
    let history = p.json(&["history", "prod"], 0);
    let event = &history["events"][0];
    let by_name = |name: &str| {
        event["targets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["target"].as_str().unwrap().ends_with(name))
            .cloned()
            .unwrap()
    };
    assert_eq!(roles_of(&by_name("/web")), ["web"]);
    assert_eq!(roles_of(&by_name("/worker")), ["worker"]);
}

#[test]
fn default_roles_are_not_shown_in_text_but_are_in_json() {
    let p = Project::with_targets(&["a", "b"], "");
    let (text, _) = p.expect(&["plan", "staging"], 0);
    assert!(!text.contains("[app]"), "{text}");
    let plan = p.json(&["plan", "staging"], 0);
    assert_eq!(roles_of(&plan["targets"][1]), ["app"]);
    p.expect(&["deploy", "staging"], 0);
    let (text, _) = p.expect(&["status", "staging"], 0);
    assert!(!text.contains("[app]"), "{text}");
    assert_eq!(roles_of(&p.json(&["status", "staging"], 0)["targets"][0]), ["app"]);
}

#[test]
fn two_targets_on_one_host_are_checked_on_their_own_ports() {
    let (good, good_asked) = health_server();
    let (other, other_asked) = health_server();
    let p = Project::empty();
    let target = |name: &str, port: u16| {
        format!("{{ url = \"local:{}\", vars = {{ PORT = \"{port}\" }} }}", p.target(name).display())
    };
    let config = |path: &str| {
        format!(
            "[app]\nname = \"hello\"\n\n[health]\nhttp = \"http://{{host}}:{{PORT}}{path}\"\ntimeout = \"2s\"\ninterval = \"100ms\"\n\n\
             [[step]]\nname = \"port\"\nwhen = \"after_switch\"\nrun = \"echo $PORT > port\"\n\n\
             [env.staging]\ntargets = [{}, {}]\nvars = {{ PORT = \"1\" }}\n",
            target("a", good),
            target("b", other)
        )
    };
    p.write("deploy.toml", &config("/up"));
    p.write("index.html", "one\n");
    p.commit("one");
    p.expect(&["deploy", "staging"], 0);
    assert_eq!(good_asked.lock().unwrap().as_slice(), ["/up"]);
    assert_eq!(other_asked.lock().unwrap().as_slice(), ["/up"]);
    assert_eq!(p.live_file("a", "port"), format!("{good}\n"), "the target's PORT overrides the environment's");
    assert_eq!(p.live_file("b", "port"), format!("{other}\n"));

    // A path the server does not know: the first target is unhealthy on its own port
    // (the restored release too, exit 5), and the second is never switched nor asked.
    let v1 = p.live("b");
    p.write("deploy.toml", &config("/down"));
    p.write("index.html", "two\n");
    p.commit("two");
    let out = p.json(&["deploy", "staging"], 5);
    let error = out["targets"][0]["error"].as_str().unwrap_or_default();
    assert!(error.contains("404"), "{out}");
    let asked = |seen: &Arc<Mutex<Vec<String>>>| seen.lock().unwrap().iter().any(|path| path == "/down");
    assert!(asked(&good_asked), "the first target on its own port");
    assert!(!asked(&other_asked), "the second target was not switched");
    assert_eq!(p.live("b"), v1);
}

/// A project whose `staging` is `targets` (table or string TOML, `{tN}` for the path of
/// SSH target N) on the test sshd.
fn ssh_fleet(targets: &[&str], extra: &str) -> Option<(Project, Sshd)> {
    let p = Project::empty();
    let sshd = Sshd::start(&p.base.join("sshd"))?;
    let mut list = Vec::new();
    for t in targets {
        let mut t = t.to_string();
        for i in 1..=8 {
            t = t.replace(&format!("{{t{i}}}"), &format!("ssh://target{i}{}", p.target(&format!("t{i}")).display()));
        }
        list.push(t);
    }
    p.write(
        "deploy.toml",
        &format!(
            "[app]\nname = \"hello\"\n\n{}\n{extra}\n\n[env.staging]\ntargets = [\n  {}\n]\nvars = {{ QUEUE = \"default\" }}\n",
            sshd.ssh_table(),
            list.join(",\n  ")
        ),
    );
    p.write("index.html", "version one\n");
    p.commit("first");
    p.tag("v1");
    Some((p, sshd))
}

#[test]
fn role_scoped_steps_vars_and_health_over_ssh() {
    let (port, asked) = health_server();
    let steps = "[health]\nhttp = \"http://127.0.0.1:{PORT}/up\"\nroles = [\"web\"]\ncommand = \"test -n \\\"$PORT\\\"\"\n\n\
         [[step]]\nname = \"web only\"\nroles = [\"web\"]\nrun = \"echo $SHIP_ROLES > $SHIP_DEPLOY_PATH/web-step\"\n\n\
         [[step]]\nname = \"migrate\"\nroles = [\"worker\"]\non = \"first\"\nrun = \"echo once > $SHIP_DEPLOY_PATH/migrated\"\n\n\
         [[step]]\nname = \"queue\"\nroles = [\"worker\"]\nwhen = \"after_switch\"\nrun = \"echo $QUEUE > $SHIP_DEPLOY_PATH/queue\"\n\n\
         [[step]]\nname = \"everyone\"\nwhen = \"after_switch\"\nrun = \"echo $SHIP_ROLES > $SHIP_DEPLOY_PATH/all\"\n";
    let Some((p, _sshd)) = ssh_fleet(
        &[
            &format!("{{ url = \"{{t1}}\", roles = [\"web\"], vars = {{ PORT = \"{port}\" }} }}"),
            "{ url = \"{t2}\", roles = [\"worker\"] }",
            "{ url = \"{t3}\", roles = [\"worker\", \"cron\"], vars = { QUEUE = \"mail\" } }",
        ],
        steps,
    ) else {
        return;
    };
    let out = p.json(&["deploy", "staging"], 0);
    assert_eq!(out["outcome"], "succeeded", "{out}");
    let read = |t: &str, f: &str| std::fs::read_to_string(p.target(t).join(f)).ok();
    assert_eq!(read("t1", "web-step").as_deref(), Some("web\n"));
    assert_eq!(read("t2", "web-step"), None);
    assert_eq!(read("t3", "web-step"), None);
    assert_eq!(read("t1", "migrated"), None);
    assert_eq!(read("t2", "migrated").as_deref(), Some("once\n"), "the first worker");
    assert_eq!(read("t3", "migrated"), None);
    assert_eq!(read("t1", "queue"), None);
    assert_eq!(read("t2", "queue").as_deref(), Some("default\n"));
    assert_eq!(read("t3", "queue").as_deref(), Some("mail\n"));
    assert_eq!(read("t1", "all").as_deref(), Some("web\n"));
    assert_eq!(read("t3", "all").as_deref(), Some("cron,worker\n"));
    // Only the web target was checked (the health command too: the workers have no PORT).
    assert_eq!(asked.lock().unwrap().as_slice(), ["/up"]);

    let status = p.json(&["status", "staging"], 0);
    assert_eq!(roles_of(&status["targets"][2]), ["cron", "worker"]);
    let history = p.json(&["history", "staging"], 0);
    let roles: Vec<Vec<String>> = history["events"][0]["targets"].as_array().unwrap().iter().map(roles_of).collect();
    assert!(roles.contains(&vec!["cron".to_string(), "worker".to_string()]), "{history}");

    // The plan of the next version names the same steps per target.
    p.write("index.html", "version two\n");
    p.commit("two");
    let plan = p.json(&["plan", "staging"], 0);
    let steps = |i: usize| -> Vec<String> {
        plan["targets"][i]["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(steps(0), ["web only", "everyone"]);
    assert_eq!(steps(1), ["migrate", "queue", "everyone"]);
    assert_eq!(steps(2), ["queue", "everyone"]);
}

#[test]
fn on_first_among_a_role_skips_workers_that_are_up_to_date() {
    let p = Project::empty();
    let t = |n: &str, role: &str| format!("{{ url = \"local:{}\", roles = [\"{role}\"] }}", p.target(n).display());
    let config = format!(
        "[app]\nname = \"hello\"\n\n[[step]]\nname = \"migrate\"\nroles = [\"worker\"]\non = \"first\"\n\
         run = \"echo $SHIP_VERSION >> $SHIP_DEPLOY_PATH/migrated\"\n\n[env.staging]\ntargets = [{}, {}, {}]\n",
        t("web", "web"),
        t("w1", "worker"),
        t("w2", "worker")
    );
    p.write("deploy.toml", &config);
    p.write("index.html", "one\n");
    p.commit("one");
    p.tag("v1");
    p.expect(&["deploy", "staging"], 0);
    let migrated = |n: &str| std::fs::read_to_string(p.target(n).join("migrated")).unwrap_or_default();
    assert_eq!(migrated("w1"), "v1\n");
    assert_eq!(migrated("w2"), "");
    assert_eq!(migrated("web"), "");
    // w1 and web run v1 already; w2 is made to lack it: the first worker changed is w2.
    std::fs::remove_dir_all(p.target("w2")).unwrap();
    p.expect(&["deploy", "staging"], 0);
    assert_eq!(migrated("w1"), "v1\n");
    assert_eq!(migrated("w2"), "v1\n");
}

#[test]
fn after_rollback_steps_follow_roles_in_ship_rollback() {
    let p = Project::empty();
    let t = |n: &str, role: &str| format!("{{ url = \"local:{}\", roles = [\"{role}\"] }}", p.target(n).display());
    let config = format!(
        "[app]\nname = \"hello\"\n\n\
         [[step]]\nname = \"reload\"\nroles = [\"web\"]\nwhen = \"after_rollback\"\n\
         run = \"echo $SHIP_VERSION >> $SHIP_DEPLOY_PATH/reloaded\"\n\n\
         [[step]]\nname = \"requeue\"\nroles = [\"worker\"]\non = \"first\"\nwhen = \"after_rollback\"\n\
         run = \"echo $SHIP_VERSION >> $SHIP_DEPLOY_PATH/requeued\"\n\n\
         [env.staging]\ntargets = [{}, {}, {}]\n",
        t("web", "web"),
        t("w1", "worker"),
        t("w2", "worker")
    );
    p.write("deploy.toml", &config);
    p.write("index.html", "one\n");
    p.commit("one");
    p.tag("v1");
    p.expect(&["deploy", "staging"], 0);
    p.write("index.html", "two\n");
    p.commit("two");
    p.tag("v2");
    p.expect(&["deploy", "staging"], 0);
    let out = p.json(&["rollback", "staging"], 0);
    assert_eq!(out["outcome"], "succeeded", "{out}");
    let read = |n: &str, f: &str| std::fs::read_to_string(p.target(n).join(f)).unwrap_or_default();
    assert_eq!(read("web", "reloaded"), "v1\n");
    assert_eq!(read("w1", "reloaded"), "");
    assert_eq!(read("w2", "reloaded"), "");
    assert_eq!(read("web", "requeued"), "", "on = \"first\" among the workers");
    assert_eq!(read("w1", "requeued"), "v1\n");
    assert_eq!(read("w2", "requeued"), "");
}

#[test]
fn a_failed_deploy_rolls_back_running_after_rollback_steps_by_role() {
    let p = Project::empty();
    let t = |n: &str, role: &str| format!("{{ url = \"local:{}\", roles = [\"{role}\"] }}", p.target(n).display());
    let config = format!(
        "[app]\nname = \"hello\"\n\n\
         [[step]]\nname = \"check\"\nroles = [\"worker\"]\nwhen = \"after_switch\"\nrun = \"test $SHIP_VERSION != v2\"\n\n\
         [[step]]\nname = \"reload\"\nroles = [\"web\"]\nwhen = \"after_rollback\"\n\
         run = \"echo $SHIP_VERSION >> $SHIP_DEPLOY_PATH/reloaded\"\n\n\
         [[step]]\nname = \"requeue\"\nroles = [\"worker\"]\non = \"first\"\nwhen = \"after_rollback\"\n\
         run = \"echo $SHIP_VERSION >> $SHIP_DEPLOY_PATH/requeued\"\n\n\
         [env.staging]\ntargets = [{}, {}, {}]\n",
        t("web", "web"),
        t("w1", "worker"),
        t("w2", "worker")
    );
    p.write("deploy.toml", &config);
    p.write("index.html", "one\n");
    p.commit("one");
    p.tag("v1");
    p.expect(&["deploy", "staging"], 0);
    let v1 = p.live("w2");
    p.write("index.html", "two\n");
    p.commit("two");
    p.tag("v2");
    // The web target switches (no worker step there), then the first worker fails its check.
    let out = p.json(&["deploy", "staging"], 4);
    assert_eq!(out["outcome"], "rolled_back", "{out}");
    let read = |n: &str, f: &str| std::fs::read_to_string(p.target(n).join(f)).unwrap_or_default();
    assert_eq!(read("web", "reloaded"), "v1\n", "the web target went back and reloaded");
    assert_eq!(read("w1", "reloaded"), "");
    assert_eq!(read("w1", "requeued"), "v1\n", "the first worker of the run requeued");
    assert_eq!(read("web", "requeued"), "");
    assert_eq!(read("w2", "requeued"), "", "never switched, never rolled back");
    assert_eq!(p.live("w2"), v1);
    assert_eq!(p.live("web"), v1);
}

#[test]
fn a_repair_runs_on_first_steps_on_the_first_repaired_target_with_the_role() {
    let p = Project::empty();
    let t = |n: &str, role: &str| format!("{{ url = \"local:{}\", roles = [\"{role}\"] }}", p.target(n).display());
    let config = format!(
        "[app]\nname = \"hello\"\n\n\
         [[step]]\nname = \"migrate\"\nroles = [\"worker\"]\non = \"first\"\nrun = \"echo migrated >> $SHIP_DEPLOY_PATH/migrated\"\n\n\
         [[step]]\nname = \"web\"\nroles = [\"web\"]\nrun = \"echo web >> $SHIP_DEPLOY_PATH/web\"\n\n\
         [env.staging]\ntargets = [{}, {}, {}]\n",
        t("web", "web"),
        t("w1", "worker"),
        t("w2", "worker")
    );
    p.write("deploy.toml", &config);
    p.write("index.html", "one\n");
    p.commit("one");
    p.expect(&["deploy", "staging"], 0);
    let read = |n: &str, f: &str| std::fs::read_to_string(p.target(n).join(f)).unwrap_or_default();
    assert_eq!(
        (read("web", "web"), read("w1", "migrated"), read("w2", "migrated")),
        ("web\n".into(), "migrated\n".into(), "".into())
    );
    // Only w2's live files changed: it alone is repaired, and it is the first worker of the run.
    let live = p.target("w2").join("current/index.html");
    let mut perms = std::fs::metadata(&live).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&live, perms).unwrap();
    std::fs::write(&live, "tampered\n").unwrap();
    p.expect(&["deploy", "staging", "--repair"], 0);
    assert_eq!(p.live_file("w2", "index.html"), "one\n");
    assert_eq!(read("w2", "migrated"), "migrated\n");
    assert_eq!(read("w1", "migrated"), "migrated\n", "not repaired, no step");
    assert_eq!(read("web", "web"), "web\n");
}
