//! The web console (`dashboard/`, built by Vite) served at `/`.
//!
//! The built files are read into memory once at start (the console is a few megabytes), so
//! a request can only ever name a file that was in the build: there is no path to traverse.
//! Hashed assets under `assets/` are immutable and cached for a year; `index.html` is
//! `no-cache` and carries the Content-Security-Policy; any other GET outside the API's own
//! prefixes is a client route and answers with `index.html` (the SPA fallback). Text assets
//! are gzipped once at load and sent so to clients that accept it.

use actix_web::http::Method;
use actix_web::http::header::{self, HeaderValue};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse};
use anyhow::{Context, bail};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Paths the API itself owns; the console never answers under them.
const API_PREFIXES: &[&str] = &[
    "/api/", "/auth/", "/docs", "/healthz", "/readyz", "/metrics",
];

/// The policy of every console response: scripts, connections and frames from this origin
/// only, no inline scripts and no plugins. Inline styles are allowed because Ant Design
/// writes its styles at run time.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; \
     connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; \
     frame-ancestors 'none'";

/// Cache header of hashed assets.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// At most this many files, of at most this many bytes in all, are loaded.
const MAX_FILES: usize = 2_000;
const MAX_BYTES: u64 = 64 * 1024 * 1024;

struct Asset {
    body: Bytes,
    gzip: Option<Bytes>,
    content_type: &'static str,
}

/// The built console, in memory.
pub struct Console {
    dir: PathBuf,
    files: HashMap<String, Asset>,
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json" | "map") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn gzipped(body: &[u8], content_type: &str) -> Option<Bytes> {
    let compressible = content_type.starts_with("text/")
        || content_type == "application/json"
        || content_type == "image/svg+xml";
    if !compressible || body.len() < 1024 {
        return None;
    }
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(body).ok()?;
    let out = enc.finish().ok()?;
    (out.len() < body.len()).then(|| Bytes::from(out))
}

impl Console {
    /// Loads a Vite build (a folder holding `index.html`).
    pub fn load(dir: &Path) -> anyhow::Result<Console> {
        if !dir.join("index.html").is_file() {
            bail!(
                "{} holds no index.html (build the console with ./scripts/run, or `npm run build` in dashboard/)",
                dir.display()
            );
        }
        let mut files = HashMap::new();
        let mut total = 0u64;
        let mut todo = vec![dir.to_path_buf()];
        while let Some(folder) = todo.pop() {
            for entry in std::fs::read_dir(&folder)
                .with_context(|| format!("could not read {}", folder.display()))?
            {
                let entry = entry?;
                let kind = entry.file_type()?;
                let path = entry.path();
                // Hidden files (the build stamp of ./scripts/build-console) are not the app's.
                if entry.file_name().to_string_lossy().starts_with('.') {
                    continue;
                }
                if kind.is_dir() {
                    todo.push(path);
                    continue;
                }
                if !kind.is_file() {
                    continue;
                }
                let rel = path
                    .strip_prefix(dir)?
                    .to_str()
                    .context("a console file name is not UTF-8")?
                    .replace(std::path::MAIN_SEPARATOR, "/");
                let body = std::fs::read(&path)
                    .with_context(|| format!("could not read {}", path.display()))?;
                total += body.len() as u64;
                if files.len() >= MAX_FILES || total > MAX_BYTES {
                    bail!("{} is larger than a console build can be", dir.display());
                }
                let content_type = content_type(&rel);
                let gzip = gzipped(&body, content_type);
                files.insert(
                    rel,
                    Asset {
                        body: Bytes::from(body),
                        gzip,
                        content_type,
                    },
                );
            }
        }
        Ok(Console {
            dir: dir.to_path_buf(),
            files,
        })
    }

    /// Where the build was loaded from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// How many files the build holds.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Always false: a console holds at least `index.html`.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The console's answer to a request, or `None` when the request is not the console's
    /// (another method, an API path, or a missing file with an extension).
    pub fn respond(&self, req: &HttpRequest) -> Option<HttpResponse> {
        if req.method() != Method::GET && req.method() != Method::HEAD {
            return None;
        }
        let path = req.path();
        if API_PREFIXES
            .iter()
            .any(|p| path == p.trim_end_matches('/') || path.starts_with(p))
        {
            return None;
        }
        let rel = path.trim_start_matches('/');
        let (name, cache) = match self.files.get_key_value(rel) {
            Some((name, _)) if name != "index.html" => (
                name.as_str(),
                if name.starts_with("assets/") {
                    IMMUTABLE
                } else {
                    "no-cache"
                },
            ),
            // A file that is not there: 404, not the app (a stale asset must not load HTML).
            None if rel
                .rsplit('/')
                .next()
                .is_some_and(|last| last.contains('.')) =>
            {
                return None;
            }
            _ => ("index.html", "no-cache"),
        };
        let asset = &self.files[name];
        let gzip_ok = req
            .headers()
            .get(header::ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
        let mut resp = HttpResponse::Ok();
        resp.insert_header((header::CONTENT_TYPE, asset.content_type))
            .insert_header((header::CACHE_CONTROL, cache))
            .insert_header((
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CONTENT_SECURITY_POLICY),
            ))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .insert_header((header::REFERRER_POLICY, "same-origin"))
            .insert_header((header::VARY, "Accept-Encoding"));
        match (&asset.gzip, gzip_ok) {
            (Some(gz), true) => {
                resp.insert_header((header::CONTENT_ENCODING, "gzip"));
                Some(resp.body(gz.clone()))
            }
            _ => Some(resp.body(asset.body.clone())),
        }
    }
}
