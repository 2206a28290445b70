"""Moodle's ``config.php``, read without running PHP (SPEC 10: dbtype, dbhost, dbname, dbuser, dbpass,
prefix, dboptions' dbport/dbsocket, wwwroot).

A site's ``config.php`` is PHP, and running it would run whatever the site put there (and need PHP on
the hub host). This reader tokenises PHP instead and takes the plain assignments
``$CFG->name = <value>;`` and ``$CFG->name['key'] = <value>;`` made at the top level of the file,
where ``<value>`` is a literal: a single- or double-quoted string (PHP's escapes; no ``$variable``
inside), a number, ``true``/``false``/``null``, ``array(...)`` or ``[...]`` of those, or literals
joined with ``.``. Comments (``//``, ``#``, ``/* */``) and every other statement
(``require_once(...)``, ``unset($CFG)``, ``define(...)``) are skipped. A setting the adapter needs
that is made any other way (``getenv(...)``, a constant, inside an ``if`` block) is refused with the
file, the line and the reason: such a site gives ``--db URL`` instead. Later assignments win, as in
PHP. (A general PHP parser library was not used: the maintained ones parse far more than this and
none promises to leave values un-evaluated; this subset is all Moodle's installer writes.)

Size (over ~450 lines): the tokeniser and the literal reader are most of it, are used by nothing
else, and each refusal names its line, so they stay with the one reader they serve.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from typing import Any

from ..errors import os_reason
from .errors import MoodleConfigError

#: Largest config.php read (Moodle's is a few KiB).
MAX_BYTES = 1024 * 1024

#: config.php ``dbtype`` values for PostgreSQL and for MariaDB/MySQL (Moodle's native drivers).
POSTGRES_TYPES = frozenset({"pgsql"})
MYSQL_TYPES = frozenset({"mariadb", "mysqli", "auroramysql"})
#: Where PHP's mysqli looks for the server's socket when config.php names none (Debian's MariaDB).
DEFAULT_MYSQL_SOCKET = "/run/mysqld/mysqld.sock"

_UNSET = object()


class _Unsupported:
    """A value this reader does not evaluate; ``why`` says what it was."""

    def __init__(self, line: int, why: str) -> None:
        self.line = line
        self.why = why


@dataclass(frozen=True)
class MoodleConfig:
    """The database and site settings of one Moodle ``config.php``.

    ``dboptions`` holds the plain values of ``$CFG->dboptions`` (``dbport``, ``dbsocket``,
    ``dbcollation``...). ``dbpass`` is never part of ``repr()``.
    """

    path: str
    dbtype: str
    dbhost: str
    dbname: str
    dbuser: str
    dbpass: str = field(repr=False)
    prefix: str
    wwwroot: str | None
    dboptions: dict[str, Any] = field(default_factory=dict)

    @property
    def port(self) -> int | None:
        """``dboptions['dbport']`` as a number (None when empty or absent); MoodleConfigError otherwise."""
        value = self.dboptions.get("dbport")
        if value in (None, "", 0, False):
            return None
        if isinstance(value, bool) or not re.fullmatch(r"\d{1,5}", str(value)) or not 0 < int(value) < 65536:
            raise MoodleConfigError(self.path, f"$CFG->dboptions['dbport'] is {value!r}, not a port number")
        return int(value)

    @property
    def socket(self) -> str | None:
        """``dboptions['dbsocket']`` (None when empty or absent)."""
        value = self.dboptions.get("dbsocket")
        if value in (None, "", 0, False):
            return None
        return str(value)


# -- tokens -------------------------------------------------------------------------------------

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<comment>//[^\n]*?(?=\?>|\n|$)|\#(?!\[)[^\n]*?(?=\?>|\n|$)|/\*.*?\*/|/\*.*)
  | (?P<close>\?>)
  | (?P<sq>'(?:[^'\\]|\\.)*')
  | (?P<dq>"(?:[^"\\]|\\.)*")
  | (?P<heredoc><<<)
  | (?P<number>0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+
              |(?:\d[\d_]*)?\.\d[\d_]*(?:[eE][-+]?\d+)?|\d[\d_]*(?:[eE][-+]?\d+)?)
  | (?P<var>\$[A-Za-z_\x80-\uffff][\w\x80-\uffff]*)
  | (?P<ident>[A-Za-z_\x80-\uffff\\][\w\x80-\uffff\\]*)
  | (?P<op>->|=>|::|\?\?=|\.=|==|!=|<=|>=|&&|\|\||\?\?|[-+*/%=.,;()\[\]{}!<>?:&|^~@])
    """,
    re.VERBOSE | re.DOTALL,
)


_OPEN_TAG_RE = re.compile(r"<\?php(?=\s|$)|<\?=", re.IGNORECASE)


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    line: int


def _tokens(text: str, path: str) -> list[_Token]:
    """PHP tokens of the code parts of ``text`` (outside ``<?php ... ?>`` is inline HTML: skipped)."""
    out: list[_Token] = []
    pos = 0
    line = 1
    while pos < len(text):
        opening = _OPEN_TAG_RE.search(text, pos)  # PHP's open tags are case-insensitive: <?PHP too
        if opening is None:
            break
        line += text.count("\n", pos, opening.start())
        pos = opening.end()
        while pos < len(text):
            match = _TOKEN_RE.match(text, pos)
            if match is None:
                out.append(_Token("other", text[pos], line))
                pos += 1
                continue
            kind = match.lastgroup or "other"
            chunk = match.group(0)
            pos = match.end()
            if kind == "close":
                out.append(_Token("op", ";", line))  # ?> ends a statement like ;
                break
            if kind == "comment" and chunk.startswith("/*") and not chunk.endswith("*/"):
                raise MoodleConfigError(path, f"line {line}: a /* comment is not closed")
            if kind not in ("ws", "comment"):
                out.append(_Token(kind, chunk, line))
            line += chunk.count("\n")
    return out


_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "v": "\v", "e": "\x1b", "f": "\f", "\\": "\\", "$": "$", '"': '"'}
_DQ_ESCAPE_RE = re.compile(r"\\(?:([ntrvef\\$\"])|([0-7]{1,3})|x([0-9A-Fa-f]{1,2})|u\{([0-9A-Fa-f]+)\})")


def _single_quoted(token: str) -> str:
    """PHP single-quoted string: only ``\\\\`` and ``\\'`` are escapes."""
    return re.sub(r"\\([\\'])", r"\1", token[1:-1])


def _double_quoted(token: _Token) -> str | _Unsupported:
    """PHP double-quoted string with its escapes; a ``$variable`` inside is not evaluated.

    PHP strings are bytes: ``\\xNN`` and octal escapes are single bytes (``"\\xc3\\xa9"`` is UTF-8
    ``é``), ``\\u{...}`` is a code point's UTF-8; the whole must decode as UTF-8."""
    body = token.text[1:-1]
    if re.search(r"(?<!\\)(?:\\\\)*\$(?:[A-Za-z_\x80-\uffff{])", body) or re.search(r"(?<!\\)(?:\\\\)*\{\$", body):
        return _Unsupported(token.line, "a double-quoted string with a $variable in it")
    out = bytearray()
    pos = 0
    for match in _DQ_ESCAPE_RE.finditer(body):
        out += body[pos : match.start()].encode("utf-8", "surrogatepass")
        pos = match.end()
        simple, octal, hexa, uni = match.groups()
        if simple:
            out += _SIMPLE_ESCAPES[simple].encode()
        elif octal:
            out.append(int(octal, 8) & 0xFF)
        elif hexa:
            out.append(int(hexa, 16))
        else:
            code = int(uni[:8], 16) if len(uni) <= 8 else -1
            if not (0 <= code <= 0x10FFFF) or 0xD800 <= code <= 0xDFFF:
                return _Unsupported(token.line, "a \\u{...} escape that is not a Unicode character")
            out += chr(code).encode("utf-8")
    out += body[pos:].encode("utf-8", "surrogatepass")
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:
        return _Unsupported(token.line, "a double-quoted string whose escapes are not UTF-8 text")


def _number(text: str, line: int = 0) -> int | float | _Unsupported:
    """A PHP number literal; one PHP would not take (``0x_``) or too long to convert is unsupported."""
    try:
        return _number_value(text)
    except (ValueError, OverflowError):
        return _Unsupported(line, f"the number {text[:20]}{'...' if len(text) > 20 else ''}")


def _number_value(text: str) -> int | float:
    clean = text.replace("_", "")
    lowered = clean.lower()
    if lowered.startswith("0x"):
        return int(lowered, 16)
    if lowered.startswith("0b"):
        return int(lowered, 2)
    if lowered.startswith("0o"):
        return int(lowered, 0)
    if re.fullmatch(r"0[0-7]+", clean):
        return int(clean, 8)
    if re.fullmatch(r"\d+", clean):
        return int(clean)
    return float(clean)


# -- expressions --------------------------------------------------------------------------------


class _Reader:
    """Evaluates literal PHP expressions over a token list; anything else becomes _Unsupported."""

    #: Brackets nested deeper than this are not followed (Moodle's config.php nests two).
    MAX_NESTING = 50

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.nesting = 0

    def peek(self, offset: int = 0) -> _Token | None:
        index = self.pos + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def is_op(self, text: str, offset: int = 0) -> bool:
        token = self.peek(offset)
        return token is not None and token.kind == "op" and token.text == text

    def skip_statement(self) -> None:
        """Skip to just after the next ``;`` outside brackets (or to a ``{``/``}``, which is kept)."""
        depth = 0
        while (token := self.peek()) is not None:
            if token.kind == "op":
                if token.text in "([":
                    depth += 1
                elif token.text in ")]":
                    depth = max(0, depth - 1)
                elif token.text in "{}" and depth == 0:
                    return
                elif token.text == ";" and depth == 0:
                    self.pos += 1
                    return
            self.pos += 1

    def expression(self) -> Any:
        """A literal expression up to (not including) ``;``, ``,``, ``)``, ``]`` or ``=>`` at depth 0."""
        first = self.peek()
        line = first.line if first else 0
        if self.nesting >= self.MAX_NESTING:
            self.skip_expression()
            return _Unsupported(line, "brackets nested too deeply")
        self.nesting += 1
        try:
            return self._expression(line)
        finally:
            self.nesting -= 1

    def _expression(self, line: int) -> Any:
        value = self.term()
        while self.is_op("."):
            self.pos += 1
            right = self.term()
            if isinstance(value, _Unsupported):
                continue
            if isinstance(right, _Unsupported):
                value = right
            elif isinstance(value, (str, int, float)) and isinstance(right, (str, int, float)):
                value = _php_string(value) + _php_string(right)
            else:
                value = _Unsupported(line, "a '.' joining something that is not text")
        token = self.peek()
        if token is not None and not (token.kind == "op" and token.text in (";", ",", ")", "]", "=>")):
            what = token.text
            self.skip_expression()
            if not isinstance(value, _Unsupported):
                value = _Unsupported(line, f"an expression with {what!r} in it")
        return value

    def skip_parens(self) -> None:
        """Skip a balanced ``( ... )`` (a control structure's condition)."""
        depth = 0
        while (token := self.peek()) is not None:
            self.pos += 1
            if token.kind == "op" and token.text == "(":
                depth += 1
            elif token.kind == "op" and token.text == ")":
                depth -= 1
                if depth <= 0:
                    return

    def skip_expression(self) -> None:
        depth = 0
        while (token := self.peek()) is not None:
            if token.kind == "op":
                if token.text in "([{":
                    depth += 1
                elif token.text in ")]}":
                    if depth == 0:
                        return
                    depth -= 1
                elif token.text in (";", ",", "=>") and depth == 0:
                    return
            self.pos += 1

    def term(self) -> Any:
        token = self.peek()
        if token is None:
            return _Unsupported(0, "the end of the file")
        self.pos += 1
        if token.kind == "sq":
            return _single_quoted(token.text)
        if token.kind == "dq":
            return _double_quoted(token)
        if token.kind == "number":
            return _number(token.text, token.line)
        if token.kind == "op" and token.text in "-+" and (nxt := self.peek()) is not None and nxt.kind == "number":
            self.pos += 1
            number = _number(nxt.text, nxt.line)
            if isinstance(number, _Unsupported) or token.text == "+":
                return number
            return -number
        if token.kind == "op" and token.text == "(":
            value = self.expression()
            if self.is_op(")"):
                self.pos += 1
                return value
            return _Unsupported(token.line, "an unclosed '('")
        if token.kind == "op" and token.text == "[":
            return self.array(token, "]")
        if token.kind == "ident":
            lowered = token.text.lower()
            if lowered in ("true", "false", "null"):
                return {"true": True, "false": False, "null": None}[lowered]
            if lowered == "array" and self.is_op("("):
                self.pos += 1
                return self.array(token, ")")
            self.pos -= 1
            self.skip_expression()
            return _Unsupported(token.line, f"{token.text}... (a constant or a function call)")
        if token.kind == "var":
            self.pos -= 1
            self.skip_expression()
            return _Unsupported(token.line, f"the variable {token.text}")
        if token.kind == "heredoc":
            self.pos -= 1
            self.skip_expression()
            return _Unsupported(token.line, "a heredoc string")
        self.pos -= 1
        self.skip_expression()
        return _Unsupported(token.line, f"{token.text!r}")

    def array(self, opener: _Token, closer: str) -> Any:
        result: dict[Any, Any] = {}
        bad: _Unsupported | None = None
        index = 0
        while not self.is_op(closer):
            if self.peek() is None:
                return _Unsupported(opener.line, "an array that is not closed")
            key: Any = _UNSET
            value = self.expression()
            if self.is_op("=>"):
                self.pos += 1
                key, value = value, self.expression()
            if isinstance(key, _Unsupported):
                bad = bad or key  # values may be unsupported one by one; a key makes the array unusable
            if key is _UNSET:
                key = index
            if isinstance(key, int) and not isinstance(key, bool):
                index = max(index, key + 1)
            if not isinstance(key, _Unsupported):
                result[key if isinstance(key, (int, str)) else _php_string(key)] = value
            if self.is_op(","):
                self.pos += 1
            elif not self.is_op(closer):
                return _Unsupported(opener.line, "an array this reader cannot follow")
        self.pos += 1
        return bad if bad is not None else result


def _php_string(value: Any) -> str:
    if value is True:
        return "1"
    if value is False or value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# -- the file -----------------------------------------------------------------------------------


#: PHP's control structures: what follows them (a ``{ }`` block, a ``:`` ... ``endif;`` block, or one
#: statement without braces) may or may not run.
_CONTROL = frozenset({"if", "elseif", "else", "while", "for", "foreach", "switch", "declare", "do"})
_OPENS_ALT_BLOCK = frozenset({"if", "while", "for", "foreach", "switch", "declare"})
_ENDS_ALT_BLOCK = frozenset({"endif", "endwhile", "endfor", "endforeach", "endswitch", "enddeclare"})


def _assignments(tokens: list[_Token]) -> dict[str, Any]:
    """Every ``$CFG->name`` assigned at the top level (later wins); values or _Unsupported.

    An assignment that may or may not run (inside ``{ }``, inside ``if (...): ... endif;``, or the
    one statement of a control structure without braces) is _Unsupported."""
    settings: dict[str, Any] = {}
    reader = _Reader(tokens)
    depth = 0
    conditional = False  # the next statement is the body of an if/else/while... without braces
    while (token := reader.peek()) is not None:
        if token.kind == "op" and token.text in "{}":
            depth = depth + 1 if token.text == "{" else max(0, depth - 1)
            conditional = False
            reader.pos += 1
            continue
        if token.kind == "op" and token.text == ";":
            conditional = False
            reader.pos += 1
            continue
        keyword = token.text.lower() if token.kind == "ident" else ""
        if keyword in _ENDS_ALT_BLOCK:
            depth = max(0, depth - 1)
            conditional = False
            reader.skip_statement()
            continue
        if keyword in _CONTROL:
            reader.pos += 1
            if reader.is_op("("):
                reader.skip_parens()
            if reader.is_op(":"):
                reader.pos += 1
                depth += keyword in _OPENS_ALT_BLOCK
                conditional = False
            elif not reader.is_op("{"):
                conditional = True
            continue
        if conditional:
            depth += 1  # this one statement is the body
        body_of_control = conditional
        conditional = False
        try:
            _statement(reader, token, settings, depth)
        finally:
            if body_of_control:
                depth -= 1
    return settings


def _statement(reader: _Reader, token: _Token, settings: dict[str, Any], depth: int) -> None:
    """One statement at ``reader``: a ``$CFG->name[...] = value;`` goes into ``settings`` (as
    _Unsupported when ``depth`` > 0: it may or may not run); anything else is skipped."""
    name_token = reader.peek(2)
    if not (
        token.kind == "var"
        and token.text == "$CFG"
        and reader.is_op("->", 1)
        and name_token is not None
        and name_token.kind == "ident"
    ):
        reader.skip_statement()
        return
    name = name_token.text
    reader.pos += 3
    subscript: Any = _UNSET
    if reader.is_op("["):
        reader.pos += 1
        subscript = reader.expression()
        if not reader.is_op("]"):
            reader.skip_statement()
            return
        reader.pos += 1
    if not reader.is_op("="):
        after = reader.peek()
        if after is not None and after.kind == "op" and after.text.endswith("="):
            settings[name] = _Unsupported(token.line, f"the operator {after.text!r}")
        reader.skip_statement()
        return
    reader.pos += 1
    value = reader.expression()
    reader.skip_statement()
    if depth > 0:
        value = _Unsupported(token.line, "an assignment inside a block or an if (it may or may not run)")
    if subscript is _UNSET:
        settings[name] = value
        return
    current = settings.get(name)
    if isinstance(subscript, _Unsupported) or isinstance(current, _Unsupported):
        settings[name] = subscript if isinstance(subscript, _Unsupported) else current
        return
    merged = dict(current) if isinstance(current, dict) else {}
    merged[subscript if isinstance(subscript, (int, str)) else _php_string(subscript)] = value
    settings[name] = merged


def parse_moodle_config(text: str, path: str = "config.php") -> MoodleConfig:
    """The settings of a ``config.php`` text; MoodleConfigError naming ``path`` and the line otherwise."""
    settings = _assignments(_tokens(text, path))

    def plain(name: str, *, required: bool = True) -> Any:
        value = settings.get(name, _UNSET)
        if value is _UNSET:
            if required:
                raise MoodleConfigError(path, f"$CFG->{name} is not set")
            return None
        if isinstance(value, _Unsupported):
            raise MoodleConfigError(
                path,
                f"line {value.line}: $CFG->{name} is set by {value.why}, which this reader does not evaluate "
                "(it never runs PHP); give the database as --db URL instead",
            )
        return value

    def text_of(name: str, *, required: bool = True) -> str | None:
        value = plain(name, required=required)
        if value is None:
            return None
        if isinstance(value, (dict, list)):
            raise MoodleConfigError(path, f"$CFG->{name} is an array, not a text")
        return _php_string(value)

    options = plain("dboptions", required=False)
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise MoodleConfigError(path, f"$CFG->dboptions is {options!r}, not an array")
    for key in ("dbport", "dbsocket"):
        if isinstance(options.get(key), _Unsupported):
            bad = options[key]
            raise MoodleConfigError(
                path,
                f"line {bad.line}: $CFG->dboptions['{key}'] is set by {bad.why}, which this reader does not evaluate",
            )
    dbtype = (text_of("dbtype") or "").strip().lower()
    if dbtype not in POSTGRES_TYPES | MYSQL_TYPES:
        raise MoodleConfigError(
            path,
            f"$CFG->dbtype is {dbtype!r}: only PostgreSQL (pgsql) and MariaDB/MySQL (mariadb, mysqli) are supported",
        )
    prefix = text_of("prefix", required=False)
    config = MoodleConfig(
        path=path,
        dbtype=dbtype,
        dbhost=text_of("dbhost") or "",
        dbname=text_of("dbname") or "",
        dbuser=text_of("dbuser") or "",
        dbpass=text_of("dbpass", required=False) or "",
        prefix="mdl_" if prefix is None else prefix,
        wwwroot=text_of("wwwroot", required=False),
        dboptions={k: v for k, v in options.items() if not isinstance(v, _Unsupported)},
    )
    if not config.dbname:
        raise MoodleConfigError(path, "$CFG->dbname is empty")
    config.port  # noqa: B018 - checked now so a bad port is reported with the file
    return config


def read_moodle_config(path: str | os.PathLike[str]) -> MoodleConfig:
    """Read and parse a site's ``config.php`` (UTF-8; a BOM is dropped). MoodleConfigError on any problem.

    The file belongs to the site's administrator (it may be a link into a deployment tree, which is
    followed); it is opened without blocking and must be a regular file.
    """
    source = os.fspath(path)
    try:
        fd = os.open(source, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise MoodleConfigError(source, "does not exist") from None
    except OSError as exc:
        raise MoodleConfigError(source, f"cannot read ({os_reason(exc)})") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise MoodleConfigError(source, "is not a regular file")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise MoodleConfigError(source, f"cannot read ({os_reason(exc)})") from None
    finally:
        os.close(fd)
    if len(data) > MAX_BYTES:
        raise MoodleConfigError(source, f"is larger than {MAX_BYTES} bytes; not a Moodle config.php")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MoodleConfigError(source, f"is not UTF-8 text (byte {exc.start})") from None
    return parse_moodle_config(text.removeprefix("\ufeff"), source)
