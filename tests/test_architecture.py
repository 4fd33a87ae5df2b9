"""The shape issue 11 gives smsc, checked statically (ast only, no imports).

- SQL, and any handle on the SQLite connection, live in ``smsc/store/``;
- ``web/``, ``campaigns/``, ``dlr/`` and the engine import neither the
  composition root (``smsc.app``) nor the SQLite module (``smsc.store.sqlite``);
- the import graph between packages (and top-level modules) has no cycle;
- the SMPP session state machine imports no Twisted, and the engine no
  reactor, no sockets and none of the edges (server, web, app, SQLite).

Imports count wherever they are written: relative ones, ``TYPE_CHECKING``
blocks and imports inside functions (a lazy import still is a dependency).
Each checker is a plain function of parsed sources, and each has a test on a
small synthetic source showing it reports what it should: a check that
cannot fail proves nothing.
"""
from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "smsc"


# --- sources ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """One parsed module: its dotted name, its path for messages, its tree."""

    module: str
    path: str
    is_package: bool
    tree: ast.Module

    @classmethod
    def parse(cls, module: str, text: str, path: str | None = None, is_package: bool = False) -> Source:
        text = textwrap.dedent(text)
        path = path or module.replace(".", "/") + ("/__init__.py" if is_package else ".py")
        return cls(module, path, is_package, ast.parse(text, path))


def load_sources(package: Path = PACKAGE) -> list[Source]:
    sources = []
    for file in sorted(package.rglob("*.py")):
        rel = file.relative_to(package.parent)
        parts = list(rel.with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        sources.append(Source(".".join(parts), rel.as_posix(), is_package, ast.parse(file.read_text(), str(rel))))
    return sources


SOURCES = load_sources()


def under(sources: Iterable[Source], *prefixes: str) -> list[Source]:
    """The sources that are one of ``prefixes`` or inside it (dotted names)."""
    return [s for s in sources if any(s.module == p or s.module.startswith(p + ".") for p in prefixes)]


def engine_sources(sources: Sequence[Source]) -> list[Source]:
    """smsc/engine.py today, the smsc/engine/ package after the split: both count."""
    return under(sources, "smsc.engine")


# --- imports ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Import:
    line: int
    #: the module imported and, for ``from M import a, b``, also ``M.a`` and
    #: ``M.b`` (either may be a submodule): what the statement may depend on
    targets: tuple[str, ...]


def imports(source: Source) -> list[Import]:
    """Every import statement in ``source`` (anywhere in it), relative ones resolved."""
    found = []
    for node in ast.walk(source.tree):
        if isinstance(node, ast.Import):
            found.append(Import(node.lineno, tuple(alias.name for alias in node.names)))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = source.module.split(".") if source.is_package else source.module.split(".")[:-1]
                base = package[: len(package) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            names = tuple(f"{module}.{alias.name}" for alias in node.names if alias.name != "*")
            found.append(Import(node.lineno, (module, *names)))
    return found


def is_or_inside(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def banned_imports(sources: Iterable[Source], banned: Sequence[str]) -> list[str]:
    """``path:line: imports X`` for every import of (something inside) ``banned``."""
    findings = []
    for source in sources:
        for imp in imports(source):
            hits = sorted({b for b in banned for t in imp.targets if is_or_inside(t, b)})
            findings += [f"{source.path}:{imp.line}: imports {b}" for b in hits]
    return findings


# --- the package graph -----------------------------------------------------------------


def node_of(name: str, modules: set[str]) -> str | None:
    """The graph node of an imported name: ``smsc.X`` for a package or top-level
    module X, ``smsc`` for the package itself, None outside smsc."""
    parts = name.split(".")
    if parts[0] != "smsc":
        return None
    if len(parts) > 1:
        top = "smsc." + parts[1]
        if any(is_or_inside(m, top) for m in modules):
            return top
    return "smsc"


def package_graph(sources: Sequence[Source]) -> dict[str, dict[str, str]]:
    """node -> {node it imports: where (the first ``path:line``)}; self-edges dropped."""
    modules = {s.module for s in sources}
    graph: dict[str, dict[str, str]] = {}
    for source in sources:
        here = node_of(source.module, modules)
        assert here is not None, source.module
        edges = graph.setdefault(here, {})
        for imp in imports(source):
            nodes = {node_of(target, modules) for target in imp.targets} - {None, here}
            if len(nodes) > 1:
                # ``from smsc import records``: a submodule, not smsc/__init__.py
                nodes.discard("smsc")
            for there in sorted(n for n in nodes if n is not None):
                edges.setdefault(there, f"{source.path}:{imp.line}")
    return graph


def cycles(graph: dict[str, dict[str, str]]) -> list[list[str]]:
    """Cycles as paths ``[a, b, ..., a]``: in each strongly connected group of
    nodes (Tarjan), the shortest cycle through each of its nodes, each cycle
    once. Enough to show every edge that must go, without listing the
    (exponentially many) elementary cycles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, {})):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(group)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    found: list[list[str]] = []
    seen: set[frozenset[tuple[str, str]]] = set()
    for group in sorted(groups, key=min):
        for start in sorted(group):
            cycle = _shortest_cycle(graph, group, start)
            edges = frozenset(zip(cycle, cycle[1:], strict=False))
            if edges not in seen:
                seen.add(edges)
                found.append(cycle)
    return found


def _shortest_cycle(graph: dict[str, dict[str, str]], group: set[str], start: str) -> list[str]:
    """A shortest cycle from ``start`` back to it inside ``group`` (breadth first)."""
    parent: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for v in frontier:
            for w in sorted(graph.get(v, {})):
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(parent[path[-1]])
                    return [*reversed(path), start]
                if w in group and w not in parent:
                    parent[w] = v
                    following.append(w)
        frontier = following
    raise AssertionError(f"no cycle through {start} in {sorted(group)}")


def describe(graph: dict[str, dict[str, str]], cycle: list[str]) -> str:
    return " -> ".join(cycle) + "".join(
        f"\n    {a} -> {b} at {graph[a][b]}" for a, b in zip(cycle, cycle[1:], strict=False)
    )


# --- SQL -------------------------------------------------------------------------------

#: a statement as SQL starts one; or SQL's own phrases anywhere in a fragment;
#: upper case only, so prose ("select a row") does not count
_SQL = re.compile(
    r"^\s*(?:SELECT\s+\S|INSERT\s+(?:OR\s+\w+\s+)?INTO\b|UPDATE\s+\w+\s+SET\b|DELETE\s+FROM\b|REPLACE\s+INTO\b"
    r"|CREATE\s+(?:TEMP\s+|UNIQUE\s+)?(?:TABLE|INDEX|VIEW|TRIGGER)\b|DROP\s+(?:TABLE|INDEX|VIEW)\b|ALTER\s+TABLE\b"
    r"|PRAGMA\s+\w+|WITH\s+\w+\s+AS\s*\(|BEGIN(?:\s+(?:IMMEDIATE|DEFERRED|EXCLUSIVE|TRANSACTION))?\s*;?\s*$"
    r"|COMMIT\s*;?\s*$|ROLLBACK\b|SAVEPOINT\b|VACUUM\b)"
    r"|\bSELECT\b.*\bFROM\b|\b(?:INSERT|REPLACE)\s+INTO\b|\bDELETE\s+FROM\b|\bCASE\s+(?:\w+(?:\.\w+)?\s+)?WHEN\b"
    r"|\bWHEN\b.*\bTHEN\b|\b(?:LEFT\s+|INNER\s+|OUTER\s+)?JOIN\s+\w+\s+(?:\w+\s+)?ON\b|\bGROUP\s+BY\b|\bORDER\s+BY\b"
    r"|\bWHERE\s+\w+(?:\.\w+)?\s*(?:=|<|>|!=|<>|\bIN\b|\bIS\b|\bLIKE\b)|\b\w+(?:\.\w+)?\s*(?:=|<=|>=|<|>)\s*\?",
    re.S,
)
#: calls that run SQL, and the modules that give a connection
_RUNS_SQL = {"execute", "executemany", "executescript"}
_DB_MODULES = ("sqlite3", "sqlite_utils")


def _string_text(node: ast.expr) -> str:
    """The literal text of a str constant or f-string ({} for each hole)."""
    if isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, str) else ""
    assert isinstance(node, ast.JoinedStr)
    return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)


def sql_findings(sources: Iterable[Source]) -> list[str]:
    """``path:line: why`` for SQL text or a database handle in ``sources``.

    Docstrings (and any other bare string statement) are prose, not queries:
    they are skipped.
    """
    findings = []
    for source in sources:
        prose: set[int] = set()
        inside_fstrings: set[int] = set()
        for node in ast.walk(source.tree):
            if isinstance(node, ast.Expr) and isinstance(node.value, (ast.Constant, ast.JoinedStr)):
                prose.add(id(node.value))
            if isinstance(node, ast.JoinedStr):
                inside_fstrings.update(id(v) for v in node.values)
        for node in ast.walk(source.tree):
            where = f"{source.path}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, (ast.Constant, ast.JoinedStr)) and id(node) not in prose | inside_fstrings:
                text = _string_text(node)
                if text and _SQL.search(text):
                    findings.append(f"{where}: SQL {text.strip()[:60]!r}")
            elif isinstance(node, ast.Attribute) and node.attr == "db":
                findings.append(f"{where}: .db (the store's connection)")
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _RUNS_SQL:
                findings.append(f"{where}: .{node.func.attr}(")
            elif isinstance(node, ast.Name) and node.id in _DB_MODULES:
                findings.append(f"{where}: uses {node.id}")
        findings += banned_imports([source], _DB_MODULES)
    return sorted(set(findings), key=_by_place)


def _by_place(finding: str) -> tuple[str, int, str]:
    path, line, rest = finding.split(":", 2)
    return path, int(line), rest


# --- the rules, on smsc ----------------------------------------------------------------

#: packages that must not know the composition root nor the SQLite store
CLIENT_PACKAGES = ("smsc.web", "smsc.campaigns", "smsc.dlr", "smsc.engine")


def until_issue_11(what: str) -> pytest.MarkDecorator:
    """Today's code breaks these rules; issue 11's redesign fixes it. Strict:
    the day a rule holds the test passes, the suite fails on the XPASS, and
    the marker must go in that commit, so the rule is enforced from then on."""
    return pytest.mark.xfail(strict=True, raises=AssertionError, reason=f"issue 11 pending: {what}")


def test_the_sources_are_found() -> None:
    names = {s.module for s in SOURCES}
    assert {"smsc.app", "smsc.store.sqlite", "smsc.server.session", "smsc.pdu.codec"} <= names
    assert engine_sources(SOURCES)


@until_issue_11("SQL in campaigns/store.py, web/reports_data.py, app.py")
def test_no_sql_outside_smsc_store() -> None:
    outside = [s for s in SOURCES if not is_or_inside(s.module, "smsc.store")]
    assert sql_findings(outside) == []


@until_issue_11("web handlers take Server; store.sqlite imported by web, dlr, campaigns, engine.py")
def test_web_campaigns_dlr_and_the_engine_import_neither_app_nor_sqlite() -> None:
    clients = under(SOURCES, *CLIENT_PACKAGES)
    assert clients
    assert banned_imports(clients, ("smsc.app", "smsc.store.sqlite")) == []


@until_issue_11("dlr -> web (api_status), web -> app (Server), accounts -> dlr")
def test_no_import_cycle_between_packages() -> None:
    graph = package_graph(SOURCES)
    assert {"smsc.pdu", "smsc.web", "smsc.store", "smsc.app"} <= graph.keys()
    found = cycles(graph)
    assert not found, "import cycles between packages:\n" + "\n".join(describe(graph, c) for c in found)


def test_the_session_state_machine_imports_no_twisted() -> None:
    session = under(SOURCES, "smsc.server.session")
    assert session
    assert banned_imports(session, ("twisted",)) == []


@until_issue_11("engine.py imports store.sqlite")
def test_the_engine_imports_no_reactor_sockets_or_edges() -> None:
    engine = engine_sources(SOURCES)
    assert engine
    banned = ("twisted.internet.reactor", "socket", "smsc.server", "smsc.web", "smsc.app", "smsc.store.sqlite")
    assert banned_imports(engine, banned) == []


# --- the checkers can fail -------------------------------------------------------------


def test_sql_is_found_in_strings_and_f_strings_but_not_in_docstrings() -> None:
    source = Source.parse("smsc.web.planted", '''
        """SELECT a report: rows FROM the store, ORDER BY date (prose)."""
        import sqlite3

        QUERY = "SELECT id, stat FROM messages WHERE system_id = ?"
        PART = " AND status = ?"

        def f(store, table):
            """INSERT INTO is only mentioned here."""
            store.db.execute(f"DELETE FROM {table} WHERE id = ?")
            return "BEGIN IMMEDIATE", "CASE m.stat WHEN 'x' THEN 1 END"
        ''')
    assert sql_findings([source]) == [
        "smsc/web/planted.py:3: imports sqlite3",
        "smsc/web/planted.py:5: SQL 'SELECT id, stat FROM messages WHERE system_id = ?'",
        "smsc/web/planted.py:6: SQL 'AND status = ?'",
        "smsc/web/planted.py:10: .db (the store's connection)",
        "smsc/web/planted.py:10: .execute(",
        "smsc/web/planted.py:10: SQL 'DELETE FROM {} WHERE id = ?'",
        "smsc/web/planted.py:11: SQL \"CASE m.stat WHEN 'x' THEN 1 END\"",
        "smsc/web/planted.py:11: SQL 'BEGIN IMMEDIATE'",
    ]


@pytest.mark.parametrize("text", [
    "DELETE", "UPDATE", "SELECT", "DELETED", "a deleted message", "select a row", "Order by date",
    "/v1/admin/accounts/{system_id}/blacklist", "smsc.db", "x = 1", "CREATE", "BEGINNER",
])
def test_words_that_are_not_sql(text: str) -> None:
    assert sql_findings([Source.parse("smsc.web.words", f"X = {text!r}\n")]) == []


def test_banned_imports_are_found_however_written() -> None:
    sources = [
        Source.parse("smsc.web.a", "from smsc.app import Server\n"),
        Source.parse("smsc.web.b", "from .. import app\n"),
        Source.parse("smsc.dlr.c", "from typing import TYPE_CHECKING\n"
                     "if TYPE_CHECKING:\n    from ..store.sqlite import Store\n"),
        Source.parse("smsc.engine.d", "def f():\n    import smsc.store.sqlite\n", is_package=True),
        Source.parse("smsc.campaigns.e", "from smsc.store import sqlite as s\n"),
        Source.parse("smsc.web.fine", "from smsc.store.port import MessageStore\nfrom .application import x\n"),
    ]
    assert banned_imports(sources, ("smsc.app", "smsc.store.sqlite")) == [
        "smsc/web/a.py:1: imports smsc.app",
        "smsc/web/b.py:1: imports smsc.app",
        "smsc/dlr/c.py:3: imports smsc.store.sqlite",
        "smsc/engine/d/__init__.py:2: imports smsc.store.sqlite",
        "smsc/campaigns/e.py:1: imports smsc.store.sqlite",
    ]


def test_purity_rules_catch_a_reactor_a_socket_and_twisted() -> None:
    engine = Source.parse("smsc.engine.submit", "from twisted.internet import reactor, defer\nimport socket\n")
    session = Source.parse("smsc.server.session", "from twisted.internet.defer import Deferred\n")
    assert banned_imports([engine], ("twisted.internet.reactor", "socket")) == [
        "smsc/engine/submit.py:1: imports twisted.internet.reactor",
        "smsc/engine/submit.py:2: imports socket",
    ]
    assert banned_imports([session], ("twisted",)) == ["smsc/server/session.py:1: imports twisted"]
    fine = Source.parse("smsc.engine.ok", "from twisted.internet import defer, task\n")
    assert banned_imports([fine], ("twisted.internet.reactor", "socket")) == []


def test_a_cycle_between_packages_is_found_and_shown_with_its_edges() -> None:
    sources = [
        Source.parse("smsc.dlr", "", is_package=True),
        Source.parse("smsc.dlr.callbacks", "from ..web.api_status import status_of\n"),
        Source.parse("smsc.web", "", is_package=True),
        Source.parse("smsc.web.api_status", "from smsc import records\n"),
        Source.parse("smsc.web.api_messages", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                     "    from smsc.dlr.callbacks import CallbackSender\n"),
        Source.parse("smsc.records", "import smsc.pdu.codec\n"),
        Source.parse("smsc.pdu.codec", "from . import framer\n"),
        Source.parse("smsc.pdu.framer", ""),
    ]
    graph = package_graph(sources)
    assert graph["smsc.web"] == {"smsc.records": "smsc/web/api_status.py:1", "smsc.dlr": "smsc/web/api_messages.py:3"}
    assert graph["smsc.pdu"] == {}  # inside one package: no edge
    found = cycles(graph)
    assert found == [["smsc.dlr", "smsc.web", "smsc.dlr"]]
    assert describe(graph, found[0]) == (
        "smsc.dlr -> smsc.web -> smsc.dlr"
        "\n    smsc.dlr -> smsc.web at smsc/dlr/callbacks.py:1"
        "\n    smsc.web -> smsc.dlr at smsc/web/api_messages.py:3"
    )
    del graph["smsc.dlr"]["smsc.web"]
    assert cycles(graph) == []


def test_a_longer_cycle_is_reported_once_as_a_path() -> None:
    graph = {"a": {"b": "a.py:1"}, "b": {"c": "b.py:1"}, "c": {"a": "c.py:1", "d": "c.py:2"}, "d": {}}
    assert cycles(graph) == [["a", "b", "c", "a"]]


def test_every_node_of_a_tangle_shows_its_shortest_cycle() -> None:
    # app <-> web, and web -> dlr -> accounts -> web: one tangle, two cycles to break
    graph = {
        "app": {"web": "app.py:1"},
        "web": {"app": "web.py:1", "dlr": "web.py:2"},
        "dlr": {"accounts": "dlr.py:1"},
        "accounts": {"web": "accounts.py:1"},
        "pdu": {},
    }
    assert cycles(graph) == [
        ["accounts", "web", "dlr", "accounts"],
        ["app", "web", "app"],
    ]


def test_top_level_modules_are_nodes_of_their_own() -> None:
    modules = {"smsc", "smsc.app", "smsc.store.sqlite", "smsc.web.api"}
    assert node_of("smsc.app.Server", modules) == "smsc.app"
    assert node_of("smsc.store.sqlite.Store", modules) == "smsc.store"
    assert node_of("smsc.web", modules) == "smsc.web"
    assert node_of("smsc.__version__", modules) == "smsc"
    assert node_of("twisted.internet", modules) is None
