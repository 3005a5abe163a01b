//! Flows from a k6 script's exported functions: the HTTP calls (`http.get/post/put/patch/del/
//! head/options/request/batch`, also through `k6.http`), `sleep(...)` and `group(...)`, read
//! statically. Local functions are followed (their parameters bound to the call's
//! arguments), `for` loops with literal bounds become surge loops, and sleeps of the form
//! `a + b * Math.random()` become `uniform(...)`. Anything else that may send requests is
//! kept as a TODO for the user, with its line.

use super::js::{Callable, Lines, Module};
use super::value::Loc;
use oxc_ast::ast::*;
use oxc_span::{GetSpan, Span};
use std::collections::{BTreeMap, HashMap};

/// The note on the steps an `if` guards, around its condition(s).
const GUARD_NOTE: &str = "k6 runs the next steps only when ";
const GUARD_TAIL: &str = "; surge runs them every iteration";
/// Past this length, further nested conditions are summarised.
const GUARD_MAX: usize = 240;
/// The longest sleep k6 can take, in seconds: `time.Duration(secs * 1e9)` is an int64 of ns.
const MAX_SLEEP_S: f64 = i64::MAX as f64 / 1e9;

#[derive(Clone, Debug, PartialEq)]
pub struct Flow {
    pub loc: Loc,
    pub steps: Vec<Step>,
    /// The file the function is in, when another than the script (a re-export): its lines
    /// are that file's.
    pub file: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// A request: lower-case method (`get`, `delete`, ...) and the URL's path.
    Http {
        method: String,
        path: String,
        loc: Loc,
        /// What the script calls, e.g. `http.get`.
        call: String,
    },
    /// A think time as a surge distribution (`const(1s)`, `uniform(1s,3s)`).
    Sleep { dist: String, loc: Loc },
    Loop {
        count: u32,
        loc: Loc,
        steps: Vec<Step>,
    },
    /// A comment on the steps that follow (they keep running).
    Note { loc: Loc, msg: String },
    /// Left for the user to fill in.
    Todo { loc: Loc, msg: String },
}

impl Step {
    pub fn is_request(&self) -> bool {
        match self {
            Step::Http { .. } => true,
            Step::Loop { steps, .. } => steps.iter().any(Step::is_request),
            _ => false,
        }
    }
}

/// The most steps a flow holds (requests, sleeps, and a loop's start and end): a VU's program
/// counter is 16 bits (`config::validate::scenario`).
pub const MAX_FLOW_STEPS: usize = u16::MAX as usize;
/// Steps, notes and TODOs made for all flows together. Each call is expanded in place, so
/// helpers calling helpers multiply; this bounds the memory before the 250,000-value YAML
/// reader would refuse the scenario anyway.
const MAX_ITEMS: usize = 1 << 18;
/// Text in all steps (paths, notes): the YAML reader's limit on a file's scalars or comments.
const MAX_TEXT: usize = 64 << 20;
/// Statements, expressions, calls and literal loop iterations walked for all flows: bounds the
/// time of a wide call tree whose functions make no steps.
const MAX_WORK: u64 = 5_000_000;
/// Calls nested this deep are not followed. Recursion is found by the call stack holding the
/// function already; this only bounds a long chain of distinct helpers.
pub const MAX_CALL_DEPTH: usize = 1000;

/// Why reading the flows stopped: where, and the message.
pub struct Stop {
    pub loc: Loc,
    pub msg: String,
}

/// What the walk has made and done so far, for all flows of a script.
#[derive(Default)]
struct Budget {
    items: usize,
    text: usize,
    work: std::cell::Cell<u64>,
}

/// Every exported function (and `default`) as a flow. `max_levels` bounds how deep the walk
/// may recurse (statements and expressions, through calls), so it fits the reader's stack.
pub fn extract(
    m: &Module,
    lines: &Lines,
    max_levels: usize,
) -> Result<BTreeMap<String, Flow>, Stop> {
    let mut out = BTreeMap::new();
    let mut budget = Budget::default();
    for (name, c) in &m.exports {
        let mut w = Walker::new(m, lines, name, budget, max_levels);
        let steps = w.call(*c, &[], 0, 0, None);
        if let Some(stop) = w.stop {
            return Err(stop);
        }
        budget = w.budget;
        out.insert(
            name.clone(),
            Flow {
                loc: lines.at(c.span()),
                steps,
                file: None,
            },
        );
    }
    Ok(out)
}

/// The k6 modules whose calls never send HTTP requests (metrics, checks, encodings, data).
const QUIET_MODULES: &[&str] = &[
    "k6",
    "k6/metrics",
    "k6/execution",
    "k6/encoding",
    "k6/crypto",
    "k6/data",
    "k6/html",
    "k6/timers",
    "k6/secrets",
];

/// Modules whose traffic is not HTTP requests.
const OTHER_PROTOCOLS: &[&str] = &[
    "k6/ws",
    "k6/websockets",
    "k6/experimental/websockets",
    "k6/net/grpc",
    "k6/experimental/grpc",
    "k6/browser",
    "k6/experimental/browser",
    "k6/experimental/redis",
];

/// Globals a script may call without defining them.
const GLOBALS: &[&str] = &[
    "console",
    "JSON",
    "Math",
    "Number",
    "String",
    "Boolean",
    "Object",
    "Array",
    "Date",
    "parseInt",
    "parseFloat",
    "isNaN",
    "encodeURIComponent",
    "encodeURI",
    "decodeURIComponent",
    "open",
    "require",
    "Promise",
    "setTimeout",
    "setInterval",
    "clearTimeout",
    "fail",
];

struct Frame<'a> {
    parent: Option<usize>,
    /// Name -> (initialiser or argument, the frame it is evaluated in).
    vars: HashMap<&'a str, (&'a Expression<'a>, usize)>,
    fns: HashMap<&'a str, Callable<'a>>,
}

struct Walker<'a, 'm, 'l> {
    m: &'m Module<'a>,
    lines: &'l Lines<'l>,
    frames: Vec<Frame<'a>>,
    /// Functions being followed (recursion guard).
    stack: Vec<Span>,
    /// Where each followed call is written, outermost first.
    sites: Vec<Loc>,
    /// Assignments that stored a newer frame's value in an older frame: while none happen
    /// during a call, its frames can be dropped when it returns.
    escapes: usize,
    /// The export being read, for messages.
    flow: &'m str,
    /// This flow's compiled steps so far.
    steps: usize,
    budget: Budget,
    /// Current recursion of the walk and its bound.
    levels: usize,
    max_levels: usize,
    /// The first limit crossed; the walk unwinds without doing more.
    stop: Option<Stop>,
}

#[derive(Clone, Debug)]
enum Part {
    Lit(String),
    Hole(String),
}

/// `a + b·U`, U uniform on [0, 1): a think time in seconds.
#[derive(Clone, Copy, Debug)]
struct Lin {
    a: f64,
    b: f64,
}

impl<'a, 'm, 'l> Walker<'a, 'm, 'l> {
    fn new(
        m: &'m Module<'a>,
        lines: &'l Lines<'l>,
        flow: &'m str,
        budget: Budget,
        max_levels: usize,
    ) -> Self {
        let module = Frame {
            parent: None,
            vars: m.vars.iter().map(|(k, v)| (*k, (*v, 0))).collect(),
            fns: m.functions.clone(),
        };
        Walker {
            m,
            lines,
            frames: vec![module],
            stack: Vec::new(),
            sites: Vec::new(),
            escapes: 0,
            flow,
            steps: 0,
            budget,
            levels: 0,
            max_levels,
            stop: None,
        }
    }

    /// Count `n` units of work; false (and the walk stops) past [`MAX_WORK`].
    fn work(&mut self, n: u64, at: Span) -> bool {
        if self.stop.is_some() {
            return false;
        }
        let w = self.budget.work.get().saturating_add(n);
        self.budget.work.set(w);
        if w > MAX_WORK {
            let loc = self.at(at);
            self.over_work(loc);
            return false;
        }
        true
    }

    fn over_work(&mut self, at: Loc) {
        let msg = format!(
            "following the function calls of the script takes more than {MAX_WORK} steps of \
             reading{}; surge expands each call in place, so helpers that call helpers many \
             times multiply: call them fewer times, or repeat with a `for` loop of literal \
             bounds (read once, as a surge loop)",
            self.through()
        );
        self.halt(at, msg);
    }

    /// Whether the cheap readers (`parts`, `lin`) may go on: they count without stopping.
    fn spent(&self) -> bool {
        let w = self.budget.work.get().saturating_add(1);
        self.budget.work.set(w);
        w > MAX_WORK
    }

    /// Stop at the outermost followed call (the one in the exported function that leads
    /// here), or `at` when there is none.
    fn halt(&mut self, at: Loc, msg: String) {
        if self.stop.is_none() {
            let loc = self.sites.first().copied().unwrap_or(at);
            self.stop = Some(Stop { loc, msg });
        }
    }

    /// ` (through the calls at line:column 9:28, 1:16, …)` when calls were followed to get
    /// here.
    fn through(&self) -> String {
        let at: Vec<String> = match self.sites.len() {
            0 | 1 => return String::new(),
            n if n <= 8 => self.sites.iter().map(Loc::to_string).collect(),
            n => (self.sites[..4].iter().map(Loc::to_string))
                .chain(["…".to_string()])
                .chain(self.sites[n - 3..].iter().map(Loc::to_string))
                .collect(),
        };
        format!(" (through the calls at line:column {})", at.join(", "))
    }

    /// Add a step to `out`, counting it against the flow's and the script's limits.
    fn push(&mut self, out: &mut Vec<Step>, s: Step) {
        if self.stop.is_some() {
            return;
        }
        let (ops, text, loc) = match &s {
            Step::Http {
                path, call, loc, ..
            } => (1, path.len() + call.len(), *loc),
            Step::Sleep { dist, loc } => (1, dist.len(), *loc),
            Step::Loop { loc, .. } => (2, 0, *loc),
            Step::Note { msg, loc } | Step::Todo { msg, loc } => (0, msg.len(), *loc),
        };
        // `parts` and `lin` count their work without stopping; their result stops here.
        if self.budget.work.get() > MAX_WORK {
            self.over_work(loc);
            return;
        }
        self.steps += ops;
        self.budget.items += 1;
        self.budget.text += text;
        if self.steps > MAX_FLOW_STEPS {
            let what = format!(
                "flow {:?} grows past {MAX_FLOW_STEPS} steps (requests, sleeps and loop \
                 markers; a surge flow holds at most that many)",
                self.flow
            );
            self.halt(loc, self.too_many(what, loc));
        } else if self.budget.items > MAX_ITEMS {
            let what =
                format!("the script's flows grow past {MAX_ITEMS} steps, notes and TODOs in all");
            self.halt(loc, self.too_many(what, loc));
        } else if self.budget.text > MAX_TEXT {
            let what = format!(
                "the script's flows grow past {} MiB of paths and notes",
                MAX_TEXT >> 20
            );
            self.halt(loc, self.too_many(what, loc));
        } else {
            out.push(s);
        }
    }

    fn too_many(&self, what: String, at: Loc) -> String {
        let here = if self.sites.is_empty() {
            String::new()
        } else {
            format!(
                ", following this call{} to line {}, column {}",
                self.through(),
                at.line,
                at.col
            )
        };
        format!(
            "{what}{here}; surge expands each call of a function in place, so helpers that \
             call helpers multiply: send fewer requests, or repeat them with a `for` loop of \
             literal bounds, which becomes a surge loop"
        )
    }

    /// Enter a level of the walk; false (and the walk stops) past `max_levels`.
    fn enter(&mut self, at: Span) -> bool {
        if self.stop.is_some() || !self.work(1, at) {
            return false;
        }
        self.levels += 1;
        if self.levels > self.max_levels {
            let loc = self.at(at);
            let msg = format!(
                "following the function calls here{}, the script's calls, blocks and \
                 expressions nest more than {} levels deep, more than surge follows",
                self.through(),
                self.max_levels
            );
            self.levels -= 1;
            self.halt(loc, msg);
            return false;
        }
        true
    }

    fn at(&self, s: Span) -> Loc {
        self.lines.at(s)
    }

    fn src(&self, s: Span) -> String {
        self.lines.source(s)
    }

    fn lookup_var(&self, name: &str, mut f: usize) -> Option<(&'a Expression<'a>, usize)> {
        loop {
            if let Some(v) = self.frames[f].vars.get(name) {
                return Some(*v);
            }
            f = self.frames[f].parent?;
        }
    }

    fn lookup_fn(&self, name: &str, mut f: usize) -> Option<Callable<'a>> {
        loop {
            if let Some(c) = self.frames[f].fns.get(name) {
                return Some(*c);
            }
            if let Some((e, _)) = self.frames[f].vars.get(name) {
                return Callable::of(e);
            }
            f = self.frames[f].parent?;
        }
    }

    fn defined(&self, name: &str, f: usize) -> bool {
        self.lookup_var(name, f).is_some() || self.lookup_fn(name, f).is_some()
    }

    /// Follow a function called at `site`: parameters bound to `args` (evaluated in
    /// `caller`), its scope's parent `parent` (the module for top-level functions, the
    /// enclosing one for callbacks).
    fn call(
        &mut self,
        c: Callable<'a>,
        args: &[&'a Expression<'a>],
        caller: usize,
        parent: usize,
        site: Option<Loc>,
    ) -> Vec<Step> {
        let mut out = Vec::new();
        if self.stack.contains(&c.span()) {
            let loc = site.unwrap_or_else(|| self.at(c.span()));
            self.push(
                &mut out,
                Step::Todo {
                    loc,
                    msg: "a recursive call: its requests are not followed".into(),
                },
            );
            return out;
        }
        if self.stack.len() > MAX_CALL_DEPTH {
            let loc = site.unwrap_or_else(|| self.at(c.span()));
            self.push(
                &mut out,
                Step::Todo {
                    loc,
                    msg: format!(
                        "calls nested more than {MAX_CALL_DEPTH} deep (helpers calling \
                         helpers): the requests of this one are not followed"
                    ),
                },
            );
            return out;
        }
        if !self.enter(c.span()) {
            return out;
        }
        let frame = self.frames.len();
        if frame > MAX_ITEMS {
            let loc = site.unwrap_or_else(|| self.at(c.span()));
            let msg = format!(
                "following the function calls of the script keeps more than {MAX_ITEMS} of \
                 their scopes (their assignments to outer variables outlive them){}; surge \
                 expands each call in place: call the helpers fewer times",
                self.through()
            );
            self.levels -= 1;
            self.halt(loc, msg);
            return out;
        }
        let escapes = self.escapes;
        let mut vars = HashMap::new();
        for (i, p) in c.params().items.iter().enumerate() {
            if let BindingPattern::BindingIdentifier(id) = &p.pattern {
                if let Some(a) = args.get(i) {
                    vars.insert(id.name.as_str(), (*a, caller));
                } else if let Some(d) = &p.initializer {
                    vars.insert(id.name.as_str(), (&**d, frame));
                }
            }
        }
        self.frames.push(Frame {
            parent: Some(parent),
            vars,
            fns: HashMap::new(),
        });
        self.stack.push(c.span());
        self.sites.extend(site);
        match c {
            Callable::Function(f) => {
                if let Some(b) = &f.body {
                    self.statements(&b.statements, frame, &mut out);
                }
            }
            Callable::Arrow(a) => match &a.body {
                ArrowFunctionBody::FunctionBody(b) => {
                    self.statements(&b.statements, frame, &mut out)
                }
                body => {
                    if let Some(e) = body.as_expression() {
                        self.expr(e, frame, &mut out);
                    }
                }
            },
        }
        if site.is_some() {
            self.sites.pop();
        }
        self.stack.pop();
        self.levels -= 1;
        // Nothing older refers to this call's frames: drop them, so memory follows the depth
        // of the calls, not their number.
        if self.escapes == escapes {
            self.frames.truncate(frame);
        }
        out
    }

    fn statements(&mut self, body: &'a [Statement<'a>], f: usize, out: &mut Vec<Step>) {
        // Hoisted function declarations are callable from anywhere in the body.
        for s in body {
            if let Statement::FunctionDeclaration(d) = s {
                if let Some(id) = &d.id {
                    self.frames[f]
                        .fns
                        .insert(id.name.as_str(), Callable::Function(d));
                }
            }
        }
        for s in body {
            self.statement(s, f, out);
        }
    }

    fn statement(&mut self, s: &'a Statement<'a>, f: usize, out: &mut Vec<Step>) {
        if self.enter(s.span()) {
            self.statement_in(s, f, out);
            self.levels -= 1;
        }
    }

    fn statement_in(&mut self, s: &'a Statement<'a>, f: usize, out: &mut Vec<Step>) {
        match s {
            Statement::VariableDeclaration(v) => {
                for d in &v.declarations {
                    if let Some(init) = &d.init {
                        self.expr(init, f, out);
                        if let BindingPattern::BindingIdentifier(id) = &d.id {
                            self.frames[f].vars.insert(id.name.as_str(), (init, f));
                        }
                    }
                }
            }
            Statement::ExpressionStatement(e) => match e.expression.without_parentheses() {
                Expression::CallExpression(c) => self.call_expr(c, f, out, true),
                Expression::AwaitExpression(a) => match a.argument.without_parentheses() {
                    Expression::CallExpression(c) => self.call_expr(c, f, out, true),
                    x => self.expr(x, f, out),
                },
                x => self.expr(x, f, out),
            },
            Statement::ReturnStatement(r) => {
                if let Some(a) = &r.argument {
                    self.expr(a, f, out);
                }
            }
            Statement::BlockStatement(b) => self.statements(&b.body, f, out),
            Statement::IfStatement(i) => {
                self.expr(&i.test, f, out);
                let mut then = Vec::new();
                self.statement(&i.consequent, f, &mut then);
                let mut els = Vec::new();
                if let Some(a) = &i.alternate {
                    self.statement(a, f, &mut els);
                }
                self.branch(i.span, &i.test, then, els, out);
            }
            Statement::ForStatement(l) => {
                let mut body = Vec::new();
                self.statement(&l.body, f, &mut body);
                if !body.iter().any(|s| !matches!(s, Step::Note { .. })) {
                    return;
                }
                let count = self.for_count(l, f);
                // Its arithmetic ran once per iteration, far cheaper than a statement.
                if !self.work(u64::from(count.unwrap_or(u16::MAX.into())) / 16, l.span) {
                    return;
                }
                match count {
                    Some(0) => {}
                    Some(count) => self.push(
                        out,
                        Step::Loop {
                            count,
                            loc: self.at(l.span),
                            steps: body,
                        },
                    ),
                    None => self.once(l.span, body, out),
                }
            }
            Statement::ForOfStatement(l) => self.loop_once(l.span, &l.body, f, out),
            Statement::ForInStatement(l) => self.loop_once(l.span, &l.body, f, out),
            Statement::WhileStatement(l) => self.loop_once(l.span, &l.body, f, out),
            Statement::DoWhileStatement(l) => self.loop_once(l.span, &l.body, f, out),
            Statement::TryStatement(t) => {
                self.statements(&t.block.body, f, out);
                if let Some(fin) = &t.finalizer {
                    self.statements(&fin.body, f, out);
                }
            }
            Statement::SwitchStatement(sw) => {
                let mut inner = Vec::new();
                for c in &sw.cases {
                    self.statements(&c.consequent, f, &mut inner);
                }
                if inner.iter().any(Step::is_request) {
                    self.push(
                        out,
                        Step::Todo {
                            loc: self.at(sw.span),
                            msg: format!(
                                "a `switch` picks among requests at run time: `{}`; split it into \
                             weighted flows",
                                self.src(sw.discriminant.span())
                            ),
                        },
                    );
                }
            }
            Statement::LabeledStatement(l) => self.statement(&l.body, f, out),
            _ => {}
        }
    }

    /// An `if` (or `?:`): the requests of the `then` side are kept, with a note; an `else`
    /// with requests is left for the user (a flow has no branches).
    fn branch(
        &mut self,
        span: Span,
        test: &Expression,
        then: Vec<Step>,
        els: Vec<Step>,
        out: &mut Vec<Step>,
    ) {
        let cond = self.src(test.span());
        if then.iter().any(|s| !matches!(s, Step::Note { .. })) {
            let mut then = then;
            // Nested `if`s make one note for their conjunction, not a comment line each.
            let mut conds = format!("`{cond}`");
            if let Some(Step::Note { msg, .. }) = then.first() {
                if let Some(inner) = msg
                    .strip_prefix(GUARD_NOTE)
                    .and_then(|m| m.strip_suffix(GUARD_TAIL))
                {
                    conds = if conds.len() + inner.len() > GUARD_MAX {
                        format!("{conds} and further nested conditions")
                    } else {
                        format!("{conds} and {inner}")
                    };
                    then.remove(0);
                }
            }
            self.push(
                out,
                Step::Note {
                    loc: self.at(span),
                    msg: format!("{GUARD_NOTE}{conds}{GUARD_TAIL}"),
                },
            );
            out.extend(then);
        }
        if els.iter().any(Step::is_request) {
            self.push(
                out,
                Step::Todo {
                    loc: self.at(span),
                    msg: format!(
                    "the `else` of `if ({cond})` sends other requests; a flow has no branches: \
                     make it a second flow and weight the two"
                ),
                },
            );
        }
    }

    fn loop_once(&mut self, span: Span, body: &'a Statement<'a>, f: usize, out: &mut Vec<Step>) {
        let mut inner = Vec::new();
        self.statement(body, f, &mut inner);
        self.once(span, inner, out);
    }

    fn once(&mut self, span: Span, body: Vec<Step>, out: &mut Vec<Step>) {
        if body.iter().any(|s| !matches!(s, Step::Note { .. })) {
            self.push(
                out,
                Step::Todo {
                    loc: self.at(span),
                    msg:
                        "a loop whose count is known only at run time: its body is imported once; \
                      wrap it in `- loop: {count: N, steps: [...]}`"
                            .into(),
                },
            );
            out.extend(body);
        }
    }

    /// `for (let i = A; i < B; i++)` with static bounds: its iteration count, found by running
    /// the loop's own arithmetic in f64 as JavaScript does. Any of `<`, `<=`, `>`, `>=`, `!=`,
    /// `!==` against a constant, and an update `i++`, `i--` (either side), `i += k`, `i -= k`,
    /// `i *= k`, `i /= k` or `i = i + k` (also `-`, `*`, `/`, and `k + i`). More than
    /// 65,535 iterations (or none ending) is left to the user.
    fn for_count(&self, l: &'a ForStatement<'a>, f: usize) -> Option<u32> {
        let Some(ForStatementInit::VariableDeclaration(v)) = &l.init else {
            return None;
        };
        let [d] = v.declarations.as_slice() else {
            return None;
        };
        let BindingPattern::BindingIdentifier(id) = &d.id else {
            return None;
        };
        let var = id.name.as_str();
        let is_var = |e: &Expression| matches!(e.without_parentheses(), Expression::Identifier(i) if i.name == var);
        let start = self.constant(d.init.as_ref()?, f)?;
        let Expression::BinaryExpression(t) = l.test.as_ref()?.without_parentheses() else {
            return None;
        };
        if !is_var(&t.left) {
            return None;
        }
        let end = self.constant(&t.right, f)?;
        let target_is_var = |a: &AssignmentTarget| matches!(a, AssignmentTarget::AssignmentTargetIdentifier(i) if i.name == var);
        // The update as (operator, operand): x ← x op k.
        let (op, k) = match l.update.as_ref()?.without_parentheses() {
            Expression::UpdateExpression(u) => {
                if !matches!(&u.argument, SimpleAssignmentTarget::AssignmentTargetIdentifier(i) if i.name == var)
                {
                    return None;
                }
                match u.operator {
                    UpdateOperator::Increment => (BinaryOperator::Addition, 1.0),
                    UpdateOperator::Decrement => (BinaryOperator::Subtraction, 1.0),
                }
            }
            Expression::AssignmentExpression(a) if target_is_var(&a.left) => match a.operator {
                AssignmentOperator::Addition => {
                    (BinaryOperator::Addition, self.constant(&a.right, f)?)
                }
                AssignmentOperator::Subtraction => {
                    (BinaryOperator::Subtraction, self.constant(&a.right, f)?)
                }
                AssignmentOperator::Multiplication => {
                    (BinaryOperator::Multiplication, self.constant(&a.right, f)?)
                }
                AssignmentOperator::Division => {
                    (BinaryOperator::Division, self.constant(&a.right, f)?)
                }
                AssignmentOperator::Assign => {
                    let Expression::BinaryExpression(b) = a.right.without_parentheses() else {
                        return None;
                    };
                    let k = if is_var(&b.left) {
                        self.constant(&b.right, f)?
                    } else if is_var(&b.right)
                        && matches!(
                            b.operator,
                            BinaryOperator::Addition | BinaryOperator::Multiplication
                        )
                    {
                        self.constant(&b.left, f)?
                    } else {
                        return None;
                    };
                    (b.operator, k)
                }
                _ => return None,
            },
            _ => return None,
        };
        let step = |x: f64| match op {
            BinaryOperator::Addition => Some(x + k),
            BinaryOperator::Subtraction => Some(x - k),
            BinaryOperator::Multiplication => Some(x * k),
            BinaryOperator::Division => Some(x / k),
            _ => None,
        };
        let holds = |x: f64| match t.operator {
            BinaryOperator::LessThan => Some(x < end),
            BinaryOperator::LessEqualThan => Some(x <= end),
            BinaryOperator::GreaterThan => Some(x > end),
            BinaryOperator::GreaterEqualThan => Some(x >= end),
            BinaryOperator::Inequality | BinaryOperator::StrictInequality => Some(x != end),
            _ => None,
        };
        let (mut x, mut n) = (start, 0u32);
        while holds(x)? {
            n += 1;
            if n > u32::from(u16::MAX) {
                return None;
            }
            x = step(x)?;
        }
        Some(n)
    }

    fn constant(&self, e: &'a Expression<'a>, f: usize) -> Option<f64> {
        self.lin(e, f, 0).filter(|l| l.b == 0.0).map(|l| l.a)
    }

    fn expr(&mut self, e: &'a Expression<'a>, f: usize, out: &mut Vec<Step>) {
        if self.enter(e.span()) {
            self.expr_in(e, f, out);
            self.levels -= 1;
        }
    }

    fn expr_in(&mut self, e: &'a Expression<'a>, f: usize, out: &mut Vec<Step>) {
        match e {
            Expression::CallExpression(c) => self.call_expr(c, f, out, false),
            Expression::ParenthesizedExpression(p) => self.expr(&p.expression, f, out),
            Expression::AwaitExpression(a) => self.expr(&a.argument, f, out),
            Expression::TSAsExpression(t) => self.expr(&t.expression, f, out),
            Expression::TSNonNullExpression(t) => self.expr(&t.expression, f, out),
            Expression::AssignmentExpression(a) => {
                self.expr(&a.right, f, out);
                if let AssignmentTarget::AssignmentTargetIdentifier(id) = &a.left {
                    if let Some(fr) = self.frame_of(id.name.as_str(), f) {
                        if fr < f {
                            self.escapes += 1;
                        }
                        self.frames[fr].vars.insert(id.name.as_str(), (&a.right, f));
                    }
                }
            }
            Expression::SequenceExpression(s) => {
                for x in &s.expressions {
                    self.expr(x, f, out);
                }
            }
            Expression::BinaryExpression(b) => {
                self.expr(&b.left, f, out);
                self.expr(&b.right, f, out);
            }
            Expression::LogicalExpression(b) => {
                self.expr(&b.left, f, out);
                let mut right = Vec::new();
                self.expr(&b.right, f, &mut right);
                self.branch(b.span, &b.left, right, Vec::new(), out);
            }
            Expression::ConditionalExpression(c) => {
                self.expr(&c.test, f, out);
                let (mut then, mut els) = (Vec::new(), Vec::new());
                self.expr(&c.consequent, f, &mut then);
                self.expr(&c.alternate, f, &mut els);
                self.branch(c.span, &c.test, then, els, out);
            }
            Expression::ObjectExpression(o) => {
                for p in &o.properties {
                    if let ObjectPropertyKind::ObjectProperty(p) = p {
                        if !p.method && Callable::of(&p.value).is_none() {
                            self.expr(&p.value, f, out);
                        }
                    }
                }
            }
            Expression::ArrayExpression(a) => {
                for el in &a.elements {
                    if let Some(x) = el.as_expression() {
                        if Callable::of(x).is_none() {
                            self.expr(x, f, out);
                        }
                    }
                }
            }
            Expression::TemplateLiteral(t) => {
                for x in &t.expressions {
                    self.expr(x, f, out);
                }
            }
            Expression::StaticMemberExpression(m) => self.expr(&m.object, f, out),
            Expression::ComputedMemberExpression(m) => self.expr(&m.object, f, out),
            Expression::ChainExpression(c) => {
                if let ChainElement::CallExpression(call) = &c.expression {
                    self.call_expr(call, f, out, false);
                }
            }
            Expression::NewExpression(n) => self.args(&n.arguments, f, out),
            Expression::UnaryExpression(u) => self.expr(&u.argument, f, out),
            _ => {}
        }
    }

    /// The frame that declares `name` (for assignments), if any.
    fn frame_of(&self, name: &str, mut f: usize) -> Option<usize> {
        loop {
            if self.frames[f].vars.contains_key(name) {
                return Some(f);
            }
            f = self.frames[f].parent?;
        }
    }

    /// Walk call arguments that are not callbacks (`check(http.get(url), {...})`).
    fn args(&mut self, args: &'a [Argument<'a>], f: usize, out: &mut Vec<Step>) {
        for a in args {
            if let Some(x) = a.as_expression() {
                if Callable::of(x).is_none() {
                    self.expr(x, f, out);
                }
            }
        }
    }

    /// A call; `stmt` when it stands as a statement, where an unknown function is taken as an
    /// action that may send requests (in a value position it is taken as a data helper).
    fn call_expr(&mut self, c: &'a CallExpression<'a>, f: usize, out: &mut Vec<Step>, stmt: bool) {
        let loc = self.at(c.span);
        match c.callee.without_parentheses() {
            Expression::StaticMemberExpression(m) => {
                let method = m.property.name.as_str();
                if self.is_http(&m.object, f) {
                    let obj = self.src(m.object.span());
                    self.http_call(&format!("{obj}.{method}"), method, c, f, loc, out);
                    return;
                }
                if let Expression::Identifier(id) = m.object.without_parentheses() {
                    let name = id.name.as_str();
                    if let Some((module, _)) = self.m.imports.get(name) {
                        if OTHER_PROTOCOLS.contains(module) && !self.defined(name, f) {
                            self.push(
                                out,
                                Step::Todo {
                                    loc,
                                    msg: format!(
                                    "`{}` ({module}) is not an HTTP request; model its time as \
                                     a sleep, or give it an endpoint in the model",
                                    self.src(c.span)
                                ),
                                },
                            );
                            return;
                        }
                    }
                }
                self.expr(&m.object, f, out);
                self.args(&c.arguments, f, out);
            }
            Expression::Identifier(id) => {
                let name = id.name.as_str();
                if let Some(callable) = self.lookup_fn(name, f) {
                    let args: Vec<&'a Expression<'a>> = c
                        .arguments
                        .iter()
                        .filter_map(|a| a.as_expression())
                        .collect();
                    let steps = self.call(callable, &args, f, 0, Some(loc));
                    out.extend(steps);
                    return;
                }
                let import = self.m.imports.get(name).copied();
                match (name, import) {
                    (_, Some(("k6/http", Some(method)))) => {
                        self.http_call(name, method, c, f, loc, out)
                    }
                    ("sleep", None) | ("sleep", Some(("k6", _))) => self.sleep(c, f, loc, out),
                    ("group" | "describe", _) => {
                        let cb = c.arguments.get(1).and_then(|a| a.as_expression());
                        if let Some(cb) = cb.and_then(Callable::of) {
                            let steps = self.call(cb, &[], f, f, Some(loc));
                            out.extend(steps);
                        } else if let Some(Expression::Identifier(id)) =
                            cb.map(|e| e.without_parentheses())
                        {
                            // `group("checkout", doCheckout)`: the named function runs as if
                            // called here (upstream `examples/pantheon.js`).
                            match self.lookup_fn(id.name.as_str(), f) {
                                Some(named) => {
                                    let steps = self.call(named, &[], f, 0, Some(loc));
                                    out.extend(steps);
                                }
                                None => out.push(Step::Todo {
                                    loc,
                                    msg: format!(
                                        "`{}` runs `{}`, which this script does not define: add \
                                         its requests here",
                                        self.src(c.span),
                                        id.name
                                    ),
                                }),
                            }
                        }
                    }
                    (_, Some((module, _))) => {
                        let quiet = QUIET_MODULES.contains(&module)
                            || module.contains("jslib.k6.io")
                            || module.starts_with("k6/x/");
                        if OTHER_PROTOCOLS.contains(&module) {
                            self.push(
                                out,
                                Step::Todo {
                                    loc,
                                    msg: format!(
                                        "`{name}()` ({module}) is not an HTTP request; model its \
                                     time as a sleep, or give it an endpoint in the model"
                                    ),
                                },
                            );
                        } else if !quiet {
                            self.push(
                                out,
                                Step::Todo {
                                    loc,
                                    msg: format!(
                                        "calls `{}`, imported from {module:?}; surge reads only \
                                     this script: add that function's requests here",
                                        self.src(c.span)
                                    ),
                                },
                            );
                        }
                        self.args(&c.arguments, f, out);
                    }
                    (_, None) => {
                        if stmt
                            && !self.defined(name, f)
                            && !GLOBALS.contains(&name)
                            && name != "check"
                        {
                            self.push(
                                out,
                                Step::Todo {
                                    loc,
                                    msg: format!(
                                        "calls `{}`, which this script does not define: add its \
                                     requests here",
                                        self.src(c.span)
                                    ),
                                },
                            );
                        }
                        self.args(&c.arguments, f, out);
                    }
                }
            }
            other => {
                self.expr(other, f, out);
                self.args(&c.arguments, f, out);
            }
        }
    }

    /// `http` imported from k6/http (or named `http`), or `<anything>.http` (`k6.http`).
    fn is_http(&self, obj: &Expression, f: usize) -> bool {
        match obj.without_parentheses() {
            Expression::Identifier(id) => {
                let name = id.name.as_str();
                match self.m.imports.get(name) {
                    Some((module, imported)) => *module == "k6/http" && imported.is_none(),
                    None => name == "http" && self.lookup_var(name, f).is_none(),
                }
            }
            Expression::StaticMemberExpression(m) => m.property.name == "http",
            _ => false,
        }
    }

    fn http_call(
        &mut self,
        call: &str,
        method: &str,
        c: &'a CallExpression<'a>,
        f: usize,
        loc: Loc,
        out: &mut Vec<Step>,
    ) {
        let arg = |i: usize| c.arguments.get(i).and_then(|a| a.as_expression());
        let simple = match method {
            "get" => Some("get"),
            "post" => Some("post"),
            "put" => Some("put"),
            "patch" => Some("patch"),
            "del" => Some("delete"),
            "head" => Some("head"),
            "options" => Some("options"),
            _ => None,
        };
        if let Some(m) = simple {
            self.request(call, m, arg(0), f, loc, out);
            return;
        }
        match method {
            "request" | "asyncRequest" => {
                let m = arg(0).and_then(|e| self.string(e, f));
                match m {
                    Some(m) => self.request(call, &m.to_ascii_lowercase(), arg(1), f, loc, out),
                    None => self.push(
                        out,
                        Step::Todo {
                            loc,
                            msg: format!(
                                "the method of `{}` is computed at run time; write the request \
                             as `- get: /path` (or post, put, ...)",
                                self.src(c.span)
                            ),
                        },
                    ),
                }
            }
            "batch" => self.batch(call, arg(0), f, loc, out),
            // http.url`...`, http.file(...), http.expectedStatuses(...), setResponseCallback
            _ => self.args(&c.arguments, f, out),
        }
    }

    /// `http.batch([...])` or `http.batch({name: req, ...})`: each request, sent one after the
    /// other (k6 sends them in parallel; the note says so).
    fn batch(
        &mut self,
        call: &str,
        arg: Option<&'a Expression<'a>>,
        f: usize,
        loc: Loc,
        out: &mut Vec<Step>,
    ) {
        let items: Vec<&'a Expression<'a>> = match arg.map(|a| self.resolve(a, f)) {
            Some((Expression::ArrayExpression(a), _)) => a
                .elements
                .iter()
                .filter_map(|e| e.as_expression())
                .collect(),
            Some((Expression::ObjectExpression(o), _)) => o
                .properties
                .iter()
                .filter_map(|p| match p {
                    ObjectPropertyKind::ObjectProperty(p) => Some(&p.value),
                    _ => None,
                })
                .collect(),
            _ => {
                self.push(
                    out,
                    Step::Todo {
                        loc,
                        msg: format!(
                            "the requests of `{call}(...)` are computed at run time; list them as \
                         flow steps"
                        ),
                    },
                );
                return;
            }
        };
        self.push(
            out,
            Step::Note {
                loc,
                msg: format!(
                    "{call}: k6 sends these {} requests in parallel; surge sends them one after \
                 the other",
                    items.len()
                ),
            },
        );
        for it in items {
            match it.without_parentheses() {
                Expression::ArrayExpression(a) => {
                    let el = |i: usize| a.elements.get(i).and_then(|e| e.as_expression());
                    match el(0).and_then(|m| self.string(m, f)) {
                        Some(m) => self.request(call, &m.to_ascii_lowercase(), el(1), f, loc, out),
                        None => self.computed_method(call, it, loc, out),
                    }
                }
                Expression::ObjectExpression(o) => {
                    let field = |k: &str| {
                        o.properties.iter().find_map(|p| match p {
                            ObjectPropertyKind::ObjectProperty(p)
                                if p.key.static_name().is_some_and(|n| n == k) =>
                            {
                                Some(&p.value)
                            }
                            _ => None,
                        })
                    };
                    let m = match field("method") {
                        Some(m) => self.string(m, f),
                        None => Some("GET".into()),
                    };
                    match m {
                        Some(m) => {
                            self.request(call, &m.to_ascii_lowercase(), field("url"), f, loc, out)
                        }
                        None => self.computed_method(call, it, loc, out),
                    }
                }
                _ => self.request(call, "get", Some(it), f, loc, out),
            }
        }
    }

    /// A batch item whose method is known only at run time: a TODO, not a request.
    fn computed_method(&mut self, call: &str, it: &Expression<'a>, loc: Loc, out: &mut Vec<Step>) {
        let msg = format!(
            "a request of {call} has a computed method: `{}`",
            self.src(it.span())
        );
        self.push(out, Step::Todo { loc, msg });
    }

    fn request(
        &mut self,
        call: &str,
        method: &str,
        url: Option<&'a Expression<'a>>,
        f: usize,
        loc: Loc,
        out: &mut Vec<Step>,
    ) {
        if !matches!(
            method,
            "get" | "post" | "put" | "patch" | "delete" | "head" | "options"
        ) {
            self.push(
                out,
                Step::Todo {
                    loc,
                    msg: format!(
                        "{call} with method {:?}: surge flows send GET, POST, PUT, PATCH, DELETE, \
                     HEAD and OPTIONS",
                        method.to_ascii_uppercase()
                    ),
                },
            );
            return;
        }
        let Some(url) = url else {
            self.push(
                out,
                Step::Todo {
                    loc,
                    msg: format!("{call} without a URL"),
                },
            );
            return;
        };
        match self.path(url, f) {
            Ok(path) => self.push(
                out,
                Step::Http {
                    method: method.into(),
                    path,
                    loc,
                    call: call.into(),
                },
            ),
            Err(why) => self.push(
                out,
                Step::Todo {
                    loc,
                    msg: format!(
                        "the URL of this {} is {why}: `{}`; write it as `- {method}: /path`",
                        call,
                        self.src(url.span())
                    ),
                },
            ),
        }
    }

    /// Follow an identifier to the expression it names (through variables and arguments).
    fn resolve(&self, e: &'a Expression<'a>, f: usize) -> (&'a Expression<'a>, usize) {
        let (mut e, mut f) = (e.without_parentheses(), f);
        for _ in 0..16 {
            match e {
                Expression::Identifier(id) => match self.lookup_var(id.name.as_str(), f) {
                    Some((x, g)) => {
                        e = x.without_parentheses();
                        f = g;
                    }
                    None => break,
                },
                _ => break,
            }
        }
        (e, f)
    }

    fn string(&self, e: &'a Expression<'a>, f: usize) -> Option<String> {
        let mut s = String::new();
        for p in self.parts(e, f, 0) {
            match p {
                Part::Lit(l) => s.push_str(&l),
                Part::Hole(_) => return None,
            }
        }
        Some(s)
    }

    /// A URL as literal text and holes (values known only at run time).
    fn parts(&self, e: &'a Expression<'a>, f: usize, depth: u32) -> Vec<Part> {
        if depth > 32 || self.spent() {
            return vec![Part::Hole("param".into())];
        }
        match e.without_parentheses() {
            Expression::StringLiteral(s) => vec![Part::Lit(s.value.to_string())],
            Expression::NumericLiteral(n) => vec![Part::Lit(format!("{}", n.value))],
            Expression::TemplateLiteral(t) => self.template(t, f, depth),
            Expression::TaggedTemplateExpression(t) => self.template(&t.quasi, f, depth),
            Expression::BinaryExpression(b) if b.operator == BinaryOperator::Addition => {
                let mut v = self.parts(&b.left, f, depth + 1);
                v.extend(self.parts(&b.right, f, depth + 1));
                v
            }
            Expression::Identifier(id) => match self.lookup_var(id.name.as_str(), f) {
                Some((x, g)) => {
                    let v = self.parts(x, g, depth + 1);
                    // A variable computed at run time: its name is the best placeholder.
                    match v.as_slice() {
                        [Part::Hole(_)] => vec![Part::Hole(id.name.to_string())],
                        _ => v,
                    }
                }
                None => vec![Part::Hole(id.name.to_string())],
            },
            Expression::StaticMemberExpression(m) => vec![Part::Hole(m.property.name.to_string())],
            Expression::CallExpression(c) => {
                // encodeURIComponent(x), String(x): the hole is x's.
                match c.arguments.first().and_then(|a| a.as_expression()) {
                    Some(Expression::Identifier(id)) => vec![Part::Hole(id.name.to_string())],
                    Some(Expression::StaticMemberExpression(m)) => {
                        vec![Part::Hole(m.property.name.to_string())]
                    }
                    _ => vec![Part::Hole("param".into())],
                }
            }
            _ => vec![Part::Hole("param".into())],
        }
    }

    fn template(&self, t: &'a TemplateLiteral<'a>, f: usize, depth: u32) -> Vec<Part> {
        let mut v = Vec::new();
        for (i, q) in t.quasis.iter().enumerate() {
            let text = q.value.cooked.as_ref().map_or(q.value.raw.as_str(), |c| c);
            if !text.is_empty() {
                v.push(Part::Lit(text.to_string()));
            }
            if let Some(x) = t.expressions.get(i) {
                v.extend(self.parts(x, f, depth + 1));
            }
        }
        v
    }

    /// The path of a request URL: scheme and host dropped (a leading run-time value is taken
    /// as the base URL), the query dropped, other run-time values as `{name}` placeholders.
    fn path(&self, e: &'a Expression<'a>, f: usize) -> Result<String, String> {
        let mut parts = self.parts(e, f, 0);
        if parts.iter().all(|p| matches!(p, Part::Hole(_))) {
            return Err("computed at run time".into());
        }
        if matches!(parts.first(), Some(Part::Hole(_))) {
            parts.remove(0);
        }
        let mut s = String::new();
        for p in &parts {
            match p {
                Part::Lit(l) => s.push_str(l),
                Part::Hole(h) => {
                    let name: String = h
                        .chars()
                        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    s.push('{');
                    s.push_str(if name.is_empty() { "param" } else { &name });
                    s.push('}');
                }
            }
        }
        if let Some(i) = s.find("://") {
            let rest = &s[i + 3..];
            s = match rest.find('/') {
                Some(j) => rest[j..].to_string(),
                None => "/".into(),
            };
        }
        if let Some(i) = s.find(['?', '#']) {
            s.truncate(i);
        }
        if s.starts_with('{') {
            return Err("a path computed at run time".into());
        }
        if !s.starts_with('/') {
            s.insert(0, '/');
        }
        Ok(s)
    }

    fn sleep(&mut self, c: &'a CallExpression<'a>, f: usize, loc: Loc, out: &mut Vec<Step>) {
        let Some(arg) = c.arguments.first().and_then(|a| a.as_expression()) else {
            return;
        };
        match self.think(arg, f) {
            Some(Some(dist)) => self.push(out, Step::Sleep { dist, loc }),
            Some(None) => {}
            None => {
                let why = match self.lin(arg, f, 0) {
                    Some(l)
                        if (l.a + l.b.max(0.0)).is_nan() || l.a + l.b.max(0.0) >= MAX_SLEEP_S =>
                    {
                        "is longer than k6 can sleep (a Go Duration holds 292 years)"
                    }
                    Some(l) if l.a + l.b.min(0.0) < 0.0 => {
                        "may be negative, which k6 sleeps as 0: max(0, …) is not a surge \
                         distribution"
                    }
                    _ => "is computed at run time",
                };
                self.push(
                    out,
                    Step::Todo {
                        loc,
                        msg: format!(
                            "`{}` {why}; replace it with `- sleep: <distribution>` (e.g. \
                         uniform(1s,3s))",
                            self.src(c.span)
                        ),
                    },
                )
            }
        }
    }

    /// A think time in seconds as a distribution; `Some(None)` for no sleep at all.
    fn think(&self, e: &'a Expression<'a>, f: usize) -> Option<Option<String>> {
        let (x, g) = self.resolve(e, f);
        if let Expression::CallExpression(c) = x {
            if let Expression::Identifier(id) = c.callee.without_parentheses() {
                if id.name == "randomIntBetween" && self.lookup_fn("randomIntBetween", g).is_none()
                {
                    // k6-utils: Math.floor(Math.random() * (max - min + 1) + min)
                    let a = c.arguments.first()?.as_expression()?;
                    let b = c.arguments.get(1)?.as_expression()?;
                    let (lo, hi) = (self.constant(a, g)?, self.constant(b, g)?);
                    let (lo, hi) = (lo.ceil(), hi.floor());
                    if lo < 0.0 || hi < lo || hi - lo > 100.0 {
                        return None;
                    }
                    if lo == hi {
                        return Some(Some(format!("const({})", secs(lo))));
                    }
                    let pts: Vec<String> =
                        (lo as u64..=hi as u64).map(|v| secs(v as f64)).collect();
                    return Some(Some(format!("empirical({})", pts.join(","))));
                }
            }
        }
        let l = self.lin(e, f, 0)?;
        let (lo, hi) = (l.a + l.b.min(0.0), l.a + l.b.max(0.0));
        if !(lo.is_finite() && hi.is_finite()) || hi >= MAX_SLEEP_S {
            return None;
        }
        // k6's sleep of 0 or less returns at once (a timer of a non-positive Duration).
        if hi <= 0.0 {
            return Some(None);
        }
        if lo < 0.0 {
            return None;
        }
        Some(Some(if lo == hi {
            format!("const({})", secs(lo))
        } else {
            format!("uniform({},{})", secs(lo), secs(hi))
        }))
    }

    /// `e` as `a + b·Math.random()`, when it is one.
    fn lin(&self, e: &'a Expression<'a>, f: usize, depth: u32) -> Option<Lin> {
        if depth > 32 || self.spent() {
            return None;
        }
        let d = depth + 1;
        match e.without_parentheses() {
            Expression::NumericLiteral(n) => Some(Lin { a: n.value, b: 0.0 }),
            Expression::UnaryExpression(u) if u.operator == UnaryOperator::UnaryNegation => {
                let l = self.lin(&u.argument, f, d)?;
                Some(Lin { a: -l.a, b: -l.b })
            }
            Expression::Identifier(id) => {
                let (x, g) = self.lookup_var(id.name.as_str(), f)?;
                self.lin(x, g, d)
            }
            Expression::CallExpression(c)
                if c.arguments.is_empty()
                    && c.callee
                        .without_parentheses()
                        .is_specific_member_access("Math", "random") =>
            {
                Some(Lin { a: 0.0, b: 1.0 })
            }
            Expression::BinaryExpression(b) => {
                let (x, y) = (self.lin(&b.left, f, d)?, self.lin(&b.right, f, d)?);
                match b.operator {
                    // Two independent Math.random() calls do not add up to a uniform.
                    BinaryOperator::Addition if x.b == 0.0 || y.b == 0.0 => Some(Lin {
                        a: x.a + y.a,
                        b: x.b + y.b,
                    }),
                    BinaryOperator::Subtraction if x.b == 0.0 || y.b == 0.0 => Some(Lin {
                        a: x.a - y.a,
                        b: x.b - y.b,
                    }),
                    BinaryOperator::Multiplication if x.b == 0.0 => Some(Lin {
                        a: y.a * x.a,
                        b: y.b * x.a,
                    }),
                    BinaryOperator::Multiplication if y.b == 0.0 => Some(Lin {
                        a: x.a * y.a,
                        b: x.b * y.a,
                    }),
                    BinaryOperator::Division if y.b == 0.0 && y.a != 0.0 => Some(Lin {
                        a: x.a / y.a,
                        b: x.b / y.a,
                    }),
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

/// Seconds as a surge duration (`1s`, `1.5s`, `250ms`).
fn secs(s: f64) -> String {
    crate::dist::format_duration(crate::engine::secs_to_ns(s))
}
