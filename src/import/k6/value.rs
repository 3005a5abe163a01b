//! The `options` object as a tree of static values, each with where it was written, so an
//! error can name `file:line:col` and the options path (`options.stages[2].target`).
//! Values computed at run time are kept as [`V::Dyn`] and refused only where they are read.

use crate::error::Error;
use std::fmt;
use std::path::Path;

/// 1-based line and column (in characters) in the script.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Loc {
    pub line: u32,
    pub col: u32,
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum V {
    Null,
    /// `undefined`: unset, like `null`.
    Undef,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Node>),
    /// Keys in the order written.
    Obj(Vec<(String, Node)>),
    /// Computed at run time: the source text and why it is not static.
    Dyn {
        source: String,
        why: String,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub v: V,
    /// Where the value starts (absent for JSON inputs).
    pub loc: Option<Loc>,
}

impl Node {
    pub fn new(v: V, loc: Option<Loc>) -> Node {
        Node { v, loc }
    }

    /// A JSON value (`k6 inspect` output, an archive's metadata): no source positions.
    pub fn from_json(j: &serde_json::Value) -> Node {
        use serde_json::Value as J;
        let v = match j {
            J::Null => V::Null,
            J::Bool(b) => V::Bool(*b),
            J::Number(n) => V::Num(n.as_f64().unwrap_or(f64::NAN)),
            J::String(s) => V::Str(s.clone()),
            J::Array(a) => V::Arr(a.iter().map(Node::from_json).collect()),
            J::Object(o) => V::Obj(
                o.iter()
                    .map(|(k, v)| (k.clone(), Node::from_json(v)))
                    .collect(),
            ),
        };
        Node { v, loc: None }
    }

    /// `null` and `undefined` both mean "not set" to k6 (JSON decoding of the options).
    pub fn is_unset(&self) -> bool {
        matches!(self.v, V::Null | V::Undef)
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.v {
            V::Obj(kv) => kv.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// What the value is, for "expected X, got Y" messages.
    pub fn kind(&self) -> &'static str {
        match self.v {
            V::Null => "null",
            V::Undef => "undefined",
            V::Bool(_) => "a boolean",
            V::Num(_) => "a number",
            V::Str(_) => "a string",
            V::Arr(_) => "an array",
            V::Obj(_) => "an object",
            V::Dyn { .. } => "a value computed at run time",
        }
    }
}

/// Errors located in one input file.
pub struct Here<'p> {
    pub file: &'p Path,
}

impl Here<'_> {
    /// "line L, column C, options.x.y" (or just the path for JSON inputs).
    pub fn location(loc: Option<Loc>, path: &str) -> String {
        match loc {
            Some(l) => format!("line {}, column {}, {path}", l.line, l.col),
            None => path.to_string(),
        }
    }

    pub fn err(&self, node: &Node, path: &str, msg: impl Into<String>) -> Error {
        Error::input(self.file, Self::location(node.loc, path), msg)
    }

    pub fn at(&self, loc: Option<Loc>, path: &str, msg: impl Into<String>) -> Error {
        Error::input(self.file, Self::location(loc, path), msg)
    }

    /// The error for a run-time value where a static one is needed.
    pub fn dynamic(&self, node: &Node, path: &str) -> Error {
        let V::Dyn { source, why } = &node.v else {
            return self.err(node, path, "expected a static value");
        };
        self.err(
            node,
            path,
            format!(
                "{path} is computed at run time ({why}): `{source}`; surge reads the script \
                 without running it, so write a literal here, or import the JSON that \
                 `k6 inspect --execution-requirements` prints instead"
            ),
        )
    }
}
