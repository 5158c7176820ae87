"""The finite vocabularies of the motivation task and the commonsense table of the synthetic
benchmark's generative story (see ``_data.py``)."""

from __future__ import annotations

import dataclasses

from morphax._core import InputError

VARIABLES = ("action", "object", "scene", "motivation")
"""The factor graph's variables, in order."""


@dataclasses.dataclass(frozen=True)
class Vocabulary:
    """Words for each variable, as they appear in the templated sentences.

    Attributes:
        actions: (A,) gerund phrases ("eating", "sitting on"); action_lemmas: (A,) their WordNet
            verbs ("eat", "sit"); objects: (O,) nouns; scenes: (S,) nouns; motivations: (M,) verb
            phrases completing "wants to ..." ("watch television").
    """

    actions: tuple
    action_lemmas: tuple
    objects: tuple
    scenes: tuple
    motivations: tuple

    def __post_init__(self):
        if len(self.actions) != len(self.action_lemmas):
            raise InputError("actions and action_lemmas must have the same length")
        for name in ("actions", "objects", "scenes", "motivations"):
            words = getattr(self, name)
            if not words or len(set(words)) != len(words):
                raise InputError(f"vocabulary {name} must be non-empty and without repeats")

    @property
    def shape(self) -> tuple:
        """(A, O, S, M), the size of the joint space."""
        return (len(self.actions), len(self.objects), len(self.scenes), len(self.motivations))

    def words(self, variable: str) -> tuple:
        """The entries of one variable ('action', 'object', 'scene' or 'motivation')."""
        if variable not in VARIABLES:
            raise InputError(f"variable {variable!r} must be one of {VARIABLES}")
        return getattr(self, variable + "s")


DEFAULT_VOCABULARY = Vocabulary(
    actions=("sitting on", "lying on", "eating", "drinking", "reading", "using", "throwing",
             "riding", "driving"),
    action_lemmas=("sit", "lie", "eat", "drink", "read", "use", "throw", "ride", "drive"),
    objects=("sofa", "bed", "pizza", "coffee", "book", "computer", "ball", "bicycle", "car",
             "phone"),
    scenes=("kitchen", "bedroom", "living room", "park", "office", "street"),
    motivations=("watch television", "sleep", "relax", "eat dinner", "stay awake", "learn",
                 "work", "play", "exercise", "go to work", "go home", "call his mother",
                 "talk to a friend", "lose weight"),
)
"""9 actions, 10 objects (MNIST digit k depicts object k), 6 scenes, 14 motivations."""

SCRIPTS = {
    "watch television": (("sitting on", "sofa", "living room"), ("lying on", "sofa", "living room")),
    "sleep": (("lying on", "bed", "bedroom"), ("lying on", "sofa", "living room")),
    "relax": (("sitting on", "sofa", "living room"), ("lying on", "bed", "bedroom"),
              ("reading", "book", "park")),
    "eat dinner": (("eating", "pizza", "kitchen"), ("eating", "pizza", "living room")),
    "stay awake": (("drinking", "coffee", "office"), ("drinking", "coffee", "kitchen")),
    "learn": (("reading", "book", "bedroom"), ("reading", "book", "office"),
              ("using", "computer", "bedroom")),
    "work": (("using", "computer", "office"), ("drinking", "coffee", "office")),
    "play": (("throwing", "ball", "park"), ("throwing", "ball", "street")),
    "exercise": (("riding", "bicycle", "park"), ("throwing", "ball", "park")),
    "go to work": (("riding", "bicycle", "street"), ("driving", "car", "street")),
    "go home": (("driving", "car", "street"), ("riding", "bicycle", "street")),
    "call his mother": (("using", "phone", "bedroom"), ("using", "phone", "street")),
    "talk to a friend": (("using", "phone", "park"), ("using", "computer", "living room")),
    "lose weight": (("riding", "bicycle", "park"), ("throwing", "ball", "park")),
}
"""The generative story's hand-written commonsense: motivation -> (action, object, scene)
scripts."""
