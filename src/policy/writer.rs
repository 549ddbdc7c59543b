//! The one code that writes the policy file. Accepted risks and baselines
//! (and later other decisions) are added and removed here, by editing the
//! TOML in place with `toml_edit`, so that the user's comments, blank lines
//! and key order survive.
//!
//! Every edit reads the file and refuses one that does not parse as a
//! [`Policy`]; makes the same change to the document and to the parsed
//! policy; and writes only when the edited text parses back to exactly that
//! policy. The file is replaced atomically ([`crate::atomic_file`]), so a
//! failure leaves it as it was. A file that does not exist yet is created
//! with a short header. Synchronous, and no clock: callers pass the times.
//!
//! Strings are written as TOML basic strings with every control,
//! bidirectional and invisible character escaped (`\u202E`): rows come from
//! scanned servers, and the file is read by people.
//!
//! Imports `model` (the escaping rule), `atomic_file` and the policy types
//! of its parent module.

use super::phi::PhiDecision;
use super::{Baseline, Policy, PolicyAcceptedRisk, PolicyError};
use crate::atomic_file::PendingFile;
use crate::model::untrusted;
use std::fmt::Write as _;
use std::path::Path;
use toml_edit::{Array, ArrayOfTables, DocumentMut, Item, RawString, Table, Value};

const ACCEPTED_RISKS: &str = "accepted_risks";
const BASELINES: &str = "baselines";
const PHI_COLUMNS: &str = "phi_columns";

/// The start of a policy file the writer creates.
const NEW_FILE_HEADER: &str = "\
# pgSafeguard policy: what your organisation has decided about its servers.
# policy.example.toml (shipped with pgSafeguard) explains every key.
# `pgsafeguard accept`, `pgsafeguard baseline` and the app edit this file in
# place; comments you add are kept.

";

/// Append an accepted risk (`[[accepted_risks]]`). Refuses one whose check
/// and object (or whole-check acceptance) are already accepted: revoke that
/// one first.
pub fn add_acceptance(path: &Path, acceptance: &PolicyAcceptedRisk) -> Result<(), PolicyError> {
    edit(path, |doc, policy| {
        if let Some(problem) = acceptance.problem() {
            return Err(problem);
        }
        if policy
            .accepted_risks
            .iter()
            .any(|r| r.id == acceptance.id && r.object == acceptance.object)
        {
            return Err(format!(
                "{} is already accepted: revoke that acceptance first to change it",
                acceptance_name(&acceptance.id, acceptance.object.as_deref())
            ));
        }
        tables(doc, ACCEPTED_RISKS)?.push(acceptance_table(acceptance));
        policy.accepted_risks.push(acceptance.clone());
        Ok(())
    })
}

/// Revoke the acceptance of check `id` for exactly `object` (`None`: the
/// whole-check acceptance).
pub fn remove_acceptance(path: &Path, id: &str, object: Option<&str>) -> Result<(), PolicyError> {
    edit(path, |doc, policy| {
        let before = policy.accepted_risks.len();
        policy
            .accepted_risks
            .retain(|r| !(r.id == id && r.object.as_deref() == object));
        if policy.accepted_risks.len() == before {
            return Err(format!(
                "there is no accepted risk for {} to revoke",
                acceptance_name(id, object)
            ));
        }
        remove_tables(doc, ACCEPTED_RISKS, |t| {
            text_of(t, "id") == Some(id) && text_of(t, "object") == object
        });
        Ok(())
    })
}

/// Write the baseline of a check: replaces the one for the same check id in
/// place (keeping its comments), or appends `[[baselines]]`.
pub fn set_baseline(path: &Path, baseline: &Baseline) -> Result<(), PolicyError> {
    edit(path, |doc, policy| {
        if let Some(problem) = baseline.problem() {
            return Err(problem);
        }
        let array = tables(doc, BASELINES)?;
        let fresh = baseline_table(baseline);
        let same_check = array
            .iter()
            .position(|t| text_of(t, "id") == Some(baseline.id.as_str()));
        match same_check.and_then(|i| array.get_mut(i)) {
            Some(table) => {
                for (key, item) in fresh.iter() {
                    replace_keeping_comments(table, key, item.clone());
                }
            }
            None => array.push(fresh),
        }
        match policy.baselines.iter_mut().find(|b| b.id == baseline.id) {
            Some(existing) => *existing = baseline.clone(),
            None => policy.baselines.push(baseline.clone()),
        }
        Ok(())
    })
}

/// Remove the baseline of check `id`.
pub fn remove_baseline(path: &Path, id: &str) -> Result<(), PolicyError> {
    edit(path, |doc, policy| {
        let before = policy.baselines.len();
        policy.baselines.retain(|b| b.id != id);
        if policy.baselines.len() == before {
            return Err(format!("there is no baseline for {id} to remove"));
        }
        remove_tables(doc, BASELINES, |t| text_of(t, "id") == Some(id));
        Ok(())
    })
}

/// Record a person's decision about a column (`[[phi_columns]]`): replaces
/// the decision for the same column in place (keeping its comments), or
/// appends one.
pub fn set_phi_decision(path: &Path, decision: &PhiDecision) -> Result<(), PolicyError> {
    edit(path, |doc, policy| {
        if let Some(problem) = decision.problem() {
            return Err(problem);
        }
        let array = tables(doc, PHI_COLUMNS)?;
        let fresh = phi_decision_table(decision);
        let same = array
            .iter()
            .position(|t| text_of(t, "column") == Some(decision.column.as_str()));
        match same.and_then(|i| array.get_mut(i)) {
            Some(table) => {
                for stale in ["category", "reason"] {
                    if !fresh.contains_key(stale) {
                        table.remove(stale);
                    }
                }
                for (key, item) in fresh.iter() {
                    replace_keeping_comments(table, key, item.clone());
                }
            }
            None => array.push(fresh),
        }
        match policy
            .phi_columns
            .iter_mut()
            .find(|d| d.column == decision.column)
        {
            Some(existing) => *existing = decision.clone(),
            None => policy.phi_columns.push(decision.clone()),
        }
        Ok(())
    })
}

/// Forget the decision about `column` (it is a candidate again).
pub fn remove_phi_decision(path: &Path, column: &str) -> Result<(), PolicyError> {
    edit(path, |doc, policy| {
        let before = policy.phi_columns.len();
        policy.phi_columns.retain(|d| d.column != column);
        if policy.phi_columns.len() == before {
            return Err(format!(
                "there is no decision about {} to forget",
                untrusted::name(column)
            ));
        }
        remove_tables(doc, PHI_COLUMNS, |t| text_of(t, "column") == Some(column));
        Ok(())
    })
}

fn phi_decision_table(d: &PhiDecision) -> Table {
    let mut table = Table::new();
    table.insert("column", text(&d.column));
    table.insert("decision", text(d.decision.as_str()));
    if let Some(category) = &d.category {
        table.insert("category", text(category));
    }
    table.insert("by", text(&d.by));
    table.insert("at", text(&d.at));
    if let Some(reason) = &d.reason {
        table.insert("reason", text(reason));
    }
    table
}

/// `TLS-009` or `EAR-004 for "public.patients.ssn"`.
fn acceptance_name(id: &str, object: Option<&str>) -> String {
    match object {
        Some(object) => format!("{id} for {}", untrusted::name(object)),
        None => id.to_string(),
    }
}

/// Read the file, apply `change` to its document and to its parsed policy,
/// and write it when the edited text reads back as that policy.
fn edit(
    path: &Path,
    change: impl FnOnce(&mut DocumentMut, &mut Policy) -> Result<(), String>,
) -> Result<(), PolicyError> {
    let shown = path.display().to_string();
    let refused = |message: String| PolicyError::Edit {
        path: shown.clone(),
        message,
    };
    // Edit the file a symbolic link points to, and keep the link.
    let target = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let original = read_if_present(&target, &shown)?;
    let text = original.as_deref().unwrap_or_default();
    let mut expected = Policy::parse(text, &shown)?;
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| refused(e.message().to_string()))?;
    change(&mut doc, &mut expected).map_err(&refused)?;
    let mut edited = doc.to_string();
    if original.is_none() {
        edited.insert_str(0, NEW_FILE_HEADER);
    }
    match Policy::parse(&edited, &shown) {
        Ok(read_back) if read_back == expected => {}
        Ok(_) => {
            return Err(refused(
                "the edited file would not read back as intended (a pgSafeguard bug)".into(),
            ))
        }
        Err(PolicyError::Parse { message, .. }) => {
            return Err(refused(format!(
                "the edited file would not be a valid policy: {message}"
            )))
        }
        Err(e) => return Err(e),
    }
    let pending = PendingFile::reserve(&target)?;
    // The app and a command line run may edit the same file: refuse rather
    // than overwrite a change made since it was read.
    if read_if_present(&target, &shown)? != original {
        return Err(refused(
            "the file changed while it was being edited; try again".into(),
        ));
    }
    pending.commit(edited.as_bytes())?;
    Ok(())
}

fn read_if_present(path: &Path, shown: &str) -> Result<Option<String>, PolicyError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(PolicyError::Read {
            path: shown.to_string(),
            source,
        }),
    }
}

/// The `[[key]]` tables, created at the end of the file when there are none
/// (an empty inline `key = []` becomes tables too).
fn tables<'d>(doc: &'d mut DocumentMut, key: &str) -> Result<&'d mut ArrayOfTables, String> {
    let item = doc
        .entry(key)
        .or_insert_with(|| Item::ArrayOfTables(ArrayOfTables::new()));
    if item.as_array().is_some_and(Array::is_empty) {
        *item = Item::ArrayOfTables(ArrayOfTables::new());
    }
    item.as_array_of_tables_mut().ok_or_else(|| {
        format!(
            "`{key}` is written as an inline array; write its entries as [[{key}]] tables \
             so that they can be edited in place"
        )
    })
}

/// A string value of a table, e.g. its `id`.
fn text_of<'t>(table: &'t Table, key: &str) -> Option<&'t str> {
    table.get(key).and_then(Item::as_str)
}

fn acceptance_table(a: &PolicyAcceptedRisk) -> Table {
    let mut table = Table::new();
    table.insert("id", text(&a.id));
    if let Some(object) = &a.object {
        table.insert("object", text(object));
    }
    table.insert("by", text(&a.by));
    table.insert("reason", text(&a.reason));
    table.insert("expires", text(&a.expires));
    if let Some(ticket) = &a.ticket {
        table.insert("ticket", text(ticket));
    }
    if let Some(at) = &a.at {
        table.insert("at", text(at));
    }
    table
}

fn baseline_table(b: &Baseline) -> Table {
    let mut table = Table::new();
    table.insert("id", text(&b.id));
    table.insert("rows", Item::Value(rows_value(&b.rows)));
    table.insert("by", text(&b.by));
    table.insert("reason", text(&b.reason));
    table.insert("at", text(&b.at));
    table
}

/// One row per line, so that a diff of the file shows which rows changed.
fn rows_value(rows: &[String]) -> Value {
    let mut array = Array::new();
    for row in rows {
        let mut value = text_value(row);
        value.decor_mut().set_prefix("\n    ");
        value.decor_mut().set_suffix("");
        array.push_formatted(value);
    }
    if !rows.is_empty() {
        array.set_trailing_comma(true);
        array.set_trailing("\n");
    }
    Value::Array(array)
}

fn text(s: &str) -> Item {
    Item::Value(text_value(s))
}

/// A TOML basic string in which nothing hides: quotes, backslashes and every
/// character a person would not see as it is are escaped.
fn text_value(s: &str) -> Value {
    let mut repr = String::with_capacity(s.len() + 2);
    repr.push('"');
    for c in s.chars() {
        match c {
            '"' => repr.push_str("\\\""),
            '\\' => repr.push_str("\\\\"),
            '\n' => repr.push_str("\\n"),
            '\t' => repr.push_str("\\t"),
            '\r' => repr.push_str("\\r"),
            c if untrusted::needs_escape(c) && u32::from(c) > 0xFFFF => {
                let _ = write!(repr, "\\U{:08X}", u32::from(c));
            }
            c if untrusted::needs_escape(c) => {
                let _ = write!(repr, "\\u{:04X}", u32::from(c));
            }
            c => repr.push(c),
        }
    }
    repr.push('"');
    // The escaped text always parses; the plain value is a safe fallback,
    // and the read-back check in `edit` compares the result either way.
    repr.parse().unwrap_or_else(|_| Value::from(s))
}

/// Set `key` of `table` to `item`, keeping the comments around the old
/// value (the key's own line and a comment after the value).
fn replace_keeping_comments(table: &mut Table, key: &str, mut item: Item) {
    match table.get_mut(key) {
        Some(old) => {
            if let (Some(old_value), Some(value)) = (old.as_value(), item.as_value_mut()) {
                let suffix = old_value.decor().suffix().cloned();
                if let Some(suffix) = suffix {
                    value.decor_mut().set_suffix(suffix);
                }
            }
            *old = item;
        }
        None => {
            table.insert(key, item);
        }
    }
}

/// Remove the `[[key]]` tables `doomed` picks, and the key when none is
/// left. A comment written above a removed table goes with it, except above
/// the first table of the list: that comment usually introduces the whole
/// list, so it stays, above whatever now comes first.
fn remove_tables(doc: &mut DocumentMut, key: &str, doomed: impl Fn(&Table) -> bool) {
    let Some(array) = doc.get_mut(key).and_then(Item::as_array_of_tables_mut) else {
        return;
    };
    let intro = array
        .get(0)
        .filter(|first| doomed(first))
        .and_then(|first| Some((comment_prefix(first)?, first.position())));
    array.retain(|t| !doomed(t));
    let Some((intro, position)) = intro else {
        if array.is_empty() {
            doc.remove(key);
        }
        return;
    };
    if let Some(first) = array.get_mut(0) {
        prepend(first, &intro);
        return;
    }
    doc.remove(key);
    match table_after(doc, position) {
        Some(next) => prepend(next, &intro),
        None => {
            let trailing = raw_text(doc.trailing());
            doc.set_trailing(format!("{intro}{trailing}"));
        }
    }
}

/// The text above a table's header, when it holds a comment.
fn comment_prefix(table: &Table) -> Option<String> {
    let prefix = table.decor().prefix().map(raw_text)?;
    prefix.contains('#').then_some(prefix)
}

fn raw_text(raw: &RawString) -> String {
    raw.as_str().unwrap_or_default().to_string()
}

/// Put `intro` above `table`'s header, before the table's own comment.
fn prepend(table: &mut Table, intro: &str) {
    let own = table.decor().prefix().map(raw_text).unwrap_or_default();
    let own = own.trim_start_matches(['\n', '\r']);
    table.decor_mut().set_prefix(format!("{intro}{own}"));
}

/// The `[[…]]` table the file shows first after document position `position`.
fn table_after(doc: &mut DocumentMut, position: Option<isize>) -> Option<&mut Table> {
    let position = position?;
    doc.as_table_mut()
        .iter_mut()
        .filter_map(|(_, item)| item.as_array_of_tables_mut())
        .flat_map(|array| array.iter_mut())
        .filter(|t| t.position().is_some_and(|p| p > position))
        .min_by_key(|t| t.position())
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = "\
# Our policy. Reviewed quarterly.

approved_superusers = [\"dba_maria\"] # the on-call DBA
rpo_seconds = 600

# Accepted risks: reviewed by the CISO.
[[accepted_risks]]
id = \"AUD-011\"
by = \"Jane Roe, CISO\"
reason = \"local time zone\"
expires = \"2027-06-30\"

# Until the tokenisation project ends.
[[accepted_risks]]
id = \"EAR-004\"
object = \"public.patients.date_of_birth\"
by = \"Jane Roe, CISO\"
reason = \"triage queries\"
expires = \"2027-03-31\"

# Approved rows.
[[baselines]]
id = \"PRIV-001\"
# the two break-glass accounts
rows = [\"file_admin\", \"night_admin\"]
by = \"John Doe\" # DBA lead
reason = \"break-glass\"
at = \"2026-11-20\"

# end of file
";

    fn file_with(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("policy.toml");
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
        (dir, path)
    }

    fn read(path: &Path) -> String {
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{e}"))
    }

    fn acceptance(id: &str, object: Option<&str>) -> PolicyAcceptedRisk {
        PolicyAcceptedRisk {
            id: id.into(),
            object: object.map(Into::into),
            by: "Ann Lee".into(),
            reason: "vendor appliance".into(),
            expires: "2027-01-31".into(),
            ticket: Some("CHG-42".into()),
            at: Some("2026-12-07T16:00:00Z".into()),
        }
    }

    fn baseline(rows: &[&str]) -> Baseline {
        Baseline {
            id: "PRIV-001".into(),
            rows: rows.iter().map(|r| (*r).to_string()).collect(),
            by: "Ann Lee".into(),
            reason: "reviewed".into(),
            at: "2026-12-07T16:00:00Z".into(),
        }
    }

    #[test]
    fn adding_keeps_every_byte_of_the_file_and_appends_after_its_list() {
        let (_dir, path) = file_with(EXAMPLE);
        let added = acceptance("TLS-009", None);
        add_acceptance(&path, &added).unwrap_or_else(|e| panic!("{e}"));
        let text = read(&path);
        let entry = "\n[[accepted_risks]]\nid = \"TLS-009\"\nby = \"Ann Lee\"\n\
                     reason = \"vendor appliance\"\nexpires = \"2027-01-31\"\n\
                     ticket = \"CHG-42\"\nat = \"2026-12-07T16:00:00Z\"\n";
        // The new entry follows the last accepted risk; nothing else moved.
        let split = EXAMPLE
            .find("\n# Approved rows.")
            .unwrap_or_else(|| panic!("marker"));
        let expected = format!("{}{entry}{}", &EXAMPLE[..split], &EXAMPLE[split..]);
        assert_eq!(text, expected);
        let policy = Policy::parse(&text, "t").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(policy.accepted_risks.last(), Some(&added));
    }

    #[test]
    fn an_exact_duplicate_is_refused_and_the_file_untouched() {
        let (_dir, path) = file_with(EXAMPLE);
        let mut duplicate = acceptance("EAR-004", Some("public.patients.date_of_birth"));
        duplicate.reason = "another reason".into();
        let e = add_acceptance(&path, &duplicate).unwrap_err().to_string();
        assert!(e.contains("already accepted"), "{e}");
        assert_eq!(read(&path), EXAMPLE);
        // Same check, other object: fine.
        add_acceptance(&path, &acceptance("EAR-004", Some("public.patients.ssn")))
            .unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn a_broken_file_is_refused_and_untouched() {
        let broken = format!("{EXAMPLE}\nthis is = = not toml\n");
        let (_dir, path) = file_with(&broken);
        let e = add_acceptance(&path, &acceptance("TLS-009", None)).unwrap_err();
        assert!(matches!(e, PolicyError::Parse { .. }), "{e}");
        assert_eq!(read(&path), broken);
        // TOML that is not a policy (a misspelt key) is refused the same way.
        let misspelt = "aproved_superusers = []\n";
        let (_dir, path) = file_with(misspelt);
        assert!(set_baseline(&path, &baseline(&["a"])).is_err());
        assert_eq!(read(&path), misspelt);
    }

    #[test]
    fn an_invalid_acceptance_is_refused_before_writing() {
        let (_dir, path) = file_with(EXAMPLE);
        let mut bad = acceptance("TLS-009", None);
        bad.expires = "next year".into();
        let e = add_acceptance(&path, &bad).unwrap_err().to_string();
        assert!(e.contains("not a date"), "{e}");
        bad.expires = "2027-01-31".into();
        bad.reason = " ".into();
        assert!(add_acceptance(&path, &bad).is_err());
        assert_eq!(read(&path), EXAMPLE);
    }

    #[test]
    fn a_missing_file_is_created_with_a_header() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("new.toml");
        set_baseline(&path, &baseline(&["file_admin", "night_admin"]))
            .unwrap_or_else(|e| panic!("{e}"));
        let text = read(&path);
        assert!(text.starts_with(NEW_FILE_HEADER), "{text}");
        assert_eq!(
            &text[NEW_FILE_HEADER.len()..],
            "[[baselines]]\nid = \"PRIV-001\"\nrows = [\n    \"file_admin\",\n    \"night_admin\",\n]\n\
             by = \"Ann Lee\"\nreason = \"reviewed\"\nat = \"2026-12-07T16:00:00Z\"\n"
        );
        // A missing directory is an error, and creates nothing.
        let nowhere = dir.path().join("no-such-dir").join("p.toml");
        assert!(matches!(
            add_acceptance(&nowhere, &acceptance("TLS-009", None)),
            Err(PolicyError::Write(_))
        ));
        assert!(!nowhere.exists());
    }

    #[test]
    fn replacing_a_baseline_keeps_its_place_and_comments() {
        let (_dir, path) = file_with(EXAMPLE);
        let replaced = baseline(&["night_admin"]);
        set_baseline(&path, &replaced).unwrap_or_else(|e| panic!("{e}"));
        let text = read(&path);
        let expected = EXAMPLE
            .replace(
                "rows = [\"file_admin\", \"night_admin\"]",
                "rows = [\n    \"night_admin\",\n]",
            )
            .replace(
                "by = \"John Doe\" # DBA lead",
                "by = \"Ann Lee\" # DBA lead",
            )
            .replace("reason = \"break-glass\"", "reason = \"reviewed\"")
            .replace("at = \"2026-11-20\"", "at = \"2026-12-07T16:00:00Z\"");
        assert_eq!(text, expected);
        // A second check's baseline is appended after the first.
        let mut other = baseline(&["x"]);
        other.id = "PRIV-002".into();
        set_baseline(&path, &other).unwrap_or_else(|e| panic!("{e}"));
        let policy = Policy::load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(policy.baselines, [replaced, other]);
        assert!(read(&path).ends_with("at = \"2026-12-07T16:00:00Z\"\n\n# end of file\n"));
    }

    #[test]
    fn removing_takes_the_entry_and_its_own_comment_only() {
        let (_dir, path) = file_with(EXAMPLE);
        remove_acceptance(&path, "EAR-004", Some("public.patients.date_of_birth"))
            .unwrap_or_else(|e| panic!("{e}"));
        let start = EXAMPLE
            .find("\n# Until the tokenisation")
            .unwrap_or_else(|| panic!("marker"));
        let end = EXAMPLE
            .find("\n# Approved rows.")
            .unwrap_or_else(|| panic!("marker"));
        let expected = format!("{}{}", &EXAMPLE[..start], &EXAMPLE[end..]);
        assert_eq!(read(&path), expected);
    }

    #[test]
    fn removing_the_first_entry_keeps_the_list_comment() {
        let (_dir, path) = file_with(EXAMPLE);
        remove_acceptance(&path, "AUD-011", None).unwrap_or_else(|e| panic!("{e}"));
        let expected = EXAMPLE.replace(
            "# Accepted risks: reviewed by the CISO.\n[[accepted_risks]]\nid = \"AUD-011\"\n\
             by = \"Jane Roe, CISO\"\nreason = \"local time zone\"\nexpires = \"2027-06-30\"\n\n\
             # Until the tokenisation project ends.\n",
            "# Accepted risks: reviewed by the CISO.\n# Until the tokenisation project ends.\n",
        );
        assert_eq!(read(&path), expected);
        // Removing the last one keeps the list's comment above what follows.
        remove_acceptance(&path, "EAR-004", Some("public.patients.date_of_birth"))
            .unwrap_or_else(|e| panic!("{e}"));
        let text = read(&path);
        assert!(
            text.contains("rpo_seconds = 600\n\n# Accepted risks: reviewed by the CISO.\n# Until the tokenisation project ends.\n# Approved rows.\n[[baselines]]"),
            "{text}"
        );
        assert!(Policy::parse(&text, "t")
            .unwrap_or_else(|e| panic!("{e}"))
            .accepted_risks
            .is_empty());
        // And the last table of the file hands it to the file's end.
        remove_baseline(&path, "PRIV-001").unwrap_or_else(|e| panic!("{e}"));
        let text = read(&path);
        assert_eq!(
            text,
            "# Our policy. Reviewed quarterly.\n\n\
             approved_superusers = [\"dba_maria\"] # the on-call DBA\nrpo_seconds = 600\n\n\
             # Accepted risks: reviewed by the CISO.\n# Until the tokenisation project ends.\n\
             # Approved rows.\n\n# end of file\n"
        );
    }

    #[test]
    fn revoking_what_is_not_there_is_refused() {
        let (_dir, path) = file_with(EXAMPLE);
        // The object must match exactly; a whole-check revoke is not an object's.
        assert!(remove_acceptance(&path, "EAR-004", None).is_err());
        assert!(remove_acceptance(&path, "EAR-004", Some("public.patients.ssn")).is_err());
        assert!(remove_baseline(&path, "PRIV-002").is_err());
        assert_eq!(read(&path), EXAMPLE);
    }

    #[test]
    fn hostile_rows_are_escaped_and_read_back_exactly() {
        let (_dir, path) = file_with("");
        let rows = [
            "evil\"; DROP ROLE x; --",
            "line\nbreak",
            "bidi\u{202E}gnp.exe",
            "back\\slash",
            "tag\u{E0041}",
            "ünïcödé",
        ];
        set_baseline(&path, &baseline(&rows)).unwrap_or_else(|e| panic!("{e}"));
        let text = read(&path);
        assert!(text.contains("\"bidi\\u202Egnp.exe\""), "{text}");
        assert!(text.contains("\"line\\nbreak\""), "{text}");
        assert!(text.contains("\"tag\\U000E0041\""), "{text}");
        assert!(text.contains("\"ünïcödé\""), "{text}");
        assert!(!text.contains('\u{202E}'));
        let policy = Policy::load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(policy.baselines[0].rows, rows);
    }

    #[test]
    fn an_empty_inline_list_becomes_tables_and_a_full_one_is_refused() {
        let (_dir, path) = file_with("accepted_risks = []\nrpo_seconds = 60\n");
        add_acceptance(&path, &acceptance("TLS-009", None)).unwrap_or_else(|e| panic!("{e}"));
        let policy = Policy::load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(policy.rpo_seconds, Some(60));
        assert_eq!(policy.accepted_risks.len(), 1);
        let inline = "accepted_risks = [{ id = \"AUD-011\", by = \"a\", reason = \"b\", expires = \"2027-01-01\" }]\n";
        let (_dir, path) = file_with(inline);
        let e = add_acceptance(&path, &acceptance("TLS-009", None))
            .unwrap_err()
            .to_string();
        assert!(e.contains("inline array"), "{e}");
        assert_eq!(read(&path), inline);
    }

    #[test]
    fn a_symbolic_link_stays_a_link() {
        let (dir, path) = file_with(EXAMPLE);
        let link = dir.path().join("link.toml");
        std::os::unix::fs::symlink(&path, &link).unwrap_or_else(|e| panic!("{e}"));
        add_acceptance(&link, &acceptance("TLS-009", None)).unwrap_or_else(|e| panic!("{e}"));
        assert!(std::fs::symlink_metadata(&link)
            .unwrap_or_else(|e| panic!("{e}"))
            .file_type()
            .is_symlink());
        assert!(read(&path).contains("TLS-009"));
    }

    #[test]
    fn phi_decisions_round_trip_keeping_comments() {
        let (_dir, path) = file_with(EXAMPLE);
        let mut decision = PhiDecision {
            column: "clinic.public.patients.ss_num".into(),
            decision: super::super::phi::Decision::Confirmed,
            category: Some("ssn".into()),
            by: "Pat Privacy".into(),
            at: "2026-12-07".into(),
            reason: None,
        };
        set_phi_decision(&path, &decision).unwrap();
        decision.decision = super::super::phi::Decision::Rejected;
        decision.category = None;
        decision.reason = Some("a lab sample counter".into());
        set_phi_decision(&path, &decision).unwrap();
        let text = read(&path);
        assert!(text.starts_with("# Our policy. Reviewed quarterly."));
        assert!(text.contains("# the two break-glass accounts"));
        assert_eq!(text.matches("[[phi_columns]]").count(), 1, "{text}");
        assert!(text.contains("decision = \"rejected\"") && !text.contains("category"));
        let policy = Policy::load(&path).unwrap();
        assert_eq!(policy.phi_columns, vec![decision.clone()]);
        remove_phi_decision(&path, &decision.column).unwrap();
        assert!(!read(&path).contains("phi_columns"));
        assert!(remove_phi_decision(&path, &decision.column).is_err());
        assert!(read(&path).contains("# end of file"));
        let bad = PhiDecision {
            column: "public.patients.ssn".into(),
            ..decision
        };
        assert!(set_phi_decision(&path, &bad).is_err());
    }
}
