//! The shared artifact store (`[store] url`): artifacts by sha256 and the build index, on S3
//! (or an S3-compatible server) or a `file://` directory, through the `object_store` crate.
//!
//! Layout below the URL's prefix:
//! - `artifacts/<sha256>.tar.zst`: written once, never overwritten, verified on every read;
//! - `builds/<commit>-<build key>`: the sha256 that commit and build config gave.
//!
//! The local store sits in front: a fetched artifact is kept there once its sha256 checks.
//! Credentials and endpoint come from the standard AWS environment and profile files.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use futures_util::StreamExt;
use object_store::path::Path as Key;
use object_store::signer::Signer;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};

use super::Store;
use crate::digest::{HashingWriter, is_sha256};
use crate::error::{Exit, Refusal};

/// Objects up to this size go up in one request; larger ones in parts of this size.
const PART: usize = 16 << 20;

/// How long a presigned URL handed to a target stays valid.
pub const URL_LIFETIME: Duration = Duration::from_secs(30 * 60);

/// A store error: exit 1 with kind `store`, and what to check.
fn refusal(message: String, hint: &str) -> anyhow::Error {
    Refusal::new(Exit::Error, "store", message).hint(hint.to_string()).into()
}

/// The store's error, in words a person can act on.
fn explain(url: &str, what: &str, e: object_store::Error) -> anyhow::Error {
    // The whole chain: the top of it is often only "HTTP error".
    let mut text = format!("{e}");
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(&format!(": {more}"));
        }
        source = cause.source();
    }
    // An S3 error body is XML: its Code and Message say it, the rest is noise.
    if let Some(at) = text.find("<?xml") {
        let tag = |name: &str| {
            let open = format!("<{name}>");
            let start = text.find(&open)? + open.len();
            let end = text[start..].find(&format!("</{name}>"))? + start;
            Some(text[start..end].to_string())
        };
        let said = match (tag("Code"), tag("Message")) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (Some(code), None) => code,
            _ => String::new(),
        };
        text = format!("{}{said}", &text[..at]);
    }
    let lower = text.to_ascii_lowercase();
    let hint = if url.starts_with("file://") {
        "check that the [store] directory exists and that this user can read and write it"
    } else if lower.contains("nosuchbucket") || lower.contains("bucket does not exist") {
        "check the bucket name in [store] url, and that it exists in this region and endpoint"
    } else if lower.contains("invalidaccesskeyid")
        || lower.contains("signaturedoesnotmatch")
        || lower.contains("accessdenied")
        || lower.contains("403 forbidden")
        || lower.contains("lacked the necessary privileges")
    {
        "check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or the profile AWS_PROFILE names): the store refused them"
    } else if lower.contains("connect") || lower.contains("dns") || lower.contains("timed out") {
        "check that the store is reachable from here: AWS_ENDPOINT_URL, AWS_REGION, the network"
    } else {
        "check [store] url and the AWS settings (README: \"Build once, deploy many\")"
    };
    refusal(format!("the artifact store {url} failed to {what}: {text}"), hint)
}

/// What a push did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    Uploaded,
    /// The store had an object of that name whose size was wrong: it was replaced.
    Replaced,
    Already,
}

pub struct Shared {
    store: Arc<dyn ObjectStore>,
    signer: Option<Arc<dyn Signer>>,
    prefix: String,
    /// The `[store] url`, for messages.
    pub url: String,
    runtime: tokio::runtime::Runtime,
}

impl Shared {
    pub fn open(url: &str) -> Result<Shared> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the artifact store's client")?;
        // rustls needs a crypto provider; ring is ours. A second install is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let (store, signer, prefix): (Arc<dyn ObjectStore>, Option<Arc<dyn Signer>>, String) =
            if let Some(rest) = url.strip_prefix("s3://") {
                let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
                let s3 = Arc::new(s3_builder(bucket)?.build().map_err(|e| explain(url, "open", e))?);
                (s3.clone(), Some(s3), prefix.trim_matches('/').to_string())
            } else if let Some(path) = url.strip_prefix("file://") {
                // Never created here: a share that is not mounted must not quietly collect
                // artifacts on the local disk.
                if !std::path::Path::new(path).is_dir() {
                    return Err(refusal(
                        format!("the artifact store {url} is not there: {path} is not a directory"),
                        "create it (or mount the share) first",
                    ));
                }
                let fs =
                    object_store::local::LocalFileSystem::new_with_prefix(path).map_err(|e| explain(url, "open", e))?;
                (Arc::new(fs), None, String::new())
            } else {
                return Err(crate::usage!("[store] url {url}: expected s3://bucket/prefix or file:///path"));
            };
        Ok(Shared { store, signer, prefix, url: url.to_string(), runtime })
    }

    fn key(&self, rel: &str) -> Key {
        if self.prefix.is_empty() { Key::from(rel) } else { Key::from(format!("{}/{rel}", self.prefix)) }
    }

    fn artifact_key(sha256: &str) -> String {
        format!("artifacts/{sha256}.tar.zst")
    }

    /// One request that fails when the store cannot be used at all (a missing bucket, a
    /// refused key, an endpoint that is not a store), so that later a missing object means
    /// just that.
    pub fn probe(&self) -> Result<()> {
        let dir = self.key("artifacts");
        self.runtime
            .block_on(self.store.list_with_delimiter(Some(&dir)))
            .map_err(|e| explain(&self.url, "answer", e))?;
        Ok(())
    }

    /// The size of the store's object for the artifact, if it has one (its bytes are
    /// checked when fetched).
    pub fn size_of(&self, sha256: &str) -> Result<Option<u64>> {
        let key = self.key(&Self::artifact_key(sha256));
        match self.runtime.block_on(self.store.head(&key)) {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(explain(&self.url, "answer", e)),
        }
    }

    /// Fetch the artifact into the local store, checking its sha256 on the way; `None` when
    /// the store does not have it. A corrupt object is refused and never cached.
    pub fn fetch(&self, sha256: &str, local: &Store, progress: &dyn Fn(u64, u64)) -> Result<Option<PathBuf>> {
        let rel = Self::artifact_key(sha256);
        let key = self.key(&rel);
        let result = match self.runtime.block_on(self.store.get(&key)) {
            Ok(result) => result,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(explain(&self.url, &format!("send {rel}"), e)),
        };
        let total = result.meta.size;
        let tmp = local.temp_file()?;
        let mut writer = HashingWriter::new(std::io::BufWriter::new(tmp));
        let mut stream = result.into_stream();
        let mut done = 0u64;
        self.runtime.block_on(async {
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| explain(&self.url, &format!("send {rel}"), e))?;
                std::io::Write::write_all(&mut writer, &chunk)?;
                done += chunk.len() as u64;
                progress(done, total);
            }
            anyhow::Ok(())
        })?;
        let (buf, got, _) = writer.finish();
        if got != sha256 {
            return Err(refusal(
                format!(
                    "the artifact store {} sent a corrupt {rel}: its bytes hash to {got}; refused, and not cached",
                    self.url
                ),
                "the object was changed or damaged in the store: `ship build --push` of its commit, on a machine whose \
                 cache has it or that builds it, replaces it",
            ));
        }
        let tmp = buf.into_inner().map_err(|e| e.into_error())?;
        Ok(Some(local.insert(tmp, sha256)?))
    }

    /// Upload the artifact at `path` unless the store has it. Objects are written once: only
    /// an object of the wrong size (so not these bytes: damaged, or cut short) is replaced.
    pub fn push(&self, sha256: &str, path: &std::path::Path, progress: &dyn Fn(u64, u64)) -> Result<Pushed> {
        let local = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?.len();
        let replace = match self.size_of(sha256)? {
            Some(size) if size == local => return Ok(Pushed::Already),
            Some(_) => true,
            None => false,
        };
        let rel = Self::artifact_key(sha256);
        let key = self.key(&rel);
        let mut file = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
        let total = file.metadata()?.len();
        let put = |what: &str| format!("store {rel} ({what})");
        // The bytes sent are hashed on the way: a local file that changed since it was
        // verified is never pushed under a name that is not its own.
        let mut hasher = crate::digest::HashingWriter::new(std::io::sink());
        if total <= PART as u64 {
            let mut data = Vec::with_capacity(total as usize);
            std::io::Read::read_to_end(&mut file, &mut data)?;
            std::io::Write::write_all(&mut hasher, &data)?;
            if hasher.finish().1 != sha256 {
                return Err(anyhow!("{} is not the artifact {sha256}: refusing to push it", path.display()));
            }
            let mode = if replace { PutMode::Overwrite } else { PutMode::Create };
            let options = PutOptions { mode, ..Default::default() };
            let payload = PutPayload::from(data);
            match self.runtime.block_on(self.store.put_opts(&key, payload.clone(), options)) {
                // Someone pushed the same bytes meanwhile: it is there, and it is the same.
                Ok(_) | Err(object_store::Error::AlreadyExists { .. }) => {}
                // A server without conditional writes: the name is its content, and it was
                // free a moment ago, so a plain write of the same bytes is as good.
                Err(object_store::Error::NotImplemented { .. }) | Err(object_store::Error::NotSupported { .. }) => {
                    self.runtime
                        .block_on(self.store.put(&key, payload))
                        .map_err(|e| explain(&self.url, &put("once"), e))?;
                }
                Err(e) => return Err(explain(&self.url, &put("once"), e)),
            }
            progress(total, total);
        } else {
            // In parts, read one at a time: memory stays a few parts, whatever the size.
            self.runtime.block_on(async {
                let upload = self.store.put_multipart(&key).await.map_err(|e| explain(&self.url, &put("start"), e))?;
                let mut writer = object_store::WriteMultipart::new_with_chunk_size(upload, PART);
                let mut sent = 0u64;
                let mut chunk = vec![0u8; PART];
                let mut failed = None;
                loop {
                    let n = match read_full(&mut file, &mut chunk) {
                        Ok(n) => n,
                        Err(e) => {
                            failed = Some(anyhow!("reading {}: {e}", path.display()));
                            break;
                        }
                    };
                    if n == 0 {
                        break;
                    }
                    let _ = std::io::Write::write_all(&mut hasher, &chunk[..n]);
                    if let Err(e) = writer.wait_for_capacity(2).await {
                        failed = Some(explain(&self.url, &put("a part"), e));
                        break;
                    }
                    writer.write(&chunk[..n]);
                    sent += n as u64;
                    progress(sent, total);
                }
                if failed.is_none() && hasher.finish().1 != sha256 {
                    failed = Some(anyhow!("{} is not the artifact {sha256}: refusing to push it", path.display()));
                }
                if let Some(e) = failed {
                    // The parts sent so far are dropped, not left to be billed.
                    let _ = writer.abort().await;
                    return Err(e);
                }
                writer.finish().await.map_err(|e| explain(&self.url, &put("finish"), e))?;
                anyhow::Ok(())
            })?;
        }
        Ok(if replace { Pushed::Replaced } else { Pushed::Uploaded })
    }

    /// The artifact a build of `commit` with build config `key` gave on any machine.
    pub fn lookup(&self, commit: &str, build_key: &str) -> Result<Option<String>> {
        let key = self.key(&format!("builds/{commit}-{build_key}"));
        let result = match self.runtime.block_on(self.store.get(&key)) {
            Ok(result) => result,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(explain(&self.url, "answer", e)),
        };
        // A record is one line: anything longer is not one, and is not read.
        if result.meta.size > 1024 {
            return Ok(None);
        }
        let bytes = self.runtime.block_on(result.bytes()).map_err(|e| explain(&self.url, "answer", e))?;
        let text = String::from_utf8_lossy(&bytes);
        Ok(Some(text.trim().to_string()).filter(|sha| is_sha256(sha)))
    }

    /// Record what a build gave, for every machine; the first record of a build stays.
    pub fn remember(&self, commit: &str, build_key: &str, sha256: &str) -> Result<()> {
        let key = self.key(&format!("builds/{commit}-{build_key}"));
        let payload = PutPayload::from(format!("{sha256}\n").into_bytes());
        let options = PutOptions { mode: PutMode::Create, ..Default::default() };
        match self.runtime.block_on(self.store.put_opts(&key, payload.clone(), options)) {
            Ok(_) | Err(object_store::Error::AlreadyExists { .. }) => Ok(()),
            Err(object_store::Error::NotImplemented { .. }) | Err(object_store::Error::NotSupported { .. }) => {
                if self.lookup(commit, build_key)?.is_none() {
                    self.runtime
                        .block_on(self.store.put(&key, payload))
                        .map_err(|e| explain(&self.url, "record a build", e))?;
                }
                Ok(())
            }
            Err(e) => Err(explain(&self.url, "record a build", e)),
        }
    }

    /// The artifacts whose sha256 starts with `prefix`.
    pub fn find(&self, prefix: &str) -> Result<Vec<String>> {
        if is_sha256(prefix) {
            return Ok(self.size_of(prefix)?.map(|_| prefix.to_string()).into_iter().collect());
        }
        let dir = self.key("artifacts");
        let mut found = Vec::new();
        let mut list = self.store.list(Some(&dir));
        self.runtime.block_on(async {
            while let Some(meta) = list.next().await {
                let meta = meta.map_err(|e| explain(&self.url, "list artifacts", e))?;
                if let Some(sha) = meta.location.filename().and_then(|n| n.strip_suffix(".tar.zst"))
                    && is_sha256(sha)
                    && sha.starts_with(prefix)
                {
                    found.push(sha.to_string());
                }
            }
            anyhow::Ok(())
        })?;
        Ok(found)
    }

    /// A URL a target can GET the artifact from without credentials, for [`URL_LIFETIME`].
    pub fn presigned(&self, sha256: &str) -> Result<String> {
        let Some(signer) = &self.signer else {
            return Err(refusal(
                format!("pull = true needs an s3:// store, which can hand targets a URL; {} is not one", self.url),
                "use an s3:// [store] url, or set pull = false to send artifacts over SSH",
            ));
        };
        let key = self.key(&Self::artifact_key(sha256));
        let url = self
            .runtime
            .block_on(signer.signed_url(object_store::signer::Method::GET, &key, URL_LIFETIME))
            .map_err(|e| explain(&self.url, "sign a URL", e))?;
        Ok(url.to_string())
    }
}

/// Fill `buf` from `file` unless it ends first; the number of bytes read.
fn read_full(file: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match std::io::Read::read(file, &mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// An S3 client from the standard AWS environment, then the profile files for what the
/// environment leaves unset. Missing credentials are refused here, before any request.
fn s3_builder(bucket: &str) -> Result<object_store::aws::AmazonS3Builder> {
    use object_store::aws::AmazonS3Builder;
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let profile = aws_profile();
    let from_profile = |key: &str| profile.get(key).cloned();
    let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
    let federated =
        ["AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"]
            .iter()
            .any(|v| env(v).is_some());
    if env("AWS_ACCESS_KEY_ID").is_none() && !federated {
        match (from_profile("aws_access_key_id"), from_profile("aws_secret_access_key")) {
            (Some(id), Some(secret)) => {
                builder = builder.with_access_key_id(id).with_secret_access_key(secret);
                if let Some(token) = from_profile("aws_session_token") {
                    builder = builder.with_token(token);
                }
            }
            _ => {
                return Err(refusal(
                    format!(
                        "no credentials for the artifact store s3://{bucket}: AWS_ACCESS_KEY_ID is not set, and no profile has them"
                    ),
                    "export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or name a profile of ~/.aws/credentials with AWS_PROFILE",
                ));
            }
        }
    } else if env("AWS_ACCESS_KEY_ID").is_some() && env("AWS_SECRET_ACCESS_KEY").is_none() {
        return Err(refusal(
            format!("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not, for the artifact store s3://{bucket}"),
            "export AWS_SECRET_ACCESS_KEY too",
        ));
    }
    if env("AWS_REGION").is_none() && env("AWS_DEFAULT_REGION").is_none() {
        builder = builder.with_region(from_profile("region").unwrap_or_else(|| "us-east-1".to_string()));
    }
    let mut allow_http = env("AWS_ALLOW_HTTP").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if env("AWS_ENDPOINT_URL").is_none()
        && env("AWS_ENDPOINT").is_none()
        && let Some(endpoint) = from_profile("endpoint_url")
    {
        allow_http |= endpoint.starts_with("http://");
        builder = builder.with_endpoint(endpoint);
    }
    // A store that does not answer is an error within a minute, not a retry loop.
    let retry = object_store::RetryConfig {
        max_retries: 3,
        retry_timeout: Duration::from_secs(60),
        backoff: object_store::BackoffConfig::default(),
    };
    // No limit on a whole transfer (artifacts can be large), but a connection that does not
    // open, or goes silent, is given up.
    let client = object_store::ClientOptions::new()
        .with_allow_http(allow_http)
        .with_connect_timeout(Duration::from_secs(10))
        .with_timeout_disabled()
        .with_read_timeout(Duration::from_secs(60));
    Ok(builder.with_retry(retry).with_client_options(client))
}

/// The settings of the AWS profile (`AWS_PROFILE`, else `default`) from the shared
/// credentials file, then the config file: lower-case keys, as the files write them.
fn aws_profile() -> BTreeMap<String, String> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let home = env("HOME").map(PathBuf::from);
    let profile = env("AWS_PROFILE").unwrap_or_else(|| "default".to_string());
    let credentials = env("AWS_SHARED_CREDENTIALS_FILE")
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".aws/credentials")));
    let config = env("AWS_CONFIG_FILE").map(PathBuf::from).or_else(|| home.as_ref().map(|h| h.join(".aws/config")));
    let mut out = BTreeMap::new();
    // The credentials file names sections `[name]`; the config file `[profile name]`
    // (but `[default]`).
    let config_section = if profile == "default" { profile.clone() } else { format!("profile {profile}") };
    for (file, section) in [(credentials, profile.clone()), (config, config_section)] {
        let Some(text) = file.and_then(|f| std::fs::read_to_string(f).ok()) else { continue };
        for (key, value) in ini_section(&text, &section) {
            out.entry(key).or_insert(value);
        }
    }
    out
}

/// The `key = value` pairs of `[section]` in an INI text.
pub fn ini_section(text: &str, section: &str) -> Vec<(String, String)> {
    let mut inside = false;
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = name.trim() == section;
        } else if inside && let Some((key, value)) = line.split_once('=') {
            out.push((key.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_sections_are_read_by_name() {
        let text = "[default]\naws_access_key_id = A\n\n# note\n[profile ci]\nregion=eu-west-1\nAWS_Secret_Access_Key = S = x\n[other]\nregion = x\n";
        assert_eq!(ini_section(text, "default"), [("aws_access_key_id".to_string(), "A".to_string())]);
        assert_eq!(
            ini_section(text, "profile ci"),
            [
                ("region".to_string(), "eu-west-1".to_string()),
                ("aws_secret_access_key".to_string(), "S = x".to_string())
            ]
        );
        assert!(ini_section(text, "missing").is_empty());
    }
}
