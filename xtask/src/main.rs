//! `cargo xtask demo | test | bench | dist`: the one place that knows the build recipe.
//!
//! Every command installs what it needs and is missing, idempotently: the wasm32 target,
//! `wasm-bindgen-cli` at exactly the version in `Cargo.lock`, `wasm-opt` from the npm
//! `binaryen` package pinned in `app/package.json`, and (for browser tests) Debian's
//! `chromium` and `chromium-driver`.

mod auto_reply;
mod bench;
mod broadcast;
mod groups;
mod segment;
mod tools;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace").to_owned()
}

/// Runs a command in the workspace root, failing with its name if it fails.
pub fn run(cmd: &mut Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    eprintln!("xtask: {shown}");
    let status = cmd.current_dir(root()).status().with_context(|| format!("starting {shown}"))?;
    if !status.success() {
        bail!("{shown} failed with {status}");
    }
    Ok(())
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn usage() -> ! {
    eprintln!(
        "usage: cargo xtask <command>\n\n\
         demo [relay flags]   build the console and run `switchboard demo` (e.g. --listen 127.0.0.1:9000 --data-dir /tmp/sb)\n\
         test                 every test: unit, relay on SQLite and PostgreSQL (DATABASE_URL), console, end-to-end in Chromium\n\
         bench [name]         benchmarks (webhook_ingest, broadcast [case…], segment, groups, auto_reply); prints a table and writes target/bench/report.json\n\
         dist                 build the console into dist/"
    );
    std::process::exit(2)
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let command = args.next().unwrap_or_else(|| usage());
    let rest: Vec<String> = args.collect();
    match command.as_str() {
        "dist" => dist().map(|_| ()),
        "demo" => demo(&rest),
        "test" => test(),
        "bench" => {
            // Benchmarks measure optimised code: re-run this command as a release build.
            run(cargo().args(["run", "--release", "--quiet", "-p", "xtask", "--", "bench-release"]).args(&rest))
        }
        "bench-release" => bench::run(&rest),
        _ => usage(),
    }
}

/// Builds the console into `dist/`: release WebAssembly split into a first download (sign-in,
/// the inbox and everything shared) and one chunk per lazily loaded page, bindgen, wasm-opt on
/// each part, static files.
///
/// The split: the app is linked with `--emit-relocs`, and `wasm_split_cli_support` cuts it at
/// the split points Leptos's `#[lazy_route]` marks, writing each page's chunk and the loader
/// (`__wasm_split.js`) the main module imports them through.
fn dist() -> Result<PathBuf> {
    tools::ensure_wasm_target()?;
    let wasm_bindgen = tools::ensure_wasm_bindgen()?;
    let wasm_opt = tools::ensure_wasm_opt()?;
    let root = root();
    let dist = root.join("dist");
    run(cargo()
        .args(["build", "-p", "switchboard-app", "--bin", "switchboard-app", "--target", "wasm32-unknown-unknown", "--profile", "console"])
        .env_remove("RUSTFLAGS")
        .env("CARGO_ENCODED_RUSTFLAGS", console_rustflags(&root).join("\x1f")))?;
    if dist.exists() {
        std::fs::remove_dir_all(&dist)?;
    }
    std::fs::create_dir_all(dist.join("style"))?;
    let linked = std::fs::read(root.join("target/wasm32-unknown-unknown/console/switchboard-app.wasm"))?;
    let main = root.join("target/wasm32-unknown-unknown/console/switchboard-app.split.wasm");
    let split = wasm_split_cli_support::transform({
        let mut options = wasm_split_cli_support::Options::new(&linked);
        options.output_dir = &dist;
        options.main_out_path = &main;
        options.main_module = "./app.js";
        options.link_name = "./__wasm_split.js";
        options
    })
    .map_err(|e| anyhow::anyhow!("splitting the console's WebAssembly: {e:#}"))?;
    // Which chunks each lazily loaded part needs (its own and shared ones), for the size report.
    let manifest: std::collections::BTreeMap<&String, &Vec<String>> = split.prefetch_map.iter().collect();
    std::fs::write(dist.join("__wasm_split_manifest.json"), serde_json::to_vec_pretty(&manifest)?)?;
    run(Command::new(&wasm_bindgen)
        .args(["--target", "web", "--no-typescript", "--keep-lld-exports", "--no-demangle", "--out-name", "app", "--out-dir"])
        .arg(&dist)
        .arg(&main))?;
    let bg = dist.join("app_bg.wasm");
    // Each part on its own (a console has hundreds).
    let parts: Vec<&PathBuf> = split.split_modules.iter().chain([&bg]).collect();
    on_every_core(&parts, |part| optimize(&wasm_opt, part))?;
    copy_dir(&root.join("app/static"), &dist)?;
    std::fs::copy(root.join("style/main.css"), dist.join("style/main.css"))?;
    // A fresh cache name per build, so the service worker drops the old shell; the chunks are
    // cached with it.
    let mut parts: Vec<Vec<u8>> = vec![std::fs::read(&bg)?, std::fs::read(dist.join("app.js"))?];
    let mut chunks = vec!["/__wasm_split.js".to_owned()];
    for part in &split.split_modules {
        parts.push(std::fs::read(part)?);
        chunks.push(format!("/{}", part.file_name().and_then(|n| n.to_str()).unwrap_or_default()));
    }
    let build_id = format!("{:016x}", fnv1a(&parts.iter().map(Vec::as_slice).collect::<Vec<_>>()));
    let sw = std::fs::read_to_string(dist.join("sw.js"))?
        .replace("__BUILD_ID__", &build_id)
        .replace("__CHUNKS__", &serde_json::to_string(&chunks)?);
    std::fs::write(dist.join("sw.js"), sw)?;
    precompress(&dist)?;
    let sizes = console_sizes(&dist)?;
    eprintln!(
        "xtask: console built into dist/ — first download {} KB gzipped ({} KB as browsers get it, brotli); loaded when first opened:",
        sizes.first_gzip_kb, sizes.first_br_kb
    );
    for (page, own, total) in &sizes.pages {
        eprintln!("xtask:   {page}: {own} KB gzipped ({total} KB with the shared code it needs)");
    }
    Ok(dist)
}

/// The flags the console's release build is compiled with. Flags from the environment replace
/// those of `.cargo/config.toml` instead of adding to them, so the config's own
/// (`--cfg erase_components`) are repeated here; the caller's `RUSTFLAGS` are kept. They are
/// passed one per item (`CARGO_ENCODED_RUSTFLAGS`), so a path with a space stays one flag.
fn console_rustflags(root: &Path) -> Vec<String> {
    let mut flags: Vec<String> = std::env::var("RUSTFLAGS").unwrap_or_default().split_whitespace().map(str::to_owned).collect();
    flags.extend(["--cfg", "erase_components", "-Clink-args=--emit-relocs"].map(str::to_owned));
    flags.extend(short_paths(root));
    flags
}

/// Rust keeps each source file's path for its panic messages: the crates' paths are cut to
/// `crate-version/src/…`, the project's to `app/src/…`, so the console carries no machine's
/// home directory (and builds the same on every machine).
fn short_paths(root: &Path) -> Vec<String> {
    let cargo_home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cargo"));
    let registry = cargo_home.join("registry/src");
    let mut flags = vec![format!("--remap-path-prefix={}/=", root.display())];
    // One directory per registry index (`index.crates.io-<hash>`).
    for index in std::fs::read_dir(&registry).into_iter().flatten().flatten() {
        flags.push(format!("--remap-path-prefix={}/=", index.path().display()));
    }
    flags
}

/// Shrinks one part of the console in place with wasm-opt.
fn optimize(wasm_opt: &Path, part: &Path) -> Result<()> {
    run(Command::new(wasm_opt)
        .args([
            "-Oz",
            "--enable-bulk-memory",
            "--enable-nontrapping-float-to-int",
            "--enable-sign-ext",
            "--enable-reference-types",
            "--enable-multivalue",
            // Linking with relocations keeps names and producer notes the browser never needs.
            "--strip-debug",
            "--strip-producers",
            "-o",
        ])
        .arg(part)
        .arg(part))
}

/// The console's download sizes, as the relay sends them compressed (the `.gz` and `.br` copies
/// `dist` writes), gzip unless said: what the first page load fetches (the main module:
/// sign-in, the inbox list and the runtime), and for each part loaded later (a page, an open
/// conversation) its own chunk and everything opening it fetches (its own chunk and the shared
/// chunks it needs, as the split's manifest lists them).
pub struct ConsoleSizes {
    pub first_gzip_kb: usize,
    /// The main module as the relay serves it to a browser that accepts brotli (all do).
    pub first_br_kb: usize,
    pub first_kb: usize,
    /// (part, own KB gzipped, KB gzipped fetched when first opened), largest first.
    pub pages: Vec<(String, usize, usize)>,
    /// Every chunk but the main module, gzipped.
    pub all_chunks_gzip_kb: usize,
}

pub fn console_sizes(dist: &std::path::Path) -> Result<ConsoleSizes> {
    let main = dist.join("app_bg.wasm");
    // Each chunk read once, though several parts may need it.
    let mut gzipped: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut gz_of = |stem: &str| -> Result<usize> {
        if let Some(n) = gzipped.get(stem) {
            return Ok(*n);
        }
        let n = served_len(&dist.join(format!("{stem}.wasm")), "gz")?;
        gzipped.insert(stem.to_owned(), n);
        Ok(n)
    };
    let manifest: std::collections::BTreeMap<String, Vec<String>> =
        serde_json::from_slice(&std::fs::read(dist.join("__wasm_split_manifest.json"))?)?;
    let mut pages = Vec::new();
    for (split, stems) in &manifest {
        // `contacts_page_<hash>` is the Contacts page, `conversation_pane_<hash>` an open
        // conversation.
        let part = split.trim_start_matches('_').rsplit_once('_').map_or(split.as_str(), |(p, _hash)| p);
        let own = match stems.iter().find(|s| s.starts_with("split")) {
            Some(stem) => gz_of(stem)?,
            None => 0,
        };
        let mut total = 0;
        for stem in stems {
            total += gz_of(stem)?;
        }
        pages.push((part.trim_end_matches("_page").to_owned(), own / 1024, total / 1024));
    }
    pages.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut all = 0;
    for entry in std::fs::read_dir(dist)? {
        let path = entry?.path();
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_owned();
        if path.extension().is_some_and(|e| e == "wasm") && stem != "app_bg" {
            all += gz_of(&stem)?;
        }
    }
    Ok(ConsoleSizes {
        first_gzip_kb: served_len(&main, "gz")? / 1024,
        first_br_kb: served_len(&main, "br")? / 1024,
        first_kb: usize::try_from(std::fs::metadata(&main)?.len())? / 1024,
        pages,
        all_chunks_gzip_kb: all / 1024,
    })
}

/// Brotli at its best setting, as `cargo xtask dist` writes it.
fn brotli(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams { quality: 11, lgwin: 22, ..Default::default() };
    brotli::BrotliCompress(&mut &bytes[..], &mut out, &params)?;
    Ok(out)
}

/// Writes `file.br` and `file.gz` beside every file of the console the relay serves, so it
/// sends them compressed without compressing on each request.
fn precompress(dir: &Path) -> Result<()> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_owned()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            let compressible = path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| ["wasm", "js", "css", "html", "json", "webmanifest", "svg"].contains(&e));
            if path.is_dir() {
                dirs.push(path);
            } else if compressible {
                files.push(path);
            }
        }
    }
    on_every_core(&files, |path| {
        let bytes = std::fs::read(path)?;
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        std::fs::write(path.with_file_name(format!("{name}.br")), brotli(&bytes)?)?;
        std::fs::write(path.with_file_name(format!("{name}.gz")), gzip(&bytes)?)?;
        Ok(())
    })
}

/// Runs `job` on every item, as many at once as there are cores.
fn on_every_core<T: Sync>(items: &[T], job: impl Fn(&T) -> Result<()> + Sync) -> Result<()> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| -> Result<()> {
                    while let Some(item) = items.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed)) {
                        job(item)?;
                    }
                    Ok(())
                })
            })
            .collect();
        handles.into_iter().try_for_each(|h| h.join().map_err(|_| anyhow::anyhow!("a worker thread panicked"))?)
    })
}

fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for part in parts {
        for b in *part {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x100000001b3);
        }
    }
    h
}

/// Gzip as small as the format allows (Zopfli: slow to write, read by every browser like any
/// other gzip; about 4 % smaller than zlib's best).
fn gzip(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    zopfli::compress(zopfli::Options::default(), zopfli::Format::Gzip, bytes, &mut out)?;
    Ok(out)
}

/// The size of `file` as the relay sends it to a browser that accepts `encoding` (`gz`, `br`):
/// the compressed copy `cargo xtask dist` wrote beside it.
fn served_len(file: &Path, encoding: &str) -> Result<usize> {
    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let compressed = file.with_file_name(format!("{name}.{encoding}"));
    let meta = std::fs::metadata(&compressed).with_context(|| format!("reading {}", compressed.display()))?;
    Ok(usize::try_from(meta.len())?)
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

fn demo(args: &[String]) -> Result<()> {
    let dist = dist()?;
    run(cargo().args(["build", "-p", "switchboard-relay", "--features", "demo", "--bin", "switchboard"]))?;
    let mut cmd = Command::new(root().join("target/debug/switchboard"));
    cmd.arg("demo").arg("--console-dir").arg(&dist).args(args);
    run(&mut cmd)
}

/// `switchboard serve` as built for production (no `demo` feature) must not contain the sandbox,
/// a fake Graph API: its dependency tree is checked, without building it again.
fn check_release_has_no_sandbox() -> Result<()> {
    let out = cargo().args(["tree", "-p", "switchboard-relay", "-e", "normal", "--prefix", "none"]).current_dir(root()).output()?;
    if !out.status.success() {
        bail!("cargo tree failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let tree = String::from_utf8_lossy(&out.stdout);
    if !tree.lines().any(|l| l.starts_with("switchboard-shared")) {
        bail!("cargo tree printed no dependency tree for switchboard-relay:\n{tree}");
    }
    if let Some(line) = tree.lines().find(|l| l.starts_with("switchboard-sandbox")) {
        bail!("the relay built without `demo` links the sandbox ({line}): keep it behind the `demo` feature");
    }
    eprintln!("xtask: switchboard-relay without the demo feature has no sandbox in its dependency tree");
    Ok(())
}

/// The relay's features the tests build with: the demo (with its sandbox) and the real linked
/// device (whatsapp-rust), so both are compiled, linted and tested in one build.
const RELAY_FEATURES: &str = "switchboard-relay/demo,switchboard-relay/linked-device";

fn test() -> Result<()> {
    // Formatting first: it takes a second and fails before a long build does.
    run(cargo().args(["fmt", "--all", "--", "--check"]))?;
    check_release_has_no_sandbox()?;
    let dist = dist()?;
    // Lints, as errors: the relay side with the demo (so the sandbox is linted too) and the
    // real linked device, the console for the target it ships on.
    tools::ensure_libcrypto()?;
    run(cargo().args([
        "clippy",
        "--workspace",
        "--exclude",
        "switchboard-app",
        "--all-targets",
        "--features",
        RELAY_FEATURES,
        "--",
        "-D",
        "warnings",
    ]))?;
    run(cargo().args([
        "clippy",
        "-p",
        "switchboard-app",
        "--target",
        "wasm32-unknown-unknown",
        "--lib",
        "--bins",
        "--tests",
        "--",
        "-D",
        "warnings",
    ]))?;
    let chromedriver = tools::ensure_chromium()?;
    // Unit (the real linked device's mapping among them), relay integration (both backends
    // when DATABASE_URL is set) and end-to-end tests.
    run(cargo()
        .args(["test", "--workspace", "--exclude", "switchboard-app", "--features", RELAY_FEATURES])
        .env("SWITCHBOARD_DIST", &dist)
        .env("CHROMEDRIVER", &chromedriver))?;
    // Console logic natively, then components in headless Chromium.
    run(cargo().args(["test", "-p", "switchboard-app", "--lib"]))?;
    run(cargo()
        .args(["test", "-p", "switchboard-app", "--target", "wasm32-unknown-unknown", "--features", "whole", "--test", "web"])
        .env("CHROMEDRIVER", &chromedriver)
        .env("WASM_BINDGEN_TEST_TIMEOUT", "60"))?;
    Ok(())
}
