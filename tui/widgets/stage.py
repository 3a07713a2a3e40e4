"""Stages of a screen or widget as one CSS class: the ``.tcss`` decides what each stage shows.

A screen that moves through stages (loading, asking, waiting, done) keeps the stage in a
``reactive`` holding a :class:`Stage` member; its watcher calls :func:`show_stage`, which swaps the
one class (``-loading``, ``-ready``, ...) on the node. Which widgets show in which stage is written
in the ``.tcss`` beside the screen's (or widget's) module, not in code that sets ``display`` on
each of them.
"""

from __future__ import annotations

from enum import Enum

from textual.dom import DOMNode


class Stage(Enum):
    """Base of the stage enums: each member's value names its CSS class."""

    @property
    def css_class(self) -> str:
        """The class a node carries in this stage: ``-`` and the value."""
        return f"-{self.value}"


def show_stage(node: DOMNode, old: Stage, new: Stage) -> None:
    """Swap ``old``'s class on ``node`` for ``new``'s (for a stage reactive's watcher)."""
    node.remove_class(old.css_class)
    node.add_class(new.css_class)
