//! The subset of filtrex 2.2.3 (the expression language of Artillery's ensure plugin, pinned in
//! art `packages/artillery-plugin-ensure/package.json`) that makes sense on numeric metrics.
//!
//! Upstream: npm `filtrex@2.2.3`, `src/generateParser.js` (the jison grammar: lexer rules,
//! operator precedence and the JavaScript each rule compiles to) and `src/filtrex.mjs`
//! (`compileExpression`, the functions, `prop`). No Rust crate implements filtrex, and its
//! quirks decide verdicts, so this is a small hand-written lexer and precedence-climbing parser
//! that mirrors the jison tables:
//!
//! - **Lexer**: jison takes the *first* rule that matches, in the grammar's order. `and`, `or`,
//!   `not`, `in` are keywords only when followed by a non-word character, and that character is
//!   part of the token: `a and-1` reads as `a and 1`, and `not(x)` loses its `(`. Numbers are
//!   `[0-9]+(\.[0-9]+)?\b` (no exponent, no leading dot, no sign); names are
//!   `[a-zA-Z$_][.a-zA-Z0-9$_]*`, so `http.response_time.p95` is one name.
//! - **Precedence**, lowest first, all left-associative: `? :`, `or`, `and`, `in`,
//!   `== !=`, `< <= > >=`, `+ -`, `* / %`, `^`, `not`, unary minus. So `not x < 1` is
//!   `(not x) < 1`, `-2 ^ 2` is 4, `2 ^ 3 ^ 2` is 64, `1 < 2 < 3` is `(1 < 2) < 3`, and
//!   `a ? b : c ? d : e` is `(a ? b : c) ? d : e`. jison gives a rule the precedence of its
//!   leftmost operator token, so `x not in l` has `not`'s: `a == b not in (1)` is
//!   `a == (b not in (1))` and `x not in (1) + 1` is `(x not in (1)) + 1`, while
//!   `a == b in (1)` is `(a == b) in (1)`.
//! - **Values** are JavaScript's: a name missing from the data is `undefined`, which is `NaN` in
//!   arithmetic and comparisons, but `undefined == undefined` is true. Comparisons and `not`
//!   give 1 or 0 (`Number(a < b)`); `a and b` is `Number(a && b)`, `a or b` `Number(a || b)`
//!   (so `2 and 3` is 3, and `undefined and 1` is NaN); `x ? y : z` gives `y` or `z` as they
//!   are (possibly `undefined`). `^` is `Math.pow`, `%` JavaScript's remainder.
//!
//! Not supported, each refused with its column: strings (`"a"`), quoted names (`'a-b'`), `~=`,
//! `of`, `random()` (a simulation must be reproducible), unknown functions (filtrex returns a
//! ReferenceError at run time, which ensure counts as a failed check), and a list `(a, b)`
//! anywhere but as an operand of `in` / `not in`.

use crate::config::artillery::js_number;
use std::fmt;

/// A value as filtrex computes it. Lists only exist as operands of `in` and are not values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value {
    Num(f64),
    /// JavaScript's `undefined`: a name the data does not have.
    Undefined,
}

impl Value {
    /// JavaScript truthiness: 0, NaN and undefined are false.
    fn truthy(self) -> bool {
        matches!(self, Value::Num(x) if x != 0.0 && !x.is_nan())
    }

    /// JavaScript `Number(v)`.
    pub fn number(self) -> f64 {
        match self {
            Value::Num(x) => x,
            Value::Undefined => f64::NAN,
        }
    }

    /// ensure passes a check only when its result `=== 1`.
    pub fn is_one(self) -> bool {
        self == Value::Num(1.0)
    }

    /// SameValueZero, as `Array.prototype.includes` compares (NaN equals NaN).
    fn same_value_zero(self, other: Value) -> bool {
        match (self, other) {
            (Value::Num(a), Value::Num(b)) => a == b || (a.is_nan() && b.is_nan()),
            (Value::Undefined, Value::Undefined) => true,
            _ => false,
        }
    }

    /// JavaScript `==` between numbers and undefined.
    #[allow(clippy::float_cmp)]
    fn loose_eq(self, other: Value) -> bool {
        match (self, other) {
            (Value::Num(a), Value::Num(b)) => a == b,
            (Value::Undefined, Value::Undefined) => true,
            _ => false,
        }
    }
}

impl fmt::Display for Value {
    /// As JavaScript's `String(v)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Num(x) => f.write_str(&js_number(*x)),
            Value::Undefined => f.write_str("undefined"),
        }
    }
}

/// A parse error: what was expected, at a 1-based character column of the expression.
#[derive(Clone, Debug, PartialEq)]
pub struct ParseError {
    pub column: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {}: {}", self.column, self.message)
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Pow,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
    In,
    NotIn,
}

/// The pure functions of filtrex's table (`Math.*`); `random` is left out.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Func {
    Abs,
    Ceil,
    Floor,
    Log,
    Max,
    Min,
    Round,
    Sqrt,
}

impl Func {
    fn of(name: &str) -> Option<Func> {
        Some(match name {
            "abs" => Func::Abs,
            "ceil" => Func::Ceil,
            "floor" => Func::Floor,
            "log" => Func::Log,
            "max" => Func::Max,
            "min" => Func::Min,
            "round" => Func::Round,
            "sqrt" => Func::Sqrt,
            _ => return None,
        })
    }

    /// `Math.f(...args)`: missing arguments are undefined (NaN), extra ones ignored.
    fn call(self, args: &[f64]) -> f64 {
        let x = args.first().copied().unwrap_or(f64::NAN);
        match self {
            Func::Abs => x.abs(),
            Func::Ceil => x.ceil(),
            Func::Floor => x.floor(),
            Func::Log => x.ln(),
            Func::Sqrt => x.sqrt(),
            Func::Round => js_round(x),
            Func::Max => js_extremum(args, f64::NEG_INFINITY, |a, b| a > b),
            Func::Min => js_extremum(args, f64::INFINITY, |a, b| a < b),
        }
    }
}

/// `Math.round`: halves round up (towards +∞), `-2.5` → `-2`.
fn js_round(x: f64) -> f64 {
    let f = x.floor();
    let r = if x - f >= 0.5 { f + 1.0 } else { f };
    if r == 0.0 {
        0.0f64.copysign(x)
    } else {
        r
    }
}

/// `Math.max` / `Math.min`: NaN if any argument is, the empty case's identity otherwise.
fn js_extremum(args: &[f64], identity: f64, better: fn(f64, f64) -> bool) -> f64 {
    let mut out = identity;
    for &a in args {
        if a.is_nan() {
            return f64::NAN;
        }
        // +0 is above -0 for max (and -0 below +0 for min), as in JavaScript.
        let tie_on_zero = a == 0.0 && out == 0.0 && better(sign_of_zero(a), sign_of_zero(out));
        if better(a, out) || tie_on_zero {
            out = a;
        }
    }
    out
}

fn sign_of_zero(z: f64) -> f64 {
    if z.is_sign_negative() {
        -1.0
    } else {
        1.0
    }
}

/// `Math.pow`, which differs from IEEE `pow` on a NaN exponent and on `(±1) ^ ±∞` (NaN).
fn js_pow(b: f64, e: f64) -> f64 {
    if e.is_nan() || (b.abs() == 1.0 && e.is_infinite()) {
        f64::NAN
    } else {
        b.powf(e)
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Node {
    Num(f64),
    Var(String),
    Neg(Box<Node>),
    Not(Box<Node>),
    Bin(BinOp, Box<Node>, Box<Node>),
    Cond(Box<Node>, Box<Node>, Box<Node>),
    Call(Func, Vec<Node>),
    /// `(a, b, ...)`: only as an operand of `in` / `not in`.
    List(Vec<Node>, usize),
}

/// A parsed filtrex expression.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    root: Node,
    /// The names it reads, in order of first appearance, with their 1-based columns.
    names: Vec<(String, usize)>,
}

impl Expr {
    /// Parses `src` as filtrex 2.2.3 would, or says what is wrong and where.
    pub fn parse(src: &str) -> Result<Expr, ParseError> {
        // Evaluation recurses over the tree: bound it (jison has no such limit, but no check
        // needs to be this long).
        if src.chars().count() > MAX_CHARS {
            return Err(ParseError {
                column: MAX_CHARS + 1,
                message: format!("expected at most {MAX_CHARS} characters"),
            });
        }
        let toks = lex(src)?;
        let mut p = Parser {
            toks,
            i: 0,
            names: Vec::new(),
            depth: 0,
        };
        let root = p.expr(0)?;
        if p.peek().tok != Tok::Eof {
            return Err(p.unexpected("an operator or the end of the expression"));
        }
        lists_only_beside_in(&root, false)?;
        Ok(Expr {
            root,
            names: p.names,
        })
    }

    /// Every name the expression reads (not the functions it calls), with its column.
    pub fn names(&self) -> &[(String, usize)] {
        &self.names
    }

    /// The expression's value; `lookup` gives a name's value, or None for `undefined`.
    pub fn eval(&self, lookup: &dyn Fn(&str) -> Option<f64>) -> Value {
        eval(&self.root, lookup)
    }
}

/// A list must be an operand of `in`: anywhere else JavaScript would turn it into a string.
fn lists_only_beside_in(n: &Node, beside_in: bool) -> Result<(), ParseError> {
    match n {
        Node::List(items, col) => {
            if !beside_in {
                return Err(ParseError {
                    column: *col,
                    message: "a list `(a, b, ...)` is only supported as an operand of `in` or \
                              `not in`"
                        .into(),
                });
            }
            items
                .iter()
                .try_for_each(|x| lists_only_beside_in(x, false))
        }
        Node::Num(_) | Node::Var(_) => Ok(()),
        Node::Neg(x) | Node::Not(x) => lists_only_beside_in(x, false),
        Node::Bin(op, a, b) => {
            let inn = matches!(op, BinOp::In | BinOp::NotIn);
            lists_only_beside_in(a, inn)?;
            lists_only_beside_in(b, inn)
        }
        Node::Cond(a, b, c) => [a, b, c]
            .into_iter()
            .try_for_each(|x| lists_only_beside_in(x, false)),
        Node::Call(_, args) => args.iter().try_for_each(|x| lists_only_beside_in(x, false)),
    }
}

fn num(b: bool) -> Value {
    Value::Num(if b { 1.0 } else { 0.0 })
}

fn eval(n: &Node, lookup: &dyn Fn(&str) -> Option<f64>) -> Value {
    let ev = |x: &Node| eval(x, lookup);
    match n {
        Node::Num(x) => Value::Num(*x),
        Node::Var(name) => lookup(name).map_or(Value::Undefined, Value::Num),
        Node::Neg(x) => Value::Num(-ev(x).number()),
        Node::Not(x) => num(!ev(x).truthy()),
        Node::Cond(c, a, b) => {
            if ev(c).truthy() {
                ev(a)
            } else {
                ev(b)
            }
        }
        Node::Call(f, args) => {
            let xs: Vec<f64> = args.iter().map(|a| ev(a).number()).collect();
            Value::Num(f.call(&xs))
        }
        // Refused by the parser outside `in`.
        Node::List(..) => Value::Undefined,
        Node::Bin(op, a, b) => {
            // `Number(a && b)` / `Number(a || b)`: the deciding operand, as a number.
            match op {
                BinOp::And => {
                    let l = ev(a);
                    return Value::Num(if l.truthy() { ev(b) } else { l }.number());
                }
                BinOp::Or => {
                    let l = ev(a);
                    return Value::Num(if l.truthy() { l } else { ev(b) }.number());
                }
                BinOp::In | BinOp::NotIn => {
                    let (xs, set) = (members(a, lookup), members(b, lookup));
                    let sub = xs.iter().all(|x| set.iter().any(|s| x.same_value_zero(*s)));
                    return num(sub == (*op == BinOp::In));
                }
                _ => {}
            }
            let (l, r) = (ev(a), ev(b));
            let (x, y) = (l.number(), r.number());
            match op {
                BinOp::Add => Value::Num(x + y),
                BinOp::Sub => Value::Num(x - y),
                BinOp::Mul => Value::Num(x * y),
                BinOp::Div => Value::Num(x / y),
                BinOp::Rem => Value::Num(x % y),
                BinOp::Pow => Value::Num(js_pow(x, y)),
                BinOp::Eq => num(l.loose_eq(r)),
                BinOp::Ne => num(!l.loose_eq(r)),
                BinOp::Lt => num(x < y),
                BinOp::Le => num(x <= y),
                BinOp::Gt => num(x > y),
                BinOp::Ge => num(x >= y),
                BinOp::And | BinOp::Or | BinOp::In | BinOp::NotIn => unreachable!("handled above"),
            }
        }
    }
}

/// An operand of `in` as filtrex's `std.coerceArray` sees it: a list's items, or the value.
fn members(n: &Node, lookup: &dyn Fn(&str) -> Option<f64>) -> Vec<Value> {
    match n {
        Node::List(items, _) => items.iter().map(|x| eval(x, lookup)).collect(),
        other => vec![eval(other, lookup)],
    }
}

// ---- lexer -----------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Num(f64),
    Sym(String),
    /// `* / - + ^ % ( ) , == != ~= >= <= < > ? :`
    Punct(&'static str),
    And,
    Or,
    Not,
    In,
    Of,
    Eof,
}

#[derive(Clone, Debug)]
struct Token {
    tok: Tok,
    /// 1-based character column.
    column: usize,
    /// The keyword swallowed this character (jison's `and[^\w]` and the like).
    swallowed: Option<char>,
}

/// JavaScript's `\w`.
fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

const PUNCT: [&str; 18] = [
    "*", "/", "-", "+", "^", "%", "(", ")", ",", "==", "!=", "~=", ">=", "<=", "<", ">", "?", ":",
];

fn lex(src: &str) -> Result<Vec<Token>, ParseError> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let at = |i: usize| chars.get(i).copied();
    let starts = |i: usize, s: &str| s.chars().enumerate().all(|(k, c)| at(i + k) == Some(c));
    let err = |i: usize, message: String| ParseError {
        column: i + 1,
        message,
    };
    while i < chars.len() {
        let column = i + 1;
        let push = |out: &mut Vec<Token>, tok, swallowed| {
            out.push(Token {
                tok,
                column,
                swallowed,
            })
        };
        if let Some(p) = PUNCT.iter().find(|p| starts(i, p)) {
            push(&mut out, Tok::Punct(p), None);
            i += p.chars().count();
            continue;
        }
        let keyword = [
            ("and", Tok::And),
            ("or", Tok::Or),
            ("not", Tok::Not),
            ("in", Tok::In),
            ("of", Tok::Of),
        ]
        .into_iter()
        .find(|(k, _)| starts(i, k) && at(i + k.len()).is_some_and(|c| !is_word(c)));
        if let Some((k, tok)) = keyword {
            let next = chars[i + k.len()];
            push(&mut out, tok, (!next.is_whitespace()).then_some(next));
            i += k.len() + 1;
            continue;
        }
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c.is_ascii_digit() {
            let int_end = (i..chars.len())
                .find(|&k| !chars[k].is_ascii_digit())
                .unwrap_or(chars.len());
            let frac_end = (at(int_end) == Some('.')
                && at(int_end + 1).is_some_and(|d| d.is_ascii_digit()))
            .then(|| {
                (int_end + 1..chars.len())
                    .find(|&k| !chars[k].is_ascii_digit())
                    .unwrap_or(chars.len())
            });
            let boundary = |end: usize| at(end).is_none_or(|c| !is_word(c));
            // `\b` after the digits; without it the regex backtracks to the integer part
            // (followed by its `.`), or does not match at all.
            let end = match frac_end {
                Some(f) if boundary(f) => f,
                Some(_) => int_end,
                None if boundary(int_end) => int_end,
                None => {
                    return Err(err(
                        i,
                        format!(
                            "cannot read the number at {:?}: filtrex numbers are digits with an \
                             optional fraction (no exponent, no unit)",
                            chars[i..].iter().take(12).collect::<String>()
                        ),
                    ))
                }
            };
            let text: String = chars[i..end].iter().collect();
            let x = text
                .parse()
                .map_err(|_| err(i, format!("bad number {text:?}")))?;
            push(&mut out, Tok::Num(x), None);
            i = end;
            continue;
        }
        if c.is_ascii_alphabetic() || c == '$' || c == '_' {
            let end = (i..chars.len())
                .find(|&k| !(is_word(chars[k]) || chars[k] == '.' || chars[k] == '$'))
                .unwrap_or(chars.len());
            push(&mut out, Tok::Sym(chars[i..end].iter().collect()), None);
            i = end;
            continue;
        }
        let what = match c {
            '"' => "strings are not supported (ensure's metrics are numbers)".to_string(),
            '\'' => "quoted names ('...') are not supported; write the metric's name as it is"
                .to_string(),
            '{' if starts(i, "{{") => {
                "templates ({{ ... }}) are not supported: write the value itself".to_string()
            }
            '=' => "unexpected `=`; equality is `==`".to_string(),
            '!' => "unexpected `!`; negation is `not`".to_string(),
            '&' | '|' => format!("unexpected `{c}`; filtrex's boolean operators are `and`, `or`"),
            _ => format!("unexpected character {c:?}"),
        };
        return Err(err(i, what));
    }
    out.push(Token {
        tok: Tok::Eof,
        column: chars.len() + 1,
        swallowed: None,
    });
    Ok(out)
}

// ---- parser ----------------------------------------------------------------------------------

struct Parser {
    toks: Vec<Token>,
    i: usize,
    names: Vec<(String, usize)>,
    /// Nesting of `expr` calls, bounded by [`MAX_DEPTH`].
    depth: usize,
}

const MAX_CHARS: usize = 4096;
const MAX_DEPTH: usize = 128;

/// Token precedence, as in the jison `operators` table (1 lowest).
const TERNARY: u8 = 1;
const NOT: u8 = 10;
const UMINUS: u8 = 11;

impl Parser {
    fn peek(&self) -> &Token {
        &self.toks[self.i.min(self.toks.len() - 1)]
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        self.i += 1;
        t
    }

    fn unexpected(&self, expected: &str) -> ParseError {
        let t = self.peek();
        let found = match &t.tok {
            Tok::Num(x) => format!("the number {}", js_number(*x)),
            Tok::Sym(s) => format!("the name {s:?}"),
            Tok::Punct(p) => format!("`{p}`"),
            Tok::And => "`and`".into(),
            Tok::Or => "`or`".into(),
            Tok::Not => "`not`".into(),
            Tok::In => "`in`".into(),
            Tok::Of => "`of`".into(),
            Tok::Eof => "the end of the expression".into(),
        };
        let mut message = format!("expected {expected}, found {found}");
        if let Some(k) = self.toks[..self.i.min(self.toks.len())]
            .iter()
            .rev()
            .find(|t| t.swallowed == Some('('))
        {
            message.push_str(&format!(
                " (filtrex's lexer reads the keyword at column {} together with the `(` right \
                 after it, which is lost: put a space before the `(`)",
                k.column
            ));
        }
        ParseError {
            column: t.column,
            message,
        }
    }

    /// Binary operators and the ternary: (token precedence, rule precedence, operator).
    fn infix(&self) -> Option<(u8, u8, Option<BinOp>)> {
        let op = |p: u8, o: BinOp| Some((p, p, Some(o)));
        match &self.peek().tok {
            Tok::Punct("?") => Some((TERNARY, TERNARY, None)),
            Tok::Or => op(2, BinOp::Or),
            Tok::And => op(3, BinOp::And),
            Tok::In => op(4, BinOp::In),
            // `e not in e`: jison gives a rule the precedence of its *leftmost* operator
            // token (`not`, 10), so it binds tighter than every binary operator.
            Tok::Not => Some((NOT, NOT, Some(BinOp::NotIn))),
            Tok::Punct("==") => op(5, BinOp::Eq),
            Tok::Punct("!=") => op(5, BinOp::Ne),
            Tok::Punct("~=") => Some((5, 5, None)),
            Tok::Punct("<") => op(6, BinOp::Lt),
            Tok::Punct("<=") => op(6, BinOp::Le),
            Tok::Punct(">") => op(6, BinOp::Gt),
            Tok::Punct(">=") => op(6, BinOp::Ge),
            Tok::Punct("+") => op(7, BinOp::Add),
            Tok::Punct("-") => op(7, BinOp::Sub),
            Tok::Punct("*") => op(8, BinOp::Mul),
            Tok::Punct("/") => op(8, BinOp::Div),
            Tok::Punct("%") => op(8, BinOp::Rem),
            Tok::Punct("^") => op(9, BinOp::Pow),
            _ => None,
        }
    }

    /// Operators whose token precedence is at least `min` (yacc reduces on lower or equal
    /// precedence of left-associative operators: callers pass the rule's precedence + 1).
    fn expr(&mut self, min: u8) -> Result<Node, ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ParseError {
                column: self.peek().column,
                message: format!("expected at most {MAX_DEPTH} levels of nesting"),
            });
        }
        let out = self.expr_at(min);
        self.depth -= 1;
        out
    }

    fn expr_at(&mut self, min: u8) -> Result<Node, ParseError> {
        let mut left = self.prefix()?;
        while let Some((tok_prec, rule_prec, op)) = self.infix() {
            if tok_prec < min {
                break;
            }
            let t = self.next();
            left = match (op, &t.tok) {
                (None, Tok::Punct("?")) => {
                    let then = self.expr(0)?;
                    if self.peek().tok != Tok::Punct(":") {
                        return Err(self.unexpected("`:` (of `x ? y : z`)"));
                    }
                    self.next();
                    let other = self.expr(rule_prec + 1)?;
                    Node::Cond(Box::new(left), Box::new(then), Box::new(other))
                }
                (None, _) => {
                    return Err(ParseError {
                        column: t.column,
                        message: "`~=` (regular expression match) is not supported: ensure's \
                                  metrics are numbers"
                            .into(),
                    })
                }
                (Some(BinOp::NotIn), _) => {
                    if self.peek().tok != Tok::In {
                        self.i -= 1;
                        return Err(self
                            .unexpected("an operator (`not` only comes before a value or `in`)"));
                    }
                    self.next();
                    let r = self.expr(rule_prec + 1)?;
                    Node::Bin(BinOp::NotIn, Box::new(left), Box::new(r))
                }
                (Some(o), _) => {
                    let r = self.expr(rule_prec + 1)?;
                    Node::Bin(o, Box::new(left), Box::new(r))
                }
            };
        }
        Ok(left)
    }

    fn prefix(&mut self) -> Result<Node, ParseError> {
        let t = self.peek().clone();
        match t.tok {
            Tok::Punct("-") => {
                self.next();
                Ok(Node::Neg(Box::new(self.expr(UMINUS + 1)?)))
            }
            Tok::Not => {
                self.next();
                Ok(Node::Not(Box::new(self.expr(NOT + 1)?)))
            }
            Tok::Num(x) => {
                self.next();
                Ok(Node::Num(x))
            }
            Tok::Sym(name) => {
                self.next();
                if self.peek().tok == Tok::Punct("(") {
                    return self.call(&name, t.column);
                }
                if self.peek().tok == Tok::Of {
                    return Err(ParseError {
                        column: self.peek().column,
                        message: "`of` (a property of an object) is not supported".into(),
                    });
                }
                if !self.names.iter().any(|(n, _)| *n == name) {
                    self.names.push((name.clone(), t.column));
                }
                Ok(Node::Var(name))
            }
            Tok::Punct("(") => {
                self.next();
                let first = self.expr(0)?;
                if self.peek().tok == Tok::Punct(",") {
                    let mut items = vec![first];
                    while self.peek().tok == Tok::Punct(",") {
                        self.next();
                        items.push(self.expr(0)?);
                    }
                    self.close_paren()?;
                    return Ok(Node::List(items, t.column));
                }
                self.close_paren()?;
                Ok(first)
            }
            _ => Err(self.unexpected("a number, a metric name, `(`, `-` or `not`")),
        }
    }

    fn close_paren(&mut self) -> Result<(), ParseError> {
        if self.peek().tok != Tok::Punct(")") {
            return Err(self.unexpected("`)`"));
        }
        self.next();
        Ok(())
    }

    fn call(&mut self, name: &str, column: usize) -> Result<Node, ParseError> {
        let f = Func::of(name).ok_or_else(|| ParseError {
            column,
            message: if name == "random" {
                "random() is not supported: a simulated run must be reproducible".into()
            } else {
                format!(
                    "unknown function {name}(); filtrex has abs, ceil, floor, log, max, min, \
                     round and sqrt"
                )
            },
        })?;
        self.next(); // (
        let mut args = Vec::new();
        if self.peek().tok == Tok::Punct(")") {
            self.next();
            return Ok(Node::Call(f, args));
        }
        loop {
            args.push(self.expr(0)?);
            match self.peek().tok {
                Tok::Punct(",") => {
                    self.next();
                }
                Tok::Punct(")") => {
                    self.next();
                    return Ok(Node::Call(f, args));
                }
                _ => return Err(self.unexpected("`,` or `)`")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(src: &str, vars: &[(&str, f64)]) -> Value {
        let e = Expr::parse(src).unwrap_or_else(|e| panic!("{src}: {e}"));
        e.eval(&|n| vars.iter().find(|(k, _)| *k == n).map(|(_, v)| *v))
    }

    fn n(src: &str) -> f64 {
        ev(src, &[]).number()
    }

    fn err(src: &str) -> ParseError {
        Expr::parse(src).expect_err(src)
    }

    /// filtrex 2.2.3 `test/arithmetics.js` "can do simple numeric expressions".
    #[test]
    fn upstream_simple_numeric_expressions() {
        assert_eq!(n("1 + 2 * 3"), 7.0);
        assert_eq!(n("2 * 3 + 1"), 7.0);
        assert_eq!(n("1 + (2 * 3)"), 7.0);
        assert_eq!(n("(1 + 2) * 3"), 9.0);
        assert_eq!(n("((1 + 2) * 3 / 2 + 1 - 4 + (2 ^ 3)) * -2"), -19.0);
        assert_eq!(n("1.4 * 1.1"), 1.4 * 1.1);
        assert_eq!(n("97 % 10"), 7.0);
    }

    /// `test/arithmetics.js` "does math functions" and "supports functions with multiple args"
    /// (without `random()`, which surge refuses).
    #[test]
    fn upstream_math_functions() {
        for (src, want) in [
            ("abs(-5)", 5.0),
            ("abs(5)", 5.0),
            ("ceil(4.1)", 5.0),
            ("ceil(4.6)", 5.0),
            ("floor(4.1)", 4.0),
            ("floor(4.6)", 4.0),
            ("round(4.1)", 4.0),
            ("round(4.6)", 5.0),
            ("sqrt(9)", 3.0),
            ("min(2)", 2.0),
            ("max(2)", 2.0),
            ("min(2, 5)", 2.0),
            ("max(2, 5)", 5.0),
            ("min(2, 5, 6)", 2.0),
            ("max(2, 5, 6)", 6.0),
            ("min(2, 5, 6, 1)", 1.0),
            ("max(2, 5, 6, 1)", 6.0),
            ("min(2, 5, 6, 1, 9)", 1.0),
            ("max(2, 5, 6, 1, 9)", 9.0),
            ("min(2, 5, 6, 1, 9, 12)", 1.0),
            ("max(2, 5, 6, 1, 9, 12)", 12.0),
        ] {
            assert_eq!(n(src), want, "{src}");
        }
    }

    /// `test/arithmetics.js` "can do comparisons".
    #[test]
    fn upstream_comparisons() {
        let cases: [(&str, f64, f64); 18] = [
            ("foo == 4", 4.0, 1.0),
            ("foo == 4", 3.0, 0.0),
            ("foo == 4", -4.0, 0.0),
            ("foo != 4", 4.0, 0.0),
            ("foo != 4", 3.0, 1.0),
            ("foo != 4", -4.0, 1.0),
            ("foo > 4", 3.0, 0.0),
            ("foo > 4", 4.0, 0.0),
            ("foo > 4", 5.0, 1.0),
            ("foo >= 4", 3.0, 0.0),
            ("foo >= 4", 4.0, 1.0),
            ("foo >= 4", 5.0, 1.0),
            ("foo < 4", 3.0, 1.0),
            ("foo < 4", 4.0, 0.0),
            ("foo < 4", 5.0, 0.0),
            ("foo <= 4", 3.0, 1.0),
            ("foo <= 4", 4.0, 1.0),
            ("foo <= 4", 5.0, 0.0),
        ];
        for (src, foo, want) in cases {
            assert_eq!(
                ev(src, &[("foo", foo)]),
                Value::Num(want),
                "{src} foo={foo}"
            );
        }
    }

    /// `test/arithmetics.js` "can do boolean logic".
    #[test]
    fn upstream_boolean_logic() {
        for (src, want) in [
            ("0 and 0", 0.0),
            ("0 and 1", 0.0),
            ("1 and 0", 0.0),
            ("1 and 1", 1.0),
            ("0 or 0", 0.0),
            ("0 or 1", 1.0),
            ("1 or 0", 1.0),
            ("1 or 1", 1.0),
            ("not 0", 1.0),
            ("not 1", 0.0),
            ("(0 and 1) or 1", 1.0),
            ("0 and (1 or 1)", 0.0),
            ("0 and 1 or 1", 1.0),
            ("1 or 1 and 0", 1.0),
            ("not 1 and 0", 0.0),
        ] {
            assert_eq!(n(src), want, "{src}");
        }
    }

    /// `test/misc.js` "in / not in" (numbers), "ternary operator" and "kitchensink".
    #[test]
    fn upstream_in_ternary_kitchensink() {
        for (src, want) in [
            ("5 in (1, 2, 3, 4)", 0.0),
            ("3 in (1, 2, 3, 4)", 1.0),
            ("5 not in (1, 2, 3, 4)", 1.0),
            ("3 not in (1, 2, 3, 4)", 0.0),
            ("(1, 2) in (1, 2, 3)", 1.0),
            ("(1, 2) in (2, 3, 1)", 1.0),
            ("(3, 4) in (1, 2, 3)", 0.0),
            ("(1, 2) not in (1, 2, 3)", 0.0),
            ("(1, 2) not in (2, 3, 1)", 0.0),
            ("(3, 4) not in (1, 2, 3)", 1.0),
            ("(1, 2) in 1", 0.0),
            ("1 in 1", 1.0),
            ("(1, 2) not in 1", 1.0),
            ("1 not in 1", 0.0),
            ("1 > 2 ? 3 : 4", 4.0),
            ("1 < 2 ? 3 : 4", 3.0),
        ] {
            assert_eq!(n(src), want, "{src}");
        }
        let k = "4 > lowNumber * 2 and (max(a, b) < 20 or foo) ? 1.1 : 9.4";
        let vars = |low| [("lowNumber", low), ("a", 10.0), ("b", 12.0), ("foo", 0.0)];
        assert_eq!(ev(k, &vars(1.5)), Value::Num(1.1));
        assert_eq!(ev(k, &vars(3.5)), Value::Num(9.4));
    }

    /// The jison precedence table and JavaScript's operators, where they surprise.
    #[test]
    fn precedence_as_jison_resolves_it() {
        assert_eq!(n("-2 ^ 2"), 4.0, "unary minus binds tighter than ^");
        assert_eq!(n("2 ^ 3 ^ 2"), 64.0, "^ is left-associative");
        assert_eq!(n("2 ^ -1"), 0.5);
        assert_eq!(n("not 5 < 3"), 1.0, "(not 5) < 3");
        assert_eq!(n("not 0 + 1"), 2.0, "(not 0) + 1");
        assert_eq!(n("1 < 2 < 3"), 1.0);
        assert_eq!(n("3 > 2 > 1"), 0.0, "(3 > 2) > 1 is 1 > 1");
        assert_eq!(n("1 == 1 < 2"), 1.0, "1 == (1 < 2)");
        assert_eq!(n("2 == 2 in (1)"), 1.0, "(2 == 2) in (1)");
        assert_eq!(n("2 == 2 not in (1)"), 0.0, "2 == (2 not in (1))");
        assert_eq!(n("2 not in (1) + 1"), 2.0, "(2 not in (1)) + 1");
        assert_eq!(
            n("0 not in (1) not in (0)"),
            1.0,
            "(0 not in (1)) not in (0)"
        );
        assert_eq!(n("0 ? 1 : 0 ? 2 : 3"), 3.0, "(0 ? 1 : 0) ? 2 : 3");
        assert_eq!(n("1 ? 0 ? 5 : 6 : 7"), 6.0);
        assert_eq!(n("0 ? 1 : 2 + 3"), 5.0);
        assert_eq!(n("0 or 2 ? 7 : 8"), 7.0);
        assert_eq!(n("2 and 3"), 3.0, "Number(2 && 3)");
        assert_eq!(n("0 or 5"), 5.0);
        assert_eq!(n("7 % -4"), 3.0);
        assert_eq!(n("-7 % 4"), -3.0);
        assert!(n("5 % 0").is_nan());
        assert_eq!(n("1 / 0"), f64::INFINITY);
        assert!(n("0 / 0").is_nan());
        assert_eq!(n("round(-2.5)"), -2.0, "Math.round halves go up");
        assert_eq!(n("round(2.5)"), 3.0);
        assert!(n("max(1, 0 / 0)").is_nan());
        assert_eq!(n("max()"), f64::NEG_INFINITY);
        assert!(n("abs()").is_nan(), "a missing argument is undefined");
        assert!(n("log(-1)").is_nan());
    }

    /// Names the data lacks are `undefined`: NaN in arithmetic and ordering, equal only to
    /// another undefined; `and` / `or` give their deciding operand as a number.
    #[test]
    fn undefined_names() {
        assert_eq!(ev("missing < 1", &[]), Value::Num(0.0));
        assert_eq!(ev("missing >= 1", &[]), Value::Num(0.0));
        assert_eq!(ev("missing == 0", &[]), Value::Num(0.0));
        assert_eq!(ev("missing != 0", &[]), Value::Num(1.0));
        assert_eq!(ev("missing == other", &[]), Value::Num(1.0));
        assert_eq!(ev("not missing", &[]), Value::Num(1.0));
        assert!(ev("missing + 1", &[]).number().is_nan());
        assert!(ev("1 and missing", &[]).number().is_nan());
        assert!(ev("missing and 1", &[]).number().is_nan());
        assert_eq!(ev("missing or 1", &[]), Value::Num(1.0));
        assert_eq!(ev("1 ? missing : 2", &[]), Value::Undefined);
        assert_eq!(ev("missing in (1, missing)", &[]), Value::Num(1.0));
        // maxErrorRate with no VU created: (undefined − undefined) / undefined · 100 <= 0.
        let mer = "((vusers.created - vusers.completed)/vusers.created * 100) <= 0";
        assert_eq!(ev(mer, &[]), Value::Num(0.0));
        assert_eq!(
            ev(mer, &[("vusers.created", 4.0), ("vusers.completed", 4.0)]),
            Value::Num(1.0)
        );
        // ... and when none completed: 4 − undefined is NaN, so even 100 % fails.
        let all = "((vusers.created - vusers.completed)/vusers.created * 100) <= 100";
        assert_eq!(ev(all, &[("vusers.created", 4.0)]), Value::Num(0.0));
    }

    /// The lexer rules in jison's order, first match wins.
    #[test]
    fn lexer_quirks() {
        // Keywords take the next character with them.
        assert_eq!(n("1 and-1"), 1.0, "`and-` is `and`: 1 and 1");
        assert_eq!(
            ev("andy + orders", &[("andy", 1.0), ("orders", 2.0)]),
            Value::Num(3.0)
        );
        // Artillery's own test names (utils.unit.js): metric names containing keywords.
        let e = Expr::parse(
            "(not vusers.created_by_name.andy < 100 and not vusers.created_by_name.nottinghill \
             < 100) or custom.orders >= 300",
        )
        .unwrap();
        let names: Vec<&str> = e.names().iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "vusers.created_by_name.andy",
                "vusers.created_by_name.nottinghill",
                "custom.orders"
            ]
        );
        // Numbers: `1.` is 1 then a stray `.`; `1e3` has no word boundary after `1`.
        assert!(err("1. < 2").message.contains("unexpected character '.'"));
        assert_eq!(err("x < 1e3").column, 5);
        assert_eq!(n("1.5<2"), 1.0);
        let e = err("not(x < 1)");
        assert!(e.message.contains("put a space before the `(`"), "{e}");
        assert_eq!(n("not (0)"), 1.0);
    }

    #[test]
    fn unsupported_syntax_names_its_column() {
        for (src, col, needle) in [
            ("x == \"a\"", 6, "strings"),
            ("'a-b' < 1", 1, "quoted names"),
            ("x ~= 1", 3, "~="),
            ("random() < 1", 1, "reproducible"),
            ("sin(x) < 1", 1, "unknown function sin()"),
            ("(1, 2) < 3", 1, "list"),
            ("x < {{ limit }}", 5, "templates"),
            ("x = 1", 3, "=="),
            ("x && y", 3, "`and`"),
            ("x <", 4, "end of the expression"),
            ("(x < 1", 7, "`)`"),
            ("x y", 3, "the name \"y\""),
            ("", 1, "expected a number"),
            ("x not 1", 3, "`not`"),
            ("a of b", 3, "`of`"),
        ] {
            let e = err(src);
            assert_eq!(e.column, col, "{src}: {e}");
            assert!(e.message.contains(needle), "{src}: {e}");
        }
    }

    #[test]
    fn deep_or_long_expressions_are_refused_not_overflowed() {
        let deep = format!("{}1{}", "(".repeat(2000), ")".repeat(2000));
        assert!(err(&deep).message.contains("nesting"));
        assert!(err(&"-".repeat(5000)).message.contains("4096 characters"));
        let long = vec!["1"; 2000].join("+");
        assert_eq!(n(&long), 2000.0);
    }
}
