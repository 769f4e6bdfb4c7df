//! The headless-Chromium harness the browser tests share: Debian's `chromium`, driven by
//! playwright-core from `tests/browser/`. A test starts its servers, runs one of the
//! scripts there with [`run_script`], and judges the JSON the script printed.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SETUP: &str = "run `scripts/setup.sh --with-browser` (as `make test` does), which \
    installs Debian's chromium (`apt-get install -y chromium`) and the pinned playwright-core \
    (`npm ci` in tests/browser); or set EARSHOT_SKIP_BROWSER=1 to skip this test";

/// What a browser test needs: Chromium and the folder of scripts with the driver
/// installed. Panics with the setup command when Chromium, Node or the driver is
/// missing; `None` when browser tests are skipped on purpose (`EARSHOT_SKIP_BROWSER=1`).
pub fn browser() -> Option<(PathBuf, PathBuf)> {
    if std::env::var("EARSHOT_SKIP_BROWSER").as_deref() == Ok("1") {
        eprintln!("skipping the browser test: EARSHOT_SKIP_BROWSER=1");
        return None;
    }
    let chromium = PathBuf::from(
        std::env::var("EARSHOT_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned()),
    );
    assert!(
        chromium.exists(),
        "Chromium is not installed at {}: {SETUP}",
        chromium.display()
    );
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(node, "Node.js (`node`) is not installed: {SETUP}");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    assert!(
        dir.join("node_modules/playwright-core").is_dir(),
        "playwright-core is not installed in {}: {SETUP}",
        dir.display()
    );
    Some((chromium, dir))
}

/// Runs `node SCRIPT ARGS... CHROMIUM` in `dir`, waits at most `limit`, and returns the
/// JSON object it printed on its last line. Panics with the script's output when it
/// fails, hangs or prints no JSON.
pub async fn run_script(
    dir: &Path,
    script: &str,
    args: &[&str],
    chromium: &Path,
    limit: Duration,
) -> Value {
    let out = tempfile::tempdir().unwrap();
    let (stdout, stderr) = (out.path().join("stdout"), out.path().join("stderr"));
    let mut child = Command::new("node")
        .arg(dir.join(script))
        .args(args)
        .arg(chromium)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout).unwrap())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .expect("start node");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the browser did not finish within {limit:?}: {}",
                std::fs::read_to_string(&stderr).unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let printed = std::fs::read_to_string(&stdout).unwrap();
    let errors = std::fs::read_to_string(&stderr).unwrap();
    assert!(
        status.success(),
        "the browser script failed ({status}):\n{errors}\n{printed}"
    );
    let last = printed.lines().last().unwrap_or("");
    serde_json::from_str(last.trim()).unwrap_or_else(|e| {
        panic!("the browser script printed no result ({e}):\n{printed}\n{errors}")
    })
}
