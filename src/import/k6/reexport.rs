//! Scenario functions that a script re-exports from another file: `export { apiTest } from
//! './api.js'`, `export { default as apiTest } from …`, `export * from …`, or a name imported
//! from a file and exported (`import { f } from './x.js'; export { f }`). k6 follows ES module
//! re-exports, so the function is read from that file as the script's own functions are:
//! parsed, never run, through the same capped read (`config::read_bytes`). Only local files
//! are read (`./x.js`, `../lib/x.js`, an absolute path), relative to the file that names them.

use super::flows::Flow;
use super::js::{self, Script};
use super::value::Loc;
use crate::error::{Error, Result};
use std::path::{Component, Path, PathBuf};

/// Files followed from one export, at most (a chain of re-exports).
const MAX_HOPS: usize = 16;

/// The function the script exports as `name` through a re-export, with the file it is in;
/// none when the script does not re-export `name`. `beside`: the script is a file whose
/// directory holds the files it names (not a script inside a `k6 archive`).
pub fn flow(file: &Path, s: &Script, name: &str, beside: bool) -> Result<Option<Flow>> {
    let mut seen = Vec::new();
    let root = file.parent().unwrap_or(Path::new(""));
    find(file, s, name, beside, &mut seen, root)
}

fn find(
    file: &Path,
    s: &Script,
    name: &str,
    beside: bool,
    seen: &mut Vec<(PathBuf, String)>,
    root: &Path,
) -> Result<Option<Flow>> {
    if let Some(f) = s.flows.get(name) {
        return Ok(Some(f.clone()));
    }
    if let Some(r) = s.reexports.get(name) {
        let (path, other) = open(file, &r.from, r.loc, name, beside, seen.len())?;
        let key = (path.clone(), r.name.clone());
        if seen.contains(&key) {
            return Err(Error::input(
                file,
                at(r.loc, name),
                format!(
                    "{name} is re-exported from {:?} as {:?}, and the re-exports come back \
                     to it in a cycle, so no file declares the function; export a function \
                     declared in one of them",
                    r.from, r.name
                ),
            ));
        }
        seen.push(key);
        return match find(&path, &other, &r.name, true, seen, root)? {
            Some(f) => Ok(Some(located(f, &path, root))),
            None => Err(match other.unreadable.get(&r.name) {
                Some((loc, why)) => Error::input(
                    &path,
                    at(*loc, &r.name),
                    format!(
                        "the export {:?} (re-exported by {} as {name:?}) {why}",
                        r.name,
                        shown(file)
                    ),
                ),
                None => Error::input(
                    file,
                    at(r.loc, name),
                    format!(
                        "{name} is re-exported from {:?}, and {} exports no function {:?}; \
                         k6 requires the function a scenario executes to be exported",
                        r.from,
                        shown(&path),
                        r.name
                    ),
                ),
            }),
        };
    }
    // `export * from` re-exports every name but `default`.
    if name != "default" {
        for (from, loc) in &s.star {
            let (path, other) = open(file, from, *loc, name, beside, seen.len())?;
            let key = (path.clone(), name.to_string());
            // Star exports may form cycles in ES modules; a module seen adds nothing.
            if seen.contains(&key) {
                continue;
            }
            seen.push(key);
            if let Some(f) = find(&path, &other, name, true, seen, root)? {
                return Ok(Some(located(f, &path, root)));
            }
        }
    }
    Ok(None)
}

/// `f`, read from `path`: its lines are that file's (the innermost file, when already set),
/// shown relative to the script's folder `root`.
fn located(mut f: Flow, path: &Path, root: &Path) -> Flow {
    if f.file.is_none() {
        f.file = Some(shown(path.strip_prefix(root).unwrap_or(path)));
    }
    f
}

fn at(loc: Loc, name: &str) -> String {
    format!("line {}, column {}, export {name}", loc.line, loc.col)
}

/// A path without `./` components, as the user would write it.
fn shown(p: &Path) -> String {
    p.components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect::<PathBuf>()
        .display()
        .to_string()
}

/// Read and parse the file `from` names, relative to `file`.
fn open(
    file: &Path,
    from: &str,
    loc: Loc,
    name: &str,
    beside: bool,
    hops: usize,
) -> Result<(PathBuf, Script)> {
    let here = at(loc, name);
    let local = from.starts_with("./") || from.starts_with("../") || from.starts_with('/');
    if !local {
        return Err(Error::input(
            file,
            here,
            format!(
                "{name} is re-exported from {from:?}, which is not a local file; surge reads \
                 re-exports from files beside the script (`./x.js`, `../lib/x.js`), not k6 \
                 modules or remote URLs: declare the function in the script, or in a local file"
            ),
        ));
    }
    if !beside {
        return Err(Error::input(
            file,
            here,
            format!(
                "{name} is re-exported from {from:?}; in a `k6 archive` surge reads the main \
                 script only: import the script itself, with the files beside it"
            ),
        ));
    }
    if hops >= MAX_HOPS {
        return Err(Error::input(
            file,
            here,
            format!(
                "{name} is re-exported through more than {MAX_HOPS} files; surge follows a \
                 chain of re-exports {MAX_HOPS} files deep: export the function nearer to the \
                 script"
            ),
        ));
    }
    let path: PathBuf = file
        .parent()
        .unwrap_or(Path::new(""))
        .join(from)
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect();
    let bytes = crate::config::read_bytes(&path, "a k6 script (JavaScript)").map_err(|e| {
        Error::input(
            file,
            &here,
            format!("{name} is re-exported from {from:?}, which surge cannot read ({e})"),
        )
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        Error::input(
            &path,
            format!("byte {}", e.utf8_error().valid_up_to()),
            format!(
                "not valid UTF-8; expected a k6 script (re-exported by {} as {name:?})",
                shown(file)
            ),
        )
    })?;
    let script = js::read(&path, &text)?;
    Ok((path, script))
}
