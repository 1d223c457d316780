"""Names, attribute kinds and templates of the handoff suite, as two disjoint pools.

TRAIN serves the train, dev and test splits; HELDOUT serves only the heldout split, and
shares no first name, surname, place word, attribute kind, record template, question template
or passkey template with TRAIN (test_pools.py checks it). Records are terse and regular so
that tiny models can learn lookup from them: every word and every digit is its own
space-separated token, and each record ends with " .".

A kind links a subject to a value. Value types: "digits" (spaced digits), "date" (spaced day
digits and a month), "person", "place", or a word list. Templates use {s} (subject) and {v}
(value); questions use {s}. A kind whose value is a person or place can also be read
backwards (inverse_*: "Who lives at Oak Farm ?"). Noun phrases (*_np, with {x}) compose the
two-hop questions of the multi_fact family: "What is the code of the owner of Oak Farm ?".
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    name: str
    subject: str                      # "person" or "place"
    value: str | tuple[str, ...]      # "digits" | "date" | "person" | "place" | word list
    label: str                        # the word used in summaries: "Bob Smith : code 4 1 9 3 ."
    records: tuple[str, ...]
    questions: tuple[str, ...]
    np: tuple[str, ...]               # "the code of {x}"
    inverse_questions: tuple[str, ...] = ()
    inverse_np: tuple[str, ...] = ()


@dataclass(frozen=True)
class Pool:
    name: str
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    place_heads: tuple[str, ...]      # place = head + tail: "Oak Farm"
    place_tails: tuple[str, ...]
    kinds: tuple[Kind, ...]
    passkey_records: tuple[str, ...]  # with {k}
    passkey_questions: tuple[str, ...]
    passkey_label: str

    def kind(self, name: str) -> Kind:
        for kind in self.kinds:
            if kind.name == name:
                return kind
        raise KeyError(f"pool {self.name} has no kind {name!r}")


MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")

TRAIN = Pool(
    name="train",
    first_names=(
        "Bob", "Alice", "Carl", "Dana", "Eric", "Fiona", "Greg", "Hannah", "Ivan", "Julia",
        "Kevin", "Laura", "Mark", "Nina", "Oscar", "Paula", "Quinn", "Rita", "Sam", "Tina",
        "Umar", "Vera", "Walt", "Xena", "Yusuf", "Zoe", "Adam", "Bella", "Chris", "Diana",
        "Ethan", "Grace", "Henry", "Irene", "Jack", "Karen", "Leo", "Maria", "Noah", "Olga",
        "Peter", "Ruth", "Simon", "Tom", "Ursula", "Victor", "Wendy", "Amir", "Clara", "David",
        "Emma", "Frank", "Helen", "Igor", "Jane", "Lucy", "Mike", "Nora", "Omar", "Pablo"),
    last_names=(
        "Smith", "Jones", "Baxter", "Diaz", "Evans", "Garcia", "Hughes", "Ito", "Khan", "Lopez",
        "Moore", "Nagy", "Owens", "Patel", "Reyes", "Silva", "Turner", "Usman", "Vargas",
        "Walsh", "Young", "Zhang", "Adams", "Bell", "Clark", "Dixon", "Ellis", "Fox", "Grant",
        "Hayes", "Irwin", "Kelly", "Lane", "Mills", "Nash", "Olsen", "Price", "Quirk", "Ross",
        "Shaw", "Tate", "Vance", "Webb", "Wong", "Yates", "Park", "Cruz", "Ford", "Hart", "Lee"),
    place_heads=(
        "Oak", "Elm", "Ash", "Pine", "Birch", "Maple", "Cedar", "Willow", "Stone", "River",
        "Hill", "Lake", "North", "South", "East", "West", "Old", "New", "High", "Low",
        "Wood", "Marsh", "Bridge", "Ridge", "Rose", "Fern", "Moss", "Iron", "Salt", "Wind"),
    place_tails=("Farm", "House", "Mill", "Hall", "Court", "Lodge", "Cottage", "Manor", "Barn",
                 "Tower", "Grange", "Villa"),
    kinds=(
        Kind("code", "person", "digits", "code",
             ("{s} code {v} .", "The code of {s} is {v} .", "{s} has code {v} ."),
             ("What is the code of {s} ?", "Which code does {s} have ?"),
             ("the code of {x}",)),
        Kind("colour", "person",
             ("red", "blue", "green", "yellow", "orange", "purple", "grey", "brown", "pink",
              "violet", "silver", "gold", "teal", "navy"), "colour",
             ("{s} likes {v} .", "{s} colour {v} .", "The colour of {s} is {v} ."),
             ("What colour does {s} like ?", "What is the colour of {s} ?"),
             ("the colour of {x}",)),
        Kind("birthday", "person", "date", "born",
             ("{s} born {v} .", "{s} was born on {v} .", "The birthday of {s} is {v} ."),
             ("When was {s} born ?", "What is the birthday of {s} ?"),
             ("the birthday of {x}",)),
        Kind("pet", "person",
             ("cat", "dog", "horse", "goat", "parrot", "rabbit", "hamster", "tortoise", "pony",
              "ferret", "mouse", "duck", "sheep", "lizard"), "pet",
             ("{s} pet {v} .", "{s} has a pet {v} .", "The pet of {s} is a {v} ."),
             ("What pet does {s} have ?", "What is the pet of {s} ?"),
             ("the pet of {x}",)),
        Kind("job", "person",
             ("farmer", "tailor", "doctor", "teacher", "sailor", "painter", "nurse", "pilot",
              "judge", "clerk", "dentist", "plumber", "chemist", "banker", "driver", "singer"),
             "job",
             ("{s} job {v} .", "{s} works as a {v} .", "The job of {s} is {v} ."),
             ("What is the job of {s} ?", "What does {s} work as ?"),
             ("the job of {x}",)),
        Kind("home", "person", "place", "home",
             ("{s} lives at {v} .", "{s} home {v} .", "The home of {s} is {v} ."),
             ("Where does {s} live ?", "What is the home of {s} ?"),
             ("the home of {x}", "the place where {x} lives"),
             ("Who lives at {s} ?", "Whose home is {s} ?"),
             ("the person who lives at {x}",)),
        Kind("owner", "place", "person", "owner",
             ("{s} owner {v} .", "{v} owns {s} .", "The owner of {s} is {v} ."),
             ("Who owns {s} ?", "Who is the owner of {s} ?"),
             ("the owner of {x}",),
             ("Which place does {s} own ?", "What does {s} own ?"),
             ("the place owned by {x}", "the place that {x} owns")),
    ),
    passkey_records=("The pass key is {k} . Remember it .", "Remember this pass key : {k} .",
                     "The pass key is {k} ."),
    passkey_questions=("What is the pass key ?", "Which pass key was given ?"),
    passkey_label="pass key",
)

HELDOUT = Pool(
    name="heldout",
    first_names=(
        "Anouk", "Bertil", "Casimir", "Dagny", "Elif", "Florian", "Gudrun", "Hamish", "Ingrid",
        "Jarek", "Kalinda", "Lorcan", "Mireille", "Nikolai", "Oona", "Piet", "Radek",
        "Solveig", "Tamsin", "Ulrich", "Valeska", "Wilhelm", "Yannick", "Zuzana", "Ottilie",
        "Kasimir", "Liesel", "Mattias", "Sunniva", "Teodor"),
    last_names=(
        "Abernathy", "Bergstrom", "Castellano", "Dunmore", "Eriksen", "Fairweather",
        "Gallagher", "Holmqvist", "Ibarra", "Jovanovic", "Kowalczyk", "Lindqvist", "Mancini",
        "Nordahl", "Okonkwo", "Pemberton", "Quintero", "Rasmussen", "Szabo", "Thornbury",
        "Underhill", "Valdivia", "Wojcik", "Yilmaz", "Zeller", "Achterberg", "Brannigan",
        "Cavendish", "Drummond", "Esposito"),
    place_heads=("Cobalt", "Amber", "Falcon", "Harbour", "Juniper", "Kestrel", "Lantern",
                 "Marble", "Nettle", "Opal", "Pebble", "Quarry", "Raven", "Saffron", "Thistle",
                 "Umber", "Velvet", "Wren", "Yarrow", "Zephyr"),
    place_tails=("Quay", "Wharf", "Abbey", "Bastion", "Citadel", "Forge", "Pavilion", "Rectory",
                 "Priory", "Grotto"),
    kinds=(
        Kind("locker", "person", "digits", "locker",
             ("Locker of {s} : {v} .", "{s} uses locker {v} .", "{s} was given locker {v} ."),
             ("What is the locker number of {s} ?", "Which locker does {s} use ?"),
             ("the locker number of {x}",)),
        Kind("fruit", "person",
             ("apple", "pear", "plum", "cherry", "lemon", "mango", "peach", "fig", "melon",
              "grape", "apricot", "lime", "quince", "papaya"), "fruit",
             ("{s} eats {v} .", "Favourite fruit of {s} : {v} .", "{s} prefers the {v} ."),
             ("Which fruit does {s} eat ?", "What fruit does {s} prefer ?"),
             ("the favourite fruit of {x}",)),
        Kind("arrival", "person", "date", "arrival",
             ("{s} arrives on {v} .", "Arrival of {s} : {v} .", "{s} is due on {v} ."),
             ("On which date does {s} arrive ?", "When is {s} due ?"),
             ("the arrival date of {x}",)),
        Kind("instrument", "person",
             ("flute", "drum", "harp", "violin", "piano", "trumpet", "guitar", "cello", "oboe",
              "banjo", "tuba", "clarinet", "lute", "accordion"), "instrument",
             ("{s} plays the {v} .", "Instrument of {s} : {v} .", "{s} performs on the {v} ."),
             ("Which instrument does {s} play ?", "What does {s} perform on ?"),
             ("the instrument of {x}",)),
        Kind("sport", "person",
             ("tennis", "rowing", "chess", "golf", "fencing", "hockey", "archery", "cricket",
              "rugby", "skiing", "judo", "cycling", "sailing", "karate"), "sport",
             ("{s} trains in {v} .", "Sport of {s} : {v} .", "{s} competes in {v} ."),
             ("Which sport does {s} train in ?", "In which sport does {s} compete ?"),
             ("the sport of {x}",)),
        Kind("lodging", "person", "place", "lodging",
             ("{s} stays at {v} .", "Lodging of {s} : {v} .", "{s} is lodged at {v} ."),
             ("Where does {s} stay ?", "At which place is {s} lodged ?"),
             ("the lodging of {x}", "the place where {x} stays"),
             ("Who stays at {s} ?", "Who is lodged at {s} ?"),
             ("the guest staying at {x}",)),
        Kind("keeper", "place", "person", "keeper",
             ("{v} keeps {s} .", "Keeper of {s} : {v} .", "{s} is kept by {v} ."),
             ("Who keeps {s} ?", "Who is the keeper of {s} ?"),
             ("the keeper of {x}",),
             ("Which place does {s} keep ?", "What is kept by {s} ?"),
             ("the place kept by {x}",)),
    ),
    passkey_records=("The secret number is {k} . Keep it in mind .",
                     "Note down the secret number {k} .", "Secret number : {k} ."),
    passkey_questions=("What was the secret number ?", "Which secret number was noted ?"),
    passkey_label="secret number",
)


def pool_for(split: str) -> Pool:
    """The heldout split draws from HELDOUT; train, dev and test from TRAIN."""
    if split == "heldout":
        return HELDOUT
    if split in ("train", "dev", "test"):
        return TRAIN
    raise ValueError(f"unknown split {split!r}")
