//! Changes to `options` anywhere in a script (k6 reads the export after the whole init code
//! has run, so a later write makes its value a run-time one): a walk over the whole syntax tree
//! for any assignment, compound assignment, `++`/`--`, `delete`, or known mutating call
//! (`Object.assign`, `Reflect.set`, `push`, …) whose target is rooted at the options binding,
//! `exports.options` or `module.exports.options`. A top-level `const o = options` (or a
//! destructuring of it) makes `o` a root too. Inner declarations of the same name shadow it.
//! Options (or a part of them) passed to a function declared at the top of the same file is
//! followed into that function: its parameter is a root there, a few calls deep.

use oxc_ast::ast::*;
use oxc_span::Span;

/// The first change found, in source order: where, and what kind.
pub struct Change {
    pub span: Span,
    pub what: &'static str,
}

/// The first change to the options binding. `local` is its local name (`options` for
/// `export const options`, `x` for `export { x as options }`); `declared` is the CommonJS
/// `exports.options = {...}` assignment that declares it, which is not a change.
pub fn first_change(
    program: &Program,
    local: Option<&str>,
    declared: Option<Span>,
) -> Option<Change> {
    let mut roots: Vec<String> = local.map(str::to_string).into_iter().collect();
    // Top-level aliases, until no new one appears (`const a = options; const b = a.scenarios`).
    loop {
        let before = roots.len();
        for st in &program.body {
            let decl = match st {
                Statement::VariableDeclaration(v) => Some(&**v),
                Statement::ExportDeclaration(e) => match &e.declaration {
                    Declaration::VariableDeclaration(v) => Some(&**v),
                    _ => None,
                },
                _ => None,
            };
            for d in decl.iter().flat_map(|v| v.declarations.iter()) {
                let Some(init) = &d.init else { continue };
                let w = Walk::new(&roots, local.is_some(), declared);
                if w.root(init).is_some() {
                    let mut names = Vec::new();
                    binding_names(&d.id, &mut names);
                    for n in names {
                        if !roots.iter().any(|r| r == n) {
                            roots.push(n.to_string());
                        }
                    }
                }
            }
        }
        if roots.len() == before {
            break;
        }
    }
    let funcs = top_functions(program);
    let followed = std::cell::RefCell::new(Vec::new());
    let mut w = Walk::new(&roots, local.is_some(), declared);
    w.funcs = &funcs;
    w.followed = Some(&followed);
    w.statements(&program.body);
    w.found
}

/// A function declared at the top of the file, by name: its parameters and body.
type TopFn<'p> = (&'p str, &'p FormalParameters<'p>, Body<'p>);

/// A function body: statements, or an arrow function's expression.
#[derive(Clone, Copy)]
enum Body<'p> {
    Statements(&'p [Statement<'p>]),
    Expression(&'p Expression<'p>),
}

/// The (function, rooted parameter positions) pairs already followed.
type Followed = std::cell::RefCell<Vec<(String, Vec<usize>)>>;

/// Calls followed into functions this many deep (a recursive helper stops here).
const FOLLOW_DEPTH: u8 = 8;

/// `function f(o) {...}`, `const f = (o) => ...` and `const f = function (o) {...}` at the
/// top level (exported or not).
fn top_functions<'p>(program: &'p Program<'p>) -> Vec<TopFn<'p>> {
    let mut out = Vec::new();
    for st in &program.body {
        let (func, vars) = match st {
            Statement::FunctionDeclaration(f) => (Some(&**f), None),
            Statement::VariableDeclaration(v) => (None, Some(&**v)),
            Statement::ExportDeclaration(e) => match &e.declaration {
                Declaration::FunctionDeclaration(f) => (Some(&**f), None),
                Declaration::VariableDeclaration(v) => (None, Some(&**v)),
                _ => (None, None),
            },
            _ => (None, None),
        };
        if let Some(f) = func {
            if let (Some(id), Some(b)) = (&f.id, &f.body) {
                out.push((
                    id.name.as_str(),
                    &*f.params,
                    Body::Statements(&b.statements),
                ));
            }
        }
        for d in vars.iter().flat_map(|v| v.declarations.iter()) {
            let (BindingPattern::BindingIdentifier(id), Some(init)) = (&d.id, &d.init) else {
                continue;
            };
            let body = match init.without_parentheses() {
                Expression::ArrowFunctionExpression(a) => match &a.body {
                    ArrowFunctionBody::FunctionBody(b) => {
                        Some((&*a.params, Body::Statements(&b.statements)))
                    }
                    b => b.as_expression().map(|e| (&*a.params, Body::Expression(e))),
                },
                Expression::FunctionExpression(f) => f
                    .body
                    .as_ref()
                    .map(|b| (&*f.params, Body::Statements(&b.statements))),
                _ => None,
            };
            if let Some((params, body)) = body {
                out.push((id.name.as_str(), params, body));
            }
        }
    }
    out
}

/// What a target is rooted at.
#[derive(PartialEq)]
enum Root {
    /// The options binding itself (or `exports.options`): a write replaces it.
    Whole,
    /// A field of it, or an alias: a write changes it.
    Field,
}

struct Walk<'r> {
    /// The options binding's local name, then its aliases.
    roots: &'r [String],
    /// The options binding's local name (none for CommonJS `exports.options`).
    primary: Option<&'r str>,
    /// Per open scope, the root names it redeclares.
    shadowed: Vec<Vec<&'r str>>,
    declared: Option<Span>,
    found: Option<Change>,
    /// The file's top-level functions, followed when options are passed to one.
    funcs: &'r [TopFn<'r>],
    /// Calls followed so far on this path.
    depth: u8,
    /// Per open scope, every name it declares: a local function hides a top-level one.
    declared_here: Vec<Vec<String>>,
    /// (function, rooted parameter positions) already followed: each is walked once.
    followed: Option<&'r Followed>,
    /// Report only whole reassignments (to tell whether a parameter is ever rebound).
    only_whole: bool,
}

/// Methods that change the array (or object) they are called on.
const MUTATING_METHODS: &[&str] = &[
    "push",
    "pop",
    "shift",
    "unshift",
    "splice",
    "sort",
    "reverse",
    "fill",
    "copyWithin",
];

impl<'r> Walk<'r> {
    fn new(roots: &'r [String], primary: bool, declared: Option<Span>) -> Self {
        Walk {
            roots,
            primary: roots.first().filter(|_| primary).map(String::as_str),
            shadowed: Vec::new(),
            declared,
            found: None,
            funcs: &[],
            depth: 0,
            declared_here: Vec::new(),
            followed: None,
            only_whole: false,
        }
    }

    /// A call to one of the file's functions with options (or part of them) as arguments:
    /// walk its body with those parameters as roots, and report what it changes.
    fn follow(&mut self, name: &str, args: &[Argument]) {
        if self.depth >= FOLLOW_DEPTH || self.declared_here.iter().flatten().any(|s| s == name) {
            return;
        }
        let Some(&(_, params, body)) = self.funcs.iter().find(|f| f.0 == name) else {
            return;
        };
        let Some(followed) = self.followed else {
            return;
        };
        let mut names: Vec<String> = Vec::new();
        let mut positions = Vec::new();
        for (i, a) in args.iter().enumerate() {
            let rooted = match a {
                Argument::SpreadElement(s) => self.root(&s.argument).is_some(),
                a => a.as_expression().is_some_and(|e| self.root(e).is_some()),
            };
            if !rooted {
                continue;
            }
            positions.push(i);
            let mut ns = Vec::new();
            match params.items.get(i) {
                Some(p) => alias_names(&p.pattern, &mut ns),
                None => {
                    if let Some(r) = &params.rest {
                        alias_names(&r.rest.argument, &mut ns);
                    }
                }
            }
            names.extend(ns.into_iter().map(str::to_string));
        }
        let key = (name.to_string(), positions);
        if names.is_empty() || followed.borrow().contains(&key) {
            return;
        }
        followed.borrow_mut().push(key);
        let walk = |w: &mut Walk| match body {
            Body::Statements(b) => w.statements(b),
            Body::Expression(e) => w.expr(e),
        };
        // A parameter rebound anywhere (`o = Object.assign({}, o)`, a defensive copy) is not
        // followed: the walk does not know which writes come before the rebinding.
        names.retain(|n| {
            let one = [n.clone()];
            let mut w = Walk::new(&one, true, None);
            w.only_whole = true;
            walk(&mut w);
            w.found.is_none()
        });
        if names.is_empty() {
            return;
        }
        let mut sub = Walk::new(&names, false, None);
        sub.funcs = self.funcs;
        sub.depth = self.depth + 1;
        sub.followed = Some(followed);
        walk(&mut sub);
        if let Some(c) = sub.found {
            self.note(c.span, "changed by a function it is passed to");
        }
    }

    fn note(&mut self, span: Span, what: &'static str) {
        if self.only_whole && what != "assigned" {
            return;
        }
        if self.found.is_none() && Some(span) != self.declared {
            self.found = Some(Change { span, what });
        }
    }

    fn live(&self, name: &str) -> Option<&'r str> {
        let r = self.roots.iter().find(|r| *r == name)?;
        (!self.shadowed.iter().flatten().any(|s| *s == name)).then_some(r.as_str())
    }

    /// Whether `e` names the options value or something inside it.
    fn root(&self, e: &Expression) -> Option<Root> {
        match e.without_parentheses() {
            Expression::Identifier(id) => {
                let r = self.live(id.name.as_str())?;
                Some(if Some(r) == self.primary {
                    Root::Whole
                } else {
                    Root::Field
                })
            }
            Expression::TSAsExpression(t) => self.root(&t.expression),
            Expression::TSSatisfiesExpression(t) => self.root(&t.expression),
            Expression::TSNonNullExpression(t) => self.root(&t.expression),
            Expression::TSTypeAssertion(t) => self.root(&t.expression),
            Expression::ChainExpression(c) => c
                .expression
                .as_member_expression()
                .and_then(|m| self.member_root(m)),
            e => e.as_member_expression().and_then(|m| self.member_root(m)),
        }
    }

    fn member_root(&self, m: &MemberExpression) -> Option<Root> {
        if is_exports_options(m) {
            return Some(Root::Whole);
        }
        self.root(m.object()).map(|_| Root::Field)
    }

    fn simple_target(&self, t: &SimpleAssignmentTarget) -> Option<Root> {
        match t {
            SimpleAssignmentTarget::AssignmentTargetIdentifier(id) => {
                let r = self.live(id.name.as_str())?;
                // Reassigning an alias does not change options.
                (Some(r) == self.primary).then_some(Root::Whole)
            }
            SimpleAssignmentTarget::TSAsExpression(t) => self.root(&t.expression),
            SimpleAssignmentTarget::TSSatisfiesExpression(t) => self.root(&t.expression),
            SimpleAssignmentTarget::TSNonNullExpression(t) => self.root(&t.expression),
            SimpleAssignmentTarget::TSTypeAssertion(t) => self.root(&t.expression),
            t => t.as_member_expression().and_then(|m| self.member_root(m)),
        }
    }

    /// An assignment target: report a write to options, and walk computed keys and defaults.
    fn target(&mut self, t: &AssignmentTarget, span: Span) {
        if let Some(s) = t.as_simple_assignment_target() {
            match self.simple_target(s) {
                Some(Root::Whole) => self.note(span, "assigned"),
                Some(Root::Field) => self.note(span, "a field is assigned"),
                None => {}
            }
            if let Some(m) = s.as_member_expression() {
                self.member(m);
            }
            return;
        }
        match t.as_assignment_target_pattern() {
            Some(AssignmentTargetPattern::ArrayAssignmentTarget(a)) => {
                for el in a.elements.iter().flatten() {
                    self.maybe_default(el, span);
                }
                if let Some(r) = &a.rest {
                    self.target(&r.target, span);
                }
            }
            Some(AssignmentTargetPattern::ObjectAssignmentTarget(o)) => {
                for p in &o.properties {
                    match p {
                        AssignmentTargetProperty::AssignmentTargetPropertyIdentifier(p) => {
                            if self
                                .live(p.binding.name.as_str())
                                .is_some_and(|r| Some(r) == self.primary)
                            {
                                self.note(span, "assigned");
                            }
                            if let Some(i) = &p.init {
                                self.expr(i);
                            }
                        }
                        AssignmentTargetProperty::AssignmentTargetPropertyProperty(p) => {
                            self.key(&p.name);
                            self.maybe_default(&p.binding, span);
                        }
                    }
                }
                if let Some(r) = &o.rest {
                    self.target(&r.target, span);
                }
            }
            None => {}
        }
    }

    fn maybe_default(&mut self, t: &AssignmentTargetMaybeDefault, span: Span) {
        match t {
            AssignmentTargetMaybeDefault::AssignmentTargetWithDefault(d) => {
                self.target(&d.binding, span);
                self.expr(&d.init);
            }
            t => {
                if let Some(t) = t.as_assignment_target() {
                    self.target(t, span);
                }
            }
        }
    }

    fn member(&mut self, m: &MemberExpression) {
        self.expr(m.object());
        if let MemberExpression::ComputedMemberExpression(c) = m {
            self.expr(&c.expression);
        }
    }

    fn key(&mut self, k: &PropertyKey) {
        if let Some(e) = k.as_expression() {
            self.expr(e);
        }
    }

    fn args(&mut self, args: &[Argument]) {
        for a in args {
            match a {
                Argument::SpreadElement(s) => self.expr(&s.argument),
                a => {
                    if let Some(e) = a.as_expression() {
                        self.expr(e);
                    }
                }
            }
        }
    }

    fn call(&mut self, c: &CallExpression) {
        let callee = c.callee.without_parentheses();
        if let Some(m) = callee.as_member_expression() {
            let method = m.static_property_name();
            let on = match m.object().without_parentheses() {
                Expression::Identifier(id) => Some(id.name.as_str()),
                _ => None,
            };
            let first = c.arguments.first().and_then(|a| a.as_expression());
            let changes_first = matches!(
                (on, method),
                (
                    Some("Object"),
                    Some("assign" | "defineProperty" | "defineProperties" | "setPrototypeOf")
                ) | (
                    Some("Reflect"),
                    Some("set" | "defineProperty" | "deleteProperty" | "setPrototypeOf")
                )
            );
            if changes_first && first.is_some_and(|f| self.root(f).is_some()) {
                let what = match (on, method) {
                    (Some("Object"), Some("assign")) => "changed by `Object.assign`",
                    (Some("Object"), _) => "changed by an `Object` method",
                    _ => "changed by a `Reflect` method",
                };
                self.note(c.span, what);
            }
            if method.is_some_and(|n| MUTATING_METHODS.contains(&n))
                && self.root(m.object()).is_some()
            {
                self.note(c.span, "changed by an array method");
            }
        }
        if let Expression::Identifier(id) = callee {
            self.follow(id.name.as_str(), &c.arguments);
        }
        self.expr(&c.callee);
        self.args(&c.arguments);
    }

    fn expr(&mut self, e: &Expression) {
        if self.found.is_some() {
            return;
        }
        match e {
            Expression::AssignmentExpression(a) => {
                self.target(&a.left, a.span);
                self.expr(&a.right);
            }
            Expression::UpdateExpression(u) => {
                if self.simple_target(&u.argument).is_some() {
                    self.note(u.span, "incremented or decremented");
                }
                if let Some(m) = u.argument.as_member_expression() {
                    self.member(m);
                }
            }
            Expression::UnaryExpression(u) => {
                if u.operator == UnaryOperator::Delete && self.root(&u.argument).is_some() {
                    self.note(u.span, "a field is deleted");
                }
                self.expr(&u.argument);
            }
            Expression::CallExpression(c) => self.call(c),
            Expression::NewExpression(n) => {
                self.expr(&n.callee);
                self.args(&n.arguments);
            }
            Expression::ChainExpression(c) => match &c.expression {
                ChainElement::CallExpression(call) => self.call(call),
                ChainElement::TSNonNullExpression(t) => self.expr(&t.expression),
                el => {
                    if let Some(m) = el.as_member_expression() {
                        self.member(m);
                    }
                }
            },
            Expression::ArrayExpression(a) => {
                for el in &a.elements {
                    match el {
                        ArrayExpressionElement::SpreadElement(s) => self.expr(&s.argument),
                        el => {
                            if let Some(x) = el.as_expression() {
                                self.expr(x);
                            }
                        }
                    }
                }
            }
            Expression::ObjectExpression(o) => {
                for p in &o.properties {
                    match p {
                        ObjectPropertyKind::SpreadProperty(s) => self.expr(&s.argument),
                        ObjectPropertyKind::ObjectProperty(p) => {
                            if p.computed {
                                self.key(&p.key);
                            }
                            self.expr(&p.value);
                        }
                    }
                }
            }
            Expression::ArrowFunctionExpression(a) => {
                let mut names = Vec::new();
                params_names(&a.params, &mut names);
                let body: Option<&[Statement]> = match &a.body {
                    ArrowFunctionBody::FunctionBody(b) => Some(&b.statements),
                    _ => None,
                };
                if let Some(b) = body {
                    function_names(b, &mut names);
                }
                self.scope(names, |w| {
                    w.params(&a.params);
                    match &a.body {
                        ArrowFunctionBody::FunctionBody(b) => w.statements(&b.statements),
                        b => {
                            if let Some(e) = b.as_expression() {
                                w.expr(e);
                            }
                        }
                    }
                });
            }
            Expression::FunctionExpression(f) => self.function(f),
            Expression::ClassExpression(c) => self.class(c),
            Expression::AwaitExpression(a) => self.expr(&a.argument),
            Expression::YieldExpression(y) => {
                if let Some(a) = &y.argument {
                    self.expr(a);
                }
            }
            Expression::BinaryExpression(b) => {
                self.expr(&b.left);
                self.expr(&b.right);
            }
            Expression::LogicalExpression(l) => {
                self.expr(&l.left);
                self.expr(&l.right);
            }
            Expression::ConditionalExpression(c) => {
                self.expr(&c.test);
                self.expr(&c.consequent);
                self.expr(&c.alternate);
            }
            Expression::SequenceExpression(s) => {
                for x in &s.expressions {
                    self.expr(x);
                }
            }
            Expression::ParenthesizedExpression(p) => self.expr(&p.expression),
            Expression::TemplateLiteral(t) => {
                for x in &t.expressions {
                    self.expr(x);
                }
            }
            Expression::TaggedTemplateExpression(t) => {
                self.expr(&t.tag);
                for x in &t.quasi.expressions {
                    self.expr(x);
                }
            }
            Expression::ImportExpression(i) => {
                self.expr(&i.source);
                if let Some(o) = &i.options {
                    self.expr(o);
                }
            }
            Expression::PrivateInExpression(p) => self.expr(&p.right),
            Expression::TSAsExpression(t) => self.expr(&t.expression),
            Expression::TSSatisfiesExpression(t) => self.expr(&t.expression),
            Expression::TSTypeAssertion(t) => self.expr(&t.expression),
            Expression::TSNonNullExpression(t) => self.expr(&t.expression),
            Expression::TSInstantiationExpression(t) => self.expr(&t.expression),
            Expression::V8IntrinsicExpression(v) => self.args(&v.arguments),
            e => {
                if let Some(m) = e.as_member_expression() {
                    self.member(m);
                }
            }
        }
    }

    /// Run `f` in a scope that declares `names` (those that are roots are shadowed there).
    fn scope(&mut self, names: Vec<&str>, f: impl FnOnce(&mut Self)) {
        let here: Vec<&'r str> = self
            .roots
            .iter()
            .filter(|r| names.contains(&r.as_str()))
            .map(String::as_str)
            .collect();
        self.shadowed.push(here);
        self.declared_here
            .push(names.iter().map(|n| n.to_string()).collect());
        f(self);
        self.declared_here.pop();
        self.shadowed.pop();
    }

    fn function(&mut self, f: &Function) {
        let mut names = Vec::new();
        params_names(&f.params, &mut names);
        if let Some(b) = &f.body {
            function_names(&b.statements, &mut names);
        }
        self.scope(names, |w| {
            w.params(&f.params);
            if let Some(b) = &f.body {
                w.statements(&b.statements);
            }
        });
    }

    fn params(&mut self, p: &FormalParameters) {
        for item in &p.items {
            self.pattern(&item.pattern);
            if let Some(i) = &item.initializer {
                self.expr(i);
            }
        }
        if let Some(r) = &p.rest {
            self.pattern(&r.rest.argument);
        }
    }

    /// Defaults and computed keys inside a binding pattern.
    fn pattern(&mut self, p: &BindingPattern) {
        match p {
            BindingPattern::BindingIdentifier(_) => {}
            BindingPattern::ObjectPattern(o) => {
                for prop in &o.properties {
                    if prop.computed {
                        self.key(&prop.key);
                    }
                    self.pattern(&prop.value);
                }
                if let Some(r) = &o.rest {
                    self.pattern(&r.argument);
                }
            }
            BindingPattern::ArrayPattern(a) => {
                for el in a.elements.iter().flatten() {
                    self.pattern(el);
                }
                if let Some(r) = &a.rest {
                    self.pattern(&r.argument);
                }
            }
            BindingPattern::AssignmentPattern(a) => {
                self.pattern(&a.left);
                self.expr(&a.right);
            }
        }
    }

    fn class(&mut self, c: &Class) {
        for d in &c.decorators {
            self.expr(&d.expression);
        }
        if let Some(h) = &c.heritage {
            self.expr(&h.expression);
        }
        for el in &c.body.body {
            match el {
                ClassElement::StaticBlock(b) => self.block(&b.body),
                ClassElement::MethodDefinition(m) => {
                    if m.computed {
                        self.key(&m.key);
                    }
                    self.function(&m.value);
                }
                ClassElement::PropertyDefinition(p) => {
                    if p.computed {
                        self.key(&p.key);
                    }
                    if let Some(v) = &p.value {
                        self.expr(v);
                    }
                }
                ClassElement::AccessorProperty(p) => {
                    if p.computed {
                        self.key(&p.key);
                    }
                    if let Some(v) = &p.value {
                        self.expr(v);
                    }
                }
                ClassElement::TSIndexSignature(_) => {}
            }
        }
    }

    /// A block's statements, in a scope with its lexical declarations.
    fn block(&mut self, body: &[Statement]) {
        let mut names = Vec::new();
        lexical_names(body, &mut names);
        self.scope(names, |w| w.statements(body));
    }

    fn statements(&mut self, body: &[Statement]) {
        for s in body {
            self.statement(s);
        }
    }

    fn var_decl(&mut self, v: &VariableDeclaration) {
        for d in &v.declarations {
            self.pattern(&d.id);
            if let Some(i) = &d.init {
                self.expr(i);
            }
        }
    }

    fn declaration(&mut self, d: &Declaration) {
        match d {
            Declaration::VariableDeclaration(v) => self.var_decl(v),
            Declaration::FunctionDeclaration(f) => self.function(f),
            Declaration::ClassDeclaration(c) => self.class(c),
            Declaration::TSEnumDeclaration(e) => {
                for m in &e.body.members {
                    if let Some(i) = &m.initializer {
                        self.expr(i);
                    }
                }
            }
            Declaration::TSNamespaceDeclaration(n) => self.namespace(&n.body),
            Declaration::TSGlobalDeclaration(g) => self.block(&g.body.body),
            Declaration::TSExternalModuleDeclaration(m) => {
                if let Some(b) = &m.body {
                    self.block(&b.body);
                }
            }
            Declaration::TSTypeAliasDeclaration(_)
            | Declaration::TSInterfaceDeclaration(_)
            | Declaration::TSImportEqualsDeclaration(_) => {}
        }
    }

    fn namespace(&mut self, b: &TSNamespaceDeclarationBody) {
        match b {
            TSNamespaceDeclarationBody::TSNamespaceDeclaration(n) => self.namespace(&n.body),
            TSNamespaceDeclarationBody::TSModuleBlock(b) => self.block(&b.body),
        }
    }

    /// A loop head's `let`/`const` declarations scope the whole loop.
    fn loop_scope(&mut self, decl: Option<&VariableDeclaration>, f: impl FnOnce(&mut Self)) {
        let mut names = Vec::new();
        if let Some(v) = decl.filter(|v| v.kind.is_lexical()) {
            for d in &v.declarations {
                binding_names(&d.id, &mut names);
            }
        }
        self.scope(names, f);
    }

    fn for_left(&mut self, l: &ForStatementLeft, span: Span) {
        match l {
            ForStatementLeft::VariableDeclaration(v) => self.var_decl(v),
            l => {
                if let Some(t) = l.as_assignment_target() {
                    self.target(t, span);
                }
            }
        }
    }

    /// A `for (left in/of right) body` loop.
    fn for_each(
        &mut self,
        left: &ForStatementLeft,
        right: &Expression,
        body: &Statement,
        span: Span,
    ) {
        let decl = match left {
            ForStatementLeft::VariableDeclaration(v) => Some(&**v),
            _ => None,
        };
        self.expr(right);
        self.loop_scope(decl, |w| {
            w.for_left(left, span);
            w.statement(body);
        });
    }

    fn statement(&mut self, s: &Statement) {
        if self.found.is_some() {
            return;
        }
        match s {
            Statement::BlockStatement(b) => self.block(&b.body),
            Statement::ExpressionStatement(e) => self.expr(&e.expression),
            Statement::IfStatement(i) => {
                self.expr(&i.test);
                self.statement(&i.consequent);
                if let Some(a) = &i.alternate {
                    self.statement(a);
                }
            }
            Statement::ForStatement(l) => {
                let decl = match &l.init {
                    Some(ForStatementInit::VariableDeclaration(v)) => Some(&**v),
                    _ => None,
                };
                self.loop_scope(decl, |w| {
                    match &l.init {
                        Some(ForStatementInit::VariableDeclaration(v)) => w.var_decl(v),
                        Some(i) => {
                            if let Some(e) = i.as_expression() {
                                w.expr(e);
                            }
                        }
                        None => {}
                    }
                    if let Some(t) = &l.test {
                        w.expr(t);
                    }
                    if let Some(u) = &l.update {
                        w.expr(u);
                    }
                    w.statement(&l.body);
                });
            }
            Statement::ForInStatement(l) => self.for_each(&l.left, &l.right, &l.body, l.span),
            Statement::ForOfStatement(l) => self.for_each(&l.left, &l.right, &l.body, l.span),
            Statement::WhileStatement(l) => {
                self.expr(&l.test);
                self.statement(&l.body);
            }
            Statement::DoWhileStatement(l) => {
                self.statement(&l.body);
                self.expr(&l.test);
            }
            Statement::LabeledStatement(l) => self.statement(&l.body),
            Statement::ReturnStatement(r) => {
                if let Some(a) = &r.argument {
                    self.expr(a);
                }
            }
            Statement::ThrowStatement(t) => self.expr(&t.argument),
            Statement::SwitchStatement(sw) => {
                self.expr(&sw.discriminant);
                let mut names = Vec::new();
                for c in &sw.cases {
                    lexical_names(&c.consequent, &mut names);
                }
                self.scope(names, |w| {
                    for c in &sw.cases {
                        if let Some(t) = &c.test {
                            w.expr(t);
                        }
                        w.statements(&c.consequent);
                    }
                });
            }
            Statement::TryStatement(t) => {
                self.block(&t.block.body);
                if let Some(h) = &t.handler {
                    let mut names = Vec::new();
                    if let Some(p) = &h.param {
                        binding_names(&p.pattern, &mut names);
                    }
                    self.scope(names, |w| w.block(&h.body.body));
                }
                if let Some(f) = &t.finalizer {
                    self.block(&f.body);
                }
            }
            Statement::WithStatement(w) => {
                self.expr(&w.object);
                self.statement(&w.body);
            }
            Statement::ExportDefaultDeclaration(d) => match &d.declaration {
                ExportDefaultDeclarationKind::FunctionDeclaration(f) => self.function(f),
                ExportDefaultDeclarationKind::ClassDeclaration(c) => self.class(c),
                k => {
                    if let Some(e) = k.as_expression() {
                        self.expr(e);
                    }
                }
            },
            Statement::ExportDeclaration(e) => self.declaration(&e.declaration),
            Statement::TSExportAssignment(e) => self.expr(&e.expression),
            s => {
                if let Some(d) = s.as_declaration() {
                    self.declaration(d);
                }
            }
        }
    }
}

/// `exports.options`, `module.exports.options` (also with `['options']`).
fn is_exports_options(m: &MemberExpression) -> bool {
    if m.static_property_name() != Some("options") {
        return false;
    }
    match m.object().without_parentheses() {
        Expression::Identifier(id) => id.name == "exports",
        o => o.as_member_expression().is_some_and(|inner| {
            inner.static_property_name() == Some("exports")
                && matches!(inner.object().without_parentheses(),
                    Expression::Identifier(id) if id.name == "module")
        }),
    }
}

fn binding_names<'n>(p: &'n BindingPattern, out: &mut Vec<&'n str>) {
    match p {
        BindingPattern::BindingIdentifier(id) => out.push(id.name.as_str()),
        BindingPattern::ObjectPattern(o) => {
            for prop in &o.properties {
                binding_names(&prop.value, out);
            }
            if let Some(r) = &o.rest {
                binding_names(&r.argument, out);
            }
        }
        BindingPattern::ArrayPattern(a) => {
            for el in a.elements.iter().flatten() {
                binding_names(el, out);
            }
            if let Some(r) = &a.rest {
                binding_names(&r.argument, out);
            }
        }
        BindingPattern::AssignmentPattern(a) => binding_names(&a.left, out),
    }
}

/// The names a parameter pattern binds that still refer into the argument: all but an object
/// rest (`{...rest}` is a fresh object).
fn alias_names<'n>(p: &'n BindingPattern, out: &mut Vec<&'n str>) {
    match p {
        BindingPattern::ObjectPattern(o) => {
            for prop in &o.properties {
                alias_names(&prop.value, out);
            }
        }
        BindingPattern::AssignmentPattern(a) => alias_names(&a.left, out),
        p => binding_names(p, out),
    }
}

fn params_names<'n>(p: &'n FormalParameters, out: &mut Vec<&'n str>) {
    for item in &p.items {
        binding_names(&item.pattern, out);
    }
    if let Some(r) = &p.rest {
        binding_names(&r.rest.argument, out);
    }
}

/// Names a block declares with `let`, `const`, `class` or `function`.
fn lexical_names<'n>(body: &'n [Statement], out: &mut Vec<&'n str>) {
    for s in body {
        match s {
            Statement::VariableDeclaration(v) if v.kind.is_lexical() => {
                for d in &v.declarations {
                    binding_names(&d.id, out);
                }
            }
            Statement::FunctionDeclaration(f) => out.extend(f.id.as_ref().map(|i| i.name.as_str())),
            Statement::ClassDeclaration(c) => out.extend(c.id.as_ref().map(|i| i.name.as_str())),
            _ => {}
        }
    }
}

/// Names a function body declares: its lexical names and every `var` not inside a nested
/// function.
fn function_names<'n>(body: &'n [Statement], out: &mut Vec<&'n str>) {
    lexical_names(body, out);
    vars(body, out);
}

fn vars<'n>(body: &'n [Statement], out: &mut Vec<&'n str>) {
    for s in body {
        var_names(s, out);
    }
}

fn var_names<'n>(s: &'n Statement, out: &mut Vec<&'n str>) {
    let decl_vars = |v: &'n VariableDeclaration, out: &mut Vec<&'n str>| {
        if v.kind.is_var() {
            for d in &v.declarations {
                binding_names(&d.id, out);
            }
        }
    };
    match s {
        Statement::VariableDeclaration(v) => decl_vars(v, out),
        Statement::BlockStatement(b) => vars(&b.body, out),
        Statement::IfStatement(i) => {
            var_names(&i.consequent, out);
            if let Some(a) = &i.alternate {
                var_names(a, out);
            }
        }
        Statement::ForStatement(l) => {
            if let Some(ForStatementInit::VariableDeclaration(v)) = &l.init {
                decl_vars(v, out);
            }
            var_names(&l.body, out);
        }
        Statement::ForInStatement(l) => {
            if let ForStatementLeft::VariableDeclaration(v) = &l.left {
                decl_vars(v, out);
            }
            var_names(&l.body, out);
        }
        Statement::ForOfStatement(l) => {
            if let ForStatementLeft::VariableDeclaration(v) = &l.left {
                decl_vars(v, out);
            }
            var_names(&l.body, out);
        }
        Statement::WhileStatement(l) => var_names(&l.body, out),
        Statement::DoWhileStatement(l) => var_names(&l.body, out),
        Statement::LabeledStatement(l) => var_names(&l.body, out),
        Statement::WithStatement(w) => var_names(&w.body, out),
        Statement::SwitchStatement(sw) => {
            for c in &sw.cases {
                vars(&c.consequent, out);
            }
        }
        Statement::TryStatement(t) => {
            vars(&t.block.body, out);
            if let Some(h) = &t.handler {
                vars(&h.body.body, out);
            }
            if let Some(f) = &t.finalizer {
                vars(&f.body, out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxc_allocator::Allocator;
    use oxc_parser::Parser;
    use oxc_span::{GetSpan, SourceType};

    fn change(src: &str) -> Option<String> {
        let alloc = Allocator::default();
        let ret = Parser::new(&alloc, src, SourceType::mjs()).parse();
        assert!(ret.diagnostics.is_empty(), "{src}");
        first_change(&ret.program, Some("options"), None).map(|c| {
            format!(
                "{}: {}",
                c.what,
                &src[c.span.start as usize..c.span.end as usize]
            )
        })
    }

    #[test]
    fn writes_anywhere_are_changes() {
        let head = "export const options = { vus: 2, duration: '30s' };\n";
        for (src, want) in [
            (
                "if (__ENV.BIG) { options.vus = 50; }",
                "a field is assigned: options.vus = 50",
            ),
            (
                "Object.assign(options, { vus: 40 });",
                "changed by `Object.assign`",
            ),
            (
                "for (const k of ['a']) { options.vus++; }",
                "incremented or decremented",
            ),
            ("delete options.duration;", "a field is deleted"),
            ("options.vus++;", "incremented or decremented"),
            ("options.vus += 1;", "a field is assigned"),
            ("options['vus'] = 1;", "a field is assigned"),
            ("options = {};", "assigned: options = {}"),
            (
                "function f() { options.vus = 3 } f();",
                "a field is assigned",
            ),
            ("(() => { options.vus = 3 })();", "a field is assigned"),
            (
                "const s = options.scenarios; s.a = {};",
                "a field is assigned: s.a = {}",
            ),
            (
                "const { thresholds } = options; thresholds.x = [];",
                "a field is assigned",
            ),
            (
                "options.stages.push({ duration: '1m', target: 1 });",
                "changed by an array method",
            ),
            ("[options.vus] = [3];", "a field is assigned"),
            (
                "Reflect.set(options, 'vus', 3);",
                "changed by a `Reflect` method",
            ),
            (
                "try {} catch (e) { options.vus = 1 }",
                "a field is assigned",
            ),
            (
                "switch (1) { case 1: options.vus = 1 }",
                "a field is assigned",
            ),
            ("x = options.vus = 5;", "a field is assigned"),
        ] {
            let got = change(&format!("{head}{src}"));
            assert!(
                got.as_deref().is_some_and(|g| g.contains(want)),
                "{src}: {got:?}"
            );
        }
    }

    #[test]
    fn reads_and_shadowing_are_not_changes() {
        let head = "export const options = { vus: 2, duration: '30s' };\n";
        for src in [
            "console.log(options.vus, JSON.stringify(options));",
            "export default function () { const options = {}; options.headers = {}; }",
            "export default function (options) { options.x = 1; }",
            "function f() { var options = {}; if (1) { options.x = 1; } }",
            "{ let options = {}; options.x = 1; }",
            "for (const options of [{}]) { options.x = 1; }",
            "try {} catch (options) { options.x = 1 }",
            "const o = options; o = {};",
            "const o = options; [o] = [{}]; for (o of []) {}",
            "const copy = { ...options }; copy.vus = 3;",
            // Followed into the function, which only reads it or rebinds its parameter.
            "function show(o) { console.log(o.vus); o = {}; }\nshow(options);",
            "const f = (o, p) => { p.x = 1; };\nf(options, {});",
            "function g(o) { g(o); }\ng(options);",
            // A defensive copy, an object rest, and a local function hiding a top-level one.
            "function d(o) { o = Object.assign({}, o); o.vus = 5; return o; }\nd(options);",
            "function r({ ...rest }) { rest.vus = 1; }\nr(options);",
            "function log(o) { o.seen = 1; }\nexport default function () { const log = (x) => x; log(options); }",
            // Ten self-calls per level: each (function, positions) is walked once, so this ends.
            "function h(o) { h(o); h(o); h(o); h(o); h(o); h(o); h(o); h(o); h(o); h(o); }\nh(options);",
        ] {
            assert_eq!(change(&format!("{head}{src}")), None, "{src}");
        }
    }

    /// Options passed to one of the file's functions: a change through the parameter, even
    /// a call or two further down, is a change to options (found where it happens).
    #[test]
    fn changes_through_a_function_parameter_are_followed() {
        let head = "export const options = { vus: 2, duration: '30s' };\n";
        let by = "changed by a function it is passed to";
        for (src, at) in [
            ("function tune(o) { o.vus = 10; }\ntune(options);", "o.vus = 10"),
            ("const tune = (o) => { o.scenarios = {}; };\ntune(options);", "o.scenarios = {}"),
            ("export function add(s, o) { o.push(s); }\nadd('x', options.tags);", "o.push(s)"),
            (
                "function a(o) { b(o.thresholds); }\nfunction b(t) { delete t.http_req_failed; }\na(options);",
                "delete t.http_req_failed",
            ),
            ("function r(...all) { all[0].vus = 1; }\nr(options);", "all[0].vus = 1"),
            ("function d({ scenarios }) { scenarios.a = {}; }\nd(options);", "scenarios.a = {}"),
        ] {
            assert_eq!(
                change(&format!("{head}{src}")),
                Some(format!("{by}: {at}")),
                "{src}"
            );
        }
    }

    #[test]
    fn commonjs_exports_options() {
        let src = "exports.options = { vus: 2 };\nexports.options.vus = 9;\n";
        let alloc = Allocator::default();
        let ret = Parser::new(&alloc, src, SourceType::mjs()).parse();
        let Statement::ExpressionStatement(first) = &ret.program.body[0] else {
            panic!()
        };
        let c = first_change(&ret.program, None, Some(first.expression.span())).unwrap();
        assert_eq!(c.what, "a field is assigned");
        assert_eq!(c.span.start, 30);
        // Without another write, the declaring assignment is not a change.
        let src = "module.exports.options = { vus: 2 };\n";
        let ret = Parser::new(&alloc, src, SourceType::mjs()).parse();
        let Statement::ExpressionStatement(first) = &ret.program.body[0] else {
            panic!()
        };
        assert!(first_change(&ret.program, None, Some(first.expression.span())).is_none());
        // An alias of exports.options: reassigning it is not a change, writing through it is.
        for (src, changed) in [
            (
                "exports.options = {};\nlet o = exports.options;\no = 1;\n",
                false,
            ),
            (
                "exports.options = {};\nlet o = exports.options;\no.vus = 1;\n",
                true,
            ),
            (
                "exports.options = {};\nexports.options = { vus: 1 };\n",
                true,
            ),
        ] {
            let ret = Parser::new(&alloc, src, SourceType::mjs()).parse();
            let Statement::ExpressionStatement(first) = &ret.program.body[0] else {
                panic!()
            };
            let c = first_change(&ret.program, None, Some(first.expression.span()));
            assert_eq!(c.is_some(), changed, "{src}");
        }
    }
}
