//! Marketplace solution templates: the manifest format (`consortia-template.yaml`), the package
//! format (a tar.gz of the manifest and its artifacts), and the checks the server and
//! `consortia-api template lint` share. Every problem is reported with its place in the file
//! (a JSON pointer into the manifest, or the artifact's path).

use crate::domain::status::status_enum;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use utoipa::ToSchema;

/// The manifest's file name inside a package or directory.
pub const MANIFEST: &str = "consortia-template.yaml";
/// The only `apiVersion` understood.
pub const API_VERSION: &str = "consortia.dev/v1";
/// Default largest package (compressed) the server accepts.
pub const DEFAULT_MAX_PACKAGE_BYTES: usize = 10 * 1024 * 1024;
/// Largest manifest.
const MAX_MANIFEST_BYTES: usize = 256 * 1024;
/// Largest description (Markdown).
const MAX_DESCRIPTION: usize = 64 * 1024;
/// Least deposit metadata a template's chain may allow.
const MIN_DEPOSIT_METADATA: u32 = 1024;
/// Most artifacts in one template.
const MAX_ARTIFACTS: usize = 100;

/// Template categories.
pub const CATEGORIES: &[&str] = &[
    "notarization",
    "traceability",
    "asset-certificates",
    "supply-chain",
    "finance",
    "identity",
    "network",
    "other",
];
/// Chain engines, as named in manifests (one list: [`consortia_crds::Engine`]).
pub fn engine_names() -> String {
    consortia_crds::Engine::ALL
        .map(consortia_crds::Engine::as_str)
        .join(", ")
}
/// Artifact kinds.
pub const ARTIFACT_KINDS: &[&str] = &["contract", "config", "schema", "doc", "other"];

/// Consensus protocols each engine offers.
pub fn consensus_for(engine: &str) -> &'static [&'static str] {
    consortia_crds::Engine::parse(engine).map_or(&[], consortia_crds::Engine::consensus)
}

/// One problem, at a place in the template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Problem {
    /// Where: a JSON pointer into the manifest (`/artifacts/1/sha256`), or `artifact:<path>`
    /// for a package file, or `package` for the archive itself.
    pub pointer: String,
    /// What is wrong and what is expected.
    pub detail: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.pointer, self.detail)
    }
}

/// Chain defaults of a template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ChainDefaults {
    /// Engine of chains created from the template.
    pub engine: String,
    /// Consensus protocol.
    pub consensus: String,
    /// Nodes each member runs.
    pub nodes_per_member: u32,
}

/// An artifact a template ships, by digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Artifact {
    /// Path inside the package.
    pub path: String,
    /// SHA-256 of the file, lower-case hex.
    pub sha256: String,
    /// `contract`, `config`, `schema`, `doc` or `other`.
    pub kind: String,
}

/// A checked manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Manifest {
    /// Always `consortia.dev/v1`.
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    /// Unique name in the marketplace.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// One sentence.
    pub summary: String,
    /// Markdown.
    pub description: String,
    /// Category.
    pub category: String,
    /// Who publishes it.
    pub publisher: String,
    /// SPDX licence identifier.
    pub license: String,
    /// Engines it supports.
    pub engines: Vec<String>,
    /// Semantic version.
    pub version: String,
    /// Defaults for chains created from it.
    pub chain: ChainDefaults,
    /// JSON Schema of the install parameters.
    #[schema(value_type = Object)]
    pub parameters: Value,
    /// Files it ships.
    pub artifacts: Vec<Artifact>,
}

struct Checker {
    problems: Vec<Problem>,
}

impl Checker {
    fn add(&mut self, pointer: impl Into<String>, detail: impl Into<String>) {
        self.problems.push(Problem {
            pointer: pointer.into(),
            detail: detail.into(),
        });
    }

    /// A required string field, with a length range.
    fn string(&mut self, obj: &serde_json::Map<String, Value>, key: &str, max: usize) -> String {
        match obj.get(key) {
            Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= max => s.clone(),
            Some(Value::String(s)) if s.trim().is_empty() => {
                self.add(format!("/{key}"), format!("`{key}` must not be empty"));
                String::new()
            }
            Some(Value::String(_)) => {
                self.add(
                    format!("/{key}"),
                    format!("`{key}` is longer than {max} characters"),
                );
                String::new()
            }
            Some(other) => {
                self.add(
                    format!("/{key}"),
                    format!("`{key}` must be a string, not {}", kind(other)),
                );
                String::new()
            }
            None => {
                self.add(format!("/{key}"), format!("`{key}` is required"));
                String::new()
            }
        }
    }

    fn one_of(&mut self, pointer: &str, value: &str, allowed: &[&str]) {
        if !value.is_empty() && !allowed.contains(&value) {
            self.add(
                pointer,
                format!("`{value}` is not one of {}", allowed.join(", ")),
            );
        }
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

fn is_slug(s: &str) -> bool {
    (3..=64).contains(&s.len())
        && s.as_bytes()[0].is_ascii_lowercase()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.ends_with('-')
}

/// Whether `p` is a safe relative path inside a package.
pub fn safe_path(p: &str) -> bool {
    !p.is_empty()
        && p.len() <= 255
        && !p.starts_with('/')
        && !p.contains('\\')
        && !p.contains('\0')
        && p.split('/')
            .all(|seg| !seg.is_empty() && seg != "." && seg != "..")
        && p != MANIFEST
}

/// Parses and checks a manifest's text. Returns the manifest when there is no problem.
pub fn check_manifest(text: &str) -> Result<Manifest, Vec<Problem>> {
    let mut c = Checker {
        problems: Vec::new(),
    };
    if text.len() > MAX_MANIFEST_BYTES {
        c.add(
            "",
            format!("the manifest is larger than {MAX_MANIFEST_BYTES} bytes"),
        );
        return Err(c.problems);
    }
    let yaml: serde_yaml::Value = match serde_yaml::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            let at = e
                .location()
                .map(|l| format!(" (line {}, column {})", l.line(), l.column()))
                .unwrap_or_default();
            c.add("", format!("not valid YAML{at}: {e}"));
            return Err(c.problems);
        }
    };
    let json: Value = match serde_json::to_value(&yaml) {
        Ok(v) => v,
        Err(e) => {
            c.add(
                "",
                format!("the YAML cannot be read as JSON data (keys must be strings): {e}"),
            );
            return Err(c.problems);
        }
    };
    let Some(obj) = json.as_object() else {
        c.add(
            "",
            format!("the manifest must be a mapping, not {}", kind(&json)),
        );
        return Err(c.problems);
    };
    let known = [
        "apiVersion",
        "slug",
        "name",
        "summary",
        "description",
        "category",
        "publisher",
        "license",
        "engines",
        "version",
        "chain",
        "parameters",
        "artifacts",
    ];
    for k in obj.keys() {
        if !known.contains(&k.as_str()) {
            c.add(
                format!("/{k}"),
                format!("unknown field `{k}` (known: {})", known.join(", ")),
            );
        }
    }
    let api_version = c.string(obj, "apiVersion", 64);
    if !api_version.is_empty() && api_version != API_VERSION {
        c.add("/apiVersion", format!("must be `{API_VERSION}`"));
    }
    let slug = c.string(obj, "slug", 64);
    if !slug.is_empty() && !is_slug(&slug) {
        c.add(
            "/slug",
            "3–64 characters of a-z, 0-9 and `-`, starting with a letter, not ending with `-`",
        );
    }
    let name = c.string(obj, "name", 100);
    let summary = c.string(obj, "summary", 200);
    let description = c.string(obj, "description", MAX_DESCRIPTION);
    let category = c.string(obj, "category", 64);
    c.one_of("/category", &category, CATEGORIES);
    let publisher = c.string(obj, "publisher", 100);
    let license = c.string(obj, "license", 64);
    if !license.is_empty()
        && !license
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || "-.+ ()".contains(ch))
    {
        c.add("/license", "an SPDX licence expression, e.g. `Apache-2.0`");
    }
    let version = c.string(obj, "version", 64);
    if !version.is_empty()
        && let Err(e) = semver::Version::parse(&version)
    {
        c.add(
            "/version",
            format!("`{version}` is not a semantic version (e.g. 1.2.0): {e}"),
        );
    }
    let mut engines = Vec::new();
    match obj.get("engines") {
        Some(Value::Array(a)) if !a.is_empty() => {
            let mut seen = BTreeSet::new();
            for (i, e) in a.iter().enumerate() {
                match e.as_str() {
                    Some(s) if consortia_crds::Engine::parse(s).is_some() => {
                        if !seen.insert(s.to_string()) {
                            c.add(format!("/engines/{i}"), format!("`{s}` is listed twice"));
                        }
                        engines.push(s.to_string());
                    }
                    Some(s) => c.add(
                        format!("/engines/{i}"),
                        format!("`{s}` is not one of {}", engine_names()),
                    ),
                    None => c.add(format!("/engines/{i}"), "an engine name"),
                }
            }
        }
        Some(Value::Array(_)) => c.add("/engines", "list at least one engine"),
        Some(v) => c.add("/engines", format!("must be a list, not {}", kind(v))),
        None => c.add("/engines", "`engines` is required"),
    }
    let mut chain = ChainDefaults {
        engine: String::new(),
        consensus: String::new(),
        nodes_per_member: 1,
    };
    match obj.get("chain") {
        Some(Value::Object(ch)) => {
            for k in ch.keys() {
                if !["engine", "consensus", "nodes_per_member"].contains(&k.as_str()) {
                    c.add(format!("/chain/{k}"), format!("unknown field `{k}`"));
                }
            }
            match ch.get("engine").and_then(Value::as_str) {
                Some(e) if engines.iter().any(|x| x == e) => chain.engine = e.into(),
                Some(e) => c.add("/chain/engine", format!("`{e}` is not among `engines`")),
                None => c.add("/chain/engine", "`chain.engine` is required"),
            }
            match ch.get("consensus").and_then(Value::as_str) {
                Some(p) => {
                    chain.consensus = p.into();
                    if !chain.engine.is_empty() && !consensus_for(&chain.engine).contains(&p) {
                        c.add(
                            "/chain/consensus",
                            format!(
                                "the {} engine offers {}, not `{p}`",
                                chain.engine,
                                consensus_for(&chain.engine).join(", ")
                            ),
                        );
                    }
                }
                None => c.add("/chain/consensus", "`chain.consensus` is required"),
            }
            match ch.get("nodes_per_member") {
                None => {}
                Some(v) => match v.as_u64() {
                    Some(n @ 1..=16) => chain.nodes_per_member = n as u32,
                    _ => c.add("/chain/nodes_per_member", "a whole number from 1 to 16"),
                },
            }
        }
        Some(v) => c.add("/chain", format!("must be a mapping, not {}", kind(v))),
        None => c.add(
            "/chain",
            "`chain` (engine, consensus, nodes_per_member) is required",
        ),
    }
    let parameters = match obj.get("parameters") {
        None => serde_json::json!({"type": "object", "additionalProperties": false}),
        Some(p) => {
            check_schema(p, &mut c);
            p.clone()
        }
    };
    let mut artifacts = Vec::new();
    match obj.get("artifacts") {
        None => {}
        Some(Value::Array(a)) => {
            if a.len() > MAX_ARTIFACTS {
                c.add("/artifacts", format!("at most {MAX_ARTIFACTS} artifacts"));
            }
            let mut paths = BTreeSet::new();
            for (i, item) in a.iter().enumerate() {
                let at = format!("/artifacts/{i}");
                let Some(o) = item.as_object() else {
                    c.add(at, "each artifact is a mapping of path, sha256 and kind");
                    continue;
                };
                for k in o.keys() {
                    if !["path", "sha256", "kind"].contains(&k.as_str()) {
                        c.add(format!("{at}/{k}"), format!("unknown field `{k}`"));
                    }
                }
                let path = o.get("path").and_then(Value::as_str).unwrap_or_default();
                if !safe_path(path) {
                    c.add(
                        format!("{at}/path"),
                        "a relative path inside the package (no leading `/`, no `..`, not the manifest)",
                    );
                } else if !paths.insert(path.to_string()) {
                    c.add(format!("{at}/path"), format!("`{path}` is listed twice"));
                }
                let sha = o.get("sha256").and_then(Value::as_str).unwrap_or_default();
                if sha.len() != 64
                    || !sha
                        .bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
                {
                    c.add(
                        format!("{at}/sha256"),
                        "64 lower-case hex characters (the file's SHA-256)",
                    );
                }
                let k = o.get("kind").and_then(Value::as_str).unwrap_or_default();
                if !ARTIFACT_KINDS.contains(&k) {
                    c.add(
                        format!("{at}/kind"),
                        format!("one of {}", ARTIFACT_KINDS.join(", ")),
                    );
                }
                artifacts.push(Artifact {
                    path: path.into(),
                    sha256: sha.into(),
                    kind: k.into(),
                });
            }
        }
        Some(v) => c.add("/artifacts", format!("must be a list, not {}", kind(v))),
    }
    if !c.problems.is_empty() {
        return Err(c.problems);
    }
    Ok(Manifest {
        api_version,
        slug,
        name,
        summary,
        description,
        category,
        publisher,
        license,
        engines,
        version,
        chain,
        parameters,
        artifacts,
    })
}

/// Checks that `schema` is a valid JSON Schema for an object of parameters.
fn check_schema(schema: &Value, c: &mut Checker) {
    if !schema.is_object() {
        c.add(
            "/parameters",
            format!("must be a JSON Schema mapping, not {}", kind(schema)),
        );
        return;
    }
    if schema.get("type").and_then(Value::as_str) != Some("object") {
        c.add(
            "/parameters/type",
            "the parameters schema must have `type: object`",
        );
    }
    match jsonschema::meta::validator_for(schema) {
        Ok(meta) => {
            for e in meta.iter_errors(schema) {
                c.add(
                    format!("/parameters{}", e.instance_path()),
                    format!("not a valid JSON Schema: {e}"),
                );
            }
        }
        Err(e) => c.add(
            "/parameters/$schema",
            format!("unknown JSON Schema dialect: {e}"),
        ),
    }
    if c.problems
        .iter()
        .any(|p| p.pointer.starts_with("/parameters"))
    {
        return;
    }
    if let Err(e) = jsonschema::options().build(schema) {
        c.add("/parameters", format!("the schema cannot be used: {e}"));
    }
}

/// Validates install parameters against a template's schema; every error with its JSON pointer.
pub fn check_parameters(schema: &Value, parameters: &Value) -> Result<(), Vec<Problem>> {
    let validator = jsonschema::options().build(schema).map_err(|e| {
        vec![Problem {
            pointer: String::new(),
            detail: format!("the template's parameters schema cannot be used: {e}"),
        }]
    })?;
    let problems: Vec<Problem> = validator
        .iter_errors(parameters)
        .map(|e| Problem {
            pointer: e.instance_path().to_string(),
            detail: e.to_string(),
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// A checked package: the manifest and its artifacts' bytes.
#[derive(Debug, Clone)]
pub struct Package {
    /// The manifest.
    pub manifest: Manifest,
    /// The manifest's text, as written.
    pub manifest_text: String,
    /// Artifacts by path.
    pub files: BTreeMap<String, Vec<u8>>,
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// Checks the manifest against the files: every artifact present with its digest, no file
/// that is not an artifact.
pub fn check_files(
    manifest_text: &str,
    mut files: BTreeMap<String, Vec<u8>>,
) -> Result<Package, Vec<Problem>> {
    let manifest = check_manifest(manifest_text)?;
    let mut problems = Vec::new();
    for (i, a) in manifest.artifacts.iter().enumerate() {
        match files.get(&a.path) {
            None => problems.push(Problem {
                pointer: format!("/artifacts/{i}/path"),
                detail: format!("`{}` is not in the package", a.path),
            }),
            Some(b) => {
                let got = sha256_hex(b);
                if got != a.sha256 {
                    problems.push(Problem {
                        pointer: format!("/artifacts/{i}/sha256"),
                        detail: format!(
                            "`{}` has SHA-256 {got}, not the {} the manifest names",
                            a.path, a.sha256
                        ),
                    });
                }
            }
        }
    }
    let listed: BTreeSet<&str> = manifest.artifacts.iter().map(|a| a.path.as_str()).collect();
    for p in files.keys() {
        if !listed.contains(p.as_str()) {
            problems.push(Problem {
                pointer: format!("artifact:{p}"),
                detail: "this file is not listed in `artifacts`".into(),
            });
        }
    }
    check_configs(&manifest, &files, &mut problems);
    if !problems.is_empty() {
        return Err(problems);
    }
    files.retain(|p, _| listed.contains(p.as_str()));
    Ok(Package {
        manifest,
        manifest_text: manifest_text.to_string(),
        files,
    })
}

fn package_problem(detail: impl Into<String>) -> Vec<Problem> {
    vec![Problem {
        pointer: "package".into(),
        detail: detail.into(),
    }]
}

/// A JSON config artifact: installing a template writes each parameter into it at the JSON
/// pointer its `parameter_targets` names, and a new native chain takes its `genesis_params`.
fn json_config<'a>(a: &Artifact, files: &'a BTreeMap<String, Vec<u8>>) -> Option<&'a [u8]> {
    (a.kind == "config" && a.path.ends_with(".json"))
        .then(|| files.get(&a.path).map(Vec::as_slice))
        .flatten()
}

/// Checks config artifacts: valid JSON; `parameter_targets` maps declared parameters to
/// pointers whose parent exists; `genesis_params` are genesis parameters the native chain
/// knows.
fn check_configs(m: &Manifest, files: &BTreeMap<String, Vec<u8>>, problems: &mut Vec<Problem>) {
    let declared = m.parameters.get("properties").and_then(Value::as_object);
    for a in &m.artifacts {
        let Some(bytes) = json_config(a, files) else {
            continue;
        };
        let at = |detail: String| Problem {
            pointer: format!("artifact:{}", a.path),
            detail,
        };
        let doc: Value = match serde_json::from_slice(bytes) {
            Ok(v) => v,
            Err(e) => {
                problems.push(at(format!("not valid JSON: {e}")));
                continue;
            }
        };
        match doc.get("parameter_targets") {
            None => {}
            Some(Value::Object(targets)) => {
                let pointers: Vec<&str> = targets.values().filter_map(Value::as_str).collect();
                for (name, target) in targets {
                    let t = target.as_str().unwrap_or_default();
                    if t == "/genesis_params" || t.starts_with("/genesis_params/") {
                        problems.push(at(format!(
                            "/parameter_targets/{name}: install parameters may not set genesis_params"
                        )));
                    }
                    if let Some(outer) = pointers.iter().find(|p| {
                        t.len() > p.len() && t.starts_with(*p) && t.as_bytes()[p.len()] == b'/'
                    }) {
                        problems.push(at(format!(
                            "/parameter_targets/{name}: {t} lies inside {outer}, another parameter's target"
                        )));
                    }
                    if !declared.is_some_and(|d| d.contains_key(name)) {
                        problems.push(at(format!(
                            "/parameter_targets/{name}: `{name}` is not a parameter in the manifest's schema"
                        )));
                    }
                    match target.as_str().and_then(parent_pointer) {
                        Some((parent, _)) if doc.pointer(parent).is_some_and(Value::is_object) => {}
                        _ => problems.push(at(format!(
                            "/parameter_targets/{name}: {target} must be a JSON pointer whose parent is an object in this file"
                        ))),
                    }
                }
            }
            Some(_) => problems.push(at(
                "/parameter_targets must map parameter names to JSON pointers".into(),
            )),
        }
        if let Some(g) = doc.get("genesis_params") {
            match serde_json::from_value::<consortia_chain::genesis::Params>(g.clone()) {
                Err(e) => problems.push(at(format!(
                    "/genesis_params: not native chain parameters: {e}"
                ))),
                Ok(p) => {
                    if let Err(e) = p.validate() {
                        problems.push(at(format!("/genesis_params: {e}")));
                    } else if p.max_metadata_bytes < MIN_DEPOSIT_METADATA {
                        // The platform's own deposits (installation anchors) carry a few
                        // hundred bytes of metadata; a chain that refuses them is broken.
                        problems.push(at(format!(
                            "/genesis_params/max_metadata_bytes: at least {MIN_DEPOSIT_METADATA} bytes"
                        )));
                    }
                }
            }
        }
    }
}

/// Splits `/a/b~1c` into (`/a`, `b/c`).
fn parent_pointer(p: &str) -> Option<(&str, String)> {
    if !p.starts_with('/') {
        return None;
    }
    let (parent, last) = p.rsplit_once('/')?;
    Some((parent, last.replace("~1", "/").replace("~0", "~")))
}

/// What installing a version produces.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rendered {
    /// Each JSON config artifact with the parameters (and the schema's defaults for those
    /// not given) written at their targets, by path.
    pub configs: BTreeMap<String, Value>,
    /// Genesis parameters for a new native chain, from the config artifacts.
    pub genesis_params: Option<consortia_chain::genesis::Params>,
}

/// Renders a checked package's config artifacts with install parameters (already validated
/// against the schema).
pub fn render(pkg: &Package, parameters: &Value) -> Result<Rendered, String> {
    let defaults = pkg
        .manifest
        .parameters
        .get("properties")
        .and_then(Value::as_object);
    let value_of = |name: &str| -> Option<Value> {
        parameters
            .get(name)
            .cloned()
            .or_else(|| defaults?.get(name)?.get("default").cloned())
    };
    let mut out = Rendered::default();
    for a in &pkg.manifest.artifacts {
        let Some(bytes) = json_config(a, &pkg.files) else {
            continue;
        };
        let mut doc: Value =
            serde_json::from_slice(bytes).map_err(|e| format!("{}: {e}", a.path))?;
        let targets: Vec<(String, String)> = doc
            .get("parameter_targets")
            .and_then(Value::as_object)
            .map(|t| {
                t.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        for (name, target) in targets {
            let Some(value) = value_of(&name) else {
                continue;
            };
            let (parent, key) = parent_pointer(&target)
                .ok_or_else(|| format!("{}: bad target {target}", a.path))?;
            let slot = doc
                .pointer_mut(parent)
                .and_then(Value::as_object_mut)
                .ok_or_else(|| format!("{}: no object at {parent}", a.path))?;
            slot.insert(key, value);
        }
        if out.genesis_params.is_none()
            && let Some(g) = doc.get("genesis_params")
        {
            let params: consortia_chain::genesis::Params = serde_json::from_value(g.clone())
                .map_err(|e| format!("{}: genesis_params: {e}", a.path))?;
            params
                .validate()
                .map_err(|e| format!("{}: genesis_params: {e}", a.path))?;
            out.genesis_params = Some(params);
        }
        out.configs.insert(a.path.clone(), doc);
    }
    Ok(out)
}

/// Reads and checks a package (tar.gz). `max_bytes` bounds the compressed size and, four
/// times over, what it may unpack to.
pub fn read_package(bytes: &[u8], max_bytes: usize) -> Result<Package, Vec<Problem>> {
    if bytes.len() > max_bytes {
        return Err(package_problem(format!(
            "the package is {} bytes; the limit is {max_bytes}",
            bytes.len()
        )));
    }
    let limit = (max_bytes as u64).saturating_mul(4);
    let gz = flate2::read::GzDecoder::new(bytes);
    let mut archive = tar::Archive::new(gz.take(limit.saturating_add(1)));
    let mut manifest = None;
    let mut files = BTreeMap::new();
    let mut total = 0u64;
    let entries = archive
        .entries()
        .map_err(|e| package_problem(format!("not a tar.gz archive: {e}")))?;
    for entry in entries {
        let mut entry =
            entry.map_err(|e| package_problem(format!("not a readable tar.gz archive: {e}")))?;
        let path = entry
            .path()
            .map_err(|e| package_problem(format!("an entry has an unreadable name: {e}")))?
            .to_string_lossy()
            .trim_start_matches("./")
            .to_string();
        let ty = entry.header().entry_type();
        if ty.is_dir() {
            continue;
        }
        if !ty.is_file() {
            return Err(package_problem(format!(
                "`{path}` is not a regular file (links and devices are not allowed)"
            )));
        }
        total += entry.size();
        if total > limit {
            return Err(package_problem(format!(
                "the package unpacks to more than {limit} bytes"
            )));
        }
        let mut buf = Vec::with_capacity(entry.size() as usize);
        entry
            .read_to_end(&mut buf)
            .map_err(|e| package_problem(format!("`{path}` could not be read: {e}")))?;
        if path == MANIFEST {
            if manifest.is_some() {
                return Err(package_problem(format!("{MANIFEST} appears twice")));
            }
            manifest = Some(
                String::from_utf8(buf)
                    .map_err(|_| package_problem(format!("{MANIFEST} is not UTF-8")))?,
            );
        } else if !safe_path(&path) {
            return Err(package_problem(format!(
                "`{path}` is not a safe relative path"
            )));
        } else if files.insert(path.clone(), buf).is_some() {
            return Err(package_problem(format!("`{path}` appears twice")));
        }
    }
    let manifest =
        manifest.ok_or_else(|| package_problem(format!("there is no {MANIFEST} at the top")))?;
    check_files(&manifest, files)
}

/// Builds a package (tar.gz) from a manifest text and files.
pub fn build_package(manifest_text: &str, files: &BTreeMap<String, Vec<u8>>) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    let mut add = |path: &str, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(0);
        h.set_cksum();
        tar.append_data(&mut h, path, data)
            .expect("writing a tar to memory cannot fail");
    };
    add(MANIFEST, manifest_text.as_bytes());
    for (p, b) in files {
        add(p, b);
    }
    tar.into_inner()
        .and_then(|gz| gz.finish())
        .expect("writing a tar to memory cannot fail")
}

status_enum! {
    /// Where a template version stands: uploaded as a `draft`, `in_review` once submitted, then
    /// `published` or `rejected` by the reviewer; the publisher may `deprecate` a published one.
    VersionStatus {
        /// Uploaded; may be uploaded again.
        Draft = "draft",
        /// Waiting for the platform reviewer; immutable.
        InReview = "in_review",
        /// In the catalog; immutable.
        Published = "published",
        /// Sent back with a reason; may be uploaded again.
        Rejected = "rejected",
        /// Still in the catalog, taking no new installs.
        Deprecated = "deprecated",
    }
}

impl VersionStatus {
    /// Whether the catalog shows it (published or deprecated).
    pub fn is_public(self) -> bool {
        matches!(self, VersionStatus::Published | VersionStatus::Deprecated)
    }

    /// Whether an upload of the same version number may replace it.
    pub fn is_replaceable(self) -> bool {
        matches!(self, VersionStatus::Draft | VersionStatus::Rejected)
    }
}

status_enum! {
    /// Where a template installation stands.
    InstallStatus {
        /// Waiting for the chain's first block, then anchored.
        Installing = "installing",
        /// Anchored on the chain (its receipt proves it).
        Installed = "installed",
        /// Recorded; the chain's engine does not anchor installations.
        Recorded = "recorded",
        /// Could not be anchored; a new install replaces it.
        Failed = "failed",
    }
}

/// The platform reviewer's decision on a version under review.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Publish the version.
    Approve,
    /// Send it back with a reason.
    Reject,
}

/// A validation error listing every problem of a package or of install parameters.
pub fn invalid(detail: &str, list: Vec<Problem>) -> crate::domain::error::Error {
    crate::domain::error::Error::Invalid {
        detail: format!(
            "{detail}: {}",
            list.iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join("; ")
                .chars()
                .take(2000)
                .collect::<String>()
        ),
        errors: list
            .into_iter()
            .map(|p| crate::domain::error::FieldError {
                pointer: p.pointer,
                detail: p.detail,
            })
            .collect(),
    }
}

/// Checks install parameters against a manifest's schema: every error by JSON pointer, each
/// under `at`.
pub fn check_install_parameters(
    m: &Manifest,
    parameters: &Value,
    at: &str,
) -> crate::domain::error::Result<()> {
    check_parameters(&m.parameters, parameters).map_err(|p| {
        let p = p
            .into_iter()
            .map(|p| Problem {
                pointer: format!("{at}{}", p.pointer),
                detail: p.detail,
            })
            .collect();
        invalid("the parameters do not satisfy the template's schema", p)
    })
}

/// Versions ordered newest first by semantic version (an unparsable one sorts as 0.0.0).
pub fn newest_first<T>(items: &mut [T], version: impl Fn(&T) -> &str) {
    let of = |v: &str| semver::Version::parse(v).unwrap_or(semver::Version::new(0, 0, 0));
    items.sort_by_key(|x| std::cmp::Reverse(of(version(x))));
}

/// A template to install: which one, which version, with what parameters.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateChoice {
    /// The template's slug in the catalog.
    pub slug: String,
    /// A published version (default: the latest published).
    #[serde(default)]
    pub version: Option<String>,
    /// Install parameters, checked against the version's JSON Schema.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub parameters: serde_json::Map<String, Value>,
}

/// The catalog name a template holds until its first version is published: `~` (never in a
/// slug) and its id, so an unpublished template claims no name anyone else could want.
pub fn unlisted_slug(id: uuid::Uuid) -> String {
    format!("~{}", id.simple())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r##"
apiVersion: consortia.dev/v1
slug: demo-notary
name: Demo
summary: A demo.
description: "# Demo"
category: notarization
publisher: Acme Partners
license: Apache-2.0
engines: [native]
version: 1.0.0
chain: {engine: native, consensus: bft, nodes_per_member: 1}
parameters:
  type: object
  required: [retention_days]
  properties:
    retention_days: {type: integer, minimum: 1}
artifacts:
  - {path: config/a.txt, sha256: "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb", kind: config}
"##;

    #[test]
    fn a_good_package_round_trips() {
        let mut files = BTreeMap::new();
        files.insert("config/a.txt".to_string(), b"a".to_vec());
        let pkg = build_package(GOOD, &files);
        let p = read_package(&pkg, DEFAULT_MAX_PACKAGE_BYTES).unwrap();
        assert_eq!(p.manifest.slug, "demo-notary");
        assert_eq!(p.files["config/a.txt"], b"a");
    }

    #[test]
    fn every_problem_is_reported_with_its_pointer() {
        let bad = GOOD
            .replace("version: 1.0.0", "version: one")
            .replace("category: notarization", "category: gaming")
            .replace("engines: [native]", "engines: [native, cobol]")
            .replace("consensus: bft", "consensus: pow")
            .replace("type: integer, minimum: 1", "type: integr")
            .replace("kind: config}", "kind: config, extra: 1}");
        let problems = check_manifest(&bad).unwrap_err();
        let pointers: Vec<&str> = problems.iter().map(|p| p.pointer.as_str()).collect();
        for want in [
            "/version",
            "/category",
            "/engines/1",
            "/chain/consensus",
            "/artifacts/0/extra",
        ] {
            assert!(pointers.contains(&want), "{want} missing from {pointers:?}");
        }
        assert!(
            pointers.iter().any(|p| p.starts_with("/parameters")),
            "{pointers:?}"
        );
    }

    #[test]
    fn parameters_are_checked_with_pointers() {
        let m = check_manifest(GOOD).unwrap();
        check_parameters(&m.parameters, &serde_json::json!({"retention_days": 3})).unwrap();
        let e =
            check_parameters(&m.parameters, &serde_json::json!({"retention_days": 0})).unwrap_err();
        assert_eq!(e[0].pointer, "/retention_days");
        let e = check_parameters(&m.parameters, &serde_json::json!({})).unwrap_err();
        assert_eq!(e.len(), 1);
    }

    #[test]
    fn hostile_packages_are_refused() {
        let mut files = BTreeMap::new();
        files.insert("config/a.txt".to_string(), b"b".to_vec());
        let e = read_package(&build_package(GOOD, &files), DEFAULT_MAX_PACKAGE_BYTES).unwrap_err();
        assert_eq!(e[0].pointer, "/artifacts/0/sha256");
        files.insert("config/a.txt".to_string(), b"a".to_vec());
        files.insert("extra.bin".to_string(), b"x".to_vec());
        let e = read_package(&build_package(GOOD, &files), DEFAULT_MAX_PACKAGE_BYTES).unwrap_err();
        assert_eq!(e[0].pointer, "artifact:extra.bin");
        assert!(read_package(b"not gzip", DEFAULT_MAX_PACKAGE_BYTES).is_err());
        let big = build_package(GOOD, &BTreeMap::new());
        let e = read_package(&big, 10).unwrap_err();
        assert!(e[0].detail.contains("limit"));
        // A gzip bomb: small compressed, large unpacked.
        let mut bomb = BTreeMap::new();
        bomb.insert("config/a.txt".to_string(), vec![0u8; 8 * 1024 * 1024]);
        let pkg = build_package(GOOD, &bomb);
        assert!(pkg.len() < 100 * 1024);
        let e = read_package(&pkg, 1024 * 1024).unwrap_err();
        assert!(e[0].detail.contains("unpacks"), "{e:?}");
    }

    /// GOOD with one JSON config artifact holding `config`.
    fn with_config(config: &str) -> (String, BTreeMap<String, Vec<u8>>) {
        let manifest = GOOD
            .replace("config/a.txt", "config/svc.json")
            .replace(
                "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb",
                &sha256_hex(config.as_bytes()),
            )
            .replace(
                "retention_days: {type: integer, minimum: 1}",
                "retention_days: {type: integer, minimum: 1}\n    region: {type: string, default: eu}",
            );
        let mut files = BTreeMap::new();
        files.insert("config/svc.json".to_string(), config.as_bytes().to_vec());
        (manifest, files)
    }

    #[test]
    fn config_artifacts_are_checked_and_rendered() {
        let (m, files) = with_config(
            r#"{"parameter_targets": {"retention_days": "/retention/days", "region": "/where/region"},
                "retention": {"days": 1}, "where": {}, "genesis_params": {"max_block_txs": 500}}"#,
        );
        let pkg = read_package(&build_package(&m, &files), DEFAULT_MAX_PACKAGE_BYTES).unwrap();
        let r = render(&pkg, &serde_json::json!({"retention_days": 30})).unwrap();
        let svc = &r.configs["config/svc.json"];
        assert_eq!(svc["retention"]["days"], 30);
        assert_eq!(
            svc["where"]["region"], "eu",
            "the schema's default fills in"
        );
        assert_eq!(r.genesis_params.unwrap().max_block_txs, 500);

        for (config, want) in [
            ("not json", "not valid JSON"),
            (
                r#"{"parameter_targets": {"nope": "/a"}, "a": {}}"#,
                "`nope` is not a parameter",
            ),
            (
                r#"{"parameter_targets": {"region": "/missing/region"}}"#,
                "whose parent is an object",
            ),
            (
                r#"{"parameter_targets": ["region"]}"#,
                "must map parameter names",
            ),
            (
                r#"{"genesis_params": {"blocks": 1}}"#,
                "not native chain parameters",
            ),
            (
                r#"{"genesis_params": {"max_block_txs": 0}}"#,
                "max_block_txs",
            ),
        ] {
            let (m, files) = with_config(config);
            let e =
                read_package(&build_package(&m, &files), DEFAULT_MAX_PACKAGE_BYTES).unwrap_err();
            assert!(
                e.iter()
                    .any(|p| p.pointer == "artifact:config/svc.json" && p.detail.contains(want)),
                "{config}: {e:?}"
            );
        }
    }
}
