//! Constants that an Alembic revision imports from its project's own modules,
//! read statically: `branch_labels = (cli.EXPAND_BRANCH,)` after
//! `from neutron.db.migration import cli` is `("expand",)` because
//! `neutron/db/migration/cli.py` says `EXPAND_BRANCH = 'expand'`.
//!
//! Alembic imports the module; retort reads it. The module is looked for under
//! each ancestor folder of the revision file (which covers Alembic's default
//! `prepend_sys_path`, the config file's folder, and the script location's
//! ancestors), or beside the file for relative imports. Only a top-level
//! assignment of a string literal counts, following at most one more
//! `from ... import NAME` in that module.

use std::path::{Path, PathBuf};

use super::pytokens::{Line, Token, logical_lines};

/// What one top-level import binds.
#[derive(Debug, Clone)]
struct Import {
    /// The name the revision uses.
    local: String,
    /// The module named by the import, as dotted parts, and its leading dots.
    module: Vec<String>,
    dots: usize,
    /// `from module import attribute`: the attribute (which may be a submodule).
    attribute: Option<String>,
}

/// Resolves dotted names through a module's imports.
pub(super) struct Resolver {
    dir: PathBuf,
    imports: Vec<Import>,
}

impl Resolver {
    /// The imports of a module at `path` whose top-level lines are `lines`.
    pub(super) fn new(path: &Path, lines: &[Line]) -> Resolver {
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Resolver { dir, imports: lines.iter().flat_map(|l| imports(&l.tokens)).collect() }
    }

    /// The string a dotted name (`cli.EXPAND_BRANCH`, `EXPAND_BRANCH`) stands for.
    pub(super) fn resolve(&self, dotted: &[String]) -> Result<String, String> {
        self.resolve_at(dotted, 0)
    }

    fn resolve_at(&self, dotted: &[String], depth: usize) -> Result<String, String> {
        let shown = dotted.join(".");
        let first = dotted.first().ok_or("an empty name")?;
        let import = self
            .imports
            .iter()
            .rev()
            .find(|i| &i.local == first)
            .ok_or_else(|| format!("`{shown}` is not a literal, and no top-level import names `{first}`"))?;
        let (module, attribute) = match (&import.attribute, &dotted[1..]) {
            (Some(attribute), []) => (import.module.clone(), attribute.clone()),
            (attribute, [path @ .., last]) => {
                let mut module = import.module.clone();
                module.extend(attribute.iter().cloned());
                module.extend(path.iter().cloned());
                (module, last.clone())
            }
            (None, []) => return Err(format!("`{shown}` is a module, not a string")),
        };
        self.constant(&module, import.dots, &attribute, depth).map_err(|e| format!("`{shown}`: {e}"))
    }

    /// A top-level string assignment of `attribute` in `module`.
    fn constant(&self, module: &[String], dots: usize, attribute: &str, depth: usize) -> Result<String, String> {
        let tried = self.candidates(module, dots);
        let Some(file) = tried.iter().find(|p| p.is_file()) else {
            let shown: Vec<String> = tried.iter().map(|p| p.display().to_string()).collect();
            return Err(format!("module `{}` not found (tried {})", module.join("."), shown.join(", ")));
        };
        let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        let lines: Vec<Line> = logical_lines(&text)
            .map_err(|(line, e)| format!("{}:{line}: {e}", file.display()))?
            .into_iter()
            .filter(|l| !l.indented)
            .collect();
        if let Some(value) = lines.iter().rev().find_map(|l| string_assignment(&l.tokens, attribute)) {
            return Ok(value);
        }
        let inner = Resolver::new(file, &lines);
        if depth == 0 && inner.imports.iter().any(|i| i.local == attribute) {
            return inner.resolve_at(&[attribute.to_string()], depth + 1);
        }
        Err(format!("{} assigns no string `{attribute}` at its top level", file.display()))
    }

    /// Where `module` may live: beside the file for relative imports, else under
    /// each ancestor folder of the file.
    fn candidates(&self, module: &[String], dots: usize) -> Vec<PathBuf> {
        let roots: Vec<&Path> = if dots > 0 {
            self.dir.ancestors().nth(dots - 1).into_iter().collect()
        } else {
            self.dir.ancestors().collect()
        };
        let relative: PathBuf = module.iter().collect();
        roots
            .iter()
            .flat_map(|root| [root.join(&relative).with_extension("py"), root.join(&relative).join("__init__.py")])
            .collect()
    }
}

/// `NAME = 'text'` (or annotated): the text.
fn string_assignment(tokens: &[Token], name: &str) -> Option<String> {
    match tokens {
        [Token::Name(n), Token::Op('='), Token::Str(value)] if n == name => Some(value.clone()),
        [Token::Name(n), Token::Op(':'), .., Token::Op('='), Token::Str(value)] if n == name => Some(value.clone()),
        _ => None,
    }
}

/// What a top-level `import a.b as c` or `from .a import b as c, d` binds.
fn imports(tokens: &[Token]) -> Vec<Import> {
    match tokens.first() {
        Some(Token::Name(word)) if word == "import" => plain_imports(&tokens[1..]),
        Some(Token::Name(word)) if word == "from" => from_imports(&tokens[1..]).unwrap_or_default(),
        _ => vec![],
    }
}

fn plain_imports(tokens: &[Token]) -> Vec<Import> {
    tokens
        .split(|t| *t == Token::Op(','))
        .filter_map(|part| {
            let (module, rest) = dotted(part);
            let local = match rest {
                [Token::Name(a), Token::Name(alias)] if a == "as" => alias.clone(),
                [] => module.first()?.clone(),
                _ => return None,
            };
            // `import a.b` binds `a`; `a.b.NAME` is then resolved from the top.
            let module = if rest.is_empty() { module[..1].to_vec() } else { module };
            Some(Import { local, module, dots: 0, attribute: None })
        })
        .collect()
}

fn from_imports(tokens: &[Token]) -> Option<Vec<Import>> {
    let dots = tokens.iter().take_while(|t| **t == Token::Op('.')).count();
    let (module, rest) = dotted(&tokens[dots..]);
    let [Token::Name(word), names @ ..] = rest else { return None };
    if word != "import" {
        return None;
    }
    let names: Vec<&Token> = names.iter().filter(|t| !matches!(t, Token::Op('(' | ')'))).collect();
    let bound = names
        .split(|t| **t == Token::Op(','))
        .filter_map(|part| match part {
            [Token::Name(attribute)] => Some((attribute.clone(), attribute.clone())),
            [Token::Name(attribute), Token::Name(a), Token::Name(alias)] if a == "as" => {
                Some((alias.clone(), attribute.clone()))
            }
            _ => None,
        })
        .map(|(local, attribute)| Import { local, module: module.clone(), dots, attribute: Some(attribute) })
        .collect();
    Some(bound)
}

/// A leading `a.b.c` and what follows it.
fn dotted(tokens: &[Token]) -> (Vec<String>, &[Token]) {
    let mut parts = Vec::new();
    let mut i = 0;
    while let Some(Token::Name(part)) = tokens.get(i) {
        if part == "import" || part == "as" {
            break;
        }
        parts.push(part.clone());
        i += 1;
        if tokens.get(i) != Some(&Token::Op('.')) {
            break;
        }
        i += 1;
    }
    (parts, &tokens[i..])
}

#[cfg(test)]
mod tests {
    use super::super::python::parse;
    use std::path::Path;

    fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    fn labels(dir: &Path, file: &str) -> Result<Vec<String>, String> {
        let path = dir.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        parse(&path, &text).map(|r| r.expect("a revision").branch_labels).map_err(|e| e.to_string())
    }

    const REVISION: &str = "versions/liberty/contract/a1_initial.py";

    #[test]
    fn reads_constants_the_way_neutron_imports_them() {
        let cli = "import os\nEXPAND_BRANCH = 'expand'\nCONTRACT_BRANCH: str = 'contract'\n";
        for (import, value) in [
            ("from app.db.migration import cli", "(cli.CONTRACT_BRANCH,)"),
            ("import app.db.migration.cli as cli", "(cli.CONTRACT_BRANCH,)"),
            ("from app.db.migration.cli import CONTRACT_BRANCH", "CONTRACT_BRANCH"),
            ("from app.db.migration.cli import CONTRACT_BRANCH as B", "[B]"),
            ("import app.db.migration.cli", "app.db.migration.cli.CONTRACT_BRANCH"),
        ] {
            let revision = format!("{import}\nrevision = 'a1'\ndown_revision = None\nbranch_labels = {value}\n");
            let dir =
                project(&[("app/db/migration/cli.py", cli), (&format!("app/db/migration/{REVISION}"), &revision)]);
            assert_eq!(
                labels(dir.path(), &format!("app/db/migration/{REVISION}")),
                Ok(vec!["contract".into()]),
                "{import}"
            );
        }
    }

    #[test]
    fn follows_one_re_export_and_relative_imports() {
        let dir = project(&[
            ("pkg/constants.py", "EXPAND = 'expand'\n"),
            ("pkg/cli/__init__.py", "from pkg.constants import EXPAND\n"),
            ("pkg/versions/labels.py", "LABEL = 'local'\n"),
            ("pkg/versions/a1.py", "from pkg import cli\nrevision = 'a1'\nbranch_labels = (cli.EXPAND,)\n"),
            ("pkg/versions/b1.py", "from .labels import LABEL\nrevision = 'b1'\nbranch_labels = LABEL\n"),
        ]);
        assert_eq!(labels(dir.path(), "pkg/versions/a1.py"), Ok(vec!["expand".into()]));
        assert_eq!(labels(dir.path(), "pkg/versions/b1.py"), Ok(vec!["local".into()]));
    }

    #[test]
    fn what_cannot_be_resolved_names_the_module_and_the_paths_tried() {
        let dir = project(&[("versions/a1.py", "from app import cli\nrevision = 'a1'\nbranch_labels = (cli.X,)\n")]);
        let err = labels(dir.path(), "versions/a1.py").unwrap_err();
        assert!(err.contains("a1.py:3: cannot read `branch_labels` statically"), "{err}");
        assert!(err.contains("module `app.cli` not found (tried "), "{err}");
        assert!(err.contains("app/cli.py"), "{err}");
        let dir = project(&[("versions/a1.py", "revision = 'a1'\nbranch_labels = (cli.X,)\n")]);
        let err = labels(dir.path(), "versions/a1.py").unwrap_err();
        assert!(err.contains("no top-level import names `cli`"), "{err}");
        let dir = project(&[
            ("app/cli.py", "X = compute()\n"),
            ("versions/a1.py", "from app import cli\nrevision = 'a1'\nbranch_labels = (cli.X,)\n"),
        ]);
        let err = labels(dir.path(), "versions/a1.py").unwrap_err();
        assert!(err.contains("assigns no string `X` at its top level"), "{err}");
    }
}
