//! PostgreSQL's own vocabulary for setting values: list settings and library
//! names, as the server reads them. Shared by the checks (judging a value),
//! the fix statements (writing one) and the apply engine (merging the preload
//! list), so that all three read a value the same way.

/// Settings PostgreSQL stores as quoted lists (GUC_LIST_QUOTE): a single
/// literal `'a, b'` would become ONE element named "a, b".
pub const LIST_QUOTED_SETTINGS: &[&str] = &[
    "shared_preload_libraries",
    "session_preload_libraries",
    "local_preload_libraries",
    "search_path",
    "temp_tablespaces",
    "unix_socket_directories",
];

/// True for a setting stored as a quoted list (see [`LIST_QUOTED_SETTINGS`]).
pub fn is_list_quoted(name: &str) -> bool {
    LIST_QUOTED_SETTINGS.contains(&name)
}

/// The elements of a list setting (`shared_preload_libraries`, …) exactly as
/// PostgreSQL reads them: comma-separated, whitespace trimmed, double quotes
/// removed (`""` inside quotes is one quote), case kept.
pub fn split_list(raw: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut was_quoted = false;
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                current.push('"');
                chars.next();
            }
            '"' => {
                quoted = !quoted;
                was_quoted = true;
            }
            ',' if !quoted => {
                push_item(&mut items, &current, was_quoted);
                current.clear();
                was_quoted = false;
            }
            c if c.is_whitespace() && !quoted => {}
            c => current.push(c),
        }
    }
    push_item(&mut items, &current, was_quoted);
    items
}

fn push_item(items: &mut Vec<String>, item: &str, was_quoted: bool) {
    if !item.is_empty() || was_quoted {
        items.push(item.to_string());
    }
}

/// A library's identity as PostgreSQL loads it: the file name without folder
/// and suffix, lower case (`$libdir/PGAUDIT.so` is `pgaudit`).
pub fn library_key(item: &str) -> String {
    let base = item.rsplit(['/', '\\']).next().unwrap_or(item);
    let stem = [".so", ".dll", ".dylib"]
        .iter()
        .find_map(|ext| base.strip_suffix(ext))
        .unwrap_or(base);
    stem.to_lowercase()
}

/// Whether `items` names `library`, however it is spelled.
pub fn library_in(items: &[String], library: &str) -> bool {
    let key = library_key(library);
    items.iter().any(|item| library_key(item) == key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_read_as_the_server_reads_them() {
        assert_eq!(
            split_list("pgaudit, \"My \"\"Lib\"\"\" ,x"),
            ["pgaudit", "My \"Lib\"", "x"]
        );
        assert_eq!(split_list(""), Vec::<String>::new());
        assert_eq!(split_list("\"\""), [""]);
    }

    #[test]
    fn libraries_match_by_file_stem_in_any_case() {
        let items = split_list("$libdir/PGAUDIT.so, auth_delay");
        assert!(library_in(&items, "pgaudit"));
        assert!(library_in(&items, "auth_delay.dll"));
        assert!(!library_in(&items, "passwordcheck"));
    }
}
