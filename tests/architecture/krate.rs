//! The library crate as tests/architecture.rs sees it: its files (followed through `mod`
//! declarations from src/lib.rs, test-only modules left out) and every import resolved to the
//! file that defines the module it names.

use super::lex;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;

pub struct SourceFile {
    /// Relative to the package root: `src/checks/mod.rs`.
    pub path: String,
    /// Code outside test items.
    pub tokens: Vec<lex::Token>,
}

/// One resolved import.
#[derive(Debug, Clone)]
pub struct Import {
    pub from: String,
    pub line: usize,
    /// The path as written (`crate::checks::facts::split_list`).
    pub written: String,
    pub to: String,
    /// The first segment after the module that `to` defines, when there is one.
    pub item: Option<String>,
}

impl Import {
    pub fn describe(&self) -> String {
        format!(
            "  {}:{} imports {} ({})",
            self.from, self.line, self.written, self.to
        )
    }
}

pub struct Crate {
    pub files: Vec<SourceFile>,
    /// Module path (`["checks", "facts"]`) → index of the file that holds it.
    modules: BTreeMap<Vec<String>, usize>,
    imports: Vec<Import>,
}

impl Crate {
    /// The library crate of this package, from `src/lib.rs`.
    pub fn load() -> Crate {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        Crate::read(|path| std::fs::read_to_string(root.join(path)).ok())
    }

    /// Follows the `mod` declarations (outside test items) from `src/lib.rs`.
    pub fn read(source: impl Fn(&str) -> Option<String>) -> Crate {
        let mut krate = Crate {
            files: Vec::new(),
            modules: BTreeMap::new(),
            imports: Vec::new(),
        };
        let mut pending: VecDeque<(String, Vec<String>)> =
            VecDeque::from([("src/lib.rs".to_string(), Vec::new())]);
        while let Some((path, module)) = pending.pop_front() {
            let text = source(&path).unwrap_or_else(|| panic!("cannot read {path}"));
            let index = krate.files.len();
            let tokens = lex::without_test_items(&lex::tokens(&text));
            for (inner, declared) in lex::modules(&tokens) {
                let full: Vec<String> = module.iter().chain(&inner).cloned().collect();
                match declared {
                    lex::Module::Inline => {
                        krate.modules.insert(full, index);
                    }
                    lex::Module::File => {
                        let child = child_file(&path, &inner, &source);
                        pending.push_back((child, full));
                    }
                }
            }
            krate.modules.insert(module.clone(), index);
            krate.files.push(SourceFile { path, tokens });
        }
        let modules_of_files: Vec<Vec<String>> = {
            let mut by_file = vec![Vec::new(); krate.files.len()];
            for (module, &file) in &krate.modules {
                if by_file[file].is_empty() || module.len() < by_file[file].len() {
                    by_file[file] = module.clone();
                }
            }
            by_file
        };
        for (index, file) in krate.files.iter().enumerate() {
            let found = krate.imports_of(file, &modules_of_files[index]);
            krate.imports.extend(found);
        }
        krate
    }

    pub fn imports(&self) -> impl Iterator<Item = &Import> {
        self.imports.iter()
    }

    /// The import graph between files that `keep` accepts: file → files it imports.
    pub fn file_graph(&self, keep: impl Fn(&str) -> bool) -> BTreeMap<String, BTreeSet<String>> {
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for i in self.imports().filter(|i| keep(&i.from) && keep(&i.to)) {
            graph
                .entry(i.from.clone())
                .or_default()
                .insert(i.to.clone());
        }
        graph
    }

    /// The import written in `from` that makes it import `to` (the first one).
    pub fn first_import(&self, from: &str, to: &str) -> Option<&Import> {
        self.imports().find(|i| i.from == from && i.to == to)
    }

    fn imports_of(&self, file: &SourceFile, file_module: &[String]) -> Vec<Import> {
        let scopes = lex::scopes(&file.tokens);
        let uses = lex::use_declarations(&file.tokens);
        let mut found = Vec::new();
        let mut aliases: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for declaration in &uses {
            let here = self.module_at(file_module, &scopes, declaration.at);
            for path in &declaration.paths {
                let Some(absolute) = self.absolute(&here, &path.segments, &aliases) else {
                    continue;
                };
                let (to, item) = self.locate(&absolute);
                if item.is_none() && !path.glob {
                    let name = path.alias.clone().or_else(|| path.segments.last().cloned());
                    if let Some(name) = name.filter(|n| n != "self") {
                        aliases.insert(name, absolute.clone());
                    }
                }
                let item = if path.glob && item.is_none() {
                    Some("*".to_string())
                } else {
                    item
                };
                found.push(self.import(file, declaration.line, &path.segments, to, item));
            }
        }
        let in_use: BTreeSet<usize> = uses.iter().flat_map(|u| u.at..u.end).collect();
        for (at, segments) in lex::paths(&file.tokens) {
            if in_use.contains(&at) {
                continue;
            }
            let here = self.module_at(file_module, &scopes, at);
            if let Some(absolute) = self.absolute(&here, &segments, &aliases) {
                let (to, item) = self.locate(&absolute);
                found.push(self.import(file, file.tokens[at].line, &segments, to, item));
            }
        }
        found.retain(|i| i.to != i.from);
        found
    }

    fn import(
        &self,
        file: &SourceFile,
        line: usize,
        segments: &[String],
        to: usize,
        item: Option<String>,
    ) -> Import {
        Import {
            from: file.path.clone(),
            line,
            written: segments.join("::"),
            to: self.files[to].path.clone(),
            item,
        }
    }

    /// The module a token sits in: the file's module plus the inline modules around it.
    fn module_at(&self, file_module: &[String], scopes: &[lex::Scope], at: usize) -> Vec<String> {
        let mut module = file_module.to_vec();
        for scope in scopes.iter().filter(|s| s.start <= at && at < s.end) {
            module.push(scope.name.clone());
        }
        module
    }

    /// The absolute module path a written path names, or `None` for other crates.
    fn absolute(
        &self,
        here: &[String],
        segments: &[String],
        aliases: &BTreeMap<String, Vec<String>>,
    ) -> Option<Vec<String>> {
        let first = segments.first()?.as_str();
        let (base, rest): (Vec<String>, &[String]) = match first {
            "crate" | "$crate" => (Vec::new(), &segments[1..]),
            "self" => (here.to_vec(), &segments[1..]),
            "super" => {
                let ups = segments.iter().take_while(|s| *s == "super").count();
                let kept = here.len().checked_sub(ups)?;
                (here[..kept].to_vec(), &segments[ups..])
            }
            child
                if self
                    .modules
                    .contains_key(&[here, &[child.to_string()]].concat()) =>
            {
                (here.to_vec(), segments)
            }
            alias if aliases.contains_key(alias) => (aliases[alias].clone(), &segments[1..]),
            _ => return None,
        };
        Some(base.into_iter().chain(rest.iter().cloned()).collect())
    }

    /// The file of the longest module prefix of `absolute`, and the segment after it.
    fn locate(&self, absolute: &[String]) -> (usize, Option<String>) {
        (0..=absolute.len())
            .rev()
            .find_map(|len| {
                let file = *self.modules.get(&absolute[..len])?;
                Some((file, absolute.get(len).cloned()))
            })
            .unwrap_or((0, absolute.first().cloned()))
    }
}

/// Where `mod name;` in `parent` lives: beside `lib.rs`/`mod.rs`, else in the folder named
/// after the parent file; `name.rs` or `name/mod.rs`.
fn child_file(parent: &str, inner: &[String], source: &impl Fn(&str) -> Option<String>) -> String {
    let (dir, stem) = parent.rsplit_once('/').unwrap_or(("", parent));
    let mut base = if stem == "lib.rs" || stem == "mod.rs" {
        dir.to_string()
    } else {
        format!("{dir}/{}", stem.trim_end_matches(".rs"))
    };
    let (name, inline) = inner.split_last().expect("a module has a name");
    for segment in inline {
        base = format!("{base}/{segment}");
    }
    let flat = format!("{base}/{name}.rs");
    if source(&flat).is_some() {
        flat
    } else {
        format!("{base}/{name}/mod.rs")
    }
}
