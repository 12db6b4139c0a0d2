//! `local:` targets: the on-target operations, called in-process.

use anyhow::{Context, Result};

use super::Target;
use crate::artifact::Artifact;
use crate::config::TargetSpec;
use crate::release::Site;
use crate::release::ops::{self, Reply, Request};

pub struct LocalTarget {
    spec: TargetSpec,
    site: Site,
}

impl LocalTarget {
    pub fn new(spec: TargetSpec) -> LocalTarget {
        let site = Site::new(spec.path());
        LocalTarget { spec, site }
    }
}

impl Target for LocalTarget {
    fn spec(&self) -> &TargetSpec {
        &self.spec
    }

    fn call(&mut self, request: Request, on_line: &mut dyn FnMut(&str)) -> Result<Reply> {
        ops::handle(&mut self.site, request, on_line).with_context(|| format!("on {}", self.spec))
    }

    fn send_artifact(&mut self, artifact: &Artifact) -> Result<()> {
        let file =
            std::fs::File::open(&artifact.path).with_context(|| format!("opening {}", artifact.path.display()))?;
        self.site
            .receive_artifact(&artifact.sha256, std::io::BufReader::new(file))
            .with_context(|| format!("sending the artifact to {}", self.spec))
    }
}
