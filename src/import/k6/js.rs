//! Reading a k6 script with a real JavaScript parser (oxc), never running it: the static
//! `options` export (k6 `internal/js/bundle.go` populateExports reads the same binding), the
//! custom metrics it declares, and the HTTP calls of its exported functions (`flows.rs`).

use super::flows::{self, Flow};
use super::value::{Loc, Node, V};
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
}

/// Byte offset -> 1-based line and column (in characters).
pub struct Lines<'s> {
    text: &'s str,
    starts: Vec<usize>,
}

impl<'s> Lines<'s> {
    pub fn new(text: &'s str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Lines { text, starts }
    }

    pub fn loc(&self, offset: u32) -> Loc {
        let off = (offset as usize).min(self.text.len());
        let line = self.starts.partition_point(|&s| s <= off) - 1;
        let start = self.starts[line];
        let col = self
            .text
            .get(start..off)
            .map_or(off - start, |t| t.chars().count());
        Loc {
            line: line as u32 + 1,
            col: col as u32 + 1,
        }
    }

    pub fn at(&self, span: Span) -> Loc {
        self.loc(span.start)
    }

    /// The source of `span`, shortened to one line of at most 80 characters.
    pub fn source(&self, span: Span) -> String {
        let s = self
            .text
            .get(span.start as usize..span.end as usize)
            .unwrap_or("");
        let one: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
        if one.chars().count() > 80 {
            format!("{}…", one.chars().take(79).collect::<String>())
        } else {
            one
        }
    }
}

/// Parse `text` (JavaScript, or TypeScript for `.ts`) and read what surge needs.
pub fn read(path: &Path, text: &str) -> Result<Script> {
    let alloc = Allocator::default();
    let ty = if path.extension().is_some_and(|e| e == "ts") {
        SourceType::ts()
    } else {
        SourceType::mjs()
    };
    let ret = Parser::new(&alloc, text, ty).parse();
    let lines = Lines::new(text);
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
    let options = module.options.map(|e| static_value(e, &lines, &module));
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
    let flows = flows::extract(&module, &lines);
    Ok(Script {
        options,
        flows,
        metrics: module.metrics.clone(),
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
    pub options: Option<&'a Expression<'a>>,
    /// A later top-level assignment to `options` or one of its fields.
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
            options: None,
            options_changed: None,
            metrics: BTreeMap::new(),
        };
        // `export { local as name }` resolved after every declaration is known.
        let mut named: Vec<(&'a str, String)> = Vec::new();
        let mut default_ident: Option<&'a str> = None;
        let mut options_local: Option<&'a str> = None;
        for st in &program.body {
            match st {
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
                        named.push((s.local.name().as_str(), s.exported.name().to_string()));
                    }
                }
                Statement::ExportDefaultDeclaration(d) => match &d.declaration {
                    ExportDefaultDeclarationKind::FunctionDeclaration(f) => {
                        m.exports.insert("default".into(), Callable::Function(f));
                    }
                    other => {
                        if let Some(e) = other.as_expression() {
                            match e.without_parentheses() {
                                Expression::Identifier(id) => {
                                    default_ident = Some(id.name.as_str())
                                }
                                x => {
                                    if let Some(c) = Callable::of(x) {
                                        m.exports.insert("default".into(), c);
                                    }
                                }
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
        for (local, exported) in named {
            if exported == "options" {
                options_local = Some(local);
            }
            if let Some(c) = m.functions.get(local).copied() {
                m.exports.insert(exported, c);
            }
        }
        if let Some(l) = default_ident {
            if let Some(c) = m.functions.get(l).copied() {
                m.exports.insert("default".into(), c);
            }
        }
        if let Some(l) = options_local {
            m.options = m.vars.get(l).copied();
        }
        m
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

    /// `exports.options = {...}` (CommonJS, which k6 also runs), and later changes to `options`.
    fn top_expression(&mut self, e: &'a Expression<'a>) {
        let Expression::AssignmentExpression(a) = e.without_parentheses() else {
            return;
        };
        let target = match &a.left {
            AssignmentTarget::StaticMemberExpression(m) => Some((&m.object, m.property.name)),
            _ => None,
        };
        match &a.left {
            AssignmentTarget::AssignmentTargetIdentifier(id) if id.name == "options" => {
                self.options_changed = Some((a.span, "assigned"));
            }
            _ => {
                if let Some((obj, prop)) = target {
                    let obj_name = match obj.without_parentheses() {
                        Expression::Identifier(id) => Some(id.name.as_str()),
                        Expression::StaticMemberExpression(m) => {
                            Some(m.property.name.as_str()).filter(|p| *p == "exports")
                        }
                        _ => None,
                    };
                    match obj_name {
                        Some("exports") if prop == "options" => self.options = Some(&a.right),
                        Some("exports") => {
                            if let Some(c) = Callable::of(&a.right) {
                                self.exports.insert(prop.to_string(), c);
                            }
                        }
                        Some("options") => {
                            self.options_changed = Some((a.span, "a field is assigned"));
                        }
                        _ => {}
                    }
                } else if let Some(m) = a.left.as_member_expression() {
                    if let Expression::Identifier(id) = m.object().without_parentheses() {
                        if id.name == "options" {
                            self.options_changed = Some((a.span, "a field is assigned"));
                        }
                    }
                }
            }
        }
    }
}

/// Convert the options expression to a value tree: literals are kept, anything else becomes
/// [`V::Dyn`] with the reason.
pub fn static_value(e: &Expression, lines: &Lines, m: &Module) -> Node {
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
        Expression::ParenthesizedExpression(p) => return static_value(&p.expression, lines, m),
        Expression::TSAsExpression(t) => return static_value(&t.expression, lines, m),
        Expression::TSSatisfiesExpression(t) => return static_value(&t.expression, lines, m),
        Expression::TSNonNullExpression(t) => return static_value(&t.expression, lines, m),
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
                            out.push(static_value(x, lines, m));
                        }
                    }
                }
            }
            V::Arr(out)
        }
        Expression::ObjectExpression(o) => {
            let mut out: Vec<(String, Node)> = Vec::new();
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
                            static_value(&p.value, lines, m)
                        };
                        out.push((key, val));
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
