//! Issue 15, item 2: `report.html` reads well in a browser. A tiny sweep's report, loaded
//! in headless Chromium 700 and 1,400 px wide, draws every chart at a non-zero size,
//! overflows nowhere sideways (the page is never wider than the window: wide tables scroll
//! in their own box) and logs no error, with the resolved scenario's `<details>` open.
//!
//! How: a copy of the report gets a small script first in its `<head>` that catches
//! `console.error` and `window.onerror`, and on `load` measures the page and writes what
//! it found, as JSON, into an element of the DOM that `chromium --dump-dom` then prints.
//! Chromium is Debian's (`/usr/bin/chromium`); when it is missing the test installs it
//! (`apt-get install -y chromium`, after `apt-get update` if that fails), so that
//! `cargo test --workspace` needs nothing else. With `CAPSIM_REPORT_SCREENSHOTS=DIR` it also
//! saves a screenshot of the top of the report at each width in DIR, to look at.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt as _;

/// The window widths the report must fit [px].
const WIDTHS: [u32; 2] = [700, 1_400];
/// Window height for measuring [px].
const HEIGHT: u32 = 900;
/// Window height of the screenshots: the header, the tables and the first charts [px].
const SCREENSHOT_HEIGHT: u32 = 2_400;
/// The longest one Chromium run may take before the test gives up on it.
const CHROMIUM_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs in the page before anything else: collects console errors and uncaught errors,
/// then on load opens every `<details>`, measures, and leaves the findings as JSON in
/// `<pre id="capsim-probe">` for the dumped DOM.
const PROBE: &str = r#"<script>
(function () {
  var errors = [];
  var consoleError = console.error;
  console.error = function () {
    errors.push("console.error: " + Array.prototype.map.call(arguments, String).join(" "));
    return consoleError.apply(console, arguments);
  };
  window.addEventListener("error", function (e) {
    var what = e.message || (e.target && e.target.outerHTML ? "cannot load " + e.target.outerHTML.slice(0, 120) : String(e));
    errors.push("error: " + what);
  }, true);
  window.addEventListener("unhandledrejection", function (e) {
    errors.push("unhandled rejection: " + String(e.reason));
  });
  window.addEventListener("load", function () {
    document.querySelectorAll("details").forEach(function (d) { d.open = true; });
    var root = document.documentElement;
    var width = window.innerWidth;
    var charts = Array.prototype.map.call(
      document.querySelectorAll("svg:not(svg svg), img"),
      function (el) {
        var r = el.getBoundingClientRect();
        var box = el.viewBox && el.viewBox.baseVal;
        return {
          label: el.getAttribute("aria-label") || el.tagName,
          width: r.width,
          height: r.height,
          aspect: box && box.width ? box.height / box.width : null
        };
      });
    var overflowing = [];
    document.querySelectorAll("body *").forEach(function (el) {
      var r = el.getBoundingClientRect();
      if (r.right > width + 0.5 && !el.closest(".table-scroll *, pre *, svg *")) {
        overflowing.push(el.tagName.toLowerCase() + (el.className && typeof el.className === "string" ? "." + el.className : "") + " right=" + Math.round(r.right));
      }
    });
    var out = document.createElement("pre");
    out.id = "capsim-probe";
    out.style.display = "none";
    out.textContent = JSON.stringify({
      inner_width: width,
      scroll_width: root.scrollWidth,
      charts: charts,
      overflowing: overflowing.slice(0, 20),
      errors: errors
    });
    document.body.appendChild(out);
  });
})();
</script>"#;

/// What the probe found in one window.
#[derive(Debug)]
struct Findings {
    inner_width: f64,
    scroll_width: f64,
    /// Per chart: its label, its drawn width and height [px], and its viewBox's height
    /// over width (`None` without one).
    charts: Vec<(String, f64, f64, Option<f64>)>,
    overflowing: Vec<String>,
    errors: Vec<String>,
}

/// Debian's Chromium, installed with apt-get if missing (once per test binary).
fn chromium() -> &'static Path {
    static CHROMIUM: OnceLock<PathBuf> = OnceLock::new();
    CHROMIUM.get_or_init(|| {
        let path = PathBuf::from("/usr/bin/chromium");
        if path.exists() {
            return path;
        }
        let apt_get = |args: &[&str]| {
            Command::new("apt-get")
                .args(args)
                .env("DEBIAN_FRONTEND", "noninteractive")
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        let started = Instant::now();
        let installed = apt_get(&["install", "-y", "chromium"])
            || (apt_get(&["update"]) && apt_get(&["install", "-y", "chromium"]));
        assert!(
            installed && path.exists(),
            "{} is missing and `apt-get install -y chromium` did not install it; install \
             Debian's chromium package (as root) and run the test again",
            path.display()
        );
        eprintln!(
            "installed chromium in {:.0} s",
            started.elapsed().as_secs_f64()
        );
        path
    })
}

/// Runs Chromium headless on `page` in a `width` × `height` window with `extra` flags,
/// and returns its standard output.
fn run_chromium(page: &Path, width: u32, height: u32, extra: &[String], scratch: &Path) -> String {
    let profile = scratch.join(format!("profile-{width}-{height}"));
    let mut child = Command::new(chromium())
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--force-device-scale-factor=1",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--window-size={width},{height}"))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    // Read both pipes on threads so that neither fills up and stalls the browser.
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("chromium runs") {
            break status;
        }
        if started.elapsed() > CHROMIUM_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium took over {CHROMIUM_TIMEOUT:?} on {}",
                page.display()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (out, err) = (out.join().unwrap(), err.join().unwrap());
    assert!(status.success(), "chromium failed ({status}):\n{err}");
    let _ = std::fs::remove_dir_all(&profile);
    out
}

/// The report of a tiny sweep, written into `dir`.
fn make_report(dir: &Path) -> PathBuf {
    let out = dir.join("sweep");
    Command::cargo_bin("capsim")
        .expect("the capsim binary is built")
        .args([
            "sweep",
            "--clusters",
            "2,3",
            "--replicas",
            "2",
            "--tier",
            "small",
            "--machines-per-cluster",
            "3",
            "--control-plane-replicas",
            "1",
            "--out",
        ])
        .arg(&out)
        .stdout(Stdio::null())
        .status()
        .expect("capsim runs")
        .success()
        .then_some(())
        .expect("the sweep succeeds");
    out.join("report.html")
}

/// Text of the dumped DOM's `<pre id="capsim-probe">`, unescaped.
fn probe_text(dom: &str) -> Option<String> {
    let start = dom.find("<pre id=\"capsim-probe\"")?;
    let body = &dom[start..];
    let body = &body[body.find('>')? + 1..];
    let body = &body[..body.find("</pre>")?];
    Some(
        body.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&nbsp;", "\u{a0}")
            .replace("&amp;", "&"),
    )
}

fn findings(json: &str) -> Findings {
    let v: serde_json::Value = serde_json::from_str(json).expect("the probe writes JSON");
    let num = |v: &serde_json::Value| v.as_f64().expect("a number");
    let strings = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .expect("a list")
            .iter()
            .map(|s| s.as_str().unwrap_or_default().to_string())
            .collect()
    };
    Findings {
        inner_width: num(&v["inner_width"]),
        scroll_width: num(&v["scroll_width"]),
        charts: v["charts"]
            .as_array()
            .expect("a list")
            .iter()
            .map(|c| {
                (
                    c["label"].as_str().unwrap_or_default().to_string(),
                    num(&c["width"]),
                    num(&c["height"]),
                    c["aspect"].as_f64(),
                )
            })
            .collect(),
        overflowing: strings(&v["overflowing"]),
        errors: strings(&v["errors"]),
    }
}

/// Issue 15: at 700 and 1,400 px, every chart is drawn, the page fits the window's width,
/// and nothing logs an error.
#[test]
fn report_html_fits_narrow_and_wide_windows_with_every_chart_drawn() {
    let scratch =
        std::env::temp_dir().join(format!("capsim-report-browser-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).unwrap();
    let report = make_report(&scratch);
    let html = std::fs::read_to_string(&report).unwrap();
    let charts_in_file = html.matches("<svg").count();
    assert!(charts_in_file >= 10, "{charts_in_file} charts inlined");
    let probed = scratch.join("probed.html");
    std::fs::write(
        &probed,
        html.replacen("<head>", &format!("<head>{PROBE}"), 1),
    )
    .unwrap();
    for width in WIDTHS {
        let dom = run_chromium(&probed, width, HEIGHT, &["--dump-dom".into()], &scratch);
        let json = probe_text(&dom).unwrap_or_else(|| {
            panic!("at {width} px the probe left no findings (did the page load?):\n{dom}")
        });
        let f = findings(&json);
        assert_eq!(f.inner_width, f64::from(width), "{f:?}");
        assert_eq!(f.charts.len(), charts_in_file, "{f:?}");
        for (label, w, h, aspect) in &f.charts {
            assert!(
                *w > 0.0 && *h > 0.0,
                "at {width} px, chart {label:?} is drawn {w} × {h}"
            );
            // Scaled to the text column, in its viewBox's aspect.
            assert!(
                *w <= f.inner_width,
                "at {width} px, chart {label:?} is {w} wide"
            );
            let aspect = aspect.unwrap_or_else(|| panic!("chart {label:?} has no viewBox"));
            assert!(
                (h / w - aspect).abs() < 0.01,
                "at {width} px, chart {label:?} is {w} × {h}, not in its viewBox's aspect {aspect}"
            );
        }
        assert!(
            f.scroll_width <= f.inner_width,
            "at {width} px the page is {} px wide; overflowing: {:?}",
            f.scroll_width,
            f.overflowing
        );
        assert!(f.errors.is_empty(), "at {width} px: {:?}", f.errors);
    }
    if let Some(dir) = std::env::var_os("CAPSIM_REPORT_SCREENSHOTS") {
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir).unwrap();
        for width in WIDTHS {
            let png = dir.join(format!("report-{width}.png"));
            run_chromium(
                &report,
                width,
                SCREENSHOT_HEIGHT,
                &[format!("--screenshot={}", png.display())],
                &scratch,
            );
            assert!(png.exists(), "{} written", png.display());
        }
    }
    std::fs::remove_dir_all(&scratch).ok();
}
