//! Reading a k6 script with a real JavaScript parser (oxc), never running it: the static
//! `options` export (k6 `internal/js/bundle.go` populateExports reads the same binding), the
//! custom metrics it declares, and the HTTP calls of its exported functions (`flows.rs`).

use super::flows::{self, Flow};
use super::value::{Loc, Node, V};
use super::writes;
use crate::error::{Error, Result};
use oxc_allocator::Allocator;
use oxc_ast::ast::*;
use oxc_parser::Parser;
use oxc_span::{GetSpan, SourceType, Span};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// What a script gives surge.
#[derive(Debug)]
pub struct Script {
    /// The `options` value, when the script exports one.
    pub options: Option<Node>,
    /// Exported functions (and `default`) as flows, by export name.
    pub flows: BTreeMap<String, Flow>,
    /// Custom metrics declared with `new Trend('name')` etc.: name -> (type, where).
    pub metrics: BTreeMap<String, (String, Loc)>,
    /// Exports that are not functions surge can read: name -> (where, why).
    pub unreadable: BTreeMap<String, (Loc, String)>,
    /// Names exported from another module (`export { f } from './x.js'`, or imported and
    /// exported): export name -> where it comes from.
    pub reexports: BTreeMap<String, ReExport>,
    /// `export * from './x.js'`: the modules whose names this one exports too, in order.
    pub star: Vec<(String, Loc)>,
    /// What the reader noticed that the user should know (a key written twice).
    pub notes: Vec<String>,
}

/// A name exported from another module.
#[derive(Debug, Clone)]
pub struct ReExport {
    /// The module specifier as written (`./api.js`).
    pub from: String,
    /// The name the module exports (`default` for a default import).
    pub name: String,
    pub loc: Loc,
}

/// Byte offset -> 1-based line and column (in characters).
pub struct Lines<'s> {
    text: &'s str,
    starts: Vec<usize>,
    /// Characters before every [`MARK`]-th byte (rounded down to a character boundary), so a
    /// column on a long (minified) line is found without counting the whole line: the walk
    /// asks for locations once per call it follows.
    marks: Vec<(usize, usize)>,
}

const MARK: usize = 4096;

impl<'s> Lines<'s> {
    pub fn new(text: &'s str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        let mut marks = vec![(0, 0)];
        let mut at = MARK;
        while at < text.len() {
            let b = (0..=at)
                .rev()
                .find(|&b| text.is_char_boundary(b))
                .unwrap_or(0);
            let (pb, pc) = *marks.last().expect("one mark");
            marks.push((b, pc + text[pb..b].chars().count()));
            at += MARK;
        }
        Lines {
            text,
            starts,
            marks,
        }
    }

    /// Characters before byte `off` (a character boundary).
    fn chars_before(&self, off: usize) -> usize {
        let (b, c) = self.marks[self.marks.partition_point(|&(b, _)| b <= off) - 1];
        c + self.text.get(b..off).map_or(off - b, |t| t.chars().count())
    }

    pub fn loc(&self, offset: u32) -> Loc {
        let off = (offset as usize).min(self.text.len());
        let line = self.starts.partition_point(|&s| s <= off) - 1;
        let start = self.starts[line];
        let col = if self.text.is_char_boundary(off) {
            self.chars_before(off) - self.chars_before(start)
        } else {
            off - start
        };
        Loc {
            line: line as u32 + 1,
            col: col as u32 + 1,
        }
    }

    pub fn at(&self, span: Span) -> Loc {
        self.loc(span.start)
    }

    /// The source of `span`, shortened to one line of at most 80 characters. Only its start
    /// is read, so a huge span (a data literal) costs no more than a short one.
    pub fn source(&self, span: Span) -> String {
        let s = self
            .text
            .get(span.start as usize..span.end as usize)
            .unwrap_or("");
        // Whitespace runs collapse to one space; at most 81 characters (or 4 KiB) are read.
        let (mut one, mut n, mut gap) = (String::new(), 0, false);
        let mut cut = false;
        for (i, ch) in s.char_indices() {
            if n > 80 || i > 4096 {
                cut = true;
                break;
            }
            if ch.is_whitespace() {
                gap = n > 0;
                continue;
            }
            if gap {
                one.push(' ');
                n += 1;
                gap = false;
            }
            one.push(ch);
            n += 1;
        }
        if n > 80 {
            format!("{}…", one.chars().take(79).collect::<String>())
        } else if cut {
            format!("{one}…")
        } else {
            one
        }
    }
}

/// The deepest syntax tree a script may have: the parser and the readers below recurse once
/// per level, so deeper scripts (`[[[[…` or `if (a) if (a) …` or `1+1+1…` tens of thousands
/// deep) overflow the stack and abort. Scripts are read on a thread with a [`READER_STACK`]
/// stack, so ordinary flat code (a `+` chain or an `else if` ladder of a few thousand terms,
/// whose trees are as deep as they are long) still reads.
const MAX_DEPTH: usize = 5000;
/// The reader thread's stack: a few KiB per level at [`MAX_DEPTH`], with a wide margin. Only
/// reserved address space until it is used.
const READER_STACK: usize = 256 << 20;
/// The bound when the reader thread cannot be started and the caller's stack is used instead.
const MAX_DEPTH_HERE: usize = 400;

/// The byte offset where `text`'s syntax tree may grow deeper than [`MAX_DEPTH`], read
/// lexically before parsing. The bound is an over-estimate: along the open brackets, it adds
/// each bracket and every operator character or nesting keyword (`if`, `new`, …) seen since
/// the last statement or element boundary at each level (`,`, `;`, or a line break where a
/// statement can end: the line ends in a name, literal or closing bracket and the next does not
/// start with an operator or an opening bracket), which is at least the tree's depth there.
/// Strings, templates and comments are skipped.
fn too_deep(text: &str, max: usize) -> Option<usize> {
    let b = text.as_bytes();
    // One frame per open bracket (true for a template's `${`), with its operator count.
    let mut frames: Vec<(bool, usize)> = vec![(false, 0)];
    let mut depth = 0usize;
    let mut i = 0;
    // The last significant byte, and whether a line break after it may have ended a statement
    // (automatic semicolon insertion): decided by the next significant byte.
    let mut last = b';';
    let mut line_break = false;
    // Where the last `else` ended.
    let mut else_end: Option<usize> = None;
    let ends_expression = |c: u8| {
        c.is_ascii_alphanumeric()
            || matches!(c, b'_' | b'$' | b')' | b']' | b'}' | b'\'' | b'"' | b'`')
    };
    let is_operator = |c: u8| {
        matches!(
            c,
            b'+' | b'-'
                | b'*'
                | b'%'
                | b'&'
                | b'|'
                | b'^'
                | b'!'
                | b'~'
                | b'?'
                | b':'
                | b'='
                | b'<'
                | b'>'
                | b'.'
                | b'/'
                | b'('
                | b'['
        )
    };
    // Template text from `i`: the index after its closing backtick, or after a `${` (which
    // opens a frame).
    fn template(
        b: &[u8],
        mut i: usize,
        frames: &mut Vec<(bool, usize)>,
        depth: &mut usize,
    ) -> usize {
        while i < b.len() {
            match b[i] {
                b'\\' => i += 2,
                b'`' => return i + 1,
                b'$' if b.get(i + 1) == Some(&b'{') => {
                    frames.push((true, 0));
                    *depth += 1;
                    return i + 2;
                }
                _ => i += 1,
            }
        }
        i
    }
    while i < b.len() {
        let c = b[i];
        let comment = c == b'/' && matches!(b.get(i + 1), Some(b'/' | b'*'));
        if c == b'\n' {
            line_break |= ends_expression(last);
            i += 1;
            continue;
        }
        if c.is_ascii_whitespace() || comment {
            // Neither significant nor a boundary: the arms below skip comments.
        } else {
            if std::mem::take(&mut line_break) && !is_operator(c) {
                if let Some(f) = frames.last_mut() {
                    depth -= f.1;
                    f.1 = 0;
                }
            }
            last = c;
        }
        match c {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = text[i + 2..].find("*/").map_or(b.len(), |k| i + 2 + k + 2);
            }
            b'\'' | b'"' => {
                i += 1;
                while i < b.len() && b[i] != c && b[i] != b'\n' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'`' => i = template(b, i + 1, &mut frames, &mut depth),
            b'(' | b'[' | b'{' => {
                frames.push((false, 0));
                depth += 1;
                i += 1;
            }
            b')' | b']' | b'}' => {
                i += 1;
                if frames.len() > 1 {
                    let (in_template, ops) = frames.pop().unwrap_or_default();
                    depth -= ops + 1;
                    if in_template && c == b'}' {
                        i = template(b, i, &mut frames, &mut depth);
                    }
                }
            }
            b',' | b';' => {
                if let Some(f) = frames.last_mut() {
                    depth -= f.1;
                    f.1 = 0;
                }
                i += 1;
            }
            b'+' | b'-' | b'*' | b'%' | b'&' | b'|' | b'^' | b'!' | b'~' | b'?' | b':' | b'='
            | b'<' | b'>' | b'.' | b'/' => {
                if let Some(f) = frames.last_mut() {
                    f.1 += 1;
                }
                depth += 1;
                i += 1;
            }
            c if c.is_ascii_alphabetic() || c == b'_' || c == b'$' => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'$')
                {
                    i += 1;
                }
                let word = &text[start..i];
                // `else if` nests one statement, not two: the `if` is not counted again.
                let else_if =
                    word == "if" && else_end.is_some_and(|e| text[e..start].trim().is_empty());
                if word == "else" {
                    else_end = Some(i);
                }
                if !else_if
                    && matches!(
                        word,
                        "if" | "else"
                            | "for"
                            | "while"
                            | "do"
                            | "with"
                            | "new"
                            | "typeof"
                            | "void"
                            | "delete"
                            | "await"
                            | "yield"
                            | "return"
                            | "throw"
                            | "case"
                            | "async"
                            | "function"
                            | "class"
                    )
                {
                    if let Some(f) = frames.last_mut() {
                        f.1 += 1;
                    }
                    depth += 1;
                }
            }
            _ => i += 1,
        }
        if depth > max {
            return Some(i.saturating_sub(1).min(b.len().saturating_sub(1)));
        }
    }
    None
}

/// Parse `text` (JavaScript, or TypeScript for `.ts`) and read what surge needs, on a thread
/// whose stack fits [`MAX_DEPTH`] levels.
pub fn read(path: &Path, text: &str) -> Result<Script> {
    std::thread::scope(|s| {
        match std::thread::Builder::new()
            .name("k6-reader".into())
            .stack_size(READER_STACK)
            .spawn_scoped(s, || read_with(path, text, MAX_DEPTH))
        {
            Ok(h) => h
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            Err(_) => read_with(path, text, MAX_DEPTH_HERE),
        }
    })
}

fn read_with(path: &Path, text: &str, max_depth: usize) -> Result<Script> {
    let alloc = Allocator::default();
    let ty = if path.extension().is_some_and(|e| e == "ts") {
        SourceType::ts()
    } else {
        SourceType::mjs()
    };
    let lines = Lines::new(text);
    if let Some(at) = too_deep(text, max_depth) {
        let l = lines.loc(at as u32);
        return Err(Error::input(
            path,
            format!("line {}, column {}", l.line, l.col),
            format!(
                "the script nests brackets, operators or statements too deeply to read \
                 (more than {max_depth} levels here); a k6 script's options and requests are \
                 read from shallow literals"
            ),
        ));
    }
    let ret = Parser::new(&alloc, text, ty).parse();
    // k6 reads a script as an ES module when it parses as one with an `import` or `export`;
    // otherwise it wraps it in a function as CommonJS (k6 `js/modules/resolution.go`
    // resolveLoaded, isESM), where a top-level `return` is legal. When neither parses, the
    // module's error is the one k6 reports.
    let failed = ret.panicked || !ret.diagnostics.is_empty();
    let ret = if failed || !is_module(&ret.program) {
        let cjs = Parser::new(&alloc, text, ty.with_commonjs(true)).parse();
        if !cjs.panicked && cjs.diagnostics.is_empty() && !is_module(&cjs.program) {
            cjs
        } else {
            ret
        }
    } else {
        ret
    };
    if let Some(d) = ret.diagnostics.iter().next() {
        if ret.panicked || !ret.diagnostics.is_empty() {
            let loc = d
                .labels
                .first()
                .map(|l| lines.loc(l.offset()))
                .map(|l| format!("line {}, column {}", l.line, l.col))
                .unwrap_or_default();
            return Err(Error::input(
                path,
                loc,
                format!("not valid JavaScript: {}", d.message),
            ));
        }
    }
    let program = &ret.program;
    let module = Module::index(program, &lines);
    let mut notes = Vec::new();
    let options = module
        .options
        .map(|e| static_value(e, &lines, &module, &mut notes));
    if let (Some(_), Some((span, what))) = (&options, module.options_changed) {
        let l = lines.at(span);
        return Err(Error::input(
            path,
            format!("line {}, column {}", l.line, l.col),
            format!(
                "options is changed after it is declared ({what}: `{}`), so its value is \
                 only known at run time; declare it once, as a literal",
                lines.source(span)
            ),
        ));
    }
    let flows = flows::extract(&module, &lines, max_depth).map_err(|stop| {
        Error::input(
            path,
            format!("line {}, column {}", stop.loc.line, stop.loc.col),
            stop.msg,
        )
    })?;
    let unreadable = module
        .unreadable
        .iter()
        .map(|(name, &(at, bound))| {
            (
                name.clone(),
                (lines.at(at), unreadable_why(name, bound, &lines)),
            )
        })
        .collect();
    let reexports = module
        .reexports
        .iter()
        .map(|(name, &(from, there, at))| {
            (
                name.clone(),
                ReExport {
                    from: from.to_string(),
                    name: there.to_string(),
                    loc: lines.at(at),
                },
            )
        })
        .collect();
    let star = module
        .star
        .iter()
        .map(|&(from, at)| (from.to_string(), lines.at(at)))
        .collect();
    Ok(Script {
        options,
        notes,
        flows,
        metrics: module.metrics.clone(),
        unreadable,
        reexports,
        star,
    })
}

/// Whether a parsed program is an ES module: it has an `import` or `export` declaration.
fn is_module(p: &Program) -> bool {
    p.body.iter().any(|s| s.is_module_declaration())
}

/// Why the export `name`, bound to `bound` (if to anything), is not a flow surge reads.
fn unreadable_why(name: &str, bound: Option<&Expression>, lines: &Lines) -> String {
    const READ: &str = "surge reads a scenario's requests from the function itself: export a \
                        function declared in the script (`export default function () { … }`, \
                        or a `const` bound to one)";
    let Some(e) = bound else {
        return format!("is not bound to a function declared at the top level; {READ}");
    };
    let (source, line) = (lines.source(e.span()), lines.at(e.span()).line);
    match not_a_function(e) {
        // k6 `internal/js/bundle.go` populateExports keeps only exports that are functions;
        // `internal/cmd/config.go` validateScenarioConfig then refuses the scenario.
        Some(kind) => format!(
            "is {kind} (`{source}`, line {line}), not a function: k6 runs a scenario's `exec` \
             only when the export is a function, and stops with \"function '{name}' not found \
             in exports\" (\"no exported functions in script\" when no export is one); export \
             the function itself (`export {}function () {{ … }}`)",
            if name == "default" {
                "default ".to_string()
            } else {
                format!("const {name} = ")
            }
        ),
        None => format!(
            "is bound to `{source}` (line {line}), a value known only when the script runs; \
             {READ}"
        ),
    }
}

/// What a literal value is, when it cannot be a function whatever the script does: `an
/// object`, `an array`, ...; none for values computed at run time.
fn not_a_function(e: &Expression) -> Option<&'static str> {
    Some(match e.without_parentheses() {
        Expression::ObjectExpression(_) => "an object",
        Expression::ArrayExpression(_) => "an array",
        Expression::StringLiteral(_) | Expression::TemplateLiteral(_) => "a string",
        Expression::NumericLiteral(_) | Expression::BigIntLiteral(_) => "a number",
        Expression::BooleanLiteral(_) => "a boolean",
        Expression::NullLiteral(_) => "null",
        Expression::RegExpLiteral(_) => "a regular expression",
        Expression::Identifier(id) if id.name == "undefined" => "undefined",
        _ => return None,
    })
}

/// A callable: a function declaration/expression or an arrow function.
#[derive(Clone, Copy)]
pub enum Callable<'a> {
    Function(&'a Function<'a>),
    Arrow(&'a ArrowFunctionExpression<'a>),
}

impl<'a> Callable<'a> {
    pub fn of(e: &'a Expression<'a>) -> Option<Callable<'a>> {
        match e.without_parentheses() {
            Expression::FunctionExpression(f) => Some(Callable::Function(f)),
            Expression::ArrowFunctionExpression(a) => Some(Callable::Arrow(a)),
            _ => None,
        }
    }

    pub fn params(&self) -> &'a FormalParameters<'a> {
        match self {
            Callable::Function(f) => &f.params,
            Callable::Arrow(a) => &a.params,
        }
    }

    pub fn span(&self) -> Span {
        match self {
            Callable::Function(f) => f.span,
            Callable::Arrow(a) => a.span,
        }
    }
}

/// The module's top level: imports, functions, variables and exports.
pub struct Module<'a> {
    /// Local name -> module specifier (`http` -> `k6/http`), with the imported name.
    pub imports: HashMap<&'a str, (&'a str, Option<&'a str>)>,
    /// Top-level functions (declared, or `const f = () => ...`).
    pub functions: HashMap<&'a str, Callable<'a>>,
    /// Top-level variables with an initialiser.
    pub vars: HashMap<&'a str, &'a Expression<'a>>,
    /// Export name -> local function.
    pub exports: BTreeMap<String, Callable<'a>>,
    /// Exports bound to something that is not a function surge can read (a value computed at
    /// run time, say webpack's `var t = e.Z; export { t as default }`): name -> (where, what).
    pub unreadable: BTreeMap<String, (Span, Option<&'a Expression<'a>>)>,
    /// Export name -> (module specifier, the name it has there, where): `export { f } from
    /// './x.js'`, `export { default as f } from …`, or a name imported and exported.
    pub reexports: BTreeMap<String, (&'a str, &'a str, Span)>,
    /// `export * from './x.js'`: (module specifier, where).
    pub star: Vec<(&'a str, Span)>,
    /// Local names bound by `import * as ns`: a namespace object, not a function.
    namespaces: std::collections::HashSet<&'a str>,
    /// `export const name = local`: (local, name, where), resolved after the whole top level.
    aliases: Vec<(&'a str, String, Span)>,
    pub options: Option<&'a Expression<'a>>,
    /// The CommonJS `exports.options = …` assignment that declares options.
    options_declared: Option<Span>,
    /// The first later change to `options` or one of its fields, anywhere in the script.
    pub options_changed: Option<(Span, &'static str)>,
    pub metrics: BTreeMap<String, (String, Loc)>,
}

impl<'a> Module<'a> {
    fn index(program: &'a Program<'a>, lines: &Lines) -> Module<'a> {
        let mut m = Module {
            imports: HashMap::new(),
            functions: HashMap::new(),
            vars: HashMap::new(),
            exports: BTreeMap::new(),
            unreadable: BTreeMap::new(),
            reexports: BTreeMap::new(),
            star: Vec::new(),
            namespaces: std::collections::HashSet::new(),
            aliases: Vec::new(),
            options: None,
            options_declared: None,
            options_changed: None,
            metrics: BTreeMap::new(),
        };
        // `export { local as name }` resolved after every declaration is known.
        let mut named: Vec<(&'a str, String, Span)> = Vec::new();
        let mut default_ident: Option<(&'a str, Span)> = None;
        let mut options_local: Option<&'a str> = None;
        // After a top-level `return` (CommonJS) only hoisted function declarations count.
        let mut returned = false;
        for st in &program.body {
            if returned {
                if let Statement::FunctionDeclaration(f) = st {
                    if let Some(id) = &f.id {
                        m.functions.insert(id.name.as_str(), Callable::Function(f));
                    }
                }
                continue;
            }
            match st {
                Statement::ReturnStatement(_) => returned = true,
                Statement::ImportDeclaration(d) => {
                    for s in d.specifiers.iter().flatten() {
                        let (local, imported) = match s {
                            ImportDeclarationSpecifier::ImportSpecifier(s) => {
                                (s.local.name.as_str(), Some(s.imported.name().as_str()))
                            }
                            ImportDeclarationSpecifier::ImportDefaultSpecifier(s) => {
                                (s.local.name.as_str(), None)
                            }
                            ImportDeclarationSpecifier::ImportNamespaceSpecifier(s) => {
                                m.namespaces.insert(s.local.name.as_str());
                                (s.local.name.as_str(), None)
                            }
                        };
                        m.imports.insert(local, (d.source.value.as_str(), imported));
                    }
                }
                Statement::ExportDeclaration(d) => {
                    m.declaration(&d.declaration, true, lines);
                }
                Statement::ExportNamedDeclaration(d) => {
                    for s in &d.specifiers {
                        named.push((
                            s.local.name().as_str(),
                            s.exported.name().to_string(),
                            s.span,
                        ));
                    }
                }
                // `export { f, g as h, default as d } from './x.js'`: k6 follows ES module
                // re-exports; the function is read from that file when a scenario runs it.
                Statement::ExportFromDeclaration(d) => {
                    for s in &d.specifiers {
                        m.reexports.insert(
                            s.exported.name().to_string(),
                            (d.source.value.as_str(), s.local.name().as_str(), s.span),
                        );
                    }
                }
                // `export * from './x.js'` (every name but `default`); `export * as ns` is a
                // namespace object, never a function.
                Statement::ExportAllDeclaration(d) if d.exported.is_none() => {
                    m.star.push((d.source.value.as_str(), d.span));
                }
                Statement::ExportDefaultDeclaration(d) => match &d.declaration {
                    ExportDefaultDeclarationKind::FunctionDeclaration(f) => {
                        m.exports.insert("default".into(), Callable::Function(f));
                    }
                    other => {
                        if let Some(e) = other.as_expression() {
                            match e.without_parentheses() {
                                Expression::Identifier(id) => {
                                    default_ident = Some((id.name.as_str(), d.span))
                                }
                                x => match Callable::of(x) {
                                    Some(c) => {
                                        m.exports.insert("default".into(), c);
                                    }
                                    None => {
                                        m.unreadable.insert("default".into(), (d.span, Some(x)));
                                    }
                                },
                            }
                        }
                    }
                },
                Statement::ExpressionStatement(s) => m.top_expression(&s.expression),
                _ => {
                    if let Some(d) = st.as_declaration() {
                        m.declaration(d, false, lines);
                    }
                }
            }
        }
        named.extend(std::mem::take(&mut m.aliases));
        for (local, exported, span) in named {
            if exported == "options" {
                options_local = Some(local);
                continue;
            }
            m.export_binding(local, exported, span);
        }
        if let Some((l, span)) = default_ident {
            m.export_binding(l, "default".into(), span);
        }
        if let Some(l) = options_local {
            m.options = m.vars.get(l).copied();
        }
        // The binding's local name: `export const options` or `export { x as options }`.
        let mut local = options_local.or(m.options_declared.is_none().then_some("options"));
        // Options that name a top-level variable declared before (`exports.options = options`,
        // `export const options = opts`): its initialiser, through aliases; the variable is
        // then the binding whose later changes count.
        for _ in 0..64 {
            let Some(Expression::Identifier(id)) = m.options.map(|e| e.without_parentheses())
            else {
                break;
            };
            match m.vars.get(id.name.as_str()) {
                Some(&init) if init.span().start < id.span.start => {
                    m.options = Some(init);
                    local = Some(id.name.as_str());
                }
                _ => break,
            }
        }
        if m.options.is_some() {
            m.options_changed =
                writes::first_change(program, local, m.options_declared).map(|c| (c.span, c.what));
        }
        m
    }

    /// Export the function `local` names under `exported`, through top-level aliases
    /// (`const t = main; export default t`); a binding to anything else is noted as unreadable.
    fn export_binding(&mut self, local: &'a str, exported: String, span: Span) {
        let mut name = local;
        // Each step follows one `const a = b`; a cycle (`var a = b, b = a`) ends at the bound.
        for _ in 0..64 {
            if let Some(c) = self.functions.get(name).copied() {
                self.exports.insert(exported, c);
                return;
            }
            // `import { f } from './x.js'; export { f }`: a re-export, read from that file.
            if let Some(&(module, imported)) = self.imports.get(name) {
                if !self.namespaces.contains(name) {
                    self.reexports
                        .insert(exported, (module, imported.unwrap_or("default"), span));
                    return;
                }
            }
            match self.vars.get(name).map(|e| e.without_parentheses()) {
                Some(Expression::Identifier(id)) => name = id.name.as_str(),
                other => {
                    self.unreadable.insert(exported, (span, other));
                    return;
                }
            }
        }
        self.unreadable.insert(exported, (span, None));
    }

    fn declaration(&mut self, d: &'a Declaration<'a>, exported: bool, lines: &Lines) {
        match d {
            Declaration::FunctionDeclaration(f) => {
                if let Some(id) = &f.id {
                    self.functions
                        .insert(id.name.as_str(), Callable::Function(f));
                    if exported {
                        self.exports
                            .insert(id.name.to_string(), Callable::Function(f));
                    }
                }
            }
            Declaration::VariableDeclaration(v) => {
                for d in &v.declarations {
                    if let Some((module, name)) = d.init.as_ref().and_then(required) {
                        self.require(&d.id, module, name);
                        continue;
                    }
                    let (BindingPattern::BindingIdentifier(id), Some(init)) = (&d.id, &d.init)
                    else {
                        continue;
                    };
                    let name = id.name.as_str();
                    self.vars.insert(name, init);
                    if let Some(c) = Callable::of(init) {
                        self.functions.insert(name, c);
                        if exported {
                            self.exports.insert(name.to_string(), c);
                        }
                    } else if exported && name != "options" {
                        // `export const t = main` (an alias, resolved once every function is
                        // known) or a value that is no function.
                        match init.without_parentheses() {
                            Expression::Identifier(x) if x.name != "undefined" => self
                                .aliases
                                .push((x.name.as_str(), name.to_string(), d.span)),
                            _ => {
                                self.unreadable
                                    .insert(name.to_string(), (d.span, Some(init)));
                            }
                        }
                    }
                    if exported && name == "options" {
                        self.options = Some(init);
                    }
                    self.metric(init, lines);
                }
            }
            _ => {}
        }
    }

    /// A CommonJS import read as its ES form: `var http = require('k6/http')` as `import http
    /// from 'k6/http'`, `var sleep = require('k6').sleep` and `const { get, post: p } =
    /// require('k6/http')` as `import { sleep }` / `import { get, post as p }`.
    fn require(&mut self, id: &'a BindingPattern<'a>, module: &'a str, name: Option<&'a str>) {
        match id {
            BindingPattern::BindingIdentifier(b) => {
                self.imports.insert(b.name.as_str(), (module, name));
            }
            BindingPattern::ObjectPattern(p) if name.is_none() => {
                for prop in p.properties.iter().filter(|p| !p.computed) {
                    if let (
                        PropertyKey::StaticIdentifier(k),
                        BindingPattern::BindingIdentifier(b),
                    ) = (&prop.key, &prop.value)
                    {
                        self.imports
                            .insert(b.name.as_str(), (module, Some(k.name.as_str())));
                    }
                }
            }
            _ => {}
        }
    }

    /// `new Trend('name')` (also `new metrics.Trend(...)`): a custom metric.
    fn metric(&mut self, e: &'a Expression<'a>, lines: &Lines) {
        let Expression::NewExpression(n) = e.without_parentheses() else {
            return;
        };
        let ty = match &n.callee {
            Expression::Identifier(id) => id.name.as_str(),
            Expression::StaticMemberExpression(m) => m.property.name.as_str(),
            _ => return,
        };
        if !matches!(ty, "Trend" | "Rate" | "Counter" | "Gauge") {
            return;
        }
        if let Some(Argument::StringLiteral(s)) = n.arguments.first() {
            self.metrics.insert(
                s.value.to_string(),
                (ty.to_ascii_lowercase(), lines.at(n.span)),
            );
        }
    }

    /// `exports.options = {...}` or `module.exports.options = {...}` (CommonJS, which k6 also
    /// runs): the first declares options (later ones are changes, found by
    /// [`writes::first_change`]); `exports.name = function` exports a function.
    fn top_expression(&mut self, e: &'a Expression<'a>) {
        let Expression::AssignmentExpression(a) = e.without_parentheses() else {
            return;
        };
        let AssignmentTarget::StaticMemberExpression(m) = &a.left else {
            return;
        };
        if a.operator != AssignmentOperator::Assign {
            return;
        }
        let on_exports = match m.object.without_parentheses() {
            Expression::Identifier(id) => id.name == "exports",
            Expression::StaticMemberExpression(o) => o.property.name == "exports",
            _ => false,
        };
        // `module.exports = { options, default: main }`: each property an export.
        let whole = matches!(m.object.without_parentheses(),
            Expression::Identifier(id) if id.name == "module")
            && m.property.name == "exports";
        if whole {
            if let Expression::ObjectExpression(o) = a.right.without_parentheses() {
                for p in &o.properties {
                    let ObjectPropertyKind::ObjectProperty(p) = p else {
                        continue;
                    };
                    let key = match &p.key {
                        PropertyKey::StaticIdentifier(id) if !p.computed => id.name.as_str(),
                        PropertyKey::StringLiteral(s) if !p.computed => s.value.as_str(),
                        _ => continue,
                    };
                    self.cjs_export(key, &p.value, a.span, p.span);
                }
            }
            return;
        }
        if on_exports {
            self.cjs_export(m.property.name.as_str(), &a.right, a.span, a.span);
        }
    }

    /// One CommonJS export, `exports.name = value` (`at`: the assignment that declares it).
    fn cjs_export(&mut self, name: &'a str, value: &'a Expression<'a>, at: Span, span: Span) {
        if name == "options" {
            if self.options.is_none() {
                self.options = Some(value);
                self.options_declared = Some(at);
            }
        } else if let Some(c) = Callable::of(value) {
            self.exports.insert(name.to_string(), c);
        } else if let Expression::Identifier(id) = value.without_parentheses() {
            self.aliases
                .push((id.name.as_str(), name.to_string(), span));
        } else {
            self.unreadable
                .insert(name.to_string(), (span, Some(value)));
        }
    }
}

/// `require('m')` or `require('m').name`: the module and the name read. k6 runs CommonJS
/// scripts and gives its modules to `require` as to `import` (k6 `js/modules/require_impl.go`;
/// `var http = require("k6/http")` in `internal/js/runner_test.go`).
fn required<'a>(e: &'a Expression<'a>) -> Option<(&'a str, Option<&'a str>)> {
    match e.without_parentheses() {
        Expression::CallExpression(c) => {
            let Expression::Identifier(id) = c.callee.without_parentheses() else {
                return None;
            };
            match c.arguments.as_slice() {
                [Argument::StringLiteral(s)] if id.name == "require" => {
                    Some((s.value.as_str(), None))
                }
                _ => None,
            }
        }
        Expression::StaticMemberExpression(m) => match required(&m.object)? {
            (module, None) => Some((module, Some(m.property.name.as_str()))),
            _ => None,
        },
        _ => None,
    }
}

/// Convert the options expression to a value tree: literals are kept, anything else becomes
/// [`V::Dyn`] with the reason.
/// A key written twice in one object literal is noted in `notes`.
pub fn static_value(e: &Expression, lines: &Lines, m: &Module, notes: &mut Vec<String>) -> Node {
    let loc = Some(lines.at(e.span()));
    let dyn_ = |why: &str| {
        Node::new(
            V::Dyn {
                source: lines.source(e.span()),
                why: why.to_string(),
            },
            loc,
        )
    };
    let v = match e {
        Expression::ParenthesizedExpression(p) => {
            return static_value(&p.expression, lines, m, notes)
        }
        Expression::TSAsExpression(t) => return static_value(&t.expression, lines, m, notes),
        Expression::TSSatisfiesExpression(t) => {
            return static_value(&t.expression, lines, m, notes)
        }
        Expression::TSNonNullExpression(t) => return static_value(&t.expression, lines, m, notes),
        Expression::NullLiteral(_) => V::Null,
        Expression::BooleanLiteral(b) => V::Bool(b.value),
        Expression::NumericLiteral(n) => V::Num(n.value),
        Expression::StringLiteral(s) => V::Str(s.value.to_string()),
        Expression::TemplateLiteral(t) => {
            if !t.expressions.is_empty() {
                return dyn_("a template literal with ${} substitutions");
            }
            let mut s = String::new();
            for q in &t.quasis {
                match &q.value.cooked {
                    Some(c) => s.push_str(c),
                    None => return dyn_("a template literal with an invalid escape"),
                }
            }
            V::Str(s)
        }
        Expression::Identifier(id) if id.name == "undefined" => V::Undef,
        Expression::Identifier(id) => {
            let why = if m.imports.contains_key(id.name.as_str()) {
                "an imported binding"
            } else {
                "a variable"
            };
            return dyn_(why);
        }
        Expression::UnaryExpression(u) if u.operator == UnaryOperator::UnaryNegation => {
            match u.argument.without_parentheses() {
                Expression::NumericLiteral(n) => V::Num(-n.value),
                _ => return dyn_("arithmetic"),
            }
        }
        Expression::UnaryExpression(u) if u.operator == UnaryOperator::Void => V::Undef,
        Expression::ArrayExpression(a) => {
            let mut out = Vec::new();
            for el in &a.elements {
                match el {
                    ArrayExpressionElement::SpreadElement(s) => {
                        return Node::new(
                            V::Dyn {
                                source: lines.source(s.span),
                                why: "a spread".into(),
                            },
                            Some(lines.at(s.span)),
                        )
                    }
                    ArrayExpressionElement::Elision(s) => {
                        out.push(Node::new(V::Undef, Some(lines.at(s.span))))
                    }
                    other => {
                        if let Some(x) = other.as_expression() {
                            out.push(static_value(x, lines, m, notes));
                        }
                    }
                }
            }
            V::Arr(out)
        }
        Expression::ObjectExpression(o) => {
            let mut out: Vec<(String, Node)> = Vec::new();
            // Where each key of `out` was last written.
            let mut written: Vec<Loc> = Vec::new();
            for p in &o.properties {
                match p {
                    ObjectPropertyKind::SpreadProperty(s) => {
                        // Keep what is static; the spread poisons the object as a whole.
                        return Node::new(
                            V::Dyn {
                                source: lines.source(s.span),
                                why: "a spread".into(),
                            },
                            Some(lines.at(s.span)),
                        );
                    }
                    ObjectPropertyKind::ObjectProperty(p) => {
                        let key = match &p.key {
                            PropertyKey::StaticIdentifier(id) if !p.computed => {
                                Some(id.name.to_string())
                            }
                            PropertyKey::StringLiteral(s) if !p.computed => {
                                Some(s.value.to_string())
                            }
                            PropertyKey::NumericLiteral(n) if !p.computed => {
                                Some(format!("{}", n.value))
                            }
                            _ => None,
                        };
                        let Some(key) = key else {
                            return Node::new(
                                V::Dyn {
                                    source: lines.source(p.key.span()),
                                    why: "a computed key".into(),
                                },
                                Some(lines.at(p.key.span())),
                            );
                        };
                        let val = if p.shorthand {
                            Node::new(
                                V::Dyn {
                                    source: key.clone(),
                                    why: "a variable".into(),
                                },
                                Some(lines.at(p.value.span())),
                            )
                        } else if p.method || p.kind != PropertyKind::Init {
                            Node::new(
                                V::Dyn {
                                    source: lines.source(p.span),
                                    why: "a function".into(),
                                },
                                Some(lines.at(p.span)),
                            )
                        } else {
                            static_value(&p.value, lines, m, notes)
                        };
                        // JavaScript keeps the key where it was first written, with the
                        // last value.
                        let at = lines.at(p.span);
                        match out.iter().position(|(k, _)| *k == key) {
                            Some(i) => {
                                notes.push(format!(
                                    "line {}, column {}: the key {key:?} is written again in \
                                     this object (before at line {}, column {}); JavaScript \
                                     keeps the last value, as k6 does",
                                    at.line, at.col, written[i].line, written[i].col
                                ));
                                out[i].1 = val;
                                written[i] = at;
                            }
                            None => {
                                out.push((key, val));
                                written.push(at);
                            }
                        }
                    }
                }
            }
            V::Obj(out)
        }
        Expression::CallExpression(_) | Expression::NewExpression(_) => {
            return dyn_("a function call")
        }
        Expression::StaticMemberExpression(s) => {
            if let Expression::Identifier(id) = s.object.without_parentheses() {
                if id.name == "__ENV" {
                    return dyn_("an environment variable, set by `k6 run --env` or the shell");
                }
            }
            return dyn_("a property read");
        }
        Expression::ComputedMemberExpression(_) => return dyn_("a property read"),
        Expression::LogicalExpression(_) => return dyn_("a `||`, `&&` or `??` expression"),
        Expression::ConditionalExpression(_) => return dyn_("a `?:` expression"),
        Expression::BinaryExpression(_) | Expression::UnaryExpression(_) => {
            return dyn_("arithmetic")
        }
        Expression::ArrowFunctionExpression(_) | Expression::FunctionExpression(_) => {
            return dyn_("a function")
        }
        _ => return dyn_("not a literal"),
    };
    Node::new(v, loc)
}
