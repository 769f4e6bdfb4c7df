//! Finding and starting ONNX Runtime.
//!
//! `ort` is built with `load-dynamic`: the shared library is opened at run time, so nothing is
//! downloaded or linked at build time. A process can open only one ONNX Runtime library and
//! create only one `ort` environment, so both happen once, the first time a classifier loads, and
//! the environment is kept for the life of the process.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock, PoisonError};

use ort::environment::Environment;

use crate::error::SentimentError;

/// The environment variable `ort` itself reads, honoured here in the same role.
pub const ORT_DYLIB_ENV: &str = "ORT_DYLIB_PATH";

/// The process's ONNX Runtime: which library was opened, and the one environment.
struct Runtime {
    /// The library that was opened.
    dylib: PathBuf,
    /// The `ort` environment every session is built in.
    environment: Environment,
}

/// Set once, by the first successful [`environment`] call.
static RUNTIME: OnceLock<Runtime> = OnceLock::new();
/// Serialises first-time initialisation, so two threads never both try to open a library.
static INIT: Mutex<()> = Mutex::new(());

/// Picks the ONNX Runtime shared library to use, in this order:
/// 1. `explicit` (the `[sentiment] ort_dylib` setting), when given;
/// 2. the `ORT_DYLIB_PATH` environment variable, when set and not empty;
/// 3. a `libonnxruntime.so*` file in `model_dir` (the default model ships one; `.dylib` and
///    `onnxruntime.dll` are accepted for other systems); with several, the first by name.
///
/// An `explicit` or environment path is returned as given, without checking that it exists:
/// opening it reports the problem with the path in the message. Fails with
/// [`SentimentError::RuntimeNotFound`], listing where it looked, when none of the three applies.
pub fn locate_runtime(
    explicit: Option<&Path>,
    model_dir: &Path,
) -> Result<PathBuf, SentimentError> {
    locate(explicit, std::env::var_os(ORT_DYLIB_ENV), model_dir)
}

/// [`locate_runtime`] with the environment variable's value passed in, for tests.
fn locate(
    explicit: Option<&Path>,
    env_value: Option<OsString>,
    model_dir: &Path,
) -> Result<PathBuf, SentimentError> {
    if let Some(path) = explicit {
        return Ok(path.to_path_buf());
    }
    if let Some(value) = env_value.filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(value));
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir(model_dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter(|entry| is_runtime_library(&entry.file_name().to_string_lossy()))
        .map(|entry| entry.path())
        .filter(|path| path.is_file())
        .collect();
    found.sort();
    found
        .into_iter()
        .next()
        .ok_or_else(|| SentimentError::RuntimeNotFound {
            searched: format!(
                "no [sentiment] ort_dylib setting, {ORT_DYLIB_ENV} not set, no libonnxruntime.so* in {}",
                model_dir.display()
            ),
        })
}

/// Whether a file name is an ONNX Runtime core library (not a provider plug-in such as
/// `libonnxruntime_providers_shared.so`).
fn is_runtime_library(name: &str) -> bool {
    name.starts_with("libonnxruntime.so")
        || (name.starts_with("libonnxruntime.") && name.ends_with(".dylib"))
        || name == "onnxruntime.dll"
}

/// The process's `ort` environment, opening `dylib` and creating the environment on the first
/// call.
///
/// Later calls return the same environment whatever `dylib` they pass: a process cannot switch
/// ONNX Runtime libraries, so a different path is logged as a warning and ignored. A failed first
/// attempt leaves nothing behind, so a later call may try another path.
pub(crate) fn environment(dylib: &Path) -> Result<&'static Environment, SentimentError> {
    let runtime = runtime(dylib)?;
    if runtime.dylib != dylib {
        tracing::warn!(
            loaded = %runtime.dylib.display(),
            requested = %dylib.display(),
            "ONNX Runtime is already loaded in this process; using the library loaded first"
        );
    }
    Ok(&runtime.environment)
}

/// The process's runtime, started from `dylib` if there is none yet.
fn runtime(dylib: &Path) -> Result<&'static Runtime, SentimentError> {
    if let Some(runtime) = RUNTIME.get() {
        return Ok(runtime);
    }
    let _guard = INIT.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(runtime) = RUNTIME.get() {
        return Ok(runtime);
    }
    let runtime = start(dylib)?;
    Ok(RUNTIME.get_or_init(|| runtime))
}

/// Opens the library and builds the environment.
fn start(dylib: &Path) -> Result<Runtime, SentimentError> {
    let load_error = |reason: String| SentimentError::RuntimeLoad {
        path: dylib.to_path_buf(),
        reason,
    };
    if !dylib.is_file() {
        return Err(load_error("no such file".to_owned()));
    }
    // Absolute, so that `ort` does not look for a relative path next to the executable first.
    let absolute = std::fs::canonicalize(dylib).map_err(|e| load_error(e.to_string()))?;
    let environment = ort::init_from(&absolute)
        .map_err(|e| load_error(e.to_string()))?
        .with_name("earshot")
        .with_telemetry(false)
        .build()
        .map_err(|e| load_error(e.to_string()))?;
    tracing::info!(dylib = %dylib.display(), "ONNX Runtime loaded");
    Ok(Runtime {
        dylib: dylib.to_path_buf(),
        environment,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_explicit_path_wins_over_everything() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("libonnxruntime.so.1.31.1"), b"").unwrap();
        let got = locate(
            Some(Path::new("/opt/ort/libonnxruntime.so")),
            Some("/env/libonnxruntime.so".into()),
            dir.path(),
        )
        .unwrap();
        assert_eq!(got, Path::new("/opt/ort/libonnxruntime.so"));
    }

    #[test]
    fn the_environment_variable_comes_before_the_model_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("libonnxruntime.so.1.31.1"), b"").unwrap();
        let got = locate(None, Some("/env/libonnxruntime.so".into()), dir.path()).unwrap();
        assert_eq!(got, Path::new("/env/libonnxruntime.so"));
    }

    #[test]
    fn the_model_directory_library_is_found_and_plugins_are_not() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("libonnxruntime_providers_shared.so"), b"").unwrap();
        std::fs::write(dir.path().join("libonnxruntime.so.1.31.1"), b"").unwrap();
        let got = locate(None, Some(OsString::new()), dir.path()).unwrap();
        assert_eq!(got, dir.path().join("libonnxruntime.so.1.31.1"));
    }

    #[test]
    fn nothing_found_says_where_it_looked() {
        let dir = tempfile::tempdir().unwrap();
        let err = locate(None, None, dir.path()).unwrap_err().to_string();
        assert!(err.contains("ORT_DYLIB_PATH not set"), "{err}");
        assert!(err.contains(&dir.path().display().to_string()), "{err}");
        assert!(err.contains("ort_dylib"), "{err}");
    }

    #[test]
    fn a_missing_library_file_is_a_load_error_naming_it() {
        let Err(err) = start(Path::new("/nonexistent/libonnxruntime.so")) else {
            panic!("a missing library must not load");
        };
        let err = err.to_string();
        assert!(err.contains("/nonexistent/libonnxruntime.so"), "{err}");
    }
}
