//! deploy.toml validation: every mistake is exit 2 with `deploy.toml:LINE:COL:` and what was
//! expected, before anything is built or touched; and where ship looks for the file.

use super::harness::{Project, text};

/// A repository whose committed deploy.toml is `toml` (with `{target}` replaced by the path
/// of the staging target), so that a valid file would really deploy.
fn project_with(toml: &str) -> Project {
    let p = Project::empty();
    p.write("index.html", "hello\n");
    p.write("deploy.toml", &toml.replace("{target}", &p.target("staging").display().to_string()));
    p.commit("first");
    p
}

/// The `LINE:COL` right after `deploy.toml:` in a message, if there is one.
fn position(stderr: &str) -> Option<(usize, usize)> {
    let rest = &stderr[stderr.find("deploy.toml:")? + "deploy.toml:".len()..];
    let mut parts = rest.splitn(3, ':');
    let line = parts.next()?.parse().ok()?;
    let col = parts.next()?.parse().ok()?;
    parts.next()?;
    Some((line, col))
}

/// Nothing at all happened: no target directory, no artifact in the store.
fn assert_untouched(p: &Project) {
    assert!(!p.target("staging").exists(), "a bad config must not create the target directory");
    let artifacts = p.base.join("cache").join("artifacts");
    let stored = std::fs::read_dir(&artifacts).map(|d| d.count()).unwrap_or(0);
    assert_eq!(stored, 0, "a bad config must not build an artifact ({} has files)", artifacts.display());
}

/// `ship deploy staging` on this config: exit 2, stdout empty, the message points at
/// `line` (and `col` when given) and says each of `expected`; nothing was touched.
fn refused(toml: &str, line: usize, col: Option<usize>, expected: &[&str]) -> String {
    let p = project_with(toml);
    let (stdout, stderr) = p.expect(&["deploy", "staging", "--yes"], 2);
    assert!(stdout.trim().is_empty(), "a config error prints no result:\n{stdout}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let (l, c) = position(&stderr).unwrap_or_else(|| panic!("no deploy.toml:LINE:COL: in the message:\n{stderr}"));
    assert_eq!(l, line, "wrong line in:\n{stderr}");
    if let Some(col) = col {
        assert_eq!(c, col, "wrong column in:\n{stderr}");
    }
    for word in expected {
        assert!(stderr.contains(word), "the message should say {word:?}:\n{stderr}");
    }
    assert_untouched(&p);
    stderr
}

#[test]
fn unknown_key_in_a_table_suggests_the_close_one() {
    let toml =
        "[app]\nname = \"hello\"\n\n[build]\ncomand = \"make dist\"\n\n[env.staging]\ntargets = [\"local:{target}\"]\n";
    refused(toml, 5, Some(1), &["unknown key `comand`", "did you mean `command`"]);
}

#[test]
fn misspelt_table_name_suggests_the_real_table() {
    let toml = "[app]\nname = \"hello\"\n\n[relase]\nkeep = 3\n\n[env.staging]\ntargets = [\"local:{target}\"]\n";
    refused(toml, 4, Some(2), &["`relase`", "did you mean `release`"]);
}

#[test]
fn unknown_keys_in_steps_and_environments_suggest_the_close_one() {
    let step = "[app]\nname = \"hello\"\n\n[[step]]\nnme = \"x\"\nrun = \"true\"\n\n[env.staging]\ntargets = [\"local:{target}\"]\n";
    refused(step, 5, Some(1), &["`nme`", "did you mean `name`"]);
    let env = "[app]\nname = \"hello\"\n\n[env.staging]\ntargts = [\"local:{target}\"]\n";
    refused(env, 5, Some(1), &["`targts`", "did you mean `targets`"]);
}

#[test]
fn unknown_key_far_from_any_real_one_lists_what_is_expected() {
    let toml = "[app]\nname = \"hello\"\nzzzzzz = 1\n\n[env.staging]\ntargets = [\"local:{target}\"]\n";
    let stderr = refused(toml, 3, Some(1), &["`zzzzzz`", "expected", "`name`"]);
    assert!(!stderr.contains("did you mean"), "nothing is close to zzzzzz:\n{stderr}");
}

#[test]
fn bad_durations_point_at_the_value_and_show_the_expected_form() {
    for bad in ["five minutes", "5", "soon"] {
        let toml = format!(
            "[app]\nname = \"hello\"\n\n[[step]]\nname = \"migrate\"\nrun = \"true\"\ntimeout = \"{bad}\"\n\n[env.staging]\ntargets = [\"local:{{target}}\"]\n"
        );
        refused(&toml, 7, Some(11), &[&format!("invalid duration \"{bad}\""), "\"30s\"", "\"5m\""]);
    }
    let health =
        "[app]\nname = \"hello\"\n\n[env.staging]\ntargets = [\"local:{target}\"]\nhealth = { timeout = \"soon\" }\n";
    refused(health, 6, Some(22), &["invalid duration \"soon\""]);
    let zero =
        "[app]\nname = \"hello\"\n\n[health]\ninterval = \"0s\"\n\n[env.staging]\ntargets = [\"local:{target}\"]\n";
    refused(zero, 5, Some(12), &["invalid duration \"0s\"", "longer than zero"]);
}

#[test]
fn bad_target_urls_say_which_forms_are_accepted() {
    let cases = [
        ("srv/hello", "expected local:/abs/path"),
        ("local:srv/hello", "expected local:/abs/path"),
        ("ssh://web1.example.com", "the path is missing"),
        ("ssh://web1.example.com:99999/srv/hello", "port"),
        ("ssh://web1.example.com:ssh/srv/hello", "port"),
        ("ssh://web1.example.com:0/srv/hello", "port"),
        ("local:/srv/../etc", "'..'"),
    ];
    for (target, why) in cases {
        let toml = format!(
            "[app]\nname = \"hello\"\n\n[env.staging]\ntargets = [\"local:{{target}}\"]\n\n[env.prod]\ntargets = [\"{target}\"]\n"
        );
        refused(&toml, 8, None, &[&format!("invalid target \"{target}\""), why]);
    }
}

#[test]

fn bad_target_in_a_multiline_list_points_at_its_own_line() {
    let toml = "[app]\nname = \"hello\"\n\n[env.staging]\ntargets = [\n  \"local:{target}\",\n  \"ssh://web1:0/srv/hello\",\n]\n";
    refused(toml, 7, Some(3), &["invalid target \"ssh://web1:0/srv/hello\"", "port"]);
}

#[test]
fn duplicate_step_names_point_at_the_second_one() {
    let toml = "[app]\nname = \"hello\"\n\n[[step]]\nname = \"migrate\"\nrun = \"true\"\n\n[[step]]\nname = \"migrate\"\nrun = \"false\"\n\n[env.staging]\ntargets = [\"local:{target}\"]\n";
    refused(toml, 9, Some(8), &["duplicate step name \"migrate\""]);
}

#[test]
fn bad_app_names_say_what_a_name_may_contain() {
    for bad in ["Hello", "my app", "-hello", ""] {
        let toml = format!("[app]\nname = \"{bad}\"\n\n[env.staging]\ntargets = [\"local:{{target}}\"]\n");
        refused(&toml, 2, Some(8), &[&format!("invalid app name \"{bad}\""), "lowercase"]);
    }
}

#[test]
fn bad_when_and_on_values_suggest_the_close_one() {
    let when = "[app]\nname = \"hello\"\n\n[[step]]\nname = \"x\"\nrun = \"true\"\nwhen = \"befor_switch\"\n\n[env.staging]\ntargets = [\"local:{target}\"]\n";
    refused(when, 7, Some(8), &["`befor_switch`", "`after_rollback`", "did you mean `before_switch`"]);
    let on = "[app]\nname = \"hello\"\n\n[[step]]\nname = \"x\"\nrun = \"true\"\non = \"frist\"\n\n[env.staging]\ntargets = [\"local:{target}\"]\n";
    refused(on, 7, Some(6), &["`frist`", "`each`", "did you mean `first`"]);
}

#[test]
fn requires_must_name_another_environment() {
    let toml = "[app]\nname = \"hello\"\n\n[env.staging]\ntargets = [\"local:{target}\"]\n\n[env.prod]\ntargets = [\"local:/srv/hello-prod\"]\nrequires = \"stagin\"\n";
    refused(toml, 9, Some(12), &["\"stagin\"", "did you mean `staging`"]);
    let itself = "[app]\nname = \"hello\"\n\n[env.staging]\ntargets = [\"local:{target}\"]\nrequires = \"staging\"\n";
    refused(itself, 6, Some(12), &["requires", "\"staging\""]);
}

#[test]
fn missing_app_table_is_a_config_error() {
    let toml = "[env.staging]\ntargets = [\"local:{target}\"]\n";
    refused(toml, 1, None, &["missing", "app"]);
}

#[test]
fn toml_syntax_errors_point_at_the_place() {
    let unclosed = "[app]\nname = \"hello\"\n\n[env.staging]\ntargets = [\"local:{target}\"\n";
    let stderr = refused(unclosed, 5, None, &["expected"]);
    assert!(stderr.contains("targets = ["), "the offending line is shown:\n{stderr}");
    let string = "[app]\nname = \"hello\n\n[env.staging]\ntargets = [\"local:{target}\"]\n";
    refused(string, 2, None, &["expected"]);
}

#[test]
fn unknown_environment_on_the_command_line_lists_or_suggests_the_known_ones() {
    let p = Project::with_targets(&["staging"], "[env.prod]\ntargets = [\"local:/nonexistent/ship-test/prod\"]\n");
    let (_, stderr) = p.expect(&["deploy", "nope", "--yes"], 2);
    assert!(stderr.contains("nope"), "{stderr}");
    assert!(stderr.contains("prod") && stderr.contains("staging"), "the known environments are listed:\n{stderr}");
    let (_, stderr) = p.expect(&["deploy", "stagin", "--yes"], 2);
    assert!(stderr.contains("did you mean `staging`"), "{stderr}");
    for args in
        [&["plan", "stagin"][..], &["status", "stagin"], &["history", "stagin"], &["rollback", "stagin", "--yes"]]
    {
        let (_, stderr) = p.expect(args, 2);
        assert!(stderr.contains("did you mean `staging`"), "{args:?}: {stderr}");
    }
    assert!(!p.target("staging").exists(), "nothing is deployed anywhere");
    assert!(!std::path::Path::new("/nonexistent/ship-test/prod").exists());
}

#[test]
fn a_valid_config_is_accepted_by_check() {
    let p = Project::with_targets(&["staging"], "[[step]]\nname = \"migrate\"\nrun = \"true\"\ntimeout = \"5m\"\n");
    let (stdout, _) = p.expect(&["check"], 0);
    assert!(stdout.contains("hello"), "{stdout}");
}

#[test]
fn dash_f_reads_another_file() {
    let p = Project::empty();
    let target = p.target("staging");
    p.write("index.html", "hi\n");
    p.write(
        "ops/other.toml",
        &format!("[app]\nname = \"other\"\n\n[env.staging]\ntargets = [\"local:{}\"]\n", target.display()),
    );
    p.commit("first");
    let (stdout, stderr) = p.expect(&["check"], 2);
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains("deploy.toml") && stderr.contains("ship init"),
        "says what is missing and what to do:\n{stderr}"
    );
    let json = p.json(&["-f", "ops/other.toml", "check"], 0);
    assert_eq!(json["app"], "other");
    let json = p.json(&["--file", "ops/other.toml", "check"], 0);
    assert_eq!(json["app"], "other");
    // -f works for the commands that do work, not only for check.
    let sha = p.expect(&["-f", "ops/other.toml", "build"], 0).0;
    assert_eq!(sha.trim().len(), 64, "{sha}");
    p.expect(&["-f", "ops/other.toml", "deploy", "staging", "--yes"], 0);
    assert_eq!(p.live_file("staging", "index.html"), "hi\n");
    let (_, stderr) = p.expect(&["-f", "ops/missing.toml", "check"], 2);
    assert!(stderr.contains("missing.toml"), "{stderr}");
}

#[test]
fn dash_c_runs_as_if_started_in_dir() {
    let p = Project::with_targets(&["staging"], "");
    let out = p.ship().current_dir(&p.base).args(["--format", "json", "-C", "repo", "check"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["app"], "hello");
    let out = p.ship().current_dir(&p.base).args(["-C", "repo", "deploy", "staging", "--yes"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(p.live_file("staging", "index.html"), "version one\n");
    let out = p.ship().current_dir(&p.base).args(["-C", "no-such-dir", "check"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("no-such-dir"), "{}", text(&out.stderr));
}

#[test]
fn deploy_toml_is_found_in_a_parent_directory() {
    let p = Project::with_targets(&["staging"], "");
    let deep = p.root.join("src/web/assets");
    std::fs::create_dir_all(&deep).unwrap();
    let out = p.ship().current_dir(&deep).args(["--format", "json", "check"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["app"], "hello");
    assert_eq!(json["config"], p.root.join("deploy.toml").display().to_string());
    let out = p.ship().current_dir(&deep).args(["deploy", "staging", "--yes"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(p.live_file("staging", "index.html"), "version one\n");
}

#[test]
fn the_search_for_deploy_toml_stops_at_the_git_root() {
    let p = Project::empty();
    p.write("index.html", "hi\n");
    p.commit("first");
    // A deploy.toml above the repository belongs to something else.
    let outside = format!(
        "[app]\nname = \"outside\"\n\n[env.staging]\ntargets = [\"local:{}\"]\n",
        p.target("staging").display()
    );
    std::fs::write(p.base.join("deploy.toml"), outside).unwrap();
    let (stdout, stderr) = p.expect(&["check"], 2);
    assert!(!stdout.contains("outside"), "{stdout}");
    assert!(stderr.contains("deploy.toml"), "{stderr}");
    p.expect(&["deploy", "staging", "--yes"], 2);
    assert!(!p.target("staging").exists());
}

#[test]
fn shared_paths_that_overlap_or_leave_are_refused() {
    let toml = "[app]\nname = \"hello\"\n\n[release]\nshared = [\"log\",\n  \"log/app.log\"]\n\n[env.staging]\ntargets = [\"local:{target}\"]\n";
    refused(toml, 6, Some(3), &["\"log/app.log\" overlaps \"log\""]);
    let toml = "[app]\nname = \"hello\"\n\n[release]\nshared = [\"../etc\"]\n\n[env.staging]\ntargets = [\"local:{target}\"]\n";
    refused(toml, 5, None, &["invalid shared path \"../etc\""]);
}

#[test]
fn a_writable_pattern_that_is_not_a_glob_is_refused_where_it_is_written() {
    let toml = "[app]\nname = \"hello\"\n\n[release]\nwritable = [\"config/*.env\",\n  \"a[b\"]\n\n[env.staging]\ntargets = [\"local:{target}\"]\n";
    refused(toml, 6, Some(3), &["invalid writable pattern", "\"a[b\" is not a glob"]);
}

#[test]
fn targets_with_roles_and_vars_are_read_and_their_mistakes_are_pointed_at() {
    let head = "[app]\nname = \"hello\"\n\n[[step]]\nname = \"drain\"\nrun = \"true\"\nroles = [\"worker\"]\n\n[env.staging]\n";
    // A URL string and a table, side by side: valid.
    let good = format!(
        "{head}targets = [\"local:{{target}}\", {{ url = \"local:{{target}}-jobs\", roles = [\"worker\"], vars = {{ QUEUE = \"mail\" }} }}]\n"
    );
    let p = project_with(&good);
    p.expect(&["plan", "staging"], 0);
    // An unknown key, with the key it was likely meant to be.
    let typo = format!(
        "{head}targets = [\"local:{{target}}\",\n  {{ url = \"local:{{target}}-jobs\", rolse = [\"worker\"] }}]\n"
    );
    refused(&typo, 11, Some(3), &["unknown key `rolse` in a target", "did you mean `roles`?"]);
    // A step's role that no target has.
    let orphan = format!("{head}targets = [{{ url = \"local:{{target}}\", roles = [\"wrker\"] }}]\n");
    refused(&orphan, 7, None, &["no target has the role \"worker\"", "did you mean `wrker`?"]);
    // The same target twice, once as a string and once as a table.
    let twice =
        format!("{head}targets = [{{ url = \"local:{{target}}\", roles = [\"worker\"] }},\n  \"local:{{target}}\"]\n");
    refused(&twice, 11, Some(3), &["is listed twice"]);
    // A bad role name, a var that is not a string, a table without its url.
    let bad_role =
        format!("{head}targets = [{{ url = \"local:{{target}}\", roles = [\"worker\", \"Web Server\"] }}]\n");
    refused(&bad_role, 10, None, &["invalid role \"Web Server\""]);
    let bad_var =
        format!("{head}targets = [{{ url = \"local:{{target}}\", roles = [\"worker\"], vars = {{ PORT = 8080 }} }}]\n");
    refused(&bad_var, 10, None, &["the value of PORT", "must be a string"]);
    let no_url = format!("{head}targets = [{{ roles = [\"worker\"] }}]\n");
    refused(&no_url, 10, None, &["needs its url"]);
    // default_roles: plain strings take them.
    let defaults = format!("{head}default_roles = [\"worker\"]\ntargets = [\"local:{{target}}\"]\n");
    project_with(&defaults).expect(&["plan", "staging"], 0);
}

#[test]
fn health_placeholders_and_roles_are_checked_at_load() {
    let env = "[env.staging]\ntargets = [{ url = \"local:{target}\", roles = [\"web\"], vars = { PORT = \"8080\" } },\n  \
               { url = \"local:{target}-jobs\", roles = [\"worker\"] }]\n";
    let health = |body: &str| format!("[app]\nname = \"hello\"\n\n[health]\n{body}\n\n{env}");
    // Every checked target has PORT: valid.
    let good = health("http = \"http://{host}:{PORT}/up\"\nroles = [\"web\"]");
    project_with(&good).expect(&["plan", "staging"], 0);
    // The worker is checked too, and has no PORT: the placeholder and the target are named.
    let lacking = health("http = \"http://{host}:{PORT}/up\"");
    let stderr = refused(&lacking, 5, Some(8), &["unknown placeholder {PORT}", "has no var PORT"]);
    assert!(stderr.contains("-jobs"), "the target lacking it is named:\n{stderr}");
    // A placeholder no target has, in an environment's own health.
    let typo = format!("[app]\nname = \"hello\"\n\n{env}health = {{ http = \"http://{{host}}:{{PROT}}/up\" }}\n");
    refused(&typo, 7, Some(19), &["unknown placeholder {PROT}", "did you mean {PORT}?"]);
    // [health] roles: a role no target has, and a role that is not a name.
    refused(
        &health("command = \"true\"\nroles = [\"webs\"]"),
        6,
        Some(10),
        &["has the role \"webs\"", "did you mean `web`?"],
    );
    refused(&health("command = \"true\"\nroles = [\"Web\"]"), 6, Some(10), &["invalid role \"Web\""]);
}

#[test]
fn step_roles_ship_vars_and_health_values_that_cannot_work_are_refused() {
    let env =
        "[env.staging]\ntargets = [{ url = \"local:{target}\", roles = [\"web\"], vars = { PORT = \"8080\" } }]\n";
    let step =
        |extra: &str| format!("[app]\nname = \"hello\"\n\n[[step]]\nname = \"s\"\nrun = \"true\"\n{extra}\n{env}");
    refused(&step("roles = []"), 7, Some(9), &["step \"s\" has roles = []"]);
    refused(&step("on = \"local\"\nroles = [\"web\"]"), 8, Some(9), &["on = \"local\"", "roles do not apply"]);
    let ship_var = "[app]\nname = \"hello\"\n\n[env.staging]\ntargets = [{ url = \"local:{target}\", vars = { SHIP_TARGET = \"x\" } }]\n";
    refused(ship_var, 5, None, &["invalid variable name \"SHIP_TARGET\"", "ship's own"]);
    let health = |port: &str| {
        format!(
            "[app]\nname = \"hello\"\n\n[health]\nhttp = \"http://{{host}}:{{PORT}}/up\"\n\n\
             [env.staging]\ntargets = [{{ url = \"local:{{target}}\", vars = {{ PORT = \"{port}\" }} }}]\n"
        )
    };
    refused(&health("1@evil.example"), 5, Some(8), &["PORT = \"1@evil.example\"", "may not be empty or hold"]);
    refused(&health("80 80/"), 5, Some(8), &["PORT = \"80 80/\""]);
    project_with(&health("8080")).expect(&["plan", "staging"], 0);
}
