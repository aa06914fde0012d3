"""Docker's spelling of boolean flags: `--rm=true`, `--sig-proxy=false`, `-d=false`, `-it=false`.

click, like POSIX getopt, knows only `--rm` and `--no-sig-proxy`; docker users write the value.
Before click sees a command line, each such flag is rewritten into the spelling click knows, the
last one winning as in docker: `--rm --rm=false` is no --rm. Lines without a `-x=value` pass
through untouched. The fast path (cli/fast.py) reads the values itself with parse_bool.
"""

from __future__ import annotations

from conman_systemd.errors import ConmanError

TRUE = frozenset({"1", "t", "T", "true", "TRUE", "True"})  # Go's strconv.ParseBool, as docker
FALSE = frozenset({"0", "f", "F", "false", "FALSE", "False"})


def parse_bool(flag: str, text: str) -> bool:
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise ConmanError(f'invalid argument "{text}" for "{flag}": a flag takes true or false (or 1, 0)')


class Flags:
    """What a command's parser knows: which spellings are booleans, which take a value."""

    def __init__(self, interspersed: bool) -> None:
        self.interspersed = interspersed  # options may follow arguments
        self.booleans: dict[str, tuple[str, bool]] = {}  # spelling -> (key, the value it sets)
        self.spelling: dict[tuple[str, bool], str] = {}  # (key, value) -> the spelling that sets it
        self.valued: set[str] = set()  # spellings whose value may be the next word

    def boolean(self, key: str, on: tuple[str, ...], off: tuple[str, ...] = ()) -> None:
        for value, spellings in ((True, on), (False, off)):
            for spelling in spellings:
                self.booleans[spelling] = (key, value)
            if spellings:
                self.spelling[key, value] = spellings[0]


def _has_value(arg: str) -> bool:
    return arg.startswith("-") and "=" in arg


def normalize(argv: list[str], flags: Flags) -> list[str]:
    """argv with every `-x=BOOL` spelled as its parser knows it; a bad BOOL is a ConmanError."""
    if not any(map(_has_value, argv)):
        return argv
    return _Rewrite(flags).run(list(argv))


class _Rewrite:
    def __init__(self, flags: Flags) -> None:
        self.flags = flags
        self.out: list[tuple[str, str | None]] = []  # (word, the boolean key it sets)

    def run(self, rest: list[str]) -> list[str]:
        flags = self.flags
        while rest:
            arg = rest.pop(0)
            argument = not arg.startswith("-") or arg == "-"
            if arg == "--" or argument and not flags.interspersed:
                self.keep(arg, *rest)
                break
            if argument:
                self.keep(arg)
            elif arg.startswith("--"):
                self.long(arg, rest)
            else:
                self.short(arg, rest)
        return [word for word, _ in self.out]

    def keep(self, *words: str) -> None:
        self.out.extend((word, None) for word in words)

    def long(self, arg: str, rest: list[str]) -> None:
        name, eq, text = arg.partition("=")
        if name in self.flags.booleans:
            self.set(name, text if eq else None)
            return
        self.keep(arg)
        if name in self.flags.valued and not eq and rest:
            self.keep(rest.pop(0))

    def short(self, arg: str, rest: list[str]) -> None:
        """A bundle of short flags: `-dit`, `-d=false`, `-it=0`, `-eK=V`."""
        for i, letter in enumerate(arg[1:], 1):
            flag = "-" + letter
            if flag in self.flags.booleans:
                explicit = arg[i + 1 : i + 2] == "="
                self.set(flag, arg[i + 2 :] if explicit else None)
                if explicit:
                    return
                continue
            self.keep("-" + arg[i:])  # a value option (its value attached or next), or unknown
            if flag in self.flags.valued and i + 1 == len(arg) and rest:
                self.keep(rest.pop(0))
            return

    def set(self, flag: str, text: str | None) -> None:
        key, sets = self.flags.booleans[flag]
        value = sets if text is None else parse_bool(flag, text) == sets  # --no-x=true: x off
        self.out = [(word, owner) for word, owner in self.out if owner != key]  # the last one wins
        spelling = self.flags.spelling.get((key, value))
        if spelling is not None:  # a plain flag is off by its absence
            self.out.append((spelling, key))
