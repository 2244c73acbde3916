"""One item's pending update, mirrored in `after` (the item as the update leaves it), for
changes that answer from what they commit instead of reading again."""


class MirroredUpdate:
    """Mixed into a change that has `after` (a model instance) and sets `MODEL`; it
    names each attribute once: the latest set wins, adds are summed."""

    MODEL = None

    def _pending(self) -> tuple[dict, dict]:
        if "_sets" not in self.__dict__:
            self._sets, self._adds = {}, {}
        return self._sets, self._adds

    @property
    def actions(self) -> list:
        sets, adds = self._pending()
        attrs = self.MODEL.get_attributes()
        return [*sets.values(), *(attrs[name].add(delta) for name, delta in adds.items() if delta)]

    def set(self, attribute, value):
        sets, _ = self._pending()
        sets[attribute.attr_name] = attribute.remove() if value is None else attribute.set(value)
        setattr(self.after, _python_name(self.MODEL, attribute), value)

    def add(self, attribute, amount: int):
        if amount:
            _, adds = self._pending()
            name = _python_name(self.MODEL, attribute)
            adds[name] = adds.get(name, 0) + amount
            setattr(self.after, name, int(getattr(self.after, name) or 0) + amount)


def _python_name(model, attribute) -> str:
    names = model.__dict__.get("_mirrored_names")
    if names is None:
        names = {a.attr_name: name for name, a in model.get_attributes().items()}
        model._mirrored_names = names
    return names[attribute.attr_name]
