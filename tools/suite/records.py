"""Worlds of records for the facts and multi_fact families: who has which code, lives where,
owns what. A world is a list of (subject, kind, value) triples rendered one template each.

Constraints that keep every question's answer unique:
  - a subject has at most one value per kind;
  - a person or place is the value of a given kind at most once (a place has one resident
    and one owner, a person owns one place);
  - digit and date values are never repeated within a world.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

from pools import MONTHS, Kind, Pool
from score import normalize

ENTITY_TYPES = ("person", "place")


@dataclass(frozen=True)
class Record:
    subject: str
    kind: str
    value: str

    def as_list(self) -> list[str]:
        return [self.subject, self.kind, self.value]


@dataclass(frozen=True)
class Relation:
    """A kind read forwards (subject -> value) or backwards (value -> subject)."""
    kind: Kind
    inverse: bool = False

    @property
    def source(self) -> str:
        return self.kind.value if self.inverse else self.kind.subject

    @property
    def target(self) -> str:
        if self.inverse:
            return self.kind.subject
        return self.kind.value if self.kind.value in ENTITY_TYPES else "value"

    @property
    def questions(self) -> tuple[str, ...]:
        return self.kind.inverse_questions if self.inverse else self.kind.questions

    @property
    def noun_phrases(self) -> tuple[str, ...]:
        return self.kind.inverse_np if self.inverse else self.kind.np

    def follow(self, records: list[Record], entity: str) -> list[str]:
        """Every value this relation gives for entity in records."""
        if self.inverse:
            return [r.subject for r in records if r.kind == self.kind.name and r.value == entity]
        return [r.value for r in records if r.kind == self.kind.name and r.subject == entity]


def relations(pool: Pool, kinds: list[str] | None = None) -> list[Relation]:
    """Forward relations of every (allowed) kind, and backward ones of entity-valued kinds."""
    out = []
    for kind in pool.kinds:
        if kinds is not None and kind.name not in kinds:
            continue
        out.append(Relation(kind))
        if kind.inverse_questions:
            out.append(Relation(kind, inverse=True))
    return out


def spaced_digits(rng: random.Random, n_digits: int) -> str:
    return " ".join(str(rng.randrange(10)) for _ in range(n_digits))


def spaced_date(rng: random.Random) -> str:
    return f"{' '.join(str(rng.randint(1, 28)))} {rng.choice(MONTHS)}"


@dataclass
class WorldBuilder:
    """Grows a world record by record under the uniqueness constraints above.

    `avoid` holds phrases that must not appear in any record (a receiver's world must never
    contain the sharer's answer or entities)."""
    rng: random.Random
    pool: Pool
    kinds: list[str] | None = None
    code_digits: int = 4
    reuse_probability: float = 0.6
    avoid: set[str] = field(default_factory=set)
    records: list[Record] = field(default_factory=list)
    entities: dict[str, list[str]] = field(default_factory=lambda: {t: [] for t in ENTITY_TYPES})

    def __post_init__(self) -> None:
        self._keys: set[tuple[str, str]] = set()          # (subject, kind)
        self._targets: set[tuple[str, str]] = set()       # (kind, entity value)
        self._values: set[str] = set()                    # digit and date values
        self._avoid = [f" {normalize(phrase)} " for phrase in self.avoid]

    def new_entity(self, entity_type: str) -> str:
        used = set(self.entities["person"]) | set(self.entities["place"]) | self.avoid
        heads, tails = ((self.pool.first_names, self.pool.last_names) if entity_type == "person"
                        else (self.pool.place_heads, self.pool.place_tails))
        while True:
            name = f"{self.rng.choice(heads)} {self.rng.choice(tails)}"
            if name not in used:
                self.entities[entity_type].append(name)
                return name

    def can_add(self, record: Record) -> bool:
        kind = self.pool.kind(record.kind)
        if (record.subject, record.kind) in self._keys or record.subject == record.value:
            return False
        if kind.value in ENTITY_TYPES and (record.kind, record.value) in self._targets:
            return False
        if kind.value in ("digits", "date") and record.value in self._values:
            return False
        if self._avoid:
            for part in (record.subject, record.value):
                padded = f" {normalize(part)} "
                if any(phrase in padded for phrase in self._avoid):
                    return False
        return True

    def add(self, record: Record) -> bool:
        if not self.can_add(record):
            return False
        self.records.append(record)
        self._keys.add((record.subject, record.kind))
        kind = self.pool.kind(record.kind)
        if kind.value in ENTITY_TYPES:
            self._targets.add((record.kind, record.value))
        if kind.value in ("digits", "date"):
            self._values.add(record.value)
        return True

    def pick_entity(self, entity_type: str, exclude: str = "") -> str:
        existing = [e for e in self.entities[entity_type] if e != exclude]
        if existing and self.rng.random() < self.reuse_probability:
            return self.rng.choice(existing)
        return self.new_entity(entity_type)

    def random_value(self, kind: Kind, subject: str) -> str:
        if kind.value == "digits":
            return spaced_digits(self.rng, self.code_digits)
        if kind.value == "date":
            return spaced_date(self.rng)
        if kind.value in ENTITY_TYPES:
            return self.pick_entity(kind.value, exclude=subject)
        return self.rng.choice(kind.value)

    def add_random(self) -> bool:
        allowed = [k for k in self.pool.kinds if self.kinds is None or k.name in self.kinds]
        kind = self.rng.choice(allowed)
        subject = self.pick_entity(kind.subject)
        return self.add(Record(subject, kind.name, self.random_value(kind, subject)))

    def fill(self, n_records: int) -> None:
        """Adds random records until there are n_records (new entities always fit)."""
        attempts = 0
        while len(self.records) < n_records:
            attempts += 1
            if attempts > 100 * n_records + 1000:
                raise RuntimeError("could not grow the world; are the pools too small?")
            self.add_random()
        self.prune_unused()

    def prune_unused(self) -> None:
        """Forgets entities created for records that were then rejected."""
        named = {r.subject for r in self.records} | {r.value for r in self.records}
        for entity_type in ENTITY_TYPES:
            self.entities[entity_type] = [e for e in self.entities[entity_type] if e in named]


def render(rng: random.Random, pool: Pool, records: list[Record]) -> str:
    """One randomly chosen template per record, records joined by spaces."""
    texts = [rng.choice(pool.kind(r.kind).records).format(s=r.subject, v=r.value)
             for r in records]
    return " ".join(texts)


def fact_question(rng: random.Random, relation: Relation, record: Record) -> tuple[str, str]:
    """(question, answer) asking one record through the relation."""
    subject, answer = ((record.value, record.subject) if relation.inverse
                       else (record.subject, record.value))
    return rng.choice(relation.questions).format(s=subject), answer


def summary(pool: Pool, records: list[Record]) -> str:
    """Compact restatement, grouped by subject in order of first appearance:
    "Bob Smith : code 4 1 9 3 ; home Oak Farm . Oak Farm : owner Carl Diaz ."."""
    groups: dict[str, list[str]] = {}
    for r in records:
        groups.setdefault(r.subject, []).append(f"{pool.kind(r.kind).label} {r.value}")
    return " ".join(f"{subject} : {' ; '.join(items)} ." for subject, items in groups.items())
