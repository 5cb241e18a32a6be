//! The file store every domain writes to: detection artifacts, camera alert snapshots.
//!
//! Files live under `<data_dir>/outputs/` with collision-free names
//! (`<UTC time>_<12 hex of a UUIDv7>_<what>.<ext>`); paths are stored relative to the data
//! dir (`outputs/uploaded/…`), as alpr-api.en.md's `stored_original_path` shows. Reading back
//! goes through [`ArtifactStore::resolve`], which refuses anything that could leave its
//! directory.

use std::path::{Component, Path, PathBuf};

use chrono::{DateTime, Utc};

/// Where files are written and read back.
#[derive(Debug, Clone)]
pub struct ArtifactStore {
    root: PathBuf,
}

/// Keeps `[A-Za-z0-9._-]` of a client-supplied file stem, at most 48 characters.
fn sanitize(stem: &str) -> String {
    let s: String = stem
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .take(48)
        .collect();
    let s = s.trim_matches('.').to_owned();
    if s.is_empty() { "image".into() } else { s }
}

impl ArtifactStore {
    /// A store rooted at the data dir.
    pub fn new(data_dir: &Path) -> Self {
        Self {
            root: data_dir.to_path_buf(),
        }
    }

    /// A fresh relative path `outputs/<dir>/<time>_<id>_<what>.<ext>`.
    pub fn name(&self, dir: &str, at: DateTime<Utc>, what: &str, ext: &str) -> String {
        let id = uuid::Uuid::now_v7().simple().to_string();
        format!(
            "outputs/{dir}/{}_{}_{}.{ext}",
            at.format("%Y-%m-%d_%H-%M-%S"),
            &id[id.len() - 12..],
            sanitize(what)
        )
    }

    /// Writes a file at a relative path made by [`Self::name`] (never overwrites).
    ///
    /// # Errors
    /// I/O errors, or the file exists already.
    pub fn write(&self, rel: &str, bytes: &[u8]) -> std::io::Result<()> {
        use std::io::Write as _;
        let path = self.root.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)?;
        f.write_all(bytes)
    }

    /// Removes files written for a request that then failed (best effort).
    pub fn remove_all(&self, rels: &[String]) {
        for rel in rels {
            let _ = std::fs::remove_file(self.root.join(rel));
        }
    }

    /// Runs `write` — the one transaction that stores the rows referencing `files`, already
    /// written — and removes the files again when it fails, so a failed request leaves
    /// neither rows nor files. Events are published by the caller after this succeeds.
    ///
    /// # Errors
    /// Whatever `write` fails with.
    pub async fn commit_or_remove<T, E>(
        &self,
        files: &[String],
        write: impl std::future::Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        let result = write.await;
        if result.is_err() {
            self.remove_all(files);
        }
        result
    }

    /// Resolves a client path under `<data_dir>/<top>/` (`top` = `outputs` or `static`).
    /// `None` for anything that could leave that directory: `..`, absolute paths, drive
    /// prefixes, or a symlink pointing outside; also for what is not a regular file.
    pub fn resolve(&self, top: &str, rel: &str) -> Option<PathBuf> {
        let rel = rel.strip_prefix(&format!("{top}/")).unwrap_or(rel);
        let rel_path = Path::new(rel);
        if rel.is_empty()
            || rel.contains('\0')
            || !rel_path
                .components()
                .all(|c| matches!(c, Component::Normal(_)))
        {
            return None;
        }
        let base = self.root.join(top).canonicalize().ok()?;
        let full = base.join(rel_path).canonicalize().ok()?;
        (full.starts_with(&base) && full.is_file()).then_some(full)
    }
}

/// The `Content-Type` of a stored file, from its extension.
pub fn content_type(path: &Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        Some("webp") => "image/webp",
        Some("bmp") => "image/bmp",
        Some("json") => "application/json",
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_blocks_traversal_and_names_do_not_collide() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = ArtifactStore::new(dir.path());
        let at = Utc::now();
        let a = store.name("uploaded", at, "../../etc/passwd", "jpg");
        let b = store.name("uploaded", at, "../../etc/passwd", "jpg");
        assert_ne!(a, b);
        assert!(
            a.starts_with("outputs/uploaded/") && !a.contains(".."),
            "{a}"
        );
        store.write(&a, b"x").expect("write");
        assert!(store.write(&a, b"y").is_err(), "never overwrites");
        assert!(store.resolve("outputs", &a).is_some());
        assert!(
            store
                .resolve("outputs", a.trim_start_matches("outputs/"))
                .is_some()
        );
        std::fs::write(dir.path().join("secret.txt"), "s").expect("write");
        for bad in [
            "../secret.txt",
            "/etc/passwd",
            "uploaded/../../secret.txt",
            "",
            "uploaded",
        ] {
            assert!(store.resolve("outputs", bad).is_none(), "{bad}");
        }
    }
}
