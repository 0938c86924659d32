//! Migrations kept as files, one per migration, in a directory of the crate that
//! runs them (`src/migrations/`), as sqlx and sea-orm keep theirs.
//!
//! The directory's `mod.rs` lists the files with [`migrations!`](crate::migrations);
//! `generate` writes the next file and adds it to that list, so a generated migration
//! compiles as written. The macro embeds each file's text, so a migration's checksum
//! covers its code with no call to forget, and a file added to the list is a change to
//! `mod.rs` that cargo rebuilds for.

use crate::{MigrateError, Migration};
use onetable_core::{Error, Version};
use std::path::{Path, PathBuf};

/// Declares the migrations of a directory, oldest first, in its `mod.rs`:
///
/// ```ignore
/// // src/migrations/mod.rs (`generate` keeps this list)
/// onetable::migrations! {
///     v0_1_0_create_the_table,
///     v0_2_0_find_users_by_email,
/// }
/// ```
///
/// Each name is a file of the directory (`v0_1_0_create_the_table.rs`) defining
/// `pub fn migration() -> Migration`. The macro declares the files as modules and
/// defines `all()`, the [`Migrations`] to give the migrator:
///
/// ```ignore
/// mod migrations;
/// let migrator = Migrator::new(table).migrations(migrations::all());
/// ```
#[macro_export]
macro_rules! migrations {
    ($($name:ident),* $(,)?) => {
        $(pub mod $name;)*

        /// The migrations of this directory, each with its file's text embedded for
        /// its checksum.
        pub fn all() -> $crate::Migrations {
            $crate::Migrations::__embedded(
                file!(),
                env!("CARGO_MANIFEST_DIR"),
                vec![$((
                    $name::migration(),
                    concat!(stringify!($name), ".rs"),
                    include_str!(concat!(stringify!($name), ".rs")),
                )),*],
            )
        }
    };
}

/// The migrations of one directory, as [`migrations!`](crate::migrations) declares
/// them: given to [`Migrator::migrations`](crate::Migrator::migrations).
#[derive(Debug, Clone, Default)]
pub struct Migrations {
    pub(crate) directory: Option<PathBuf>,
    pub(crate) list: Vec<Migration>,
}

impl Migrations {
    /// Migrations not kept in files (each may still carry its
    /// [`source`](Migration::source)).
    pub fn new(list: impl IntoIterator<Item = Migration>) -> Migrations {
        Migrations { directory: None, list: list.into_iter().collect() }
    }

    /// The directory the files are in, when it can be found from here (the source
    /// tree of a development build): where `generate` writes the next migration.
    pub fn directory(&self) -> Option<&Path> {
        self.directory.as_deref()
    }

    /// The migrations.
    pub fn list(&self) -> &[Migration] {
        &self.list
    }

    /// What [`migrations!`](crate::migrations) expands to: each migration with its
    /// file's name and text, and the directory found from the `mod.rs` path the
    /// compiler saw (relative to the package or to its workspace).
    #[doc(hidden)]
    pub fn __embedded(
        registry: &'static str,
        manifest_dir: &'static str,
        files: Vec<(Migration, &'static str, &'static str)>,
    ) -> Migrations {
        let list = files
            .into_iter()
            .map(|(migration, file, text)| Migration { file: Some(file), ..migration.source(text) })
            .collect();
        Migrations { directory: locate(Path::new(registry), Path::new(manifest_dir)), list }
    }
}

/// The directory of `registry` (a path relative to the package, its workspace or the
/// working directory), if it exists on this machine.
fn locate(registry: &Path, manifest_dir: &Path) -> Option<PathBuf> {
    let found = if registry.is_absolute() {
        Some(registry.to_path_buf())
    } else {
        manifest_dir.ancestors().map(|dir| dir.join(registry)).find(|p| p.is_file())
    };
    found.or_else(|| registry.is_file().then(|| registry.to_path_buf()))?.parent().map(Path::to_path_buf)
}

/// Which part of the version `generate` raises (OneTable CLI's `--bump`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Bump {
    /// `1.2.3` → `2.0.0`.
    Major,
    /// `1.2.3` → `1.3.0` (the default).
    #[default]
    Minor,
    /// `1.2.3` → `1.2.4`.
    Patch,
}

/// The version after `latest` (`0.1.0` when there is none).
pub(crate) fn next_version(latest: Option<&Version>, bump: Bump) -> Version {
    let [major, minor, patch] = latest.map_or([0, 0, 0], Version::parts);
    let next = match (latest, bump) {
        (None, _) => [0, 1, 0],
        (_, Bump::Major) => [major + 1, 0, 0],
        (_, Bump::Minor) => [major, minor + 1, 0],
        (_, Bump::Patch) => [major, minor, patch + 1],
    };
    Version::new(next[0], next[1], next[2])
}

/// The module name of a migration: `v0_2_0_find_users_by_email`.
pub(crate) fn module_name(version: &Version, description: &str) -> String {
    let [major, minor, patch] = version.parts();
    let mut name = format!("v{major}_{minor}_{patch}");
    let mut gap = true;
    for c in description.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            if gap {
                name.push('_');
            }
            name.push(c);
            gap = false;
        } else {
            gap = true;
        }
        if name.len() >= 60 {
            break;
        }
    }
    name
}

/// The file `generate` writes: a migration that compiles and does nothing yet.
pub(crate) fn scaffold(version: &Version, description: &str) -> String {
    let description = format!("{description:?}");
    format!(
        r#"//! Migration {version}: {text}.

use onetable::migrate::{{Context, Migration}};
use onetable::Error;

pub fn migration() -> Migration {{
    Migration::new("{version}", {description}).up(up).down(down)
}}

/// Applies it. Add before you remove: a new index, field or key form goes in while
/// the old one still serves (`ctx.transform::<Old, New>(..)` rewrites items in place
/// beside live traffic; `ctx.add_global_index::<E>(..)` creates and backfills).
async fn up(ctx: Context) -> Result<(), Error> {{
    let _ = ctx;
    Ok(())
}}

/// Undoes it. Remove `.down(down)` above if it cannot be undone.
async fn down(ctx: Context) -> Result<(), Error> {{
    let _ = ctx;
    Ok(())
}}
"#,
        text = description.trim_matches('"'),
    )
}

/// The `mod.rs` of a new migrations directory.
const REGISTRY: &str = "//! This service's migrations, oldest first. `generate` adds new ones to the list.\n\nonetable::migrations! {\n}\n";

/// `registry` (a `mod.rs`) with `module` added at the end of its `migrations!` list.
pub(crate) fn register(registry: &str, module: &str) -> Result<String, String> {
    let start = registry.find("migrations!").ok_or("it has no migrations! { .. } list")?;
    let open = start + registry[start..].find(['[', '(', '{']).ok_or("its migrations! list does not open")?;
    let close = match registry.as_bytes()[open] {
        b'[' => ']',
        b'(' => ')',
        _ => '}',
    };
    let end = open + registry[open..].find(close).ok_or("its migrations! list does not close")?;
    let body = registry[open + 1..end].trim_end();
    let mut out = String::with_capacity(registry.len() + module.len() + 8);
    out.push_str(&registry[..open + 1]);
    out.push_str(body);
    if !body.trim().is_empty() && !body.ends_with(',') {
        out.push(',');
    }
    out.push_str("\n    ");
    out.push_str(module);
    out.push_str(",\n");
    out.push_str(&registry[end..]);
    Ok(out)
}

/// Writes the next migration into `directory` and adds it to the directory's
/// `mod.rs` (created when missing). Returns the file written.
pub(crate) fn generate(directory: &Path, version: &Version, description: &str) -> Result<PathBuf, Error> {
    let fail =
        |message: String| -> Error { MigrateError::File { version: version.to_string(), message }.into() };
    let module = module_name(version, description);
    let file = directory.join(format!("{module}.rs"));
    if file.exists() {
        return Err(fail(format!("{} exists already", file.display())));
    }
    std::fs::create_dir_all(directory)
        .map_err(|e| fail(format!("cannot create {}: {e}", directory.display())))?;
    let registry_path = directory.join("mod.rs");
    let registry = match std::fs::read_to_string(&registry_path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => REGISTRY.to_owned(),
        Err(e) => return Err(fail(format!("cannot read {}: {e}", registry_path.display()))),
    };
    let registry = register(&registry, &module)
        .map_err(|e| fail(format!("cannot add to {}: {e}", registry_path.display())))?;
    std::fs::write(&file, scaffold(version, description))
        .map_err(|e| fail(format!("cannot write {}: {e}", file.display())))?;
    std::fs::write(&registry_path, registry)
        .map_err(|e| fail(format!("cannot write {}: {e}", registry_path.display())))?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_bump_like_onetable_cli() {
        let v = Version::new(1, 2, 3);
        assert_eq!(next_version(Some(&v), Bump::Major), Version::new(2, 0, 0));
        assert_eq!(next_version(Some(&v), Bump::Minor), Version::new(1, 3, 0));
        assert_eq!(next_version(Some(&v), Bump::Patch), Version::new(1, 2, 4));
        assert_eq!(next_version(None, Bump::Patch), Version::new(0, 1, 0));
    }

    #[test]
    fn module_names_are_identifiers() {
        assert_eq!(
            module_name(&Version::new(0, 2, 0), "Find users by e-mail!"),
            "v0_2_0_find_users_by_e_mail"
        );
        assert_eq!(module_name(&Version::new(1, 0, 10), "  "), "v1_0_10");
        assert_eq!(module_name(&Version::new(0, 1, 0), "Ünïcode 2"), "v0_1_0_n_code_2");
    }

    #[test]
    fn register_appends_to_the_list() {
        let empty = register(REGISTRY, "v0_1_0_a").unwrap();
        assert!(empty.contains("onetable::migrations! {\n    v0_1_0_a,\n}"), "{empty}");
        let two = register(&empty, "v0_2_0_b").unwrap();
        assert!(two.contains("{\n    v0_1_0_a,\n    v0_2_0_b,\n}"), "{two}");
        let no_comma = register("migrations! { a }", "b").unwrap();
        assert_eq!(no_comma, "migrations! { a,\n    b,\n}");
        assert!(register("mod x;", "b").is_err());
    }
}
