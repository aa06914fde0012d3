"""The part of Go's text/template that docker users write in `--format`: fields (`.State.Pid`),
pipes, `if`/`else`, `range` (with `$v :=` or `$k, $v :=`), `with`, variables (`$`, `$v.Field`), and
the functions json, index, len, upper, lower, title,
join, split, print, printf, println, eq, ne, lt, le, gt, ge, not, and, or. Anything else is
refused with one line, never printed back literally.

Values print as Go prints them: lists as `[a b]`, maps as `map[k:v]`, booleans in lower case, a
missing value as `<no value>`; `json` gives JSON. A field a map does not have is an error (docker
says so too, for its structs), named in the message.
"""

from __future__ import annotations

import json

from conman_systemd.errors import ConmanError, quoted

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    # ("text", s) | ("pipe", cmds) | ("if"|"range"|"with", pipe, body, other, variables)
    Node = tuple[Any, ...]
    Variables = dict[str, Any]


class _Error(Exception):
    """A template problem; render() names the template with it."""


# --- values ----------------------------------------------------------------------------------


def show(value: Any) -> str:
    """A value as Go's fmt %v prints it."""
    if value is None:
        return "<no value>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e21 else repr(value)
    if isinstance(value, list | tuple):
        return "[" + " ".join(map(show, value)) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{show(k)}:{show(value[k])}" for k in sorted(value)) + "]"
    return str(value)


def _true(value: Any) -> bool:
    return value not in (None, False, 0, "") and not (isinstance(value, list | tuple | dict) and not value)


def _index(value: Any, *keys: Any) -> Any:
    for key in keys:
        try:
            value = value[key]
        except (KeyError, IndexError, TypeError):
            if isinstance(value, dict):
                return None  # Go: a map's missing key is its zero value
            raise _Error(f"index of {show(value)} with {show(key)}") from None
    return value


def _printf(fmt: str, *args: Any) -> str:
    try:
        return fmt.replace("%v", "%s").replace("%q", '"%s"') % tuple(
            show(a) if not isinstance(a, int | float) or isinstance(a, bool) else a for a in args
        )
    except (TypeError, ValueError) as e:
        raise _Error(f"printf: {e}") from None


def _compare(op: Callable[[Any, Any], bool]) -> Callable[..., bool]:
    def compare(a: Any, *others: Any) -> bool:
        try:
            return all(op(a, b) for b in others)
        except TypeError:
            raise _Error(f"incompatible types for comparison: {show(a)}") from None

    return compare


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "json": lambda v: json.dumps(v, separators=(",", ":")),
    "index": _index,
    "len": lambda v: len(v) if isinstance(v, list | tuple | dict | str) else _bad_len(v),
    "upper": lambda v: show(v).upper(),
    "lower": lambda v: show(v).lower(),
    "title": lambda v: show(v).title(),
    "join": lambda items, sep: sep.join(map(show, items)),
    "split": lambda text, sep: show(text).split(sep),
    "print": lambda *a: "".join(map(show, a)),
    "println": lambda *a: " ".join(map(show, a)) + "\n",
    "printf": _printf,
    "eq": _compare(lambda a, b: a == b),
    "ne": _compare(lambda a, b: a != b),
    "lt": _compare(lambda a, b: a < b),
    "le": _compare(lambda a, b: a <= b),
    "gt": _compare(lambda a, b: a > b),
    "ge": _compare(lambda a, b: a >= b),
    "not": lambda v: not _true(v),
    "and": lambda *a: next((v for v in a if not _true(v)), a[-1]),
    "or": lambda *a: next((v for v in a if _true(v)), a[-1]),
}


def _bad_len(value: Any) -> int:
    raise _Error(f"len of {show(value)}")


# --- parsing -----------------------------------------------------------------------------------


def _actions(template: str) -> list[tuple[str, str]]:
    """[("text", ...), ("action", ...)], with {{- and -}} trimming the spaces next to them."""
    parts: list[tuple[str, str]] = []
    rest = template
    while (start := rest.find("{{")) >= 0:
        end = rest.find("}}", start)
        if end < 0:
            raise _Error("unclosed action")
        text, action = rest[:start], rest[start + 2 : end]
        if action.startswith("- "):
            text, action = text.rstrip(), action[2:]
        parts.append(("text", text))
        trim = action.endswith(" -")
        parts.append(("action", action[:-2] if trim else action))
        rest = rest[end + 2 :]
        if trim:
            rest = rest.lstrip()
    parts.append(("text", rest))
    return parts


def _words(action: str) -> list[str]:
    """An action's tokens: strings, parentheses, pipes, and words."""
    words: list[str] = []
    i = 0
    while i < len(action):
        c = action[i]
        if c.isspace():
            i += 1
        elif c in "()|":
            words.append(c)
            i += 1
        elif c in '"`':
            end = i + 1
            while end < len(action) and action[end] != c:
                end += 2 if c == '"' and action[end] == "\\" else 1
            if end >= len(action):
                raise _Error("unterminated quoted string")
            words.append(action[i : end + 1])
            i = end + 1
        else:
            end = i
            while end < len(action) and not action[end].isspace() and action[end] not in "()|":
                end += 1
            words.append(action[i:end])
            i = end
    return words


def _pipeline(words: list[str]) -> list[list[Any]]:
    """Commands split at |; a parenthesised pipeline is one argument."""
    commands: list[list[Any]] = [[]]
    stack: list[list[list[Any]]] = []
    closed = False  # the word before was ")": a field right after it is of its value
    for word in words:
        if closed and word.startswith("."):
            commands[-1][-1] = (*commands[-1][-1], word)
            closed = False
            continue
        closed = word == ")"
        if word == "(":
            stack.append(commands)
            commands = [[]]
        elif word == ")":
            if not stack:
                raise _Error("unexpected )")
            inner, commands = commands, stack.pop()
            commands[-1].append(("sub", inner))
        elif word == "|":
            commands.append([])
        else:
            commands[-1].append(word)
    if stack:
        raise _Error("unclosed (")
    if any(not c for c in commands):
        raise _Error("missing command")
    return commands


def _declared(words: list[str]) -> tuple[tuple[str, ...], list[str]]:
    """`$v := PIPE` or `$k, $v := PIPE`: the variables' names and the pipeline."""
    if ":=" not in words:
        return (), words
    at = words.index(":=")
    names = tuple(n for n in " ".join(words[:at]).replace(",", " ").split())
    if not 1 <= len(names) <= 2 or not all(n.startswith("$") and n[1:].isidentifier() for n in names):
        raise _Error(f"bad variable declaration {' '.join(words[:at])}")
    return names, words[at + 1 :]


def parse(template: str) -> list[Node]:
    nodes: list[Node] = []
    stack: list[tuple[list[Node], Node]] = []  # (the enclosing body, the open block)
    for kind, text in _actions(template):
        if kind == "text":
            if text:
                nodes.append(("text", text))
            continue
        words = _words(text)
        if not words or words[0].startswith("/*"):
            continue
        keyword = words[0]
        if keyword in ("if", "range", "with"):
            names, pipe = _declared(words[1:])
            block: Node = (keyword, _pipeline(pipe), [], [], names)
            nodes.append(block)
            stack.append((nodes, block))
            nodes = block[2]
        elif keyword == "else":
            if not stack or nodes is not stack[-1][1][2]:
                raise _Error("unexpected else")
            nodes = stack[-1][1][3]
        elif keyword == "end":
            if not stack:
                raise _Error("unexpected end")
            nodes = stack.pop()[0]
        else:
            nodes.append(("pipe", _pipeline(words)))
    if stack:
        raise _Error(f"unexpected EOF: {stack[-1][1][0]} has no end")
    return nodes


# --- running -----------------------------------------------------------------------------------


def _field(dot: Any, path: str) -> Any:
    value = dot
    for key in filter(None, path.split(".")):
        if not isinstance(value, dict) or key not in value:
            raise _Error(f"no field {path}")
        value = value[key]
    return value


def _argument(word: Any, dot: Any, variables: Variables) -> Any:
    if isinstance(word, tuple):  # ("sub", pipeline) or ("sub", pipeline, ".Field")
        value = _run(word[1], dot, variables)
        return _field(value, word[2]) if len(word) > 2 else value
    if word.startswith("."):
        return _field(dot, word)
    if word.startswith("$"):
        name, _, path = word.partition(".")
        if name not in variables:
            raise _Error(f"undefined variable: {name}")
        return _field(variables[name], path)
    if word[0] in '"`':
        return json.loads(word) if word[0] == '"' else word[1:-1]
    if word in ("true", "false"):
        return word == "true"
    if word == "nil":
        return None
    try:
        return float(word) if "." in word or "e" in word else int(word, 0)
    except ValueError:
        raise _Error(f'function "{word}" not defined') from None


def _run(commands: list[list[Any]], dot: Any, variables: Variables) -> Any:
    value: Any = None
    for n, command in enumerate(commands):
        first = command[0]
        piped = [value] if n else []
        if isinstance(first, str) and first in FUNCTIONS:
            args = [_argument(w, dot, variables) for w in command[1:]] + piped
            try:
                value = FUNCTIONS[first](*args)
            except TypeError:
                raise _Error(f"wrong number of arguments for {first}") from None
        elif isinstance(first, str) and first[:1].isalpha() and first not in ("true", "false", "nil"):
            raise _Error(f'function "{first}" not defined')
        elif len(command) > 1 or piped:
            raise _Error(f"{show(first)} is not a function")
        else:
            value = _argument(first, dot, variables)
    return value


def _items(value: Any) -> list[tuple[Any, Any]]:
    """(key, element) of what range goes over: a map's in its keys' order (as Go's), a list's."""
    if isinstance(value, dict):
        return [(k, value[k]) for k in sorted(value)]
    if isinstance(value, list | tuple):
        return list(enumerate(value))
    raise _Error(f"range can't iterate over {show(value)}")


def _execute(nodes: list[Node], dot: Any, out: list[str], variables: Variables) -> None:
    for node in nodes:
        kind = node[0]
        if kind == "text":
            out.append(node[1])
        elif kind == "pipe":
            out.append(show(_run(node[1], dot, variables)))
        else:
            value, names = _run(node[1], dot, variables), node[4]
            if kind == "range" and _true(value):
                for key, item in _items(value):
                    bound = dict(zip(names, (key, item) if len(names) == 2 else (item,), strict=False))
                    _execute(node[2], item, out, {**variables, **bound})
            elif kind != "range" and _true(value):
                bound = {names[-1]: value} if names else {}
                _execute(node[2], value if kind == "with" else dot, out, {**variables, **bound})
            else:
                _execute(node[3], dot, out, variables)


def render(template: str, data: Any) -> str:
    try:
        out: list[str] = []
        _execute(parse(template), data, out, {"$": data})
        return "".join(out)
    except (_Error, ValueError) as e:
        raise ConmanError(f"invalid format {quoted(template)}: {e}") from None
