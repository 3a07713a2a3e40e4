"""A checkbox drawn ``[X]`` when ticked and ``[ ]`` when not.

Textual's ``Checkbox`` draws an ``X`` in both states and tells them apart by colour alone, which
``NO_COLOR`` removes, and draws its edges with half blocks in the button's background colour, which
on a black 16-colour ground are invisible. Brackets and a blank show the state by shape, in every
font and colour mode. (It overrides ``ToggleButton._button``, the one place the button is drawn.)
"""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Checkbox


class TickBox(Checkbox):
    """A ``Checkbox`` whose state shows by its shape: ``[X]`` or ``[ ]``."""

    @property
    def _button(self) -> Content:
        style = self.get_visual_style("toggle--button")
        return Content.assemble("[", ("X" if self.value else " ", style), "]")
