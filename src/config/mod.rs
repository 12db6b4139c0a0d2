//! deploy.toml: finding it, reading it, and validating it into a [`Config`].
//!
//! Every mistake in the file becomes a [`ConfigError`] that points at file:line:column,
//! before any work starts: a config error never leaves a partial run behind.

mod diag;
mod values;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Exit, Refusal};
use anyhow::Result;
use serde::Deserialize;
use toml::Spanned;

pub use diag::{ConfigError, did_you_mean};
pub use values::{AppName, On, Span, TargetSpec, When};

/// Targets staged (and read, journaled, pruned) at once unless `workers` says otherwise.
pub const DEFAULT_WORKERS: usize = 32;

/// The file name looked for when `-f` is not given.
pub const FILE_NAME: &str = "deploy.toml";

/// A validated deploy.toml.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from.
    pub path: PathBuf,
    /// The file's directory: relative paths in the file are relative to it.
    pub dir: PathBuf,
    /// sha256 of the parsed file (comments, spacing and key order left out), so a saved
    /// plan can tell that the configuration changed.
    pub fingerprint: String,
    pub app: String,
    pub build: BuildConfig,
    pub release: ReleaseConfig,
    pub steps: Vec<Step>,
    pub ssh: SshConfig,
    /// `[store]`: the artifact store shared by every machine that builds or deploys.
    pub store: Option<StoreConfig>,
    pub envs: BTreeMap<String, Environment>,
}

/// `[store]`: where artifacts and the build index are shared, behind the local cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    /// `s3://bucket/prefix` or `file:///path`.
    pub url: String,
    /// Targets fetch artifacts from the store themselves (environments may override).
    pub pull: bool,
}

/// `[ssh]`: how the system OpenSSH client is run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SshConfig {
    /// Passed as `ssh -F` (default: the user's own ~/.ssh/config).
    pub config: Option<PathBuf>,
    pub identity_file: Option<PathBuf>,
    /// Extra `-o` options, `Key=Value`.
    pub options: Vec<String>,
    /// A ship already installed on the targets (default: upload this one).
    pub agent_path: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildConfig {
    pub command: Option<String>,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct ReleaseConfig {
    pub keep: usize,
    pub shared: Vec<String>,
    /// Files a step rewrites in place: private, writable copies instead of links to the
    /// target's shared, read-only contents.
    pub writable: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthConfig {
    /// May hold `{host}` and `{NAME}` placeholders: the target's host, and its vars.
    pub http: Option<String>,
    pub command: Option<String>,
    /// Only the targets with one of these roles are checked, by `http` and `command`
    /// (every target when empty).
    pub roles: Vec<String>,
    pub timeout: Duration,
    pub interval: Duration,
}

impl HealthConfig {
    pub fn is_set(&self) -> bool {
        self.http.is_some() || self.command.is_some()
    }

    /// `http` for the target on `host` with these variables: every `{host}` and `{NAME}`
    /// filled in (a placeholder with no value is left as it is; config load refuses those).
    pub fn url_for(&self, host: &str, vars: &BTreeMap<String, String>) -> Option<String> {
        let url = self.http.as_ref()?;
        let mut out = String::new();
        let mut rest = url.as_str();
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let Some(close) = after.find('}') else { break };
            let name = &after[..close];
            match if name == "host" { Some(host) } else { vars.get(name).map(String::as_str) } {
                Some(value) => out.push_str(value),
                None => out.push_str(&rest[open..open + close + 2]),
            }
            rest = &after[close + 1..];
        }
        out.push_str(rest);
        Some(out)
    }
}

/// The `{NAME}` placeholders of a health URL, in order.
fn placeholders(url: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = url;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        names.push(&after[..close]);
        rest = &after[close + 1..];
    }
    names
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub name: String,
    pub run: String,
    pub when: When,
    pub on: On,
    /// Runs only on the targets that have one of these roles (every target when empty);
    /// `on = "first"` means the first of them.
    pub roles: Vec<String>,
    pub unless: Option<String>,
    pub timeout: Option<Duration>,
}

#[derive(Debug, Clone)]
pub struct Environment {
    pub name: String,
    pub targets: Vec<TargetSpec>,
    /// Each target's roles, in the order of `targets`: sorted, never empty (a target written
    /// as a plain string has the environment's `default_roles`, else `["app"]`).
    pub roles: Vec<Vec<String>>,
    /// Each target's own `vars`, in the order of `targets`: they override the
    /// environment's `vars` for that target.
    pub target_vars: Vec<BTreeMap<String, String>>,
    pub parallel: usize,
    /// How many targets are worked on at once where that is safe: staging (send, unpack,
    /// before_switch steps), reading states, journaling the end, pruning.
    pub workers: usize,
    pub canary: usize,
    pub max_failures: usize,
    pub requires: Option<String>,
    pub confirm: bool,
    pub vars: BTreeMap<String, String>,
    pub secrets: Vec<String>,
    pub health: HealthConfig,
    /// Where to POST the outcome of every deploy and rollback (env's, else `[notify]`'s).
    pub webhook: Option<String>,
    /// Targets fetch the artifact from `[store]` themselves instead of being sent it.
    pub pull: bool,
}

impl Config {
    /// The environment called `name`, or a usage error that lists the ones there are.
    pub fn env(&self, name: &str) -> Result<&Environment> {
        if let Some(env) = self.envs.get(name) {
            return Ok(env);
        }
        let known: Vec<&str> = self.envs.keys().map(String::as_str).collect();
        let hint = if let Some(best) = did_you_mean(name, known.iter().copied()) {
            format!("did you mean `{best}`?")
        } else if known.is_empty() {
            "it defines none: add an [env.NAME] table".to_string()
        } else {
            format!("it defines: {}", known.join(", "))
        };
        let message = format!("no environment `{name}` in {}", self.path.display());
        Err(Refusal::new(Exit::Usage, "unknown_env", message).hint(hint).detail("envs", &known).into())
    }

    /// The steps that run at `when`, in file order.
    pub fn steps_at(&self, when: When) -> impl Iterator<Item = &Step> {
        self.steps.iter().filter(move |s| s.when == when)
    }
}

/// The deploy.toml to use: `-f` if given, else the first `deploy.toml` found in `start` and
/// its parents, stopping at the git root.
pub fn locate(start: &Path, file: Option<&Path>) -> Result<PathBuf> {
    if let Some(file) = file {
        return Ok(start.join(file));
    }
    for dir in start.ancestors() {
        let candidate = dir.join(FILE_NAME);
        if candidate.is_file() {
            return Ok(candidate);
        }
        if dir.join(".git").exists() {
            break;
        }
    }
    Err(crate::usage!(
        "no {FILE_NAME} in {} or its parents up to the git root; run `ship init` to write one, or pass -f FILE",
        start.display()
    ))
}

/// Read and validate the file at `path`.
pub fn load(path: &Path) -> Result<Config> {
    let source = std::fs::read_to_string(path).map_err(|e| {
        let why = if e.kind() == std::io::ErrorKind::NotFound {
            "no such file; run `ship init` to write one, or pass -f FILE".to_string()
        } else {
            format!("cannot read it: {e}")
        };
        ConfigError::whole_file(path, why)
    })?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    parse(path, &dir, &source).map_err(anyhow::Error::new)
}

/// sha256 of what deploy.toml says, not how: its parsed tables in a canonical form, so a
/// comment or whitespace edit keeps a saved plan valid and any change of a value does not.
fn fingerprint(source: &str) -> String {
    let canonical = toml::from_str::<toml::Table>(source)
        .ok()
        .and_then(|table| serde_json::to_string(&table).ok())
        .unwrap_or_else(|| source.to_string());
    crate::digest::sha256_hex(canonical.as_bytes())
}

/// Parse and validate deploy.toml text. `path` is only used in messages.
pub fn parse(path: &Path, dir: &Path, source: &str) -> Result<Config, ConfigError> {
    let raw: Raw = toml::from_str(source).map_err(|e| ConfigError::from_toml(path, source, &e))?;
    let at = |span: std::ops::Range<usize>, msg: String| ConfigError::at(path, source, span, msg);

    let build = raw.build.unwrap_or_default();
    for pattern in build.include.iter().chain(&build.exclude) {
        globset::Glob::new(pattern.get_ref())
            .map_err(|e| at(pattern.span(), format!("invalid glob \"{}\": {}", pattern.get_ref(), e.kind())))?;
    }

    let release = raw.release.unwrap_or_default();
    for (i, shared) in release.shared.iter().enumerate() {
        crate::release::names::check_plain_path(shared.get_ref()).map_err(|why| {
            at(
                shared.span(),
                format!(
                    "invalid shared path \"{}\": {why}; write a path below the target's shared/ directory",
                    shared.get_ref()
                ),
            )
        })?;
        let path = Path::new(shared.get_ref());
        if let Some(outer) = release.shared[..i].iter().find(|o| {
            let o = Path::new(o.get_ref());
            path.starts_with(o) || o.starts_with(path)
        }) {
            return Err(at(
                shared.span(),
                format!(
                    "shared path \"{}\" overlaps \"{}\": one lies within the other, and a shared path is one link",
                    shared.get_ref(),
                    outer.get_ref()
                ),
            ));
        }
    }

    for pattern in &release.writable {
        crate::release::names::check_writable(std::slice::from_ref(pattern.get_ref())).map_err(|why| {
            at(
                pattern.span(),
                format!("invalid writable pattern: {why}; write a glob of release paths, like \"config/*.php\""),
            )
        })?;
    }

    let mut names = BTreeSet::new();
    let mut steps = Vec::new();
    // Every role a step names, to be checked against the roles the targets have.
    let mut step_roles: Vec<Spanned<String>> = Vec::new();
    for step in raw.step {
        let name = step.name.get_ref().trim();
        if name.is_empty() {
            return Err(at(step.name.span(), "a step name must not be empty".into()));
        }
        if !names.insert(name.to_string()) {
            return Err(at(
                step.name.span(),
                format!("duplicate step name \"{name}\": each [[step]] needs its own name"),
            ));
        }
        let mut roles = Vec::new();
        if let Some(listed) = &step.roles {
            if listed.get_ref().is_empty() {
                return Err(at(
                    listed.span(),
                    format!(
                        "step \"{name}\" has roles = []: name at least one role, or leave roles out to run it everywhere"
                    ),
                ));
            }
            if step.on == On::Local {
                return Err(at(
                    listed.span(),
                    format!("step \"{name}\" runs on this machine (on = \"local\"): roles do not apply to it"),
                ));
            }
        }
        for role in step.roles.iter().flat_map(|r| r.get_ref()) {
            check_role_name(role.get_ref())
                .map_err(|why| at(role.span(), format!("invalid role \"{}\": {why}", role.get_ref())))?;
            step_roles.push(role.clone());
            roles.push(role.get_ref().clone());
        }
        roles.sort();
        roles.dedup();
        steps.push(Step {
            name: name.to_string(),
            run: step.run,
            when: step.when,
            on: step.on,
            roles,
            unless: step.unless,
            timeout: step.timeout.map(|s| s.0),
        });
    }

    if let Some(health) = &raw.health {
        check_health_url(health).map_err(|(span, msg)| at(span, msg))?;
    }
    let base_health = raw.health.unwrap_or_default();
    let check_webhook = |notify: &Option<RawNotify>| -> Result<Option<String>, ConfigError> {
        let Some(url) = notify.as_ref().and_then(|n| n.webhook.as_ref()) else { return Ok(None) };
        match reqwest::Url::parse(url.get_ref()) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
                Ok(Some(url.get_ref().clone()))
            }
            _ => Err(at(url.span(), "invalid webhook: expected an http:// or https:// URL".into())),
        }
    };
    let base_webhook = check_webhook(&raw.notify)?;
    for env in raw.env.values() {
        if let Some(health) = &env.get_ref().health {
            check_health_url(health).map_err(|(span, msg)| at(span, msg))?;
        }
    }

    let store = match &raw.store {
        None => None,
        Some(store) => {
            check_store_url(store.url.get_ref()).map_err(|why| at(store.url.span(), why))?;
            if let Some(pull) = &store.pull
                && *pull.get_ref()
                && !store.url.get_ref().starts_with("s3://")
            {
                return Err(at(pull.span(), PULL_NEEDS_S3.into()));
            }
            Some(StoreConfig {
                url: store.url.get_ref().clone(),
                pull: store.pull.as_ref().is_some_and(|p| *p.get_ref()),
            })
        }
    };

    let mut envs = BTreeMap::new();
    let mut all_roles: BTreeSet<String> = BTreeSet::new();
    let env_names: Vec<String> = raw.env.keys().cloned().collect();
    for (name, env) in raw.env {
        let span = env.span();
        let env = env.into_inner();
        check_env_name(&name).map_err(|why| at(span.clone(), format!("invalid environment name \"{name}\": {why}")))?;
        if env.targets.get_ref().is_empty() {
            return Err(at(env.targets.span(), format!("environment `{name}` has no targets")));
        }
        let mut default_roles = Vec::new();
        for role in env.default_roles.iter().flatten() {
            check_role_name(role.get_ref())
                .map_err(|why| at(role.span(), format!("invalid role \"{}\": {why}", role.get_ref())))?;
            default_roles.push(role.get_ref().clone());
        }
        if env.default_roles.as_ref().is_some_and(|r| r.is_empty()) {
            return Err(at(span.clone(), "default_roles must name at least one role".into()));
        }
        if default_roles.is_empty() {
            default_roles.push(DEFAULT_ROLE.to_string());
        }
        // Parsed here rather than by serde, so that an error points at its own element.
        let mut targets = Vec::new();
        let mut roles = Vec::new();
        let mut target_vars = Vec::new();
        for target in env.targets.get_ref() {
            let (spec, mut its_roles, vars) =
                target_of(target.get_ref(), &default_roles).map_err(|e| at(target.span(), e))?;
            if targets.contains(&spec) {
                return Err(at(target.span(), format!("target {spec} is listed twice")));
            }
            its_roles.sort();
            its_roles.dedup();
            all_roles.extend(its_roles.iter().cloned());
            targets.push(spec);
            roles.push(its_roles);
            target_vars.push(vars);
        }
        if let Some(parallel) = &env.parallel
            && *parallel.get_ref() == 0
        {
            return Err(at(parallel.span(), "parallel must be at least 1".into()));
        }
        if let Some(workers) = &env.workers
            && *workers.get_ref() == 0
        {
            return Err(at(workers.span(), "workers must be at least 1".into()));
        }
        if let Some(canary) = &env.canary
            && *canary.get_ref() > env.targets.get_ref().len()
        {
            return Err(at(
                canary.span(),
                format!(
                    "canary = {} is more than the {} target(s) of environment `{name}`",
                    canary.get_ref(),
                    env.targets.get_ref().len()
                ),
            ));
        }
        if let Some(requires) = &env.requires {
            let wanted = requires.get_ref();
            if wanted == &name || !env_names.contains(wanted) {
                let mut msg = format!("requires names no other environment: \"{wanted}\"");
                if let Some(best) = did_you_mean(wanted, env_names.iter().map(String::as_str).filter(|n| *n != name)) {
                    msg.push_str(&format!("; did you mean `{best}`?"));
                }
                return Err(at(requires.span(), msg));
            }
        }
        if let Some(vars) = &env.vars {
            for key in vars.get_ref().keys() {
                check_var_name(key)
                    .map_err(|why| at(vars.span(), format!("invalid variable name \"{key}\": {why}")))?;
            }
        }
        for secret in &env.secrets {
            check_var_name(secret.get_ref())
                .map_err(|why| at(secret.span(), format!("invalid secret name \"{}\": {why}", secret.get_ref())))?;
        }
        let webhook = check_webhook(&env.notify)?.or_else(|| base_webhook.clone());
        if let Some(pull) = &env.pull
            && *pull.get_ref()
            && store.is_none()
        {
            return Err(at(
                pull.span(),
                format!(
                    "environment `{name}` has pull = true, but there is no [store] to pull from: add [store] url = \"s3://bucket/prefix\""
                ),
            ));
        }
        if let (Some(pull), Some(store)) = (&env.pull, &store)
            && *pull.get_ref()
            && !store.url.starts_with("s3://")
        {
            return Err(at(pull.span(), PULL_NEEDS_S3.into()));
        }
        let pull = env.pull.map(Spanned::into_inner).unwrap_or(store.as_ref().is_some_and(|s| s.pull));
        let health = base_health.clone().overridden_by(env.health.unwrap_or_default());
        let env_vars = env.vars.map(Spanned::into_inner).unwrap_or_default();
        // Each health role names a role some target of this environment has, and each
        // placeholder of health.http a var every checked target has.
        for role in health.roles.iter().flatten() {
            if !roles.iter().any(|r: &Vec<String>| r.contains(role.get_ref())) {
                let known: BTreeSet<&str> = roles.iter().flatten().map(String::as_str).collect();
                let mut msg =
                    format!("no target of `{name}` has the role \"{}\" that [health] roles names", role.get_ref());
                if let Some(best) = did_you_mean(role.get_ref(), known.iter().copied()) {
                    msg.push_str(&format!("; did you mean `{best}`?"));
                } else {
                    msg.push_str(&format!(
                        " (its targets' roles: {})",
                        known.into_iter().collect::<Vec<_>>().join(", ")
                    ));
                }
                return Err(at(role.span(), msg));
            }
        }
        if let Some(url) = &health.http {
            let checked: Vec<String> = health.roles.iter().flatten().map(|r| r.get_ref().clone()).collect();
            for placeholder in placeholders(url.get_ref()) {
                if placeholder == "host" {
                    continue;
                }
                let lacking = (0..targets.len()).find(|i| {
                    let has_role = checked.is_empty() || roles[*i].iter().any(|r| checked.contains(r));
                    has_role && !env_vars.contains_key(placeholder) && !target_vars[*i].contains_key(placeholder)
                });
                if let Some(i) = lacking {
                    let mut msg = format!(
                        "unknown placeholder {{{placeholder}}} in health.http of `{name}`: {} has no var {placeholder} \
                         (a placeholder is {{host}} or a var of every checked target, in [env.{name}] vars or the target's vars)",
                        targets[i]
                    );
                    let known = env_vars.keys().chain(target_vars[i].keys()).map(String::as_str);
                    if let Some(best) = did_you_mean(placeholder, known.chain(["host"])) {
                        msg.push_str(&format!("; did you mean {{{best}}}?"));
                    }
                    return Err(at(url.span(), msg));
                }
                // A value put in the URL must stay a value: it cannot add a path, a query, a
                // user (`1@elsewhere` would send the check elsewhere) or a space.
                for i in 0..targets.len() {
                    let value = target_vars[i].get(placeholder).or_else(|| env_vars.get(placeholder));
                    if let Some(value) = value
                        && (value.is_empty()
                            || value.chars().any(|c| "/?#@%[]\\".contains(c) || c.is_whitespace() || c.is_control()))
                    {
                        return Err(at(
                            url.span(),
                            format!(
                                "health.http of `{name}` puts {placeholder} = \"{value}\" of {} in its URL: a value there may \
                                 not be empty or hold a space, / ? # @ % [ ] or \\",
                                targets[i]
                            ),
                        ));
                    }
                }
            }
        }
        envs.insert(
            name.clone(),
            Environment {
                name,
                targets,
                roles,
                target_vars,
                parallel: env.parallel.map_or(1, |p| p.into_inner()),
                workers: env.workers.map_or(DEFAULT_WORKERS, |w| w.into_inner()),
                canary: env.canary.map_or(0, |c| c.into_inner()),
                max_failures: env.max_failures.unwrap_or(0),
                requires: env.requires.map(Spanned::into_inner),
                confirm: env.confirm.unwrap_or(false),
                vars: env_vars,
                secrets: env.secrets.into_iter().map(Spanned::into_inner).collect(),
                health: health.resolve(),
                webhook,
                pull,
            },
        );
    }

    for role in &step_roles {
        if !all_roles.contains(role.get_ref()) {
            let mut msg = format!("no target has the role \"{}\"", role.get_ref());
            if let Some(best) = did_you_mean(role.get_ref(), all_roles.iter().map(String::as_str)) {
                msg.push_str(&format!("; did you mean `{best}`?"));
            } else {
                let known: Vec<&str> = all_roles.iter().map(String::as_str).collect();
                msg.push_str(&format!(" (the targets' roles: {})", known.join(", ")));
            }
            return Err(at(role.span(), msg));
        }
    }

    let ssh = match raw.ssh {
        None => SshConfig::default(),
        Some(raw) => {
            for option in &raw.options {
                let o = option.get_ref();
                if o.starts_with('-') || !o.contains('=') {
                    return Err(at(
                        option.span(),
                        format!("invalid ssh option \"{o}\": expected Key=Value, like \"ConnectTimeout=10\""),
                    ));
                }
            }
            if let Some(agent) = &raw.agent_path
                && !agent.get_ref().starts_with('/')
            {
                return Err(at(agent.span(), "agent_path must be an absolute path on the targets".into()));
            }
            SshConfig {
                config: raw.config.map(|p| expand_path(dir, &p)),
                identity_file: raw.identity_file.map(|p| expand_path(dir, &p)),
                options: raw.options.into_iter().map(Spanned::into_inner).collect(),
                agent_path: raw.agent_path.map(Spanned::into_inner),
            }
        }
    };

    Ok(Config {
        path: path.to_path_buf(),
        dir: dir.to_path_buf(),
        fingerprint: fingerprint(source),
        app: raw.app.name.0,
        build: BuildConfig {
            command: build.command,
            include: build.include.into_iter().map(Spanned::into_inner).collect(),
            exclude: build.exclude.into_iter().map(Spanned::into_inner).collect(),
        },
        release: ReleaseConfig {
            keep: release.keep.unwrap_or(5),
            shared: release.shared.into_iter().map(Spanned::into_inner).collect(),
            writable: release.writable.into_iter().map(Spanned::into_inner).collect(),
        },
        steps,
        ssh,
        store,
        envs,
    })
}

const PULL_NEEDS_S3: &str = "pull = true needs an s3:// [store]: targets fetch by a presigned URL, which a \
                             file:// store cannot give; use pull = false to send artifacts over SSH";

/// `[store] url`: `s3://bucket[/prefix]` or `file:///absolute/path`.
fn check_store_url(url: &str) -> Result<(), String> {
    let expected = "expected s3://bucket/prefix or file:///absolute/path";
    if let Some(rest) = url.strip_prefix("s3://") {
        let bucket = rest.split('/').next().unwrap_or("");
        let valid = (3..=63).contains(&bucket.len())
            && bucket.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-".contains(c));
        if !valid {
            return Err(format!(
                "invalid [store] url \"{url}\": \"{bucket}\" is not an S3 bucket name (3 to 63 lowercase letters, digits, '.' and '-')"
            ));
        }
        if rest.split('/').skip(1).any(|segment| segment == "." || segment == "..") {
            return Err(format!("invalid [store] url \"{url}\": no . or .. in the prefix"));
        }
        // Other characters would be percent-encoded in the keys, where other S3 tools
        // would not find them under the prefix as written.
        if !rest.chars().all(|c| c.is_ascii_alphanumeric() || "/._-".contains(c)) {
            return Err(format!(
                "invalid [store] url \"{url}\": use letters, digits, '/', '.', '_' and '-' in the prefix"
            ));
        }
        Ok(())
    } else if let Some(path) = url.strip_prefix("file://") {
        if path.starts_with('/') { Ok(()) } else { Err(format!("invalid [store] url \"{url}\": {expected}")) }
    } else {
        Err(format!("invalid [store] url \"{url}\": {expected}"))
    }
}

/// `~/x` from HOME; a relative path from deploy.toml's directory.
fn expand_path(dir: &Path, p: &str) -> PathBuf {
    if let Some(rest) = p.strip_prefix("~/")
        && let Some(home) = std::env::var_os("HOME")
    {
        return PathBuf::from(home).join(rest);
    }
    dir.join(p)
}

/// `health.http` must be an http(s) URL once `{host}` is filled in.
fn check_health_url(health: &RawHealth) -> Result<(), (std::ops::Range<usize>, String)> {
    if let Some(role) = health.roles.iter().flatten().find(|r| check_role_name(r.get_ref()).is_err()) {
        let why = check_role_name(role.get_ref()).err().unwrap_or_default();
        return Err((role.span(), format!("invalid role \"{}\": {why}", role.get_ref())));
    }
    let Some(url) = &health.http else { return Ok(()) };
    // Placeholders other than {host} are filled with a value valid anywhere in a URL.
    let mut sample = url.get_ref().replace("{host}", "example.com");
    for name in placeholders(url.get_ref()) {
        sample = sample.replace(&format!("{{{name}}}"), "1");
    }
    match reqwest::Url::parse(&sample) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(()),
        _ => Err((
            url.span(),
            format!(
                "invalid health.http \"{}\": expected an http:// or https:// URL (with {{host}} for the target's host)",
                url.get_ref()
            ),
        )),
    }
}

fn check_env_name(name: &str) -> Result<(), String> {
    if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) {
        Ok(())
    } else {
        Err("use letters, digits, '.', '_' and '-'".into())
    }
}

/// The role of a target written as a plain string, when its environment sets no
/// `default_roles`.
pub const DEFAULT_ROLE: &str = "app";

/// A role: 1 to 64 of `a-z 0-9 _ -`, starting with a letter or digit.
fn check_role_name(name: &str) -> Result<(), String> {
    let ok = name.len() <= 64
        && name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_-".contains(c));
    if ok { Ok(()) } else { Err("a role is 1 to 64 of a-z, 0-9, _ and -, starting with a letter or digit".into()) }
}

/// A target as `targets` gives it: where, its roles, its own vars.
type TargetEntry = (TargetSpec, Vec<String>, BTreeMap<String, String>);

/// One element of an environment's `targets`: a URL, or `{ url, roles, vars }`. Its
/// target, roles (`default` for a plain URL or a table without `roles`) and own vars.
fn target_of(value: &toml::Value, default: &[String]) -> Result<TargetEntry, String> {
    const KEYS: [&str; 3] = ["url", "roles", "vars"];
    let table = match value {
        toml::Value::String(url) => return Ok((url.parse()?, default.to_vec(), BTreeMap::new())),
        toml::Value::Table(table) => table,
        other => {
            return Err(format!(
                "a target is a URL string or a table {{ url = \"...\", roles = [...], vars = {{ ... }} }}, not {}",
                other.type_str()
            ));
        }
    };
    if let Some(key) = table.keys().find(|k| !KEYS.contains(&k.as_str())) {
        let mut msg = format!("unknown key `{key}` in a target; expected one of url, roles, vars");
        if let Some(best) = did_you_mean(key, KEYS.iter().copied()) {
            msg.push_str(&format!("; did you mean `{best}`?"));
        }
        return Err(msg);
    }
    let spec: TargetSpec = match table.get("url") {
        Some(toml::Value::String(url)) => url.parse()?,
        Some(_) => return Err("a target's url must be a string".into()),
        None => return Err("a target table needs its url: { url = \"ssh://host/path\", ... }".into()),
    };
    let roles = match table.get("roles") {
        None => default.to_vec(),
        Some(toml::Value::Array(items)) => {
            let mut roles = Vec::new();
            for item in items {
                let toml::Value::String(role) = item else {
                    return Err(format!("the roles of {spec} must be strings"));
                };
                check_role_name(role).map_err(|why| format!("invalid role \"{role}\" of {spec}: {why}"))?;
                roles.push(role.clone());
            }
            if roles.is_empty() {
                return Err(format!("{spec} has roles = []: give it at least one role, or leave roles out"));
            }
            roles
        }
        Some(_) => return Err(format!("the roles of {spec} must be a list of strings")),
    };
    let mut vars = BTreeMap::new();
    match table.get("vars") {
        None => {}
        Some(toml::Value::Table(table)) => {
            for (key, value) in table {
                check_var_name(key).map_err(|why| format!("invalid variable name \"{key}\" of {spec}: {why}"))?;
                let toml::Value::String(value) = value else {
                    return Err(format!("the value of {key} for {spec} must be a string"));
                };
                vars.insert(key.clone(), value.clone());
            }
        }
        Some(_) => return Err(format!("the vars of {spec} must be a table of strings")),
    }
    Ok((spec, roles, vars))
}

impl Environment {
    /// The variables of the target at `index`: the environment's `vars`, overridden by
    /// the target's own.
    pub fn vars_of(&self, index: usize) -> BTreeMap<String, String> {
        let mut vars = self.vars.clone();
        if let Some(own) = self.target_vars.get(index) {
            vars.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        vars
    }

    /// The roles of the target at `index`.
    pub fn roles_of(&self, index: usize) -> &[String] {
        self.roles.get(index).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The position of `spec` among the targets.
    pub fn index_of(&self, spec: &TargetSpec) -> Option<usize> {
        self.targets.iter().position(|t| t == spec)
    }

    /// Does a step (or check) limited to `roles` (none: every target) run on the target at
    /// `index`?
    pub fn has_any_role(&self, index: usize, roles: &[String]) -> bool {
        roles.is_empty() || self.roles_of(index).iter().any(|r| roles.contains(r))
    }

    /// Does `step` run on the target at `here` during a run that works on the targets at
    /// `active` (in the environment's order)? Never for `on = "local"`; else only where the
    /// target has one of the step's roles; `on = "first"` on the first such active target.
    pub fn runs_step(&self, step: &Step, here: usize, active: &[usize]) -> bool {
        match step.on {
            On::Local => false,
            On::Each => self.has_any_role(here, &step.roles),
            On::First => active.iter().copied().find(|i| self.has_any_role(*i, &step.roles)) == Some(here),
        }
    }

    /// Is the target at `index` health-checked (`[health] roles`)?
    pub fn health_checks(&self, index: usize) -> bool {
        self.health.is_set() && self.has_any_role(index, &self.health.roles)
    }
}

fn check_var_name(name: &str) -> Result<(), String> {
    if name.starts_with("SHIP_") {
        return Err("names that start with SHIP_ are ship's own (SHIP_TARGET, SHIP_ROLES, ...)".into());
    }
    let mut chars = name.chars();
    let first = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if first && chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        Ok(())
    } else {
        Err("expected letters, digits and '_', not starting with a digit".into())
    }
}

// ---- The file as written: every table denies unknown keys. ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    app: RawApp,
    build: Option<RawBuild>,
    release: Option<RawRelease>,
    health: Option<RawHealth>,
    #[serde(default)]
    step: Vec<RawStep>,
    ssh: Option<RawSsh>,
    notify: Option<RawNotify>,
    store: Option<RawStore>,
    #[serde(default)]
    env: BTreeMap<String, Spanned<RawEnv>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStore {
    url: Spanned<String>,
    pull: Option<Spanned<bool>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApp {
    name: AppName,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawBuild {
    command: Option<String>,
    #[serde(default)]
    include: Vec<Spanned<String>>,
    #[serde(default)]
    exclude: Vec<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRelease {
    keep: Option<usize>,
    #[serde(default)]
    shared: Vec<Spanned<String>>,
    #[serde(default)]
    writable: Vec<Spanned<String>>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
struct RawHealth {
    http: Option<Spanned<String>>,
    command: Option<String>,
    roles: Option<Vec<Spanned<String>>>,
    timeout: Option<Span>,
    interval: Option<Span>,
}

impl RawHealth {
    fn overridden_by(self, over: RawHealth) -> RawHealth {
        RawHealth {
            http: over.http.or(self.http),
            command: over.command.or(self.command),
            roles: over.roles.or(self.roles),
            timeout: over.timeout.or(self.timeout),
            interval: over.interval.or(self.interval),
        }
    }

    fn resolve(self) -> HealthConfig {
        HealthConfig {
            http: self.http.map(Spanned::into_inner),
            command: self.command,
            roles: {
                let mut roles: Vec<String> = self.roles.into_iter().flatten().map(Spanned::into_inner).collect();
                roles.sort();
                roles.dedup();
                roles
            },
            timeout: self.timeout.map_or(Duration::from_secs(30), |s| s.0),
            interval: self.interval.map_or(Duration::from_secs(1), |s| s.0),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    name: Spanned<String>,
    run: String,
    #[serde(default)]
    when: When,
    #[serde(default)]
    on: On,
    roles: Option<Spanned<Vec<Spanned<String>>>>,
    unless: Option<String>,
    timeout: Option<Span>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSsh {
    config: Option<String>,
    identity_file: Option<String>,
    #[serde(default)]
    options: Vec<Spanned<String>>,
    agent_path: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawNotify {
    webhook: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnv {
    /// Each a URL, or an inline table `{ url, roles, vars }`: read by [`target_of`].
    targets: Spanned<Vec<Spanned<toml::Value>>>,
    default_roles: Option<Vec<Spanned<String>>>,
    parallel: Option<Spanned<usize>>,
    workers: Option<Spanned<usize>>,
    canary: Option<Spanned<usize>>,
    max_failures: Option<usize>,
    requires: Option<Spanned<String>>,
    confirm: Option<bool>,
    vars: Option<Spanned<BTreeMap<String, String>>>,
    #[serde(default)]
    secrets: Vec<Spanned<String>>,
    health: Option<RawHealth>,
    notify: Option<RawNotify>,
    pull: Option<Spanned<bool>>,
}

/// The commented deploy.toml that `ship init` writes.
pub fn template(app: &str) -> String {
    include_str!("template.toml").replace("{{app}}", app)
}

/// Read the config named by the global options, relative to `cwd`.
pub fn from_args(cwd: &Path, file: Option<&Path>) -> Result<Config> {
    load(&locate(cwd, file)?)
}

#[cfg(test)]
mod role_tests {
    use super::*;

    #[test]
    fn health_urls_are_filled_per_target() {
        let health = HealthConfig {
            http: Some("http://{host}:{PORT}/{PATH}?{missing}{".into()),
            command: None,
            roles: Vec::new(),
            timeout: Duration::from_secs(1),
            interval: Duration::from_secs(1),
        };
        let vars = BTreeMap::from([("PORT".to_string(), "8081".to_string()), ("PATH".to_string(), "up".to_string())]);
        assert_eq!(health.url_for("web1", &vars).unwrap(), "http://web1:8081/up?{missing}{");
        assert_eq!(placeholders("http://{host}:{PORT}/{"), ["host", "PORT"]);
    }
}
