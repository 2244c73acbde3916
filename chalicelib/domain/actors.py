"""Who is acting: a signed-in user (any user may buy), an operator, or the system."""
from dataclasses import dataclass, field

OPERATOR_ROLE = "operator"


@dataclass(frozen=True)
class Caller:
    user_id: str
    roles: frozenset = field(default_factory=frozenset)

    @property
    def is_operator(self) -> bool:
        return OPERATOR_ROLE in self.roles


SYSTEM = Caller("system", frozenset({"system"}))
