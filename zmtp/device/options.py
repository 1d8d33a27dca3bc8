"""The device runner's command line, parsed the way FairMQ's (boost::program_options) is.

A FairMQ user starts a Python device with the same flags as a C++ one, often from the
same start script; so names, defaults, value syntax and the machine-readable
``--print-options`` output follow FAIRMQ.md §3:

* ``--name value`` and ``--name=value``; short ``-h``, ``-v``, ``-P x``/``-Px``;
* booleans accept ``true/false/1/0/yes/no/on/off``; ``--print-options`` and
  ``--print-channels`` take an optional value (``--print-options`` alone means true);
* ``--channel-config`` is multi-token and composing (``--channel-config A B`` and
  ``--channel-config A --channel-config B`` both give two channels); other options may
  appear only once;
* unknown options are accepted and kept in :attr:`ParsedOptions.unregistered` (the
  runner logs them at DEBUG), as FairMQ allows unregistered options;
* a device class adds its own options (``--max-iterations``, ``--text``...) through a
  hook that receives the "Custom options" group.

Descriptions are our own words; names, types and defaults are FairMQ's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

from .errors import OptionError

__all__ = [
    "CONTROL_MODES",
    "NO_DEFAULT",
    "Option",
    "OptionGroup",
    "OptionParser",
    "OptionType",
    "ParsedOptions",
    "common_parser",
    "format_print_channels",
    "normalize_control",
    "parse_args",
]

OptionType = Literal[
    "flag", "string", "int", "bool", "float", "double", "unsigned short", "unsigned long",
    "vector<string>",
]


class _NoDefault:
    def __repr__(self) -> str:
        return "NO_DEFAULT"


#: Marks an option without default value: it is absent from the parsed values unless given.
NO_DEFAULT: Final = _NoDefault()

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})
_NEGATIVE_NUMBER = re.compile(r"-\d")


@dataclass(frozen=True)
class Option:
    """One registered option (long name without dashes, e.g. ``mq-config``)."""

    name: str
    type: OptionType
    help: str
    default: object = NO_DEFAULT
    short: str | None = None
    implicit: object = NO_DEFAULT
    group: str = ""

    @property
    def multitoken(self) -> bool:
        return self.type == "vector<string>"

    def convert(self, text: str) -> object:
        """Text from the command line -> typed value; :class:`OptionError` if impossible."""
        try:
            return _convert(self.type, text)
        except ValueError:
            raise OptionError(
                f"the argument ('{text}') for option '--{self.name}' is invalid: "
                f"expected {_EXPECTED[self.type]}"
            ) from None


_EXPECTED: Final[Mapping[str, str]] = {
    "flag": "no value",
    "string": "a string",
    "int": "an integer",
    "bool": "true/false/1/0/yes/no/on/off",
    "float": "a number",
    "double": "a number",
    "unsigned short": "an integer from 0 to 65535",
    "unsigned long": "a non-negative integer",
    "vector<string>": "strings",
}


def _convert(kind: str, text: str) -> object:
    if kind in ("string", "vector<string>"):
        return text
    if kind == "int":
        return int(text, 10)
    if kind in ("unsigned long", "unsigned short"):
        if not text.isdigit():
            raise ValueError(text)
        value = int(text)
        if kind == "unsigned short" and value > 65535:
            raise ValueError(text)
        return value
    if kind in ("float", "double"):
        return float(text)
    if kind == "bool":
        word = text.lower()
        if word in _TRUE or text == "":
            return True
        if word in _FALSE:
            return False
        raise ValueError(text)
    raise ValueError(text)


def format_value(kind: str, value: object) -> str:
    """A value as FairMQ prints it in ``--print-options`` (bool as true/false, %g floats,
    vectors joined with ``", "``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


@dataclass
class OptionGroup:
    """A titled group of options, as listed by ``--help``."""

    title: str
    options: list[Option] = field(default_factory=list)

    def add(
        self,
        name: str,
        type: OptionType,
        help: str,
        default: object = NO_DEFAULT,
        *,
        short: str | None = None,
        implicit: object = NO_DEFAULT,
    ) -> Option:
        """Register ``--name``; returns the option."""
        option = Option(name, type, help, default, short, implicit, self.title)
        self.options.append(option)
        return option


@dataclass
class ParsedOptions:
    """Values by long option name, which of them were given, and unregistered tokens."""

    options: list[Option]
    values: dict[str, object]
    provided: set[str]
    unregistered: list[str]

    def __getitem__(self, name: str) -> object:
        return self.values[name]

    def __contains__(self, name: str) -> bool:
        """True if the option has a value (given, or a default): boost's ``vm.count``."""
        return name in self.values

    def get(self, name: str, default: object = None) -> object:
        return self.values.get(name, default)

    def get_str(self, name: str, default: str = "") -> str:
        value = self.values.get(name, default)
        return value if isinstance(value, str) else default

    def get_int(self, name: str, default: int = 0) -> int:
        value = self.values.get(name, default)
        return value if isinstance(value, int) and not isinstance(value, bool) else default

    def get_bool(self, name: str, default: bool = False) -> bool:
        value = self.values.get(name, default)
        return value if isinstance(value, bool) else default

    def get_float(self, name: str, default: float = 0.0) -> float:
        value = self.values.get(name, default)
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return float(value) if ok else default  # type: ignore[arg-type]

    def get_strings(self, name: str) -> list[str]:
        value = self.values.get(name, [])
        return [str(v) for v in value] if isinstance(value, list) else []

    def origin(self, name: str) -> str:
        """``[provided]``, ``[default]`` or ``[empty]``, as FairMQ's configuration table."""
        if name in self.provided:
            return "[provided]"
        return "[default]" if name in self.values else "[empty]"

    def print_options_lines(self) -> list[str]:
        """``--print-options`` output: ``<name>:<value>:<type>:<description>`` per option."""
        lines: list[str] = []
        for opt in self.options:
            if opt.name in self.values and opt.type != "flag":
                value = format_value(opt.type, self.values[opt.name])
                kind: str = opt.type
            else:
                value, kind = "", "<unknown>"
            description = opt.help.replace("\n", " ")
            lines.append(f"{opt.name}:{value}:{kind}:{description}")
        return lines


class OptionParser:
    """Registered option groups and a boost-like command-line parser over them."""

    def __init__(self) -> None:
        self.groups: list[OptionGroup] = []

    def group(self, title: str) -> OptionGroup:
        """The group named ``title``, created at the end if new."""
        for g in self.groups:
            if g.title == title:
                return g
        g = OptionGroup(title)
        self.groups.append(g)
        return g

    @property
    def options(self) -> list[Option]:
        return [o for g in self.groups for o in g.options]

    def _index(self) -> tuple[dict[str, Option], dict[str, Option]]:
        longs: dict[str, Option] = {}
        shorts: dict[str, Option] = {}
        for o in self.options:
            if o.name in longs:
                raise OptionError(f"option '--{o.name}' is registered twice")
            longs[o.name] = o
            if o.short:
                shorts[o.short] = o
        return longs, shorts

    def parse(self, argv: Sequence[str]) -> ParsedOptions:
        """Parse arguments (without the program name)."""
        longs, shorts = self._index()
        options = self.options
        values: dict[str, object] = {
            o.name: (list(o.default) if isinstance(o.default, list) else o.default)
            for o in options
            if o.default is not NO_DEFAULT
        }
        provided: set[str] = set()
        unregistered: list[str] = []
        args = list(argv)
        i = 0
        while i < len(args):
            tok = args[i]
            i += 1
            if tok == "--":
                unregistered.extend(args[i:])
                break
            opt: Option | None
            inline: str | None
            if tok.startswith("--") and len(tok) > 2:
                name, eq, rest = tok[2:].partition("=")
                opt, inline = longs.get(name), (rest if eq else None)
            elif tok.startswith("-") and len(tok) > 1 and not _NEGATIVE_NUMBER.match(tok):
                opt, inline = shorts.get(tok[1]), (tok[2:] or None)
            else:
                unregistered.append(tok)
                continue
            if opt is None:
                unregistered.append(tok)
                continue
            i = self._take(opt, inline, args, i, values, provided)
        return ParsedOptions(options, values, provided, unregistered)

    @staticmethod
    def _looks_like_value(tok: str) -> bool:
        return not tok.startswith("-") or tok == "-" or bool(_NEGATIVE_NUMBER.match(tok))

    def _take(
        self,
        opt: Option,
        inline: str | None,
        args: list[str],
        i: int,
        values: dict[str, object],
        provided: set[str],
    ) -> int:
        if opt.name in provided and not opt.multitoken:
            raise OptionError(f"option '--{opt.name}' cannot be specified more than once")
        if opt.type == "flag":
            if inline is not None:
                raise OptionError(f"option '--{opt.name}' does not take any arguments")
            values[opt.name] = True
        elif opt.implicit is not NO_DEFAULT and inline is None:
            values[opt.name] = opt.implicit
        elif opt.multitoken:
            tokens: list[str] = [] if inline is None else [inline]
            while i < len(args) and self._looks_like_value(args[i]):
                tokens.append(args[i])
                i += 1
            if not tokens:
                raise OptionError(f"the required argument for option '--{opt.name}' is missing")
            current = values.get(opt.name) if opt.name in provided else []
            assert isinstance(current, list)
            values[opt.name] = current + tokens
        else:
            if inline is None:
                if i >= len(args) or not self._looks_like_value(args[i]):
                    raise OptionError(
                        f"the required argument for option '--{opt.name}' is missing"
                    )
                inline = args[i]
                i += 1
            values[opt.name] = opt.convert(inline)
        provided.add(opt.name)
        return i

    def format_help(self) -> str:
        """``--help`` text, laid out like boost's option descriptions."""
        rows: list[tuple[str, str, str]] = []
        for g in self.groups:
            for o in g.options:
                names = f"-{o.short} [ --{o.name} ]" if o.short else f"--{o.name}"
                if o.type != "flag":
                    if o.implicit is not NO_DEFAULT:
                        names += f" [=arg(={_boost_default(o.implicit)})]"
                    else:
                        names += " arg"
                    if o.default is not NO_DEFAULT:
                        names += f" (={_boost_default(o.default)})"
                rows.append((g.title, names, o.help))
        width = min(max((len(n) for _, n, _ in rows), default=0) + 4, 40)
        out: list[str] = []
        title = None
        for group_title, names, text in rows:
            if group_title != title:
                if title is not None:
                    out.append("")
                out.append(f"{group_title}:")
                title = group_title
            if len(names) + 2 >= width:
                out.append(f"  {names}")
                out.append(" " * width + text)
            else:
                out.append(f"  {names:<{width - 2}}{text}")
        return "\n".join(out) + "\n"


def _boost_default(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return format_value("", value)


#: Values of ``--control``; dynamic, interactive and external are the same controller.
CONTROL_MODES: Final = ("static", "dynamic", "interactive", "external", "none", "gui")


def normalize_control(value: str) -> tuple[str, str | None]:
    """``--control`` -> (``static``/``interactive``/``none``/``gui``, error or None).

    An unknown value falls back to static with an error message, as FairMQ does.
    """
    if value in ("dynamic", "interactive", "external"):
        return "interactive", None
    if value in ("static", "none", "gui"):
        return value, None
    return "static", (
        f"Unknown control mode '{value}' (expected one of {', '.join(CONTROL_MODES)}); "
        "falling back to static"
    )


def format_print_channels(registered: Mapping[str, tuple[int, int]]) -> list[str]:
    """``--print-channels`` output: ``<name>:<min>:<max>`` per channel the device
    registered, or ``no channels registered.``."""
    if not registered:
        return ["no channels registered."]
    return [f"{name}:{lo}:{hi}" for name, (lo, hi) in registered.items()]


CustomOptions = Callable[[OptionGroup], None]


def common_parser(add_custom_options: CustomOptions | Iterable[CustomOptions] = ()) -> OptionParser:
    """A parser with FairMQ's common options (names, types, defaults of v1.10) and the
    device's own options in a final "Custom options" group."""
    p = OptionParser()
    g = p.group("FairMQ Command Line Options")
    g.add("help", "flag", "Print this help and exit", short="h")
    g.add("version", "flag", "Print the versions and exit", short="v")
    g.add("severity", "string", "Console log severity: nolog fatal critical error alarm "
          "important warn state info detail debug debug1-4 trace (empty: info)", "")
    g.add("file-severity", "string", "Log severity for --log-to-file", "debug")
    g.add("verbosity", "string", "Log line verbosity: verylow low medium high veryhigh "
          "user1-4", "medium")
    g.add("color", "bool", "Colour the console log (true/false)", True)
    g.add("log-to-file", "string", "Log to files with this prefix instead of the console", "")
    g.add("print-options", "bool", "Print every option as "
          "<option>:<computed-value>:<type>:<description> and exit", implicit=True)

    g = p.group("FairMQ device options")
    g.add("id", "string", "Device id: selects the --mq-config entry and prefixes socket "
          "identities", "")
    g.add("io-threads", "int", "Number of I/O threads (accepted for compatibility)", 1)
    g.add("transport", "string", "Default transport of the channels (zeromq only here)",
          "zeromq")
    g.add("network-interface", "string", "Network interface for bind channels without an "
          "address ('default': the default route's)", "default")
    g.add("init-timeout", "int", "Seconds for connecting channels to get a valid address", 120)
    g.add("print-channels", "bool", "Print the channels the device registers as "
          "<name>:<min>:<max> and exit", implicit=True)
    g.add("shm-segment-size", "unsigned long", "shmem only: segment size (no effect)",
          2147483648)
    g.add("shm-allocation", "string", "shmem only: allocation algorithm (no effect)",
          "rbtree_best_fit")
    g.add("shm-segment-id", "unsigned short", "shmem only: segment id (no effect)", 0)
    g.add("shmid", "string", "shmem only: shared memory id (no effect)")
    g.add("shm-mlock-segment", "bool", "shmem only (no effect)", False)
    g.add("shm-mlock-segment-on-creation", "bool", "shmem only (no effect)", False)
    g.add("shm-zero-segment", "bool", "shmem only (no effect)", False)
    g.add("shm-zero-segment-on-creation", "bool", "shmem only (no effect)", False)
    g.add("shm-throw-bad-alloc", "bool", "shmem only (no effect)", True)
    g.add("shm-metadata-msg-size", "unsigned long", "shmem only (no effect)", 0)
    g.add("bad-alloc-max-attempts", "int", "shmem only (no effect)", -1)
    g.add("bad-alloc-attempt-interval", "int", "shmem only (no effect)", 50)
    g.add("shm-monitor", "bool", "shmem only (no effect)", False)
    g.add("shm-no-cleanup", "bool", "shmem only (no effect)", False)
    g.add("rate", "float", "Frequency limit in Hz of the ConditionalRun loop (0: none)", 0.0)
    g.add("session", "string", "Session name (no effect on the zeromq wire)", "default")
    g.add("config-key", "string", "Entry of --mq-config to use instead of --id")
    g.add("mq-config", "string", "JSON file with the channel configuration")
    g.add("channel-config", "vector<string>", "Channel configuration: "
          "name=<n>,type=<t>,method=<m>,address=<a>,... (one channel per argument)")

    g = p.group("Control (builtin) Plugin")
    g.add("control", "string", "State control: static, dynamic (= interactive), none, gui",
          "dynamic")
    g.add("catch-signals", "int", "Handle SIGINT/SIGTERM for a graceful shutdown (0: no)", 1)

    g = p.group("Plugin Manager")
    g.add("plugin", "vector<string>", "Plugins to load (C++ plugins are not loadable here)",
          short="P")
    g.add("plugin-search-path", "vector<string>", "Plugin search path", short="S")

    hooks = [add_custom_options] if callable(add_custom_options) else list(add_custom_options)
    if hooks:
        custom = p.group("Custom options")
        for hook in hooks:
            hook(custom)
    return p


def parse_args(
    argv: Sequence[str], add_custom_options: CustomOptions | Iterable[CustomOptions] = ()
) -> ParsedOptions:
    """Parse a device command line (without program name) with the common + custom options."""
    return common_parser(add_custom_options).parse(argv)
