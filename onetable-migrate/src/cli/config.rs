//! The configuration file: OneTable CLI's `migrate.json` (or `migrate.json5`), so a
//! OneTable user points the Rust migrator at the configuration they have.
//!
//! The layout is OneTable CLI's: table settings at the top level or under
//! `onetable`, and `profiles` whose selected entry is blended over the top level
//! (`--profile`, else the file's own `profile`). Keys are checked: a key neither
//! layout knows is an error naming it. OneTable table options that the migration
//! binary's own `Table` defines instead (`crypto`, `nulls`, `typeField`, `schema`, …)
//! are accepted and reported as ignored.

use serde::Deserialize;
use serde_json::{Map, Value};
use std::path::Path;

/// What the file says about where the table is.
#[derive(Debug, Default, Clone, PartialEq)]
pub(super) struct Settings {
    pub table: Option<String>,
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub profile: Option<String>,
    pub credentials: Option<(String, String, Option<String>)>,
    pub dir: Option<String>,
    /// Keys accepted for OneTable's sake and not used here.
    pub ignored: Vec<String>,
}

/// OneTable's table options: the migration binary's own `Table` defines these, so
/// they are accepted and reported as ignored.
const TABLE_OPTIONS: [&str; 18] = [
    "crypto",
    "nulls",
    "typeField",
    "delimiter",
    "hidden",
    "partial",
    "timestamps",
    "isoDates",
    "createdField",
    "updatedField",
    "schema",
    "log",
    "logger",
    "metrics",
    "senselogs",
    "warn",
    "generic",
    "config",
];

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct File {
    #[serde(alias = "table")]
    name: Option<String>,
    endpoint: Option<String>,
    aws: Option<Aws>,
    /// Where `generate` writes (OneTable CLI: `dir`, or `onetable.migrations`).
    #[serde(alias = "migrations")]
    dir: Option<String>,
    /// A Lambda migration proxy: not something this binary can be.
    arn: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Aws {
    region: Option<String>,
    profile: Option<String>,
    endpoint: Option<String>,
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
    session_token: Option<String>,
}

/// Blends `over` into `base` (objects key by key, anything else replaced), as
/// OneTable CLI's `Blend` does.
fn blend(base: &mut Map<String, Value>, over: Map<String, Value>) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(Value::Object(inner)), Value::Object(value)) => blend(inner, value),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// Reads `text` (JSON or JSON5) with profile `profile` selected.
pub(super) fn parse(text: &str, json5: bool, profile: Option<&str>) -> Result<Settings, String> {
    let value: Value = if json5 {
        json5::from_str(text).map_err(|e| e.to_string())?
    } else {
        serde_json::from_str(text).map_err(|e| e.to_string())?
    };
    let Value::Object(mut top) = value else { return Err("it is not an object".into()) };
    let profiles = match top.remove("profiles") {
        Some(Value::Object(p)) => p,
        None => Map::new(),
        Some(_) => return Err("profiles is not an object".into()),
    };
    // The file may select its own profile; the command line's choice comes first.
    let own = top.remove("profile").and_then(|p| p.as_str().map(str::to_owned));
    let selected = profile.map(str::to_owned).or(own);
    if let Some(name) = selected {
        match profiles.get(&name) {
            Some(Value::Object(section)) => blend(&mut top, section.clone()),
            Some(_) => return Err(format!("profile {name:?} is not an object")),
            None => {
                let known: Vec<&String> = profiles.keys().collect();
                return Err(format!("it has no profile {name:?} (profiles: {known:?})"));
            }
        }
    }
    // Table settings may sit under `onetable` (OneTable CLI's layout) or at the top.
    if let Some(table) = top.remove("onetable") {
        let Value::Object(table) = table else { return Err("onetable is not an object".into()) };
        blend(&mut top, table);
    }
    let ignored =
        TABLE_OPTIONS.iter().filter(|key| top.remove(**key).is_some()).map(|key| key.to_string()).collect();
    let file: File = serde_json::from_value(Value::Object(top)).map_err(|e| e.to_string())?;
    if let Some(arn) = file.arn {
        return Err(format!(
            "arn {arn:?} names a Lambda migration proxy; run this migration binary where it reaches DynamoDB instead"
        ));
    }
    let aws = file.aws.unwrap_or_default();
    let credentials = match (aws.access_key_id, aws.secret_access_key) {
        (Some(id), Some(secret)) => Some((id, secret, aws.session_token)),
        (None, None) => None,
        _ => return Err("aws needs both accessKeyId and secretAccessKey, or neither".into()),
    };
    Ok(Settings {
        table: file.name,
        endpoint: file.endpoint.or(aws.endpoint),
        region: aws.region,
        profile: aws.profile,
        credentials,
        dir: file.dir,
        ignored,
    })
}

/// Reads the file at `path`; JSON5 when its name ends in `.json5`.
pub(super) fn read(path: &Path, profile: Option<&str>) -> Result<Settings, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let json5 = path.extension().is_some_and(|e| e == "json5");
    parse(&text, json5, profile).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// OneTable CLI's own sample, minus the Lambda proxy profiles.
    const SAMPLE: &str = r#"
    /* Sample migrate.json */
    {
        onetable: {
            crypto: { cipher: 'aes-256-gcm', password: 'secret' },
            name: 'mydb',
            nulls: false,
            typeField: '_type',
        },
        dir: '.',
        profiles: {
            dev: { endpoint: 'http://localhost:8000' },
            prod: { aws: { region: 'us-east-1', profile: 'prod' }, onetable: { name: 'proddb' } },
        },
    }"#;

    #[test]
    fn reads_onetable_cli_configuration() {
        let dev = parse(SAMPLE, true, Some("dev")).unwrap();
        assert_eq!(dev.table.as_deref(), Some("mydb"));
        assert_eq!(dev.endpoint.as_deref(), Some("http://localhost:8000"));
        assert_eq!(dev.dir.as_deref(), Some("."));
        assert_eq!(dev.ignored, ["crypto", "nulls", "typeField"]);
        let prod = parse(SAMPLE, true, Some("prod")).unwrap();
        assert_eq!(prod.table.as_deref(), Some("proddb"));
        assert_eq!((prod.region.as_deref(), prod.profile.as_deref()), (Some("us-east-1"), Some("prod")));
        assert_eq!(prod.endpoint, None);
        let none = parse(SAMPLE, true, None).unwrap();
        assert_eq!(none.table.as_deref(), Some("mydb"));
    }

    #[test]
    fn the_file_may_select_its_profile_and_be_flat() {
        let flat =
            r#"{"name": "t", "profile": "dev", "profiles": {"dev": {"aws": {"region": "eu-west-1"}}}}"#;
        let s = parse(flat, false, None).unwrap();
        assert_eq!((s.table.as_deref(), s.region.as_deref()), (Some("t"), Some("eu-west-1")));
        let err = parse(flat, false, Some("prod")).unwrap_err();
        assert!(err.contains("no profile \"prod\""), "the command line's profile comes first: {err}");
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = parse(r#"{"name": "t", "regoin": "x"}"#, false, None).unwrap_err();
        assert!(err.contains("unknown field `regoin`"), "{err}");
        let err = parse(r#"{"aws": {"regoin": "x"}}"#, false, None).unwrap_err();
        assert!(err.contains("unknown field `regoin`"), "{err}");
        let err = parse(SAMPLE, true, Some("qa")).unwrap_err();
        assert!(err.contains("no profile \"qa\""), "{err}");
        let err = parse(r#"{"arn": "migrate-qa-invoke"}"#, false, None).unwrap_err();
        assert!(err.contains("Lambda migration proxy"), "{err}");
    }
}
