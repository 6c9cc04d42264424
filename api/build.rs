//! Brings the playground's third-party files (GraphiQL, React, graphql-ws)
//! into the binary: each pinned package of `playground/packages.txt` is
//! fetched with its package manager (`npm pack`, which uses npm's cache when
//! it can), its tarball checked against the pinned sha512 integrity, and the
//! listed files extracted into `OUT_DIR`. Nothing third-party is committed.
//!
//! When a package cannot be fetched or does not match, the build still
//! succeeds: the binary then serves a page that says what is missing and how
//! to get it. `PLAYGROUND_SKIP_FETCH=1` skips fetching on purpose.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use sha2::{Digest, Sha512};

struct Pin {
    spec: String,
    integrity: String,
    member: String,
    served_as: String,
}

fn main() {
    println!("cargo:rerun-if-changed=playground");
    println!("cargo:rerun-if-env-changed=PLAYGROUND_SKIP_FETCH");
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default());
    let pins = read_pins(&manifest_dir.join("playground/packages.txt"));
    let assets_dir = out.join("playground");
    let _ = std::fs::create_dir_all(&assets_dir);

    let skip = std::env::var_os("PLAYGROUND_SKIP_FETCH").is_some_and(|v| v != "0");
    let mut problems: Vec<String> = Vec::new();
    let mut tarballs: BTreeMap<String, Result<PathBuf, String>> = BTreeMap::new();
    for pin in &pins {
        if tarballs.contains_key(&pin.spec) {
            continue;
        }
        let got = if skip {
            Err("fetching was skipped (PLAYGROUND_SKIP_FETCH)".to_owned())
        } else {
            fetch(&pin.spec, &pin.integrity, &out.join("npm"))
        };
        if let Err(why) = &got {
            problems.push(format!("{}: {why}", pin.spec));
        }
        tarballs.insert(pin.spec.clone(), got);
    }

    let mut generated = String::from("/// Third-party playground files: (name, bytes).\n");
    generated.push_str("pub const VENDORED: &[(&str, &[u8])] = &[\n");
    for pin in &pins {
        let Some(Ok(tarball)) = tarballs.get(&pin.spec) else {
            continue;
        };
        match extract(tarball, &pin.member, &assets_dir.join(&pin.served_as)) {
            Ok(path) => {
                let _ = writeln!(
                    generated,
                    "    ({:?}, include_bytes!({:?})),",
                    pin.served_as,
                    path.display().to_string()
                );
            }
            Err(why) => problems.push(format!("{} ({}): {why}", pin.spec, pin.member)),
        }
    }
    generated.push_str("];\n\n");
    let packages: Vec<&str> = {
        let mut v: Vec<&str> = pins.iter().map(|p| p.spec.as_str()).collect();
        v.dedup();
        v
    };
    let _ = writeln!(
        generated,
        "/// The pinned packages, for the page that reports missing files.\npub const PACKAGES: &[&str] = &{packages:?};\n"
    );
    let missing = if problems.is_empty() {
        "None".to_owned()
    } else {
        for p in &problems {
            println!("cargo:warning=playground: {p}");
        }
        format!("Some({:?})", problems.join("; "))
    };
    let _ = writeln!(
        generated,
        "/// Why some third-party files are missing, if they are.\npub const MISSING: Option<&str> = {missing};"
    );
    let _ = std::fs::write(out.join("playground_assets.rs"), generated);
}

fn read_pins(path: &Path) -> Vec<Pin> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            Some(Pin {
                spec: parts.next()?.to_owned(),
                integrity: parts.next()?.to_owned(),
                member: parts.next()?.to_owned(),
                served_as: parts.next()?.to_owned(),
            })
        })
        .collect()
}

/// The tarball of `spec`, checked against `integrity`.
fn fetch(spec: &str, integrity: &str, dir: &Path) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let file = dir.join(format!("{}.tgz", spec.replace(['@', '/'], "-")));
    if file.exists() && check(&file, integrity).is_ok() {
        return Ok(file);
    }
    let scratch = dir.join("pack");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).map_err(|e| e.to_string())?;
    let output = Command::new("npm")
        .args([
            "pack",
            spec,
            "--silent",
            "--prefer-offline",
            "--ignore-scripts",
            "--fetch-retries=1",
            "--fetch-timeout=30000",
            "--pack-destination",
        ])
        .arg(&scratch)
        .output()
        .map_err(|e| format!("could not run npm ({e}); install Node.js and npm, then rebuild"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let first = stderr
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no output");
        return Err(format!("`npm pack {spec}` failed: {first}"));
    }
    let packed = std::fs::read_dir(&scratch)
        .map_err(|e| e.to_string())?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "tgz"))
        .ok_or_else(|| format!("`npm pack {spec}` wrote no tarball"))?;
    check(&packed, integrity)?;
    std::fs::rename(&packed, &file).map_err(|e| e.to_string())?;
    Ok(file)
}

fn check(file: &Path, integrity: &str) -> Result<(), String> {
    let bytes = std::fs::read(file).map_err(|e| e.to_string())?;
    let actual = format!(
        "sha512-{}",
        base64::engine::general_purpose::STANDARD.encode(Sha512::digest(&bytes))
    );
    if actual == integrity {
        Ok(())
    } else {
        Err(format!(
            "integrity mismatch: pinned {integrity}, got {actual}"
        ))
    }
}

fn extract(tarball: &Path, member: &str, to: &Path) -> Result<PathBuf, String> {
    let dir = to.with_extension("unpacked");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let status = Command::new("tar")
        .arg("-xzf")
        .arg(tarball)
        .arg("-C")
        .arg(&dir)
        .arg(member)
        .status()
        .map_err(|e| format!("could not run tar ({e})"))?;
    if !status.success() {
        return Err(format!("{member} is not in the tarball"));
    }
    std::fs::rename(dir.join(member), to).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(to.to_path_buf())
}
