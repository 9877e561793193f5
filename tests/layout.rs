//! The Layout in `src/lib.rs`'s doc comment is a promise: every top-level module is
//! listed, and each uses only the modules listed before it, so every arrow points one
//! way. This test reads that list from the doc comment itself (so the two cannot
//! drift), then reads every `.rs` file under each module for paths that start at the
//! crate root — `crate::x`, `$crate::x`, `crate::{x, y}`, and a `super::super::…` that
//! climbs out of its module — in `use` lines and in code alike, and fails naming the
//! file, the line and the arrow for any that runs back up the list.
//!
//! Comments, doc comments and string literals are not code, so paths in them do not
//! count. Test code does: a `#[cfg(test)]` module is still part of its folder.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The modules of `//! # Layout`, in order: each `//! - \`name.rs\`` or
/// `//! - \`name/\`` line up to the next heading or the end of the doc comment.
fn layout(lib: &str) -> Vec<String> {
    let mut modules = Vec::new();
    let mut inside = false;
    for line in lib.lines() {
        let Some(doc) = line.strip_prefix("//!") else {
            if inside {
                break;
            }
            continue;
        };
        let doc = doc.trim();
        if doc.starts_with('#') {
            if inside {
                break;
            }
            inside = doc == "# Layout";
            continue;
        }
        if !inside {
            continue;
        }
        let Some(entry) = doc.strip_prefix("- `") else {
            continue;
        };
        let name = entry.split('`').next().unwrap_or_default();
        let name = name
            .strip_suffix(".rs")
            .or_else(|| name.strip_suffix('/'))
            .unwrap_or_else(|| panic!("Layout entry `{name}` is neither `x.rs` nor `x/`"));
        modules.push(name.to_string());
    }
    modules
}

/// The crate's top-level modules: its `mod` lines, and the files and folders of `src`
/// (either alone could miss one).
fn top_level_modules(lib: &str) -> BTreeSet<String> {
    let mut modules = BTreeSet::new();
    for line in lib.lines() {
        let line = line.trim();
        let rest = line
            .strip_prefix("pub mod ")
            .or_else(|| line.strip_prefix("pub(crate) mod "))
            .or_else(|| line.strip_prefix("mod "));
        // `mod x;` only: an inline `mod tests { … }` is no top-level folder or file.
        if let Some(name) = rest.and_then(|rest| rest.strip_suffix(';')) {
            modules.insert(name.trim().to_string());
        }
    }
    for entry in fs::read_dir(src()).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        if entry.file_type().unwrap().is_dir() {
            modules.insert(name);
        } else if let Some(stem) = name.strip_suffix(".rs")
            && stem != "lib"
            && stem != "main"
        {
            modules.insert(stem.to_string());
        }
    }
    modules
}

/// Every `.rs` file of a top-level module, with its module path below the crate root
/// (`src/blocks/audit.rs` → `["blocks", "audit"]`, `src/blocks/mod.rs` → `["blocks"]`).
fn files_of(module: &str) -> Vec<(PathBuf, Vec<String>)> {
    fn walk(dir: &Path, path: Vec<String>, out: &mut Vec<(PathBuf, Vec<String>)>) {
        let mut entries: Vec<_> = fs::read_dir(dir).unwrap().map(|e| e.unwrap()).collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let name = entry.file_name().into_string().unwrap();
            if entry.file_type().unwrap().is_dir() {
                let mut below = path.clone();
                below.push(name);
                walk(&entry.path(), below, out);
            } else if let Some(stem) = name.strip_suffix(".rs") {
                let mut file = path.clone();
                if stem != "mod" {
                    file.push(stem.to_string());
                }
                out.push((entry.path(), file));
            }
        }
    }
    let mut out = Vec::new();
    let file = src().join(format!("{module}.rs"));
    if file.is_file() {
        out.push((file, vec![module.to_string()]));
    }
    let dir = src().join(module);
    if dir.is_dir() {
        walk(&dir, vec![module.to_string()], &mut out);
    }
    out
}

/// The source with comments, string and character literals blanked out (newlines
/// kept, so line numbers stay right).
fn code_only(source: &str) -> Vec<char> {
    let s: Vec<char> = source.chars().collect();
    let mut out = s.clone();
    let blank = |out: &mut Vec<char>, from: usize, to: usize| {
        for c in &mut out[from..to.min(s.len())] {
            if *c != '\n' {
                *c = ' ';
            }
        }
    };
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut i = 0;
    while i < s.len() {
        let at = |k: usize| s.get(i + k).copied().unwrap_or('\0');
        if at(0) == '/' && at(1) == '/' {
            let end = (i..s.len()).find(|&j| s[j] == '\n').unwrap_or(s.len());
            blank(&mut out, i, end);
            i = end;
        } else if at(0) == '/' && at(1) == '*' {
            let (mut depth, mut j) = (1, i + 2);
            while j < s.len() && depth > 0 {
                if s[j] == '/' && s.get(j + 1) == Some(&'*') {
                    depth += 1;
                    j += 2;
                } else if s[j] == '*' && s.get(j + 1) == Some(&'/') {
                    depth -= 1;
                    j += 2;
                } else {
                    j += 1;
                }
            }
            blank(&mut out, i, j);
            i = j;
        } else if (at(0) == 'r' || (at(0) == 'b' && at(1) == 'r'))
            && (i == 0 || !ident(s[i - 1]))
            && {
                let start = if at(0) == 'b' { 2 } else { 1 };
                let hashes = (start..).take_while(|&k| at(k) == '#').count();
                at(start + hashes) == '"'
            }
        {
            // A raw string: r"…", r#"…"#, br"…".
            let start = if at(0) == 'b' { i + 2 } else { i + 1 };
            let hashes = s[start..].iter().take_while(|&&c| c == '#').count();
            let mut j = start + hashes + 1;
            loop {
                if j >= s.len() {
                    break;
                }
                if s[j] == '"'
                    && s[j + 1..]
                        .iter()
                        .take(hashes)
                        .filter(|&&c| c == '#')
                        .count()
                        == hashes
                {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            blank(&mut out, i, j);
            i = j;
        } else if at(0) == '"' {
            let mut j = i + 1;
            while j < s.len() && s[j] != '"' {
                j += if s[j] == '\\' { 2 } else { 1 };
            }
            blank(&mut out, i, j + 1);
            i = j + 1;
        } else if at(0) == '\'' {
            // A character literal ('x', '\n', '\u{1F600}', '\''), not a lifetime ('a).
            let end = if at(1) == '\\' {
                (i + 2..s.len().min(i + 12)).find(|&j| s[j] == '\'' && j > i + 2)
            } else if at(2) == '\'' {
                Some(i + 2)
            } else {
                None
            };
            match end {
                Some(end) => {
                    blank(&mut out, i, end + 1);
                    i = end + 1;
                }
                None => i += 1,
            }
        } else {
            i += 1;
        }
    }
    out
}

/// One path from the crate root: the line it is on and the top-level module it names.
struct Reference {
    line: usize,
    module: String,
}

fn word_at(code: &[char], mut i: usize) -> (String, usize) {
    while code.get(i).is_some_and(|c| c.is_whitespace()) {
        i += 1;
    }
    let start = i;
    while code
        .get(i)
        .is_some_and(|&c| c.is_alphanumeric() || c == '_')
    {
        i += 1;
    }
    (code[start..i].iter().collect(), i)
}

/// `::` (with any spaces around it) at `i`: where what follows starts.
fn path_sep(code: &[char], mut i: usize) -> Option<usize> {
    while code.get(i).is_some_and(|c| c.is_whitespace()) {
        i += 1;
    }
    (code.get(i) == Some(&':') && code.get(i + 1) == Some(&':')).then_some(i + 2)
}

/// The first segment of each path in a `{…}` group starting at `open`.
fn group_heads(code: &[char], open: usize) -> Vec<String> {
    let mut heads = Vec::new();
    let (mut depth, mut i, mut expect_head) = (0, open, true);
    while i < code.len() {
        match code[i] {
            '{' => {
                depth += 1;
                i += 1;
                continue;
            }
            '}' => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            ',' if depth == 1 => expect_head = true,
            c if depth == 1 && expect_head && !c.is_whitespace() => {
                let (word, end) = word_at(code, i);
                heads.push(word);
                expect_head = false;
                i = end.max(i + 1);
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    heads
}

/// Every path in `code` that starts at the crate root, for a file whose module path
/// is `file_path`.
fn references(code: &[char], file_path: &[String]) -> Vec<Reference> {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut found = Vec::new();
    let mut line = 1;
    // The depth of each inline `mod name {` still open, so `super` resolves right.
    let mut inline_mods: Vec<usize> = Vec::new();
    let mut braces = 0usize;
    let mut i = 0;
    while i < code.len() {
        let c = code[i];
        if c == '\n' {
            line += 1;
        }
        if c == '{' {
            braces += 1;
        }
        if c == '}' {
            braces = braces.saturating_sub(1);
            if inline_mods.last() == Some(&braces) {
                inline_mods.pop();
            }
        }
        if !ident(c) || (i > 0 && ident(code[i - 1])) {
            i += 1;
            continue;
        }
        let (word, end) = word_at(code, i);
        let after_sep = i >= 2 && code[i - 2] == ':' && code[i - 1] == ':';
        match word.as_str() {
            "mod" => {
                let (_, name_end) = word_at(code, end);
                let mut j = name_end;
                while code.get(j).is_some_and(|c| c.is_whitespace()) {
                    j += 1;
                }
                if code.get(j) == Some(&'{') {
                    inline_mods.push(braces);
                }
            }
            "crate" if !after_sep => {
                if let Some(next) = path_sep(code, end) {
                    let mut j = next;
                    while code.get(j).is_some_and(|c| c.is_whitespace()) {
                        j += 1;
                    }
                    let heads = if code.get(j) == Some(&'{') {
                        group_heads(code, j)
                    } else {
                        vec![word_at(code, j).0]
                    };
                    for module in heads {
                        found.push(Reference { line, module });
                    }
                }
            }
            "super" if !after_sep => {
                // `super::super::…`: out of the module once it climbs as far as the root.
                let depth = file_path.len() + inline_mods.len();
                let (mut climbs, mut j) = (1, end);
                while let Some(next) = path_sep(code, j) {
                    let (w, e) = word_at(code, next);
                    if w != "super" {
                        j = next;
                        break;
                    }
                    climbs += 1;
                    j = e;
                }
                if climbs == depth {
                    let (module, _) = word_at(code, j);
                    if !module.is_empty() {
                        found.push(Reference { line, module });
                    }
                }
            }
            _ => {}
        }
        i = end;
    }
    found
}

#[test]
fn every_arrow_in_the_layout_points_one_way() {
    let lib = fs::read_to_string(src().join("lib.rs")).unwrap();
    let order = layout(&lib);
    assert!(!order.is_empty(), "src/lib.rs has no `//! # Layout` list");
    let modules = top_level_modules(&lib);

    let mut problems = Vec::new();
    for module in &modules {
        if !order.contains(module) {
            problems.push(format!(
                "`{module}` is a top-level module missing from the Layout"
            ));
        }
    }
    for (n, module) in order.iter().enumerate() {
        if !modules.contains(module) {
            problems.push(format!("the Layout lists `{module}`, which is no module"));
        }
        if order[..n].contains(module) {
            problems.push(format!("the Layout lists `{module}` twice"));
        }
    }

    for (rank, module) in order.iter().enumerate() {
        for (file, file_path) in files_of(module) {
            let code = code_only(&fs::read_to_string(&file).unwrap());
            for r in references(&code, &file_path) {
                let Some(target) = order.iter().position(|m| *m == r.module) else {
                    continue;
                };
                if target > rank {
                    let shown = file
                        .strip_prefix(env!("CARGO_MANIFEST_DIR"))
                        .unwrap_or(&file);
                    problems.push(format!(
                        "{}:{}: {module} -> {} runs back up the Layout",
                        shown.display(),
                        r.line,
                        r.module
                    ));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "src/lib.rs's Layout is not true:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn the_reader_sees_every_kind_of_path() {
    let source = r#"
use crate::blocks::x;
use crate::{store, domain::y};
// crate::config in a comment
/* crate::config
   in a block */
fn f() { let s = "crate::config"; let c = '"'; let l: &'static str = crate::http::X; }
mod tests {
    use super::super::helper;
    use super::super::super::metrics::M;
    use super::*;
}
"#;
    let code = code_only(source);
    let found: Vec<(usize, String)> = references(&code, &["slack".into(), "x".into()])
        .into_iter()
        .map(|r| (r.line, r.module))
        .collect();
    let expected = [
        (2, "blocks"),
        (3, "store"),
        (3, "domain"),
        (7, "http"),
        (10, "metrics"),
    ];
    assert_eq!(
        found,
        expected
            .iter()
            .map(|&(l, m)| (l, m.to_string()))
            .collect::<Vec<_>>()
    );
}
