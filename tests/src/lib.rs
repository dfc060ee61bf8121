//! Helpers for the end-to-end tests: a chromedriver on a free port, a headless Chromium
//! session, and polling for what the console shows.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use fantoccini::{Client, ClientBuilder, Locator};

/// The built console: `SWITCHBOARD_DIST`, else `dist/` at the workspace root.
pub fn dist_dir() -> PathBuf {
    let dir =
        std::env::var("SWITCHBOARD_DIST").map(PathBuf::from).unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../dist"));
    assert!(
        dir.join("index.html").exists(),
        "the console is not built at {}: run `cargo xtask test` (or `cargo xtask dist` first)",
        dir.display()
    );
    dir
}

/// A chromedriver process in a process group of its own, killed on drop with every browser it
/// started (a session a test did not close would otherwise keep its Chromium running after
/// the test, and skew whatever runs next).
pub struct Driver {
    child: Child,
    pub url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The group's id is chromedriver's pid; its browsers stay in the group.
        let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", self.child.id())]).stderr(Stdio::null()).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    /// Starts Debian's chromedriver (or `CHROMEDRIVER`) on a free port and waits for it.
    pub async fn start() -> Result<Driver> {
        // fantoccini and reqwest bring two rustls crypto providers; pick one for the process.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let path = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new(&path)
            .process_group(0)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {path}: install chromium-driver (cargo xtask test does)"))?;
        let url = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return Ok(Driver { child, url });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("chromedriver did not start on port {port}")
    }

    /// A headless Chromium session with a window of the given width.
    pub async fn browser(&self, width: u32, height: u32) -> Result<Client> {
        let caps = serde_json::json!({
            "goog:chromeOptions": {
                "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--disable-background-networking", "--disable-component-update", "--disable-sync",
                         "--no-first-run", format!("--window-size={width},{height}"), "--lang=en-US"]
            }
        });
        let caps = caps.as_object().context("capabilities")?.clone().into_iter().collect();
        Ok(ClientBuilder::rustls()?.capabilities(caps).connect(&self.url).await?)
    }
}

/// Waits until some element matching `css` has text containing `needle`; returns that text.
pub async fn wait_for_text(c: &Client, css: &str, needle: &str) -> Result<String> {
    for _ in 0..150 {
        for el in c.find_all(Locator::Css(css)).await.unwrap_or_default() {
            if let Ok(text) = el.text().await {
                if text.contains(needle) {
                    return Ok(text);
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let page = c.source().await.unwrap_or_default();
    bail!("no {css} containing {needle:?} within 15 s; page: {}", page.chars().take(3000).collect::<String>())
}

/// Polls `check` until it holds, for at most twenty seconds.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..400 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
}

/// Waits until an element matching `css` exists.
pub async fn wait_for(c: &Client, css: &str) -> Result<fantoccini::elements::Element> {
    c.wait().at_most(Duration::from_secs(15)).for_element(Locator::Css(css)).await.with_context(|| format!("waiting for {css}"))
}

/// Saves a screenshot under `target/e2e/` for people to look at.
pub async fn screenshot(c: &Client, name: &str) -> Result<()> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/e2e");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join(format!("{name}.png")), c.screenshot().await?)?;
    Ok(())
}

/// Types `text` into the field `css`, replacing what is there.
pub async fn fill(c: &Client, css: &str, text: &str) -> Result<()> {
    let field = wait_for(c, css).await?;
    field.clear().await?;
    field.send_keys(text).await?;
    Ok(())
}

/// Fills the sign-in form (clearing what is there) and submits it.
pub async fn sign_in(c: &Client, email: &str, password: &str) -> Result<()> {
    for (css, value) in [("#email", email), ("#password", password)] {
        fill(c, css, value).await?;
    }
    c.find(Locator::Css("#sign-in")).await?.click().await?;
    Ok(())
}

/// Signs in at `base` and opens `path`.
pub async fn open_signed_in(c: &Client, base: &str, email: &str, password: &str, path: &str) -> Result<()> {
    c.goto(&format!("{base}/login")).await?;
    sign_in(c, email, password).await?;
    wait_for(c, "#sign-out").await?;
    c.goto(&format!("{base}{path}")).await?;
    Ok(())
}

/// Waits until `css` has `attribute` equal to `value` (a page telling it has loaded everything).
pub async fn wait_for_attribute(c: &Client, css: &str, attribute: &str, value: &str, limit: Duration) -> Result<()> {
    let started = std::time::Instant::now();
    loop {
        if let Ok(el) = c.find(Locator::Css(css)).await {
            if el.attr(attribute).await?.as_deref() == Some(value) {
                return Ok(());
            }
        }
        if started.elapsed() > limit {
            bail!("{css} never had {attribute}={value}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The demo on a fresh data directory with quiet customers and a known admin password.
pub async fn start_demo(
    dir: &std::path::Path,
    password: &str,
    change: impl FnOnce(&mut switchboard_relay::ConfigArgs),
) -> switchboard_relay::demo::Demo {
    let mut config = switchboard_relay::ConfigArgs {
        listen: Some("127.0.0.1:0".parse().expect("an address")),
        data_dir: Some(dir.to_owned()),
        console_dir: Some(dist_dir()),
        ..Default::default()
    };
    change(&mut config);
    let options = switchboard_relay::demo::DemoOptions {
        chatter_every: None,
        answer_after: None,
        contacts: 20,
        auto_replies: false,
        ..Default::default()
    };
    switchboard_relay::demo::start(config.resolve().expect("a valid config"), options, Some(password.into()))
        .await
        .expect("the demo starts")
}
