"""The catalogue of every event the ledger stores, read from the aggregates themselves: pure, no IO.

The events exist only as methods decorated with ``@event("Name")``: the eventsourcing library
makes one event class per decorated method and sets it on the aggregate (``Receipt.Recorded``),
its fields being the method's parameters. So the code is the only complete list of what the log
can hold, and docs/events.md is generated from it (``tools/event_catalogue.py``), never written
by hand; tests/unit/test_event_catalogue.py fails when the page is stale, and when a projection,
the public leaf or a tool names an event that does not exist.

An event's meaning is the first paragraph of its method's docstring (of ``__init__`` for the
event that creates the aggregate, or else of the aggregate's class docstring).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from eventsourcing.domain import Aggregate, CanInitAggregate, CommandMethodDecorator
from eventsourcing.utils import get_topic

from domain import (
    allocations,
    bank,
    children,
    claims,
    distributions,
    donors,
    idempotency,
    needs,
    partners,
    programmes,
    proposals,
    receipts,
    seasons,
)
from domain.leaf import ORIGIN_KINDS, public_facts

__all__ = ["AGGREGATE_MODULES", "CatalogueError", "EventInfo", "Field", "catalogue", "render_markdown"]

# The modules that define aggregates. Listed, not discovered, so that the catalogue does not
# depend on what else is on disk; the test checks that no other domain module defines one.
AGGREGATE_MODULES: tuple[ModuleType, ...] = (
    allocations, bank, children, claims, distributions, donors, idempotency, needs, partners,
    programmes, proposals, receipts, seasons,
)

COMMAND = ".venv/bin/python tools/event_catalogue.py"


class CatalogueError(Exception):
    """An aggregate whose events can't be catalogued as written."""


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    annotation: str  # as written in the method's signature; "" when it has none
    default: str | None = None  # repr of the default, for fields that events recorded earlier lack

    def render(self) -> str:
        text = f"{self.name}: {self.annotation}" if self.annotation else self.name
        return text if self.default is None else f"{text} = {self.default}"


@dataclass(frozen=True, slots=True)
class EventInfo:
    module: str  # domain.receipts
    aggregate: str  # Receipt
    name: str  # Recorded
    topic: str  # domain.receipts:Receipt.Recorded, as stored
    fields: tuple[Field, ...]
    meaning: str
    creates: bool  # the event that creates the aggregate (version 1)
    line: int  # where its method is declared, for declaration order

    @property
    def kind(self) -> str:
        """The topic's part after ":", which projections and the public leaf name (`Receipt.Recorded`)."""
        return f"{self.aggregate}.{self.name}"

    @property
    def public(self) -> tuple[str, ...] | None:
        """The facts its public leaf shows in clear (docs/verifiable-log.md §1.2), or None."""
        # Which facts are published depends on the kind alone, not on the values: asking with no
        # attributes gives their names.
        facts = public_facts(self.kind, {}, 0)
        return None if facts is None else tuple(sorted(facts))


def _first_paragraph(doc: str | None) -> str:
    text = inspect.cleandoc(doc or "")
    return " ".join(text.split("\n\n", 1)[0].split())


def _fields(func: Callable[..., Any], *, creates: bool) -> tuple[Field, ...]:
    out = []
    for name, param in inspect.signature(func).parameters.items():
        # A creation event does not store `id`: the library makes it the event's originator_id.
        if name == "self" or (creates and name == "id"):
            continue
        annotation = param.annotation
        written = "" if annotation is inspect.Parameter.empty else (
            annotation if isinstance(annotation, str) else inspect.formatannotation(annotation))
        default = None if param.default is inspect.Parameter.empty else repr(param.default)
        out.append(Field(name, written, default))
    return tuple(out)


def _decorators(cls: type[Aggregate]) -> Iterator[CommandMethodDecorator]:
    for value in vars(cls).values():
        if isinstance(value, CommandMethodDecorator):
            yield value
        elif isinstance(value, property) and isinstance(value.fset, CommandMethodDecorator):
            yield value.fset


def _event_name(decorator: CommandMethodDecorator) -> str:
    if decorator.event_cls_name:
        return decorator.event_cls_name
    assert decorator.given_event_cls is not None  # the library requires a name or a class
    return decorator.given_event_cls.__name__


def _info(cls: type[Aggregate], event_cls: type[Any], func: Callable[..., Any], meaning: str,
          creates: bool) -> EventInfo:
    return EventInfo(module=cls.__module__, aggregate=cls.__qualname__, name=event_cls.__name__,
                     topic=get_topic(event_cls), fields=_fields(func, creates=creates),
                     meaning=meaning, creates=creates, line=func.__code__.co_firstlineno)


def aggregate_events(cls: type[Aggregate]) -> list[EventInfo]:
    """The events of one aggregate, in the order their methods are declared."""
    events = []
    created = False
    for decorator in _decorators(cls):
        func = decorator.decorated_func
        event_cls = getattr(cls, _event_name(decorator))
        creates = func.__name__ == "__init__"
        created = created or creates
        meaning = _first_paragraph(func.__doc__) or (_first_paragraph(cls.__doc__) if creates else "")
        events.append(_info(cls, event_cls, func, meaning, creates))
    if not created:
        # An undecorated __init__: the library made the creation event itself (`Created`).
        made = [c for name, c in vars(cls).items()
                if isinstance(c, type) and issubclass(c, CanInitAggregate) and name != "Event"]
        if len(made) != 1:
            raise CatalogueError(f"{cls.__qualname__}: which creation event it records is not clear; "
                                 "decorate its __init__ with @event(\"Name\")")
        init = vars(cls).get("__init__", cls.__init__)
        events.append(_info(cls, made[0], init,
                            _first_paragraph(init.__doc__) or _first_paragraph(cls.__doc__), True))
    return sorted(events, key=lambda e: (not e.creates, e.line))


def aggregates(modules: Iterable[ModuleType] = AGGREGATE_MODULES) -> list[type[Aggregate]]:
    """The aggregate classes these modules define (not those they import), by module and name."""
    found = [value for module in modules for value in vars(module).values()
             if isinstance(value, type) and issubclass(value, Aggregate) and value is not Aggregate
             and value.__module__ == module.__name__]
    return sorted(found, key=lambda c: (c.__module__, c.__qualname__))


def catalogue(modules: Iterable[ModuleType] = AGGREGATE_MODULES) -> list[EventInfo]:
    """Every event of every aggregate: by module, then aggregate, then declaration order."""
    return [e for cls in aggregates(modules) for e in aggregate_events(cls)]


def _cell(text: str) -> str:
    # A "|" inside a table cell, even in a code span, ends the cell unless escaped.
    return text.replace("|", "\\|")


def _code(text: str) -> str:
    return f"`{_cell(text)}`"


def render_markdown(events: list[EventInfo] | None = None) -> str:
    """docs/events.md: the same catalogue gives the same bytes."""
    events = catalogue() if events is None else events
    out = [
        "# Events",
        "",
        "Generated from the aggregates in `domain/` (domain/event_catalogue.py): do not edit it by",
        f"hand, run `{COMMAND}`. With `--check` that command fails when the page",
        "is stale, and so does tests/unit/test_event_catalogue.py.",
        "",
        "Every change to the ledger is one of these events, and nothing is ever updated or deleted:",
        "a mistake is corrected by a later event that names the first (DESIGN §3). An event's topic",
        "in the store is `module:Aggregate.Event` (for example `domain.receipts:Receipt.Recorded`);",
        "projections and the public leaf name it by the part after the colon (`Receipt.Recorded`).",
        "",
        "The fields are the ones the event stores, with their types as the code writes them; a field",
        "with a default (`= None`) may be missing from events recorded before it existed, which load",
        "with the default. Every event also has `originator_id` (the aggregate's id: for the creating",
        "event, the `id` it was given), `originator_version` and `timestamp`; `meta` is who did it,",
        "under which request, why, and a random salt (domain/meta.py). The meaning is the first",
        "paragraph of the event method's docstring.",
        "",
        "\"Public leaf\" lists the facts the event's leaf in the verifiable log shows in clear",
        "(docs/verifiable-log.md §1.2, domain/leaf.py `public_facts`); everything else is sealed.",
        "`reverses` (of a reversal or cancellation) and `need` (of `Need.Surveyed`) hold the public",
        "facts of the aggregate's first event, one of:",
        ", ".join(f"`{k}`" for k in sorted(ORIGIN_KINDS)) + ".",
    ]
    module = aggregate = ""
    for e in events:
        if e.module != module:
            module, aggregate = e.module, ""
            out += ["", f"## {module}"]
        if e.aggregate != aggregate:
            aggregate = e.aggregate
            out += ["", f"### {aggregate}", "",
                    "| Event | Fields | Meaning | Public leaf |", "|---|---|---|---|"]
        fields = "<br>".join(_code(f.render()) for f in e.fields) or "–"
        public = "–" if e.public is None else ", ".join(_code(k) for k in e.public)
        name = f"`{e.kind}` (creates)" if e.creates else f"`{e.kind}`"
        out.append(f"| {name} | {fields} | {_cell(e.meaning)} | {public} |")
    return "\n".join(out) + "\n"
