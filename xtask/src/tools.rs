//! Installs the build and test tools the project needs, when they are missing.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::{root, run};

fn output(cmd: &mut Command) -> Option<String> {
    cmd.output().ok().filter(|o| o.status.success()).map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
}

fn is_root() -> bool {
    output(Command::new("id").arg("-u")).is_some_and(|u| u.trim() == "0")
}

pub fn ensure_wasm_target() -> Result<()> {
    let installed = output(Command::new("rustup").args(["target", "list", "--installed"])).unwrap_or_default();
    if !installed.lines().any(|l| l.trim() == "wasm32-unknown-unknown") {
        run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    }
    Ok(())
}

/// The `wasm-bindgen` version `Cargo.lock` pins; the CLI must match it exactly.
fn locked_wasm_bindgen_version() -> Result<String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).context("reading Cargo.lock")?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "name = \"wasm-bindgen\"" {
            if let Some(v) = lines.next().and_then(|l| l.trim().strip_prefix("version = ")) {
                return Ok(v.trim_matches('"').to_owned());
            }
        }
    }
    bail!("Cargo.lock has no wasm-bindgen entry")
}

/// `wasm-bindgen` (and its test runner) at the locked version, installed with cargo if needed.
pub fn ensure_wasm_bindgen() -> Result<PathBuf> {
    let version = locked_wasm_bindgen_version()?;
    let cargo_bin =
        PathBuf::from(std::env::var("CARGO_HOME").unwrap_or_else(|_| format!("{}/.cargo", std::env::var("HOME").unwrap_or_default())))
            .join("bin");
    let binary = cargo_bin.join("wasm-bindgen");
    let current = output(Command::new(&binary).arg("--version")).unwrap_or_default();
    if current.trim() != format!("wasm-bindgen {version}") {
        // The crate's own lockfile sometimes names versions the registry no longer offers;
        // then install without it.
        let locked = run(Command::new("cargo").args(["install", "wasm-bindgen-cli", "--version", &version, "--locked"]));
        if locked.is_err() {
            run(Command::new("cargo").args(["install", "wasm-bindgen-cli", "--version", &version]))?;
        }
    }
    Ok(binary)
}

/// `wasm-opt` from the npm `binaryen` package pinned in `app/package.json`.
pub fn ensure_wasm_opt() -> Result<PathBuf> {
    let app = root().join("app");
    let binary = app.join("node_modules/.bin/wasm-opt");
    if output(Command::new(&binary).arg("--version")).is_none_or(|v| !v.contains("version 132")) {
        if output(Command::new("npm").arg("--version")).is_none() {
            bail!("npm is needed to install wasm-opt (binaryen): install Node.js and npm, then run this again");
        }
        run(Command::new("npm").args(["ci", "--no-audit", "--no-fund", "--prefix"]).arg(&app))?;
    }
    Ok(binary)
}

/// `wrk`, a load generator in its own process, from Debian. `None` when it is missing and
/// cannot be installed (not root).
pub fn ensure_wrk() -> Option<PathBuf> {
    let wrk = PathBuf::from("/usr/bin/wrk");
    if !wrk.exists() && is_root() {
        let _ = run(Command::new("apt-get").arg("update"));
        let _ =
            run(Command::new("apt-get").args(["install", "-y", "--no-install-recommends", "wrk"]).env("DEBIAN_FRONTEND", "noninteractive"));
    }
    wrk.exists().then_some(wrk)
}

/// Debian's Chromium and its driver for browser tests, and the CJK and emoji fonts so the
/// end-to-end screenshots of the Traditional Chinese pages show text, not boxes. Installs what
/// is missing; returns the driver's path.
pub fn ensure_chromium() -> Result<PathBuf> {
    ensure_debian(
        "browser tests",
        &[
            ("chromium", "/usr/bin/chromium"),
            ("chromium-driver", "/usr/bin/chromedriver"),
            ("fonts-noto-cjk", "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
            ("fonts-noto-color-emoji", "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"),
        ],
    )?;
    Ok(PathBuf::from("/usr/bin/chromedriver"))
}

/// OpenSSL's headers and libcrypto, which the relay's `linked-device` feature links: its
/// session files are SQLCipher databases.
pub fn ensure_libcrypto() -> Result<()> {
    ensure_debian("the linked-device feature (SQLCipher)", &[("libssl-dev", "/usr/include/openssl/evp.h")])
}

/// Installs the Debian packages of `needed` (package, a file it installs) whose file is missing.
fn ensure_debian(what: &str, needed: &[(&str, &str)]) -> Result<()> {
    let missing: Vec<&str> = needed.iter().filter(|(_, path)| !PathBuf::from(path).exists()).map(|(package, _)| *package).collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !is_root() {
        bail!("{what} need {}: run `sudo apt-get install {}`, then run this again", missing.join(", "), missing.join(" "));
    }
    run(Command::new("apt-get").arg("update"))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "--no-install-recommends"])
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive"))?;
    Ok(())
}
