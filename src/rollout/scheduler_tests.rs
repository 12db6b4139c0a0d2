//! The scheduler against in-process targets: each serves requests with the very
//! `agent::handle` an agent runs, on a real directory, and can be told to fail its
//! switch (after making it, as a lost answer or a failed check would) or its staging. These
//! faults cannot be made for real on demand; everything else is the real thing.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::*;
use crate::agent::protocol::{Reply, Request};
use crate::config::TargetSpec;
use crate::release::{Holder, Site};

/// What an in-process target does wrong, if anything.
#[derive(Clone, Copy, PartialEq)]
enum Fault {
    None,
    Stage,
    /// The first switch (to the new release) is made, then reported failed; switching back
    /// works.
    Switch,
}

struct InProcess {
    spec: TargetSpec,
    site: Site,
    fault: Fault,
    exchanges: u32,
}

impl Target for InProcess {
    fn spec(&self) -> &TargetSpec {
        &self.spec
    }

    fn call(
        &mut self,
        request: Request,
        upload: Option<crate::agent::Upload<'_>>,
        on_line: &mut dyn FnMut(&str),
    ) -> anyhow::Result<Reply> {
        self.exchanges += 1;
        let fails = match (&request, self.fault) {
            (Request::Stage(_), Fault::Stage) => true,
            (Request::Switch { .. }, Fault::Switch) => {
                self.fault = Fault::None;
                true
            }
            _ => false,
        };
        let mut bytes: Box<dyn std::io::Read + '_> = match upload {
            Some(crate::agent::Upload::File(path)) => Box::new(std::fs::File::open(path)?),
            Some(crate::agent::Upload::Bytes(bytes)) => Box::new(bytes),
            None => Box::new(std::io::empty()),
        };
        let reply = crate::agent::handle(&mut self.site, request, on_line, &mut bytes);
        self.site.clear_leftovers();
        let reply = reply?;
        if fails {
            anyhow::bail!("injected fault");
        }
        Ok(reply)
    }

    fn exchanges(&self) -> u32 {
        self.exchanges
    }
}

/// Notes are only counted, but for the exchanges of each target.
struct Quiet(Mutex<usize>, Mutex<Vec<u32>>);

impl Reporter for Quiet {
    fn note(&self, note: Note<'_>) {
        *self.0.lock().unwrap() += 1;
        if let Note::Exchanges { count, .. } = note {
            self.1.lock().unwrap().push(count);
        }
    }
}

/// A fleet of `n` directories, an artifact of one version, and its deploy.toml.
struct World {
    _tmp: tempfile::TempDir,
    base: PathBuf,
    config: Config,
    artifact: Artifact,
}

/// An artifact whose index.html says `text`.
fn artifact(base: &Path, text: &str) -> Artifact {
    let src = base.join(format!("src-{text}"));
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("index.html"), text).unwrap();
    let contents = crate::artifact::pack::collect(&src, &Default::default(), &[], &"c".repeat(40)).unwrap();
    let mut bytes = Vec::new();
    crate::artifact::pack::write(&contents, 1_700_000_000, &mut bytes).unwrap();
    let sha256 = crate::digest::sha256_hex(&bytes);
    let path = base.join(format!("{sha256}.tar.zst"));
    std::fs::write(&path, &bytes).unwrap();
    Artifact { sha256: sha256.into(), path, size: bytes.len() as u64, commit: "c".repeat(40).into(), reused: false }
}

fn world(n: usize, env: &str) -> World {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().to_path_buf();
    let targets: Vec<String> = (0..n).map(|i| format!("\"local:{}/t{i}\"", base.display())).collect();
    let toml = format!("[app]\nname = \"hello\"\n\n[env.prod]\ntargets = [{}]\n{env}\n", targets.join(", "));
    std::fs::write(base.join("deploy.toml"), toml).unwrap();
    let config = crate::config::load(&base.join("deploy.toml")).unwrap();
    let artifact = artifact(&base, "v1");
    World { _tmp: tmp, base, config, artifact }
}

impl World {
    fn targets(&self, faults: &[Fault]) -> Vec<Box<dyn Target>> {
        let env = &self.config.envs["prod"];
        env.targets
            .iter()
            .zip(faults)
            .map(|(spec, fault)| {
                let TargetSpec::Local { path } = spec else { unreachable!() };
                let mut site = Site::new(path);
                site.lock(&Holder::me("test")).unwrap().unwrap();
                Box::new(InProcess { spec: spec.clone(), site, fault: *fault, exchanges: 0 }) as Box<dyn Target>
            })
            .collect()
    }

    /// Deploy `artifact` with these faults; the outcome.
    fn deploy(&self, artifact: &Artifact, faults: &[Fault]) -> Outcome {
        self.deploy_counting(artifact, faults).0
    }

    /// Deploy `artifact` with these faults; the outcome, and each target's exchanges
    /// (reading its state included, as the lock that reads it is in a real run).
    fn deploy_counting(&self, artifact: &Artifact, faults: &[Fault]) -> (Outcome, Vec<u32>) {
        let env = &self.config.envs["prod"];
        let mut targets = self.targets(faults);
        let states: Vec<_> = targets.iter_mut().map(|t| t.state().unwrap()).collect();
        let subject = plan::Subject { version: "v", commit: &artifact.commit, sha256: &artifact.sha256 };
        let plan = plan::compute(&self.config, env, subject, &states, false, |_, _| false);
        let quiet = Quiet(Mutex::new(0), Mutex::new(Vec::new()));
        let cx = Context {
            config: &self.config,
            env,
            run: "run".into(),
            user: "tester".into(),
            secrets: Vec::new(),
            redactor: crate::redact::Redactor::new([]),
            gate_skipped: None,
            promoted_from: None,
            pull: None,
            reporter: &quiet,
            http: Default::default(),
            stopping: Default::default(),
            deltas: Default::default(),
        };
        let outcome = deploy(&cx, &plan, artifact, targets);
        let mut exchanges = quiet.1.into_inner().unwrap();
        exchanges.sort();
        (outcome, exchanges)
    }

    /// What `current` points at on target `i`.
    fn live(&self, i: usize) -> Option<String> {
        let link = std::fs::read_link(self.base.join(format!("t{i}/current"))).ok()?;
        Some(link.file_name()?.to_string_lossy().into_owned())
    }
}

fn outcomes(o: &Outcome) -> Vec<TargetOutcome> {
    o.targets.iter().map(|t| t.outcome).collect()
}

const OK: Fault = Fault::None;

#[test]
fn a_failing_canary_is_rolled_back_and_no_other_target_is_switched() {
    let w = world(3, "canary = 1\nparallel = 2");
    let v1 = w.artifact.clone();
    assert_eq!(w.deploy(&v1, &[OK, OK, OK]).outcome, FleetOutcome::Succeeded);
    let old = w.live(0);
    let v2 = artifact(&w.base, "v2");
    let out = w.deploy(&v2, &[Fault::Switch, OK, OK]);
    assert_eq!(out.outcome, FleetOutcome::RolledBack);
    assert_eq!(outcomes(&out), [TargetOutcome::RolledBack, TargetOutcome::Skipped, TargetOutcome::Skipped]);
    for i in 0..3 {
        assert_eq!(w.live(i), old, "target {i}");
    }
}

#[test]
fn past_max_failures_every_switched_target_goes_back() {
    let w = world(3, "parallel = 1");
    assert_eq!(w.deploy(&w.artifact.clone(), &[OK, OK, OK]).outcome, FleetOutcome::Succeeded);
    let old = w.live(0);
    let v2 = artifact(&w.base, "v2");
    // The second target fails: the first (switched, healthy) goes back too; the third is
    // never switched.
    let out = w.deploy(&v2, &[OK, Fault::Switch, OK]);
    assert_eq!(out.outcome, FleetOutcome::RolledBack);
    assert_eq!(outcomes(&out), [TargetOutcome::RolledBack, TargetOutcome::RolledBack, TargetOutcome::Skipped]);
    for i in 0..3 {
        assert_eq!(w.live(i), old, "target {i}");
    }
}

#[test]
fn within_max_failures_the_failed_target_alone_goes_back() {
    let w = world(3, "parallel = 1\nmax_failures = 1");
    assert_eq!(w.deploy(&w.artifact.clone(), &[OK, OK, OK]).outcome, FleetOutcome::Succeeded);
    let old = w.live(0);
    let v2 = artifact(&w.base, "v2");
    let out = w.deploy(&v2, &[OK, Fault::Switch, OK]);
    assert_eq!(out.outcome, FleetOutcome::Inconsistent);
    assert_eq!(outcomes(&out), [TargetOutcome::Succeeded, TargetOutcome::RolledBack, TargetOutcome::Succeeded]);
    let new = Some(crate::release::release_id(&v2.sha256));
    assert_eq!((w.live(0), w.live(1), w.live(2)), (new.clone(), old, new));
}

#[test]
fn a_staging_failure_anywhere_switches_nothing_anywhere() {
    let w = world(4, "parallel = 4\nworkers = 2");
    assert_eq!(w.deploy(&w.artifact.clone(), &[OK, OK, OK, OK]).outcome, FleetOutcome::Succeeded);
    let old = w.live(0);
    let v2 = artifact(&w.base, "v2");
    let out = w.deploy(&v2, &[OK, OK, OK, Fault::Stage]);
    assert_eq!(out.outcome, FleetOutcome::Failed);
    assert_eq!(out.targets[3].outcome, TargetOutcome::Failed);
    for i in 0..4 {
        assert_eq!(w.live(i), old, "target {i}");
    }
}

#[test]
fn a_first_version_takes_four_exchanges_per_target_a_new_one_five_and_a_noop_two() {
    let w = world(3, "parallel = 3");
    let (first, exchanges) = w.deploy_counting(&w.artifact.clone(), &[OK, OK, OK]);
    assert_eq!(first.outcome, FleetOutcome::Succeeded);
    // The state, stage (the artifact's bytes and the journal with it), switch, finish.
    assert_eq!(exchanges, [4, 4, 4]);
    let v2 = artifact(&w.base, "v2");
    let (second, exchanges) = w.deploy_counting(&v2, &[OK, OK, OK]);
    assert_eq!(second.outcome, FleetOutcome::Succeeded);
    // One more: which of the new version's contents the target lacks (then only those go).
    assert_eq!(exchanges, [5, 5, 5]);
    let (noop, exchanges) = w.deploy_counting(&v2, &[OK, OK, OK]);
    assert_eq!(noop.outcome, FleetOutcome::Noop);
    assert_eq!(exchanges, [2, 2, 2], "the state, then the unlock");
    // The journal says what it said when every record was a call of its own.
    let records = crate::release::Site::new(w.base.join("t0")).journal().unwrap();
    let events: Vec<_> = records.iter().filter(|r| r.run == "run").map(|r| r.event).collect();
    use crate::release::Event::*;
    assert_eq!(&events[events.len() - 5..], [Begin, Staged, Switched, Live, End]);
}
